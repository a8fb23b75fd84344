/* The command history, the record "shell/history" (struct shell_history). */
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/shell/internal.h"

static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static const char *newest(const struct shell_history *h)
{
	return h->added ? h->lines[(h->added - 1) % SHELL_HISTORY] : NULL;
}

/* Adds line unless it is empty or repeats the newest entry. */
void shell_history_add(const char *line)
{
	struct shell_history *h;
	size_t n = strlen(line);

	if (n == 0 || n > SHELL_LINE_MAX || !(h = kmalloc(sizeof(*h))))
		return;
	if (sdb_get(SHELL_HISTORY_RECORD, h, sizeof(*h), NULL) != sizeof(*h))
		memset(h, 0, sizeof(*h));
	if (!newest(h) || strcmp(newest(h), line) != 0) {
		char *slot = h->lines[h->added % SHELL_HISTORY];
		memset(slot, 0, SHELL_LINE_MAX + 1);
		memcpy(slot, line, n);
		h->added++;
		sdb_put(SHELL_OWNER, SHELL_HISTORY_RECORD, SHELL_HISTORY_TYPE, SHELL_LAYOUT, h,
			sizeof(*h));
	}
	kfree(h);
}

bool shell_history_get(int back, char *out, int cap)
{
	const void *data;
	const struct shell_history *h;

	if (back < 0 || cap <= 0)
		return false;
	if (sdb_view(SHELL_HISTORY_RECORD, &data, NULL) != sizeof(*h))
		return false;
	h = data;
	uint32_t kept = h->added < SHELL_HISTORY ? h->added : SHELL_HISTORY;
	if ((uint32_t)back >= kept)
		return false;
	const char *line = h->lines[(h->added - 1 - back) % SHELL_HISTORY];
	size_t n = bounded_len(line, (size_t)cap - 1);
	memcpy(out, line, n);
	out[n] = '\0';
	return true;
}
