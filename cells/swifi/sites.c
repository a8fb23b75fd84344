/* Reading the site table and choosing from it (cells/swifi/sites.h). */
#include <delos/string.h>
#include "cells/swifi/sites.h"

static const char *const kind_names[SWIFI_KINDS] = {
	"text", "src", "dst", "ptr", "nop", "loop", "branch", "iface", "panic", "hang",
	"hang-irqoff", "wild", "record", "stack",
};

const char *swifi_kind_name(int kind)
{
	return kind >= 0 && kind < SWIFI_KINDS ? kind_names[kind] : NULL;
}

int swifi_kind_parse(const char *s)
{
	for (int k = 0; k < SWIFI_KINDS; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

static bool span_ok(size_t len, uint32_t off, uint64_t n, size_t size)
{
	return off <= len && n * size <= len - off && (off & 7) == 0;
}

bool swifi_table_open(struct swifi_table *t, const void *blob, size_t len)
{
	const struct swifi_thdr *h = blob;
	const char *base = blob;

	if (!blob || len < sizeof(*h) || memcmp(h->magic, SWIFI_TABLE_MAGIC, 4) != 0)
		return false;
	if (!span_ok(len, h->cells_off, h->ncells, sizeof(struct swifi_tcell)) ||
	    !span_ok(len, h->funcs_off, h->nfuncs, sizeof(struct swifi_tfunc)) ||
	    !span_ok(len, h->sites_off, h->nsites, sizeof(struct swifi_tsite)) ||
	    !span_ok(len, h->strings_off, h->strings_len, 1) || !h->strings_len ||
	    base[h->strings_off + h->strings_len - 1] != '\0')
		return false;
	t->h = h;
	t->cells = (const void *)(base + h->cells_off);
	t->funcs = (const void *)(base + h->funcs_off);
	t->sites = (const void *)(base + h->sites_off);
	t->strings = base + h->strings_off;
	for (uint32_t i = 0; i < h->ncells; i++) {
		const struct swifi_tcell *c = &t->cells[i];

		if (c->name >= h->strings_len || c->first_func > h->nfuncs ||
		    c->nfuncs > h->nfuncs - c->first_func || c->first_site > h->nsites ||
		    c->nsites > h->nsites - c->first_site)
			return false;
		for (uint32_t j = 0; j < c->nsites; j++) {
			const struct swifi_tsite *s = &t->sites[c->first_site + j];

			if (s->func >= c->nfuncs || s->insn >= h->strings_len || !s->len || s->len > 15)
				return false;
		}
		for (uint32_t j = 0; j < c->nfuncs; j++)
			if (t->funcs[c->first_func + j].name >= h->strings_len)
				return false;
	}
	return true;
}

const char *swifi_table_str(const struct swifi_table *t, uint32_t off)
{
	return off < t->h->strings_len ? t->strings + off : "?";
}

const struct swifi_tcell *swifi_table_cell(const struct swifi_table *t, const char *ref)
{
	for (uint32_t i = 0; i < t->h->ncells; i++)
		if (strcmp(swifi_table_str(t, t->cells[i].name), ref) == 0)
			return &t->cells[i];
	return NULL;
}

/* Kinds nano_core's own text may take: pure byte patches, no probe. */
static bool core_kind(int kind)
{
	return kind == SWIFI_TEXT || kind == SWIFI_NOP || kind == SWIFI_LOOP || kind == SWIFI_BRANCH ||
	       kind == SWIFI_HANG || kind == SWIFI_HANG_IRQOFF;
}

bool swifi_site_fits(const struct swifi_table *t, const struct swifi_tcell *c,
		     const struct swifi_tsite *s, int kind)
{
	(void)t;
	if ((c->flags & SWIFI_TCELL_CORE) && !core_kind(kind))
		return false;
	switch (kind) {
	case SWIFI_TEXT: case SWIFI_NOP: case SWIFI_WILD: case SWIFI_RECORD:
		return true;
	case SWIFI_SRC:
		return s->src != SWIFI_REG_NONE;
	case SWIFI_DST:
		return s->dst != SWIFI_REG_NONE;
	case SWIFI_PTR:
		return s->ptr != SWIFI_REG_NONE;
	case SWIFI_LOOP:
		return (s->flags & (SWIFI_S_JCC | SWIFI_S_BACK)) == (SWIFI_S_JCC | SWIFI_S_BACK);
	case SWIFI_BRANCH:
		return (s->flags & (SWIFI_S_JCC | SWIFI_S_BACK)) == SWIFI_S_JCC;
	case SWIFI_IFACE:
		return (s->flags & SWIFI_S_ENTRY) != 0;
	case SWIFI_HANG: case SWIFI_HANG_IRQOFF:
		return s->len >= 3;	/* sti or cli, then jmp . */
	case SWIFI_PANIC: case SWIFI_STACK:
		return s->len >= 5;	/* a call rel32 fits */
	default:
		return false;
	}
}

uint32_t swifi_sites_count(const struct swifi_table *t, const struct swifi_tcell *c, int kind)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->nsites; i++)
		n += swifi_site_fits(t, c, &t->sites[c->first_site + i], kind);
	return n;
}

uint64_t swifi_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void swifi_text_flip(uint64_t *rng, uint32_t len, uint32_t *byte, uint32_t *bit)
{
	*byte = (uint32_t)(swifi_next(rng) % len);
	*bit = (uint32_t)(swifi_next(rng) % 8);
}

const struct swifi_tsite *swifi_pick(const struct swifi_table *t, const struct swifi_tcell *c, int kind,
				     uint64_t seed, uint64_t *rng)
{
	uint32_t n = swifi_sites_count(t, c, kind), want;

	*rng = seed;
	if (!n)
		return NULL;
	want = (uint32_t)(swifi_next(rng) % n);
	for (uint32_t i = 0; i < c->nsites; i++) {
		const struct swifi_tsite *s = &t->sites[c->first_site + i];

		if (swifi_site_fits(t, c, s, kind) && want-- == 0)
			return s;
	}
	return NULL;
}
