/* The shell's output: the serial line and the screen (whichever display cell has it). */
#include <stdarg.h>

#include <delos/log.h>
#include <delos/mm.h>
#include <delos/serial.h>
#include "cells/shell/internal.h"

int shell_write(const char *buf, uint64_t len)
{
	if (len == 0)
		return 0;
	serial_write(buf, len);
	console_screen_write(buf, len);
	return (int)len;
}

/* Output longer than the stack buffer is formatted again into the heap, never cut. */
int shell_printf(const char *fmt, ...)
{
	char buf[512], *big;
	va_list ap, again;

	va_start(ap, fmt);
	va_copy(again, ap);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < (int)sizeof(buf) || !(big = kmalloc((size_t)n + 1))) {
		va_end(again);
		if (n < 0)
			return n;
		if (n < (int)sizeof(buf))
			return shell_write(buf, (uint64_t)n);
		shell_write(buf, sizeof(buf) - 1);
		return shell_write(" [out of memory: the rest is not shown]\n", 40);
	}
	vsnprintf(big, (size_t)n + 1, fmt, again);
	va_end(again);
	shell_write(big, (uint64_t)n);
	kfree(big);
	return n;
}
