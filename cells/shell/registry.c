/* The command table: one state_db record "shell/cmd/NAME" per command. */
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/shell/internal.h"

#define RECORD_NAME_MAX (sizeof(SHELL_CMD_PREFIX) + SHELL_NAME_MAX)

bool shell_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > SHELL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* "shell/cmd/NAME" into out; name must be valid. */
static void record_name(char *out, const char *name)
{
	size_t p = sizeof(SHELL_CMD_PREFIX) - 1;

	memcpy(out, SHELL_CMD_PREFIX, p);
	memcpy(out + p, name, strlen(name) + 1);
}

static bool copy_text(char *dst, const char *src, size_t max)
{
	size_t n = src ? strlen(src) : max + 1;

	if (n > max)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

int shell_register(const char *name, const char *cell, const char *sym, const char *usage,
		   const char *help)
{
	struct shell_cmd c;
	char rec[RECORD_NAME_MAX];

	memset(&c, 0, sizeof(c));
	if (!shell_name_valid(name))
		return SHELL_E_NAME;
	if (!cellref_make(&c.fn, cell, sym))
		return SHELL_E_TARGET;
	if (!copy_text(c.usage, usage, SHELL_USAGE_MAX) || !copy_text(c.help, help, SHELL_HELP_MAX))
		return SHELL_E_TEXT;
	record_name(rec, name);
	int err = sdb_put(cell, rec, SHELL_CMD_TYPE, SHELL_LAYOUT, &c, sizeof(c));
	if (err) {
		klog(LOG_ERR, "shell: cannot register '%s': %s", name, sdb_strerror(err));
		return SHELL_E_STORE;
	}
	return 0;
}

int shell_unregister(const char *name)
{
	char rec[RECORD_NAME_MAX];

	if (!shell_name_valid(name))
		return SHELL_E_NAME;
	record_name(rec, name);
	return sdb_delete(rec) == 0 ? 0 : SHELL_E_NOT_FOUND;
}

int shell_cmd_find(const char *name, struct shell_cmd *out)
{
	char rec[RECORD_NAME_MAX];

	if (!shell_name_valid(name))
		return SHELL_E_NAME;
	record_name(rec, name);
	if (sdb_get(rec, out, sizeof(*out), NULL) != sizeof(*out))
		return SHELL_E_NOT_FOUND;
	out->usage[SHELL_USAGE_MAX] = out->help[SHELL_HELP_MAX] = '\0';
	out->fn.cell[CELLREF_CELL_MAX] = out->fn.sym[CELLREF_SYM_MAX] = '\0';
	return 0;
}

const char *shell_strerror(int err)
{
	switch (err) {
	case 0: return "no error";
	case SHELL_E_NAME: return "command name must be 1-23 characters of a-z, 0-9, _ and -";
	case SHELL_E_TARGET: return "cell or symbol name empty or too long";
	case SHELL_E_TEXT: return "usage or help text missing or too long";
	case SHELL_E_NOT_FOUND: return "no such command";
	case SHELL_E_STORE: return "state_db refused the command record";
	default: return "unknown error";
	}
}
