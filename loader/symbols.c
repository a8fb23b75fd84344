/*
 * The namespace: nano_core's exports plus the exported globals of every
 * published cell, each owner keeping its exports sorted by name. Resolution
 * of a new object against it, the rules for duplicates, weak symbols and
 * grants (see include/delos/loader.h), and the symbol look-ups.
 */
#include "loader/internal.h"

static int cmp_lsym_name(const void *a, const void *b, const void *ctx)
{
	const struct lsym *syms = ctx;

	return strcmp(syms[*(const uint32_t *)a].name, syms[*(const uint32_t *)b].name);
}

static int cmp_lsym_addr(const void *a, const void *b, const void *ctx)
{
	const struct lsym *x = a, *y = b;

	(void)ctx;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->bind != y->bind)
		return x->bind == STB_LOCAL ? 1 : -1;
	return strcmp(x->name, y->name);
}

const struct lsym *symbols_find_in(const struct loader_cell *c, const char *name)
{
	uint32_t lo = 0, hi = c->nexported;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct lsym *s = &c->syms[c->by_name[mid]];
		int d = strcmp(name, s->name);
		if (d == 0)
			return s;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool skipped(const struct loader_cell *c, struct loader_cell *const *skip, size_t nskip)
{
	for (size_t i = 0; i < nskip; i++)
		if (skip[i] == c)
			return true;
	return false;
}

/* The published owner of `name`, leaving out the cells in skip[]. */
static const struct lsym *find_skipping(const struct loader *ld, const char *name,
					struct loader_cell **owner,
					struct loader_cell *const *skip, size_t nskip)
{
	for (const struct loader_cell *c = &ld->core; c; c = c->next) {
		const struct lsym *s = c->published && !skipped(c, skip, nskip)
					       ? symbols_find_in(c, name) : NULL;
		if (s) {
			if (owner)
				*owner = (struct loader_cell *)c;
			return s;
		}
	}
	return NULL;
}

const struct lsym *symbols_find(const struct loader *ld, const char *name,
			   struct loader_cell **owner)
{
	return find_skipping(ld, name, owner, NULL, 0);
}

/* Sorts c->syms by address and indexes its exports by name. */
static int index_syms(struct loader *ld, struct loader_cell *c)
{
	ldr_sort(c->syms, c->nsyms, sizeof(*c->syms), cmp_lsym_addr, NULL);
	c->nexported = 0;
	for (uint32_t i = 0; i < c->nsyms; i++)
		c->nexported += c->syms[i].exported;
	c->by_name = ldr_alloc(ld, (size_t)c->nexported * sizeof(uint32_t));
	if (!c->by_name)
		return LOADER_ENOMEM;
	for (uint32_t i = 0, n = 0; i < c->nsyms; i++)
		if (c->syms[i].exported)
			c->by_name[n++] = i;
	ldr_sort(c->by_name, c->nexported, sizeof(uint32_t), cmp_lsym_name, c->syms);
	return 0;
}

static int core_check_dups(struct loader *ld)
{
	const struct loader_cell *c = &ld->core;

	for (uint32_t i = 1; i < c->nexported; i++) {
		const char *a = c->syms[c->by_name[i - 1]].name;
		if (strcmp(a, c->syms[c->by_name[i]].name) == 0)
			return ldr_err(ld, LOADER_EINVAL, "nano_core exports '%s' twice", a);
	}
	return 0;
}

/* Makes nano_core the first owner in the namespace. */
int symbols_core_init(struct loader *ld, const struct loader_config *cfg)
{
	struct loader_cell *c = &ld->core;

	*c = (struct loader_cell){ .core = true, .published = true,
				   .name = "nano_core", .version = "", .path = "" };
	c->syms = ldr_alloc(ld, cfg->nexports * sizeof(*c->syms));
	if (!c->syms)
		return ldr_err(ld, LOADER_ENOMEM, "out of memory for exports");
	c->nsyms = cfg->nexports;
	for (size_t i = 0; i < cfg->nexports; i++) {
		const struct loader_export *e = &cfg->exports[i];
		if (!e->name || !e->grant)
			return ldr_err(ld, LOADER_EINVAL, "export %zu has no name or grant", i);
		c->syms[i] = (struct lsym){ .name = e->name, .addr = e->addr,
					    .grant = e->grant, .sec = NO_INDEX,
					    .bind = STB_GLOBAL, .exported = true,
					    .type = e->func ? STT_FUNC : STT_OBJECT };
	}
	if (index_syms(ld, c))
		return ldr_err(ld, LOADER_ENOMEM, "out of memory for exports");
	return core_check_dups(ld);
}

static bool is_private_name(const struct loader *ld, const char *name)
{
	for (const char *const *p = ld->private_names; p && *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

static bool granted(const struct load *L, const char *grant)
{
	for (size_t i = 0; i < L->args->ngrants; i++)
		if (strcmp(L->args->grants[i], grant) == 0)
			return true;
	return false;
}

static int cmp_obj_sym_name(const void *a, const void *b, const void *ctx)
{
	const struct load *L = ctx;

	return strcmp(load_sym_name(L, *(const uint32_t *)a), load_sym_name(L, *(const uint32_t *)b));
}

/* Refuses an object whose symbol table names one global twice. */
static int check_unique_globals(struct load *L)
{
	uint32_t n = L->nsyms - L->first_global, *idx;

	idx = ldr_alloc(L->ld, (size_t)n * sizeof(uint32_t));
	if (!idx)
		return load_err(L, LOADER_ENOMEM, "out of memory for symbols");
	for (uint32_t i = 0; i < n; i++)
		idx[i] = L->first_global + i;
	ldr_sort(idx, n, sizeof(uint32_t), cmp_obj_sym_name, L);
	int err = 0;
	for (uint32_t i = 1; i < n && !err; i++)
		if (strcmp(load_sym_name(L, idx[i - 1]), load_sym_name(L, idx[i])) == 0)
			err = load_sec_err(L, LOADER_EBADELF, L->symtab,
				      "symbol '%s' appears twice", load_sym_name(L, idx[i]));
	ldr_free(L->ld, idx);
	return err;
}

static bool exportable(const struct load *L, uint32_t i)
{
	const Elf64_Sym *s = &L->syms[i];
	unsigned vis = ELF_SYM_VIS(s->st_other);

	if (ELF_SYM_BIND(s->st_info) == STB_LOCAL || !s->st_name)
		return false;
	if (vis == STV_HIDDEN || vis == STV_INTERNAL)
		return false;
	if (s->st_shndx != SHN_ABS && L->plan[s->st_shndx].comdat)
		return false;
	return !is_private_name(L->ld, load_sym_name(L, i));
}

static void bind_extern(struct sym_res *r, struct loader_cell *owner,
			const struct lsym *target)
{
	r->kind = RES_EXTERN;
	r->owner = owner;
	r->target = target;
}

/* A definition meets the namespace: export it, drop it, or refuse. */
static int resolve_export(struct load *L, uint32_t i)
{
	struct sym_res *r = &L->res[i];
	const char *name = load_sym_name(L, i);
	bool weak = ELF_SYM_BIND(L->syms[i].st_info) == STB_WEAK;
	struct loader_cell *owner;
	const struct lsym *old;

	if (L->args->flags & LOADER_UNPUBLISHED || !(old = symbols_find(L->ld, name, &owner))) {
		r->exported = true;
		return 0;
	}
	if (!weak && old->bind != STB_WEAK)
		return load_err(L, LOADER_EDUP, "duplicate symbol '%s' (defined in %s and %s)",
				name, owner->name, L->cell->name);
	if (!weak)
		return load_err(L, LOADER_EDUP,
				"'%s' is weak in %s; the loader does not let %s override it",
				name, owner->name, L->cell->name);
	if (!old->grant || granted(L, old->grant))
		bind_extern(r, owner, old);
	return 0;
}

static void undefined_add(struct lmsg *m, unsigned *n, const char *name)
{
	lmsg_printf(m, "%s'%s'", *n ? ", " : "", name);
	(*n)++;
}

/* An undefined symbol meets the namespace. */
static int resolve_undef(struct load *L, uint32_t i, struct lmsg *m, unsigned *n)
{
	const Elf64_Sym *s = &L->syms[i];
	const char *name = load_sym_name(L, i);
	unsigned vis = ELF_SYM_VIS(s->st_other);
	struct loader_cell *owner;
	const struct lsym *t = NULL;

	if (vis != STV_HIDDEN && vis != STV_INTERNAL)
		t = symbols_find(L->ld, name, &owner);
	if (!t && ELF_SYM_BIND(s->st_info) == STB_WEAK)
		L->res[i].kind = RES_ZERO;
	else if (!t)
		undefined_add(m, n, name);
	else if (t->grant && !granted(L, t->grant))
		return load_err(L, LOADER_EGRANT,
				"symbol '%s' needs grant '%s', which %s was not given",
				name, t->grant, L->cell->name);
	else
		bind_extern(&L->res[i], owner, t);
	return 0;
}

static int resolve_one(struct load *L, uint32_t i, struct lmsg *m, unsigned *n)
{
	const Elf64_Sym *s = &L->syms[i];
	struct sym_res *r = &L->res[i];

	r->import = r->got = NO_INDEX;
	if (i == 0 || ELF_SYM_TYPE(s->st_info) == STT_FILE)
		return 0;
	if (s->st_shndx == SHN_UNDEF)
		return resolve_undef(L, i, m, n);
	if (s->st_shndx == SHN_ABS)
		r->kind = RES_ABS;
	else if (s->st_shndx == SHN_COMMON || L->plan[s->st_shndx].seg == SEG_NONE)
		r->kind = RES_DISCARDED;
	else
		r->kind = RES_DEFINED;
	if (r->kind != RES_DISCARDED && exportable(L, i))
		return resolve_export(L, i);
	return 0;
}

/* The index in args->guards of the guard on export `name`, or -1. */
static long guard_index(const struct load *L, const char *name)
{
	for (size_t g = 0; g < L->args->nguards; g++)
		if (strcmp(L->args->guards[g].symbol, name) == 0)
			return (long)g;
	return -1;
}

/* Every guard must name a symbol this object exports, and a grant. */
static int check_guards(struct load *L)
{
	for (size_t g = 0; g < L->args->nguards; g++) {
		const struct loader_guard *gd = &L->args->guards[g];
		bool found = false;
		if (!gd->symbol || !gd->symbol[0] || !gd->grant || !gd->grant[0])
			return load_err(L, LOADER_EINVAL, "guard %zu has no symbol or no grant", g);
		for (uint32_t i = L->first_global; !found && i < L->nsyms; i++)
			found = L->res[i].exported && strcmp(load_sym_name(L, i), gd->symbol) == 0;
		if (!found)
			return load_err(L, LOADER_ENOENT,
					"guard '%s' (grant '%s') names no symbol that %s exports",
					gd->symbol, gd->grant, L->cell->name);
	}
	return 0;
}

/* Resolves every symbol of the object; changes nothing in the namespace. */
int symbols_resolve(struct load *L)
{
	char buf[LOADER_ERR_MAX - 64];
	struct lmsg m;
	unsigned nundef = 0;
	int err = check_unique_globals(L);

	lmsg_init(&m, buf, sizeof(buf));
	for (uint32_t i = 0; !err && i < L->nsyms; i++)
		err = resolve_one(L, i, &m, &nundef);
	if (!err && nundef)
		err = load_err(L, LOADER_EUNDEF, "undefined symbol%s %s",
			       nundef > 1 ? "s" : "", buf);
	return err ? err : check_guards(L);
}

/* The address of a symbol this object defines (ABS or placed). */
uint64_t symbols_value(const struct load *L, uint32_t i)
{
	const Elf64_Sym *s = &L->syms[i];

	if (s->st_shndx == SHN_ABS)
		return s->st_value;
	return layout_sec_addr(L, s->st_shndx) + s->st_value;
}

static bool defined_here(const struct load *L, uint32_t i)
{
	const Elf64_Sym *s = &L->syms[i];
	unsigned type = ELF_SYM_TYPE(s->st_info);

	if (!s->st_name || type == STT_SECTION || type == STT_FILE)
		return false;
	if (s->st_shndx == SHN_ABS)
		return true;
	return s->st_shndx != SHN_UNDEF && s->st_shndx < SHN_LORESERVE &&
	       L->plan[s->st_shndx].seg != SEG_NONE;
}

/* Copies the guards' grants into c->guards, one NUL-terminated string each,
 * in guard order. */
static int copy_guards(struct load *L)
{
	const struct loader_load_args *a = L->args;
	size_t n = 0;

	for (size_t g = 0; g < a->nguards; g++)
		n += strlen(a->guards[g].grant) + 1;
	if (!n)
		return 0;
	L->cell->guards = ldr_alloc(L->ld, n);
	if (!L->cell->guards)
		return LOADER_ENOMEM;
	n = 0;
	for (size_t g = 0; g < a->nguards; g++) {
		size_t len = strlen(a->guards[g].grant) + 1;
		memcpy(L->cell->guards + n, a->guards[g].grant, len);
		n += len;
	}
	return 0;
}

/* The copy of the grant that guards export i, or NULL. */
static const char *guard_grant(const struct load *L, uint32_t i)
{
	long g = L->res[i].exported ? guard_index(L, load_sym_name(L, i)) : -1;
	const char *p = L->cell->guards;

	for (long k = 0; p && k < g; k++)
		p += strlen(p) + 1;
	return g < 0 ? NULL : p;
}

/* Builds the new cell's symbol table once its sections have addresses. */
int symbols_define(struct load *L)
{
	struct loader_cell *c = L->cell;
	uint32_t n = 0;

	for (uint32_t i = 1; i < L->nsyms; i++)
		n += defined_here(L, i);
	c->syms = ldr_alloc(L->ld, (size_t)n * sizeof(*c->syms));
	if (!c->syms || copy_guards(L))
		return load_err(L, LOADER_ENOMEM, "out of memory for symbols");
	for (uint32_t i = 1; i < L->nsyms; i++) {
		const Elf64_Sym *s = &L->syms[i];
		if (!defined_here(L, i))
			continue;
		c->syms[c->nsyms++] = (struct lsym){
			.name = c->strtab + s->st_name, .addr = symbols_value(L, i),
			.size = s->st_size, .bind = ELF_SYM_BIND(s->st_info),
			.type = ELF_SYM_TYPE(s->st_info), .exported = L->res[i].exported,
			.grant = guard_grant(L, i),
			.sec = s->st_shndx == SHN_ABS ? NO_INDEX : L->plan[s->st_shndx].placed,
		};
	}
	if (index_syms(L->ld, c))
		return load_err(L, LOADER_ENOMEM, "out of memory for symbols");
	return 0;
}

/* Checks that an unpublished cell's exports may enter the namespace once
 * the cells in gone[] have left it. */
int symbols_publish_check(struct loader *ld, struct loader_cell *c,
			  struct loader_cell *const *gone, size_t ngone)
{
	for (uint32_t i = 0; i < c->nexported; i++) {
		const struct lsym *s = &c->syms[c->by_name[i]];
		struct loader_cell *owner;
		const struct lsym *old = find_skipping(ld, s->name, &owner, gone, ngone);
		if (!old || s->bind == STB_WEAK)
			continue;
		if (old->bind != STB_WEAK)
			return ldr_err(ld, LOADER_EDUP,
				       "%s: duplicate symbol '%s' (defined in %s and %s)",
				       c->name, s->name, owner->name, c->name);
		return ldr_err(ld, LOADER_EDUP,
			       "%s: '%s' is weak in %s; the loader does not let %s override it",
			       c->name, s->name, owner->name, c->name);
	}
	return 0;
}

/*
 * Publishes a checked cell: its weak exports whose names are taken drop out.
 * A strong export's name is free (symbols_publish_check), so only the weak
 * ones are looked up.
 */
void symbols_publish(struct loader *ld, struct loader_cell *c)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->nexported; i++) {
		struct lsym *s = &c->syms[c->by_name[i]];
		if (s->bind == STB_WEAK && symbols_find(ld, s->name, NULL))
			s->exported = false;
		else
			c->by_name[n++] = c->by_name[i];
	}
	c->nexported = n;
	c->published = true;
}
