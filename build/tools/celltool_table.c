/*
 * `celltool table`: the boot order of a manifest's boot cells, computed from
 * their objects (a cell loads after every boot cell whose exports it
 * imports), and the binary table nano_core reads at boot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gelf.h>

#include <delos/manifest_table.h>

#include "celltool.h"

/* One boot cell: its entry and its object's symbols. */
struct boot_cell {
	const struct manifest_entry *e;
	struct ct_object o;
	bool placed;
};

/* The first symbol a imports that b exports, or NULL. */
static const char *needs(const struct boot_cell *a, const struct boot_cell *b)
{
	for (size_t i = 0; i < a->o.symbol_count; i++) {
		const struct ct_symbol *s = &a->o.symbols[i];
		if (!ct_symbol_is_import(s))
			continue;
		for (size_t j = 0; j < b->o.symbol_count; j++)
			if (ct_symbol_is_export(&b->o.symbols[j]) &&
			    strcmp(b->o.symbols[j].name, s->name) == 0)
				return s->name;
	}
	return NULL;
}

static bool defined_by_a_cell(const struct boot_cell *c, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < c[i].o.symbol_count; j++)
			if (ct_symbol_is_export(&c[i].o.symbols[j]) &&
			    strcmp(c[i].o.symbols[j].name, name) == 0)
				return true;
	return false;
}

/* Imports that no boot cell and no nano_core export provides (weak ones may stay unresolved). */
static int check_resolved(const struct boot_cell *c, size_t n, const struct ct_exports *x,
			  const char *path)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < c[i].o.symbol_count; j++) {
			const struct ct_symbol *s = &c[i].o.symbols[j];
			if (!ct_symbol_is_import(s) || s->bind == STB_WEAK ||
			    ct_exports_grant(x, s->name) || defined_by_a_cell(c, n, s->name))
				continue;
			fprintf(stderr, "%s:%u: boot cell %s@%u imports %s, which neither nano_core "
				"nor any boot cell exports\n", path, c[i].e->line, c[i].e->name,
				c[i].e->version, s->name);
			bad++;
		}
	return bad;
}

/* Every cell left is waiting for another one left: walk the waits to a cycle and name it. */
static void print_cycle(const struct boot_cell *c, size_t n, const char *path)
{
	size_t *walk = calloc(n + 1, sizeof(*walk)), len = 0, v = 0, first;

	while (c[v].placed)
		v++;
	for (;;) {
		for (first = 0; first < len && walk[first] != v; first++)
			;
		if (first < len)
			break;
		walk[len++] = v;
		for (size_t w = 0; w < n; w++)
			if (!c[w].placed && needs(&c[v], &c[w])) {
				v = w;
				break;
			}
	}
	fprintf(stderr, "%s: boot cells form a dependency cycle:", path);
	for (size_t i = first; i < len; i++)
		fprintf(stderr, " %s@%u ->", c[walk[i]].e->name, c[walk[i]].e->version);
	fprintf(stderr, " %s@%u (", c[v].e->name, c[v].e->version);
	for (size_t i = first; i < len; i++) {
		size_t to = i + 1 < len ? walk[i + 1] : v;
		fprintf(stderr, "%s%s@%u imports %s", i > first ? ", " : "", c[walk[i]].e->name,
			c[walk[i]].e->version, needs(&c[walk[i]], &c[to]));
	}
	fprintf(stderr, ")\n");
	free(walk);
}

/* Places, one at a time, the first boot cell (in manifest order) whose providers are placed. */
static int order_cells(struct boot_cell *c, size_t n, uint32_t *order, const struct manifest *m,
		       const char *path)
{
	for (size_t placed = 0; placed < n; placed++) {
		size_t i;
		for (i = 0; i < n; i++) {
			size_t w = 0;
			if (c[i].placed)
				continue;
			while (w < n && (c[w].placed || w == i || !needs(&c[i], &c[w])))
				w++;
			if (w == n)
				break;
		}
		if (i == n) {
			print_cycle(c, n, path);
			return -1;
		}
		c[i].placed = true;
		order[placed] = (uint32_t)(c[i].e - m->entries);
	}
	return 0;
}

int ct_boot_order(const struct manifest *m, const char *path, const struct ct_exports *x,
		  const char *objdir, uint32_t *order, size_t *boot_count)
{
	struct boot_cell *c = calloc(m->count + 1, sizeof(*c));
	size_t n = 0;
	int bad = 0;

	for (size_t i = 0; i < m->count; i++) {
		char obj[4096];
		if (!m->entries[i].boot)
			continue;
		snprintf(obj, sizeof(obj), "%s/%s", objdir, m->entries[i].object);
		c[n].e = &m->entries[i];
		if (ct_object_load(&c[n].o, obj))
			bad++;
		else
			n++;
	}
	if (!bad)
		bad = check_resolved(c, n, x, path);
	if (!bad)
		bad = order_cells(c, n, order, m, path) != 0;
	for (size_t i = 0; i < n; i++)
		ct_object_free(&c[i].o);
	free(c);
	*boot_count = n;
	return bad ? -1 : 0;
}
