/* The shell's output: the serial line and the VGA screen. */
#include <stdarg.h>

#include <delos/log.h>
#include "cells/serial/serial.h"
#include "cells/shell/internal.h"
#include "cells/vga/vga.h"

int shell_write(const char *buf, uint64_t len)
{
	if (len == 0)
		return 0;
	serial_write(buf, len);
	vga_write(buf, len);
	return (int)len;
}

int shell_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	return shell_write(buf, (uint64_t)n);
}
