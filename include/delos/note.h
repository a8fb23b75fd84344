/*
 * Diagnostics from pure-logic code (mb2, loader, ...): such code never logs
 * directly but calls a note_fn its caller passes, so that the same code runs
 * in the kernel (log_note) and in host tests (which capture the text).
 */
#ifndef DELOS_NOTE_H
#define DELOS_NOTE_H

enum note_level { NOTE_ERROR = 0, NOTE_WARN = 1, NOTE_INFO = 2 };

/*
 * Receives one diagnostic line without a trailing newline. The format uses
 * only %s %c %d %u %x %lu %lx %llu %llx %zu %zx %p %%, each optionally with a
 * width and the 0 flag, so any printf-like formatter can render it.
 */
typedef void note_fn(void *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Never called; lets the compiler check NOTE()'s format against its arguments. */
static inline __attribute__((format(printf, 1, 2))) void note_format_check(const char *fmt, ...)
{
	(void)fmt;
}

/* Calls note(ctx, level, fmt, ...) when note is not NULL; NULL means "be quiet". */
#define NOTE(note, ctx, level, ...) \
	do { \
		if (0) \
			note_format_check(__VA_ARGS__); \
		if (note) \
			(note)((ctx), (level), __VA_ARGS__); \
	} while (0)

#endif
