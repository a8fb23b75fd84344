/*
 * Read-only views of what is loaded: cells, their sections and symbols,
 * name look-ups and address-to-symbol look-ups (for fault reports).
 */
#include "loader/internal.h"

struct loader_cell *loader_cell_next(const struct loader *ld,
				     const struct loader_cell *prev)
{
	return prev ? prev->next : (struct loader_cell *)&ld->core;
}

/* During a swap two cells may share a name; the published one is the live one. */
struct loader_cell *loader_cell_find(const struct loader *ld, const char *name)
{
	struct loader_cell *unpublished = NULL;

	for (struct loader_cell *c = loader_cell_next(ld, NULL); c; c = c->next) {
		if (strcmp(c->name, name))
			continue;
		if (c->published)
			return c;
		unpublished = c;
	}
	return unpublished;
}

void loader_cell_info(const struct loader_cell *c, struct loader_cell_info *out)
{
	*out = (struct loader_cell_info){
		.name = c->name, .version = c->version, .path = c->path,
		.core = c->core, .published = c->published,
		.start = c->base, .end = c->base + c->map_bytes,
		.text_size = c->seg_size[SEG_TEXT],
		.rodata_size = c->seg_size[SEG_RODATA] - c->got_size,
		.data_size = c->seg_size[SEG_DATA], .got_size = c->got_size,
		.nsyms = c->nsyms, .nimports = c->nimports,
	};
}

size_t loader_cell_nsections(const struct loader_cell *c)
{
	return c->nsecs;
}

void loader_cell_section(const struct loader_cell *c, size_t i,
			 struct loader_section *out)
{
	const struct placed *p = &c->secs[i];

	*out = (struct loader_section){
		.name = p->name, .index = p->shndx, .addr = p->addr,
		.size = p->size, .perm = layout_seg_perm(p->seg),
	};
}

size_t loader_cell_nsyms(const struct loader_cell *c)
{
	return c->nsyms;
}

void loader_cell_sym(const struct loader_cell *c, size_t i, struct loader_sym *out)
{
	const struct lsym *s = &c->syms[i];

	*out = (struct loader_sym){
		.name = s->name, .addr = s->addr, .size = s->size,
		.bind = s->bind == STB_LOCAL ? LOADER_LOCAL
			: s->bind == STB_WEAK ? LOADER_WEAK : LOADER_GLOBAL,
		.func = s->type == STT_FUNC, .exported = s->exported, .grant = s->grant,
	};
}

int loader_lookup(const struct loader *ld, const char *name, uint64_t *addr,
		  struct loader_cell **owner)
{
	struct loader_cell *o;
	const struct lsym *s = symbols_find(ld, name, &o);

	if (!s)
		return LOADER_ENOENT;
	if (addr)
		*addr = s->addr;
	if (owner)
		*owner = o;
	return 0;
}

static bool callable(const struct lsym *s)
{
	return s->bind != STB_LOCAL && s->type == STT_FUNC;
}

/* The symbol of c named `name` that loader_cell_lookup may return: the
 * exported one, else a private global function; else, in *other, the first
 * global (or failing that local) symbol of that name. */
static const struct lsym *cell_sym(const struct loader_cell *c, const char *name,
				   const struct lsym **other)
{
	const struct lsym *s = symbols_find_in(c, name), *global = NULL, *local = NULL;

	*other = NULL;
	if (s && callable(s))
		return s;
	for (uint32_t i = 0; i < c->nsyms; i++) {
		const struct lsym *t = &c->syms[i];
		if (strcmp(t->name, name) != 0)
			continue;
		if (callable(t))
			return t;
		if (t->bind != STB_LOCAL && !global)
			global = t;
		else if (t->bind == STB_LOCAL && !local)
			local = t;
	}
	*other = global ? global : local;
	return NULL;
}

int loader_cell_lookup(const struct loader_cell *c, const char *name, uint64_t *addr)
{
	const struct lsym *other, *s = cell_sym(c, name, &other);

	if (!s)
		return other ? LOADER_EINVAL : LOADER_ENOENT;
	if (addr)
		*addr = s->addr;
	return 0;
}

bool loader_cell_sym_find(const struct loader_cell *c, const char *name, struct loader_sym *out)
{
	const struct lsym *other, *s = cell_sym(c, name, &other);

	if (!s)
		s = other;
	if (s)
		loader_cell_sym(c, (size_t)(s - c->syms), out);
	return s != NULL;
}

/* The last symbol placed at or below addr, or NULL. */
static const struct lsym *sym_below(const struct loader_cell *c, uint64_t addr)
{
	uint32_t lo = 0, hi = c->nsyms;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0 && c->syms[lo - 1].sec == NO_INDEX)
		lo--;
	return lo ? &c->syms[lo - 1] : NULL;
}

static const struct placed *sec_at(const struct loader_cell *c, uint64_t addr)
{
	for (uint32_t i = 0; i < c->nsecs; i++)
		if (addr >= c->secs[i].addr && addr - c->secs[i].addr < c->secs[i].size)
			return &c->secs[i];
	return NULL;
}

bool loader_addr_lookup(const struct loader *ld, uint64_t addr,
			struct loader_addr_info *out)
{
	for (struct loader_cell *c = ld->core.next; c; c = c->next) {
		if (addr < c->base || addr - c->base >= c->map_bytes)
			continue;
		const struct placed *sec = sec_at(c, addr);
		const struct lsym *s = sym_below(c, addr);
		if (s && sec && s->addr < sec->addr)
			s = NULL;
		*out = (struct loader_addr_info){
			.cell = c, .section = sec ? sec->name : NULL,
			.symbol = s ? s->name : NULL,
			.offset = addr - (s ? s->addr : sec ? sec->addr : c->base),
		};
		return true;
	}
	return false;
}
