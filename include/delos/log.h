/*
 * Kernel log: levelled, timestamped lines to COM1, to the VGA text screen when
 * there is one, and into a ring buffer that the `log` command prints.
 */
#ifndef DELOS_LOG_H
#define DELOS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Formats like printf: %s %c %d %i %u %x %X %p %%, l/ll/z modifiers, width, 0 and - flags. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes formatted text to the console outputs as it is, with no prefix. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* Logs one line "[seconds.micros] LEVEL text" (a newline is added if missing). */
void klog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kvlog(int level, const char *fmt, va_list ap);

/* Adapter with the note_fn signature used by pure-logic modules (mb2, ...). */
void log_note(void *prefix, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Sends raw bytes to the screen only: the display cell that took it over, or
 * nano_core's own text screen, or nowhere (grant `console`). Returns len, or
 * -1 if buf is NULL with len > 0.
 */
int console_screen_write(const char *buf, size_t len);

/* Sends raw bytes to every console output. */
void console_write(const char *s, size_t n);

/* Prints the log ring buffer, oldest line first. */
void log_dump(void);

/* Turns the VGA text screen on as a second output. */
void log_enable_vga(void);
/* The text screen is gone (the display went back to its framebuffer). */
void log_disable_vga(void);
/* True when booted with a VGA text screen (grant `phys_mem`). */
bool vga_text_present(void);
/*
 * Writes the log's last `lines` lines to the screen only (grant `console`):
 * for a display cell that takes over a blank screen after the boot began.
 */
void log_screen_replay(size_t lines);
/*
 * A display cell takes the screen by filling the ops slot screen_write
 * (include/delos/ops.h): nano_core's output then goes to it, resolved on
 * every write, and nano_core draws itself again whenever it does not resolve.
 */
/*
 * For fatal reports (panic, an unhandled exception or NMI): from now on
 * nano_core draws the screen itself and calls no cell. Such a report may
 * come from inside the heap's or the frame allocator's critical section,
 * which an exception does not respect, and the VGA cell's writer allocates
 * (its cursor is a state_db record).
 */
void log_fatal(void);

#endif
