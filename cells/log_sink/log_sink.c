#include <delos/cell.h>
#include <delos/log.h>
#include <stdarg.h>
#include <delos/log_sink.h>

void sink_log(const char *cell, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	klog(LOG_INFO, "[%s] %s", cell, text);
}

int cell_init(void)
{
	sink_log("log_sink", "ready");
	return 0;
}
