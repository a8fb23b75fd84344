/* Running a command line: split it, find the command by name, check, call. */
#include <delos/cellref.h>
#include <delos/string.h>
#include <delos/serial.h>
#include "cells/shell/internal.h"

typedef void command_fn(int argc, char **argv);

/* Splits line at spaces into argv; returns argc, or -1 for too many words. */
static int split(char *line, char **argv)
{
	int argc = 0;

	for (char *p = line; *p;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == SHELL_ARGS_MAX)
			return -1;
		argv[argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return argc;
}

/* Counts usage's words: required ones, optional [ones], and a trailing "..." */
bool shell_usage_fits(const char *usage, int nargs)
{
	int need = 0, may = 0;
	bool more = false;

	for (const char *p = usage; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if (*w == '[')
			may++;
		else
			need++;
		long len = p - w;
		more = (len >= 3 && strncmp(p - 3, "...", 3) == 0) ||
		       (len >= 4 && strncmp(p - 4, "...]", 4) == 0);
	}
	return nargs >= need && (more || nargs <= need + may);
}

static void usage_line(const char *name, const struct shell_cmd *c)
{
	shell_printf("usage: %s%s%s\n", name, c->usage[0] ? " " : "", c->usage);
}

void shell_execute(char *line)
{
	char *argv[SHELL_ARGS_MAX + 1];
	struct shell_cmd c;
	int argc = split(line, argv);

	if (argc == 0)
		return;
	if (argc < 0) {
		shell_printf("shell: too many words (at most %d)\n", SHELL_ARGS_MAX);
		return;
	}
	argv[argc] = NULL;
	if (shell_cmd_find(argv[0], &c) != 0) {
		shell_printf("unknown command '%s'; type 'help' for the list\n", argv[0]);
		return;
	}
	if (!shell_usage_fits(c.usage, argc - 1)) {
		usage_line(argv[0], &c);
		return;
	}
	uint64_t fn = cellref_resolve(&c.fn);
	if (!fn) {
		shell_printf("%s: served by %s:%s, which is not loaded\n", argv[0], c.fn.cell, c.fn.sym);
		return;
	}
	/* Most commands print with kprintf, which does not wait for our queue. */
	serial_flush();
	((command_fn *)fn)(argc, argv);
}
