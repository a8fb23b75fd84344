/*
 * The cell rules that celltool enforces at build time (the loader enforces
 * the same ones at load time):
 *
 *   - no writable static state: no allocated writable section of nonzero
 *     size (.data, .bss, .data.*, ...), no COMMON symbol, no TLS;
 *   - no reference to a nano_core export outside the cell's grants, nor to
 *     a cell export that the manifest guards with a grant the cell lacks;
 *   - every symbol a cell's manifest entry guards is one it exports.
 *
 * Each violation is one line on stderr naming the symbol (or the section,
 * when no symbol names the state).
 */
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/manifest.h>

#include "celltool.h"

static bool is_spill_section(const struct ct_section *s)
{
	return (s->flags & SHF_ALLOC) &&
	       (s->flags & (SHF_WRITE | SHF_TLS)) && s->size > 0;
}

static bool is_named(const struct ct_symbol *s)
{
	return s->name[0] && s->type != STT_SECTION && s->type != STT_FILE;
}

/*
 * Prints the spill that symbol s is, if it is one. Returns the section it
 * lives in through *in (or NULL) and whether it printed.
 */
static bool report_symbol(const struct ct_object *o, const struct ct_symbol *s,
			  const struct ct_section **in)
{
	const struct ct_section *sec = ct_symbol_section(o, s);

	*in = NULL;
	if (!is_named(s))
		return false;
	if (s->shndx == SHN_COMMON) {
		fprintf(stderr,
			"celltool: %s: state spill: '%s' is a common symbol (%llu bytes)\n",
			o->path, s->name, (unsigned long long)s->size);
		return true;
	}
	if (sec && is_spill_section(sec)) {
		*in = sec;
		fprintf(stderr, "celltool: %s: state spill: '%s' in %s (%llu bytes)\n",
			o->path, s->name, sec->name,
			(unsigned long long)s->size);
		return true;
	}
	if (s->type == STT_TLS) {
		fprintf(stderr, "celltool: %s: state spill: '%s' is thread-local%s\n",
			o->path, s->name,
			s->shndx == SHN_UNDEF ? " (defined elsewhere)" : "");
		return true;
	}
	return false;
}

int ct_check_spills(const struct ct_object *o)
{
	bool *named = calloc(o->section_count + 1, sizeof *named);
	const struct ct_section *in;
	int found = 0;
	size_t i;

	for (i = 0; i < o->symbol_count; i++) {
		if (!report_symbol(o, &o->symbols[i], &in))
			continue;
		found++;
		if (in)
			named[in - o->sections] = true;
	}
	/* State that no symbol names, e.g. a compound literal's storage. */
	for (i = 1; i < o->section_count; i++) {
		if (!is_spill_section(&o->sections[i]) || named[i])
			continue;
		fprintf(stderr,
			"celltool: %s: state spill: unnamed data in %s (%llu bytes)\n",
			o->path, o->sections[i].name,
			(unsigned long long)o->sections[i].size);
		found++;
	}
	free(named);
	return found;
}

bool ct_grants_has(const struct ct_grants *g, const char *grant)
{
	size_t i;

	for (i = 0; i < g->count; i++)
		if (strcmp(g->names[i], grant) == 0)
			return true;
	return false;
}

/* The grant that an entry of m guards symbol with, or NULL. */
static const char *manifest_guard_of(const struct manifest *m, const char *symbol)
{
	const char *grant;
	size_t i;

	for (i = 0; m && i < m->count; i++)
		if ((grant = manifest_guard(&m->entries[i], symbol)))
			return grant;
	return NULL;
}

int ct_check_grants(const struct ct_object *o, const struct ct_exports *x,
		    const struct manifest *m, const struct ct_grants *g)
{
	const struct ct_symbol *s;
	const char *grant;
	int found = 0;
	size_t i;

	for (i = 0; i < o->symbol_count; i++) {
		s = &o->symbols[i];
		if (!ct_symbol_is_import(s))
			continue;
		grant = ct_exports_grant(x, s->name);
		if (!grant)
			grant = manifest_guard_of(m, s->name);
		if (!grant || ct_grants_has(g, grant))
			continue;
		fprintf(stderr,
			"celltool: %s: '%s' needs grant '%s', which %s is not granted\n",
			o->path, s->name, grant, g->cell);
		found++;
	}
	return found;
}

int ct_check_guards(const struct ct_object *o, const struct manifest_entry *e)
{
	int found = 0;
	uint32_t k;
	size_t i;

	for (k = 0; k < e->guarded_count; k++) {
		for (i = 0; i < o->symbol_count; i++)
			if (ct_symbol_is_export(&o->symbols[i]) &&
			    strcmp(o->symbols[i].name, e->guarded[k]) == 0)
				break;
		if (i < o->symbol_count)
			continue;
		fprintf(stderr,
			"celltool: %s: guard '%s' (grant '%s') names no symbol that %s exports\n",
			o->path, e->guarded[k], e->guard_grant, e->name);
		found++;
	}
	return found;
}
