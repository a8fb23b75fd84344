/*
 * nano_core/exports.list: which grant each nano_core export belongs to.
 * One "GRANT SYMBOL" pair per line; '#' starts a comment; blank lines are
 * ignored. A symbol listed twice is an error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "celltool.h"

__attribute__((format(printf, 3, 4)))
static int bad_line(const char *path, unsigned line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "celltool: %s:%u: ", path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int add_export(struct ct_exports *x, const char *grant,
		      const char *symbol)
{
	struct ct_export *items;

	items = realloc(x->items, (x->count + 1) * sizeof *items);
	if (!items)
		return -1;
	x->items = items;
	x->items[x->count++] = (struct ct_export){ strdup(grant), strdup(symbol) };
	return 0;
}

/* Parses one line; blank and comment lines add nothing. */
static int parse_line(struct ct_exports *x, char *text, unsigned line)
{
	static const char spaces[] = " \t\r\n";
	char *grant, *symbol, *extra, *save;

	text[strcspn(text, "#")] = '\0';
	grant = strtok_r(text, spaces, &save);
	if (!grant)
		return 0;
	symbol = strtok_r(NULL, spaces, &save);
	extra = strtok_r(NULL, spaces, &save);
	if (!symbol || extra)
		return bad_line(x->path, line, "expected 'GRANT SYMBOL'");
	if (ct_exports_grant(x, symbol))
		return bad_line(x->path, line, "'%s' is listed twice", symbol);
	if (add_export(x, grant, symbol))
		return bad_line(x->path, line, "out of memory");
	return 0;
}

int ct_exports_load(struct ct_exports *x, const char *path)
{
	char *text = NULL;
	size_t cap = 0;
	unsigned line = 0;
	int rc = 0;
	FILE *f;

	*x = (struct ct_exports){ .path = path };
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "celltool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&text, &cap, f) >= 0)
		rc = parse_line(x, text, ++line);
	free(text);
	fclose(f);
	if (rc)
		ct_exports_free(x);
	return rc;
}

void ct_exports_free(struct ct_exports *x)
{
	size_t i;

	for (i = 0; i < x->count; i++) {
		free(x->items[i].grant);
		free(x->items[i].symbol);
	}
	free(x->items);
	*x = (struct ct_exports){ .path = x->path };
}

const char *ct_exports_grant(const struct ct_exports *x, const char *symbol)
{
	size_t i;

	for (i = 0; i < x->count; i++)
		if (strcmp(x->items[i].symbol, symbol) == 0)
			return x->items[i].grant;
	return NULL;
}

bool ct_exports_has_grant(const struct ct_exports *x, const char *grant)
{
	size_t i;

	for (i = 0; i < x->count; i++)
		if (strcmp(x->items[i].grant, grant) == 0)
			return true;
	return false;
}
