#include <delos/irqflags.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/time.h>
#include "hal/uart.h"
#include <delos/platform.h>
#include "hal/vga.h"
#include "nano_core/physmap.h"

#define RING_SIZE 16384

/* The log's outputs and ring; owned by nano_core. */
static struct {
	bool vga;		/* nano_core draws on the screen (until a display cell takes over) */
	bool vga_present;
	bool fatal;		/* a fatal report: nano_core draws itself and calls no cell */
	struct vga_cursor cursor;
	char ring[RING_SIZE];
	size_t head;	/* total bytes ever written; ring[head % RING_SIZE] is next */
} lg;

static const char *const level_names[] = { "ERROR", "WARN ", "INFO ", "DEBUG" };

static volatile uint16_t *vga_screen(void)
{
	return phys_to_virt(VGA_TEXT_PHYS);
}

void log_enable_vga(void)
{
	lg.vga = lg.vga_present = true;
	vga_clear(vga_screen(), &lg.cursor);
}

void log_disable_vga(void)
{
	lg.vga = lg.vga_present = false;
	lg.cursor.row = lg.cursor.col = 0;
}

bool vga_text_present(void)
{
	return lg.vga_present;
}

void log_fatal(void)
{
	lg.fatal = true;
	lg.vga = lg.vga_present;
}

/* Whether a display cell holds the screen (the ops slot screen_write). */
static bool screen_taken(void)
{
	return !lg.fatal && ops_holder(OPS_SCREEN_WRITE)[0];
}

/* Hands the bytes to the display cell while it resolves, or draws on the screen. */
static void screen_write(const char *s, size_t n)
{
	uint64_t fn = screen_taken() ? ops_resolve(OPS_SCREEN_WRITE) : 0;

	if (fn) {
		((int (*)(const char *, uint64_t))fn)(s, n);
		return;
	}
	if (!lg.vga_present)
		return;
	for (size_t i = 0; i < n; i++)
		vga_putc(vga_screen(), &lg.cursor, s[i]);
	vga_sync_cursor(&lg.cursor);
}

int console_screen_write(const char *buf, size_t len)
{
	if (!buf && len)
		return -1;
	if (lg.vga || screen_taken())
		screen_write(buf, len);
	return (int)len;
}

void log_screen_replay(size_t lines)
{
	size_t start = lg.head > RING_SIZE ? lg.head - RING_SIZE : 0, i = lg.head;

	/* Back from the end over `lines` newlines (the last byte ends the last line). */
	while (i > start && lines) {
		i--;
		if (lg.ring[i % RING_SIZE] == '\n' && i + 1 < lg.head && !--lines) {
			i++;
			break;
		}
	}
	for (; i < lg.head; i++)
		console_screen_write(&lg.ring[i % RING_SIZE], 1);
}

/*
 * The serial line takes each write whole, with interrupts off (as Linux's 8250
 * console does): a task preempted inside a log line would otherwise let other
 * output, a shell's echo, land in the middle of it.
 */
void console_write(const char *s, size_t n)
{
	uint16_t port;
	uint8_t irq;
	uint64_t flags = irq_save();

	console_uart(&port, &irq);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc(port, '\r');
		uart_putc(port, s[i]);
	}
	irq_restore(flags);
	if (lg.vga || screen_taken())
		screen_write(s, n);
}

void kvprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

static void ring_append(const char *s, size_t n)
{
	uint64_t flags = irq_save();

	for (size_t i = 0; i < n; i++)
		lg.ring[lg.head++ % RING_SIZE] = s[i];
	irq_restore(flags);
}

void kvlog(int level, const char *fmt, va_list ap)
{
	char line[512];
	uint64_t us = time_ns() / 1000;
	int n, max = sizeof(line) - 2;

	if (level < LOG_ERR || level > LOG_DEBUG)
		level = LOG_ERR;
	n = snprintf(line, sizeof(line), "[%5lu.%06lu] %s ", us / 1000000, us % 1000000,
		     level_names[level]);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n > max)
		n = max;
	if (n == 0 || line[n - 1] != '\n')
		line[n++] = '\n';
	line[n] = '\0';
	ring_append(line, n);
	console_write(line, n);
}

void klog(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvlog(level, fmt, ap);
	va_end(ap);
}

void log_note(void *prefix, int level, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	klog(level, "%s: %s", prefix ? (const char *)prefix : "", msg);
}

void log_dump(void)
{
	size_t start = lg.head > RING_SIZE ? lg.head - RING_SIZE : 0;

	/* When the ring has wrapped, skip the partial first line. */
	if (start)
		while (start < lg.head && lg.ring[start % RING_SIZE] != '\n')
			start++;
	for (size_t i = start; i < lg.head; i++)
		console_write(&lg.ring[i % RING_SIZE], 1);
}
