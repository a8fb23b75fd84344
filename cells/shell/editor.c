/*
 * The line editor: one input byte at a time against the record "shell/line".
 * It moves the terminal's cursor with backspaces and rewrites the tail of the
 * line, so it needs no escape sequences from the terminal (nor the VGA cell).
 */
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/shell/internal.h"

#define BACKSPACES "\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b"
#define SPACES "                "

static void repeat(const char *sixteen, int n)
{
	for (; n > 0; n -= 16)
		shell_write(sixteen, n < 16 ? n : 16);
}

static void back(int n)
{
	repeat(BACKSPACES, n);
}

void shell_line_load(struct shell_line *l)
{
	int n = sdb_get(SHELL_LINE_RECORD, l, sizeof(*l), NULL);

	if (n != sizeof(*l) || l->len > SHELL_LINE_MAX || l->pos > l->len || l->esc > 2 ||
	    l->lost > 1) {
		memset(l, 0, sizeof(*l));
		l->hist = -1;
	}
}

void shell_line_store(const struct shell_line *l)
{
	sdb_put(SHELL_OWNER, SHELL_LINE_RECORD, SHELL_LINE_TYPE, SHELL_LAYOUT, l, sizeof(*l));
}

void shell_edit_redraw(const struct shell_line *l)
{
	shell_write(SHELL_PROMPT, sizeof(SHELL_PROMPT) - 1);
	shell_write(l->buf, l->len);
	back(l->len - l->pos);
}

/* A byte that does not fit makes the line over-long: it will be refused whole. */
static void insert(struct shell_line *l, char c)
{
	if (l->over || l->len == SHELL_LINE_MAX) {
		if (l->over < UINT32_MAX)
			l->over++;
		return;
	}
	memmove(l->buf + l->pos + 1, l->buf + l->pos, l->len - l->pos);
	l->buf[l->pos] = c;
	l->len++;
	shell_write(l->buf + l->pos, l->len - l->pos);
	l->pos++;
	back(l->len - l->pos);
}

static void erase_before(struct shell_line *l)
{
	if (l->pos == 0)
		return;
	memmove(l->buf + l->pos - 1, l->buf + l->pos, l->len - l->pos);
	l->pos--;
	l->len--;
	back(1);
	shell_write(l->buf + l->pos, l->len - l->pos);
	shell_write(" ", 1);
	back(l->len - l->pos + 1);
}

static void kill_line(struct shell_line *l)
{
	back(l->pos);
	repeat(SPACES, l->len);
	back(l->len);
	l->len = l->pos = 0;
	l->over = 0;
	l->lost = 0;
}

/* text fits: it is a history entry, at most SHELL_LINE_MAX bytes. */
static void replace(struct shell_line *l, const char *text)
{
	size_t n = strlen(text);

	kill_line(l);
	memcpy(l->buf, text, n);
	l->len = l->pos = (uint16_t)n;
	shell_write(l->buf, n);
}

/* Up (older) and down (newer) through the history. */
static void recall(struct shell_line *l, int step)
{
	char text[SHELL_LINE_MAX + 1];
	int want = l->hist + step;

	if (want < 0) {
		if (l->hist >= 0)
			kill_line(l);
		l->hist = -1;
		return;
	}
	if (!shell_history_get(want, text, sizeof(text)))
		return;
	l->hist = (int16_t)want;
	replace(l, text);
}

/* The final byte of ESC [ ...: the arrow keys (an over-long line ignores them). */
static void arrow(struct shell_line *l, unsigned char c)
{
	if (l->over) {
		return;
	} else if (c == 'A') {
		recall(l, 1);
	} else if (c == 'B') {
		recall(l, -1);
	} else if (c == 'C' && l->pos < l->len) {
		shell_write(l->buf + l->pos, 1);
		l->pos++;
	} else if (c == 'D' && l->pos > 0) {
		back(1);
		l->pos--;
	}
}

/* Consumes a byte of an escape sequence; false when none is in progress. */
static bool escape(struct shell_line *l, unsigned char c)
{
	if (l->esc == 1) {
		l->esc = (c == '[' || c == 'O') ? 2 : 0;
		return true;
	}
	if (l->esc == 2) {
		if (c >= 0x40 && c <= 0x7e) {
			l->esc = 0;
			arrow(l, c);
		}
		return true;
	}
	return false;
}

enum shell_feed shell_edit_feed(struct shell_line *l, unsigned char c)
{
	if (c == '\0') {	/* where the input queue dropped bytes */
		l->lost = 1;
		return SHELL_FEED_MORE;
	}
	if (escape(l, c))
		return SHELL_FEED_MORE;
	switch (c) {
	case 0x1b:
		l->esc = 1;
		break;
	case '\r':
	case '\n':
		shell_write("\n", 1);
		return SHELL_FEED_RUN;
	case 0x7f:
	case '\b':
		if (!l->over)
			erase_before(l);
		break;
	case 0x15: /* Ctrl-U */
		kill_line(l);
		break;
	case 0x03: /* Ctrl-C */
		shell_write("^C\n", 3);
		return SHELL_FEED_CANCEL;
	default:
		if (c >= ' ' && c < 0x7f)
			insert(l, (char)c);
	}
	return SHELL_FEED_MORE;
}
