/*
 * The loader's entry points: create and destroy, load as a list of named
 * steps with one cleanup path, publish, unload; plus the allocation and
 * error helpers every stage uses.
 */
#include "loader/internal.h"

void *ldr_alloc(struct loader *ld, size_t bytes)
{
	void *p = ld->env.alloc(ld->env.ctx, bytes ? bytes : 1);

	if (p)
		memset(p, 0, bytes ? bytes : 1);
	return p;
}

void *ldr_alloc_raw(struct loader *ld, size_t bytes)
{
	return ld->env.alloc(ld->env.ctx, bytes ? bytes : 1);
}

void ldr_free(struct loader *ld, void *p)
{
	if (p)
		ld->env.free(ld->env.ctx, p);
}

static int vset_err(struct loader *ld, int code, const char *prefix,
		    const char *fmt, va_list ap)
{
	struct lmsg m;

	lmsg_init(&m, ld->err, sizeof(ld->err));
	lmsg_printf(&m, "loader: %s", prefix);
	lmsg_vprintf(&m, fmt, ap);
	return code;
}

int ldr_err(struct loader *ld, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(ld, code, "", fmt, ap);
	va_end(ap);
	return code;
}

int load_err(struct load *L, int code, const char *fmt, ...)
{
	char prefix[160];
	struct lmsg m;
	va_list ap;

	lmsg_init(&m, prefix, sizeof(prefix));
	lmsg_printf(&m, "%s: ", L->obj_name);
	va_start(ap, fmt);
	vset_err(L->ld, code, prefix, fmt, ap);
	va_end(ap);
	return code;
}

int load_sec_err(struct load *L, int code, uint32_t shndx, const char *fmt, ...)
{
	char prefix[160];
	struct lmsg m;
	va_list ap;

	lmsg_init(&m, prefix, sizeof(prefix));
	if (L->names_ok)
		lmsg_printf(&m, "%s: %s: ", L->obj_name, load_sec_name(L, shndx));
	else
		lmsg_printf(&m, "%s: section %u: ", L->obj_name, shndx);
	va_start(ap, fmt);
	vset_err(L->ld, code, prefix, fmt, ap);
	va_end(ap);
	return code;
}

const char *load_sec_name(const struct load *L, uint32_t shndx)
{
	return L->names_ok && shndx < L->shnum ? L->shstr + L->sh[shndx].sh_name : "?";
}

const char *load_sym_name(const struct load *L, uint32_t symi)
{
	if (symi >= L->nsyms || L->syms[symi].st_name >= L->str_size)
		return "?";
	return L->str + L->syms[symi].st_name;
}

const char *loader_error(const struct loader *ld)
{
	return ld->err;
}

int loader_create(const struct loader_config *cfg, struct loader **out)
{
	const struct loader_env *env = cfg ? cfg->env : NULL;
	struct loader *ld;

	*out = NULL;
	if (!env || !env->map || !env->protect || !env->unmap || !env->alloc ||
	    !env->free || (cfg->nexports && !cfg->exports))
		return LOADER_EINVAL;
	ld = env->alloc(env->ctx, sizeof(*ld));
	if (!ld)
		return LOADER_ENOMEM;
	memset(ld, 0, sizeof(*ld));
	ld->env = *env;
	ld->private_names = cfg->private_names;
	ld->last = &ld->core;
	ld->next_id = 1;
	memcpy(ld->core_name, "nano_core", sizeof(ld->core_name));
	memcpy(ld->got_name, ".got", sizeof(ld->got_name));
	int err = symbols_core_init(ld, cfg);
	if (err) {
		ldr_free(ld, ld->core.syms);
		ldr_free(ld, ld->core.by_name);
		symbols_ns_free(ld);
		env->free(env->ctx, ld);
		return err;
	}
	*out = ld;
	return 0;
}

/* Frees a cell and everything it holds; safe on a partly built cell. */
static void cell_free(struct loader *ld, struct loader_cell *c)
{
	if (!c)
		return;
	imports_unlink(c);
	ld->link_changes++;
	if (c->mem)
		ld->env.unmap(ld->env.ctx, c->mem, c->map_bytes);
	ldr_free(ld, c->names);
	ldr_free(ld, c->strtab);
	ldr_free(ld, c->shstrtab);
	ldr_free(ld, c->secs);
	ldr_free(ld, c->syms);
	ldr_free(ld, c->by_name);
	ldr_free(ld, c->guards);
	ldr_free(ld, c->imports);
	ldr_free(ld, c->sites);
	ldr_free(ld, c);
}

void loader_destroy(struct loader *ld)
{
	struct loader_cell *c, *next;

	if (!ld)
		return;
	for (c = ld->core.next; c; c = c->next)
		imports_unlink(c);
	for (c = ld->core.next; c; c = next) {
		next = c->next;
		cell_free(ld, c);
	}
	ldr_free(ld, ld->core.syms);
	ldr_free(ld, ld->core.by_name);
	symbols_ns_free(ld);
	ld->env.free(ld->env.ctx, ld);
}

static char *copy_bytes(struct loader *ld, const void *src, size_t n)
{
	char *p = n ? ldr_alloc_raw(ld, n) : ldr_alloc(ld, 1);

	if (p && n)
		memcpy(p, src, n);
	return p;
}

const char *ldr_args_name(const struct loader_load_args *a)
{
	return a->name ? a->name : a->path ? a->path : "object";
}

struct loader_cell *ldr_cell_named(const struct loader *ld, const char *name,
				   struct loader_cell *const *skip, size_t nskip)
{
	for (struct loader_cell *c = (struct loader_cell *)&ld->core; c; c = c->next) {
		size_t i = 0;
		while (i < nskip && skip[i] != c)
			i++;
		if (i == nskip && strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/*
 * The naming rule, for a load that enters the namespace now: no loaded cell
 * may have its name. A swap's new versions load unpublished beside the cells
 * they replace; loader_swap checks them against the cells that stay.
 */
static int check_name(struct load *L)
{
	const struct loader_cell *c;

	if (L->args->flags & LOADER_UNPUBLISHED)
		return 0;
	if (!(c = ldr_cell_named(L->ld, ldr_args_name(L->args), NULL, 0)))
		return 0;
	return load_err(L, LOADER_EDUP,
			"load refused: %s%s%s is already loaded (one version of a cell at a time; "
			"swap changes versions)", c->name, c->version[0] ? "@" : "", c->version);
}

/* Copies the cell's names: "name\0version\0path\0". */
static int copy_names(struct load *L, struct loader_cell *c)
{
	const struct loader_load_args *a = L->args;
	const char *name = ldr_args_name(a);
	const char *version = a->version ? a->version : "";
	size_t n1 = strlen(name) + 1, n2 = strlen(version) + 1, n3 = strlen(L->obj_name) + 1;

	c->names = ldr_alloc(L->ld, n1 + n2 + n3);
	if (!c->names)
		return LOADER_ENOMEM;
	memcpy(c->names, name, n1);
	memcpy(c->names + n1, version, n2);
	memcpy(c->names + n1 + n2, L->obj_name, n3);
	c->name = c->names;
	c->version = c->names + n1;
	c->path = c->names + n1 + n2;
	return 0;
}

/*
 * The per-section and per-symbol scratch of a load, in one allocation: the
 * plan, the resolutions, relocs_survey's notes and the table of global names
 * zeroed, the values relocs_apply writes before it reads them not. Every
 * part is a multiple of 8 bytes.
 */
static int scratch_alloc(struct load *L)
{
	size_t n = L->nsyms;

	L->globals_slots = symbols_table_slots(L->nsyms - L->first_global);
	size_t plan = (size_t)L->shnum * sizeof(*L->plan), res = n * sizeof(*L->res),
	       use = n * sizeof(*L->use), glob = (size_t)L->globals_slots * sizeof(*L->globals),
	       zeroed = plan + res + use + glob;
	char *p = ldr_alloc_raw(L->ld, zeroed + n * sizeof(*L->val));

	if (!(L->scratch = p))
		return load_err(L, LOADER_ENOMEM, "out of memory");
	memset(p, 0, zeroed);
	L->plan = (struct sec_plan *)p;
	L->res = (struct sym_res *)(p + plan);
	L->use = (uint64_t *)(p + plan + res);
	L->globals = (uint64_t *)(p + plan + res + use);
	L->val = (struct symval *)(p + zeroed);
	return 0;
}

static void scratch_free(struct load *L)
{
	ldr_free(L->ld, L->scratch);
}

/* Allocates the cell record with copies of its names and string tables. */
static int cell_new(struct load *L)
{
	struct loader_cell *c = ldr_alloc(L->ld, sizeof(*c));

	L->cell = c;
	if (!c || copy_names(L, c))
		return load_err(L, LOADER_ENOMEM, "out of memory");
	c->shstrtab = copy_bytes(L->ld, L->shstr, L->shstr_size);
	c->strtab = copy_bytes(L->ld, L->str, L->str_size);
	if (!c->shstrtab || !c->strtab)
		return load_err(L, LOADER_ENOMEM, "out of memory");
	return 0;
}

/*
 * The load sequence, after load_begin has validated the object (with the
 * per-section and per-symbol scratch, which the relocation checks fill). The
 * first CHECK_STEPS steps read the object and the namespace and allocate
 * only bookkeeping; the rest map, write, relocate and
 * protect. Any failure unwinds through cell_free and scratch_free, which undo
 * every step in reverse: unlink nothing (not linked yet), unmap, free.
 */
static int (*const load_steps[])(struct load *) = {
	check_name,      /* at most one loaded cell of each name */
	cell_new,        /* cell record, names, string tables */
	layout_plan,     /* classify sections, COMDAT groups, rela targets */
	symbols_resolve, /* namespace, duplicates, weak rules, grants */
	imports_build,   /* one import per external symbol */
	relocs_scan,     /* types, discarded targets, GOT slots, site counts */
	sites_alloc,     /* dependency records */
	layout_place,    /* segment offsets and sizes */
	prelink_check,   /* a prelinked object's layout and fields */
	layout_map,      /* fresh pages, section addresses */
	symbols_define,  /* the cell's symbol table, with addresses */
	relocs_apply,    /* copy sections, patching as they are copied; fill the GOT */
	layout_protect,  /* final permissions: RX, R, RW */
};
#define CHECK_STEPS 9
#define ALL_STEPS (sizeof(load_steps) / sizeof(load_steps[0]))

static int load_begin(struct load *L, struct loader *ld,
		      const struct loader_load_args *a)
{
	*L = (struct load){ .ld = ld, .args = a };
	if (!a || !a->obj)
		return ldr_err(ld, LOADER_EINVAL, "no object given");
	L->obj_name = a->path ? a->path : a->name ? a->name : "object";
	L->obj = a->obj;
	L->size = a->size;
	int err = ldr_elf_check(L);
	if (!err)
		err = scratch_alloc(L);
	if (!err)
		err = ldr_elf_check_links(L);
	return err ? err : ldr_policy_check(L);
}

static int load_run(struct load *L, size_t nsteps)
{
	for (size_t i = 0; i < nsteps; i++) {
		int err = load_steps[i](L);
		if (err)
			return err;
	}
	return 0;
}

static void load_end(struct load *L, bool keep)
{
	if (!keep)
		cell_free(L->ld, L->cell);
	scratch_free(L);
}

int ldr_layout(struct load *L, struct loader *ld, const struct loader_load_args *a)
{
	int err = load_begin(L, ld, a);

	if (!err)
		err = cell_new(L);
	if (!err)
		err = layout_plan(L);
	if (!err)
		err = relocs_count_got(L);
	return err ? err : layout_place(L);
}

void ldr_layout_end(struct load *L)
{
	load_end(L, false);
}

int loader_check(struct loader *ld, const struct loader_load_args *a)
{
	struct load L;
	int err = load_begin(&L, ld, a);

	if (!err)
		err = load_run(&L, CHECK_STEPS);
	load_end(&L, false);
	return err;
}

/* Runs .preinit_array then .init_array entries, in section order. */
static void run_ctors(struct loader_cell *c)
{
	static const uint32_t order[] = { SHT_PREINIT_ARRAY, SHT_INIT_ARRAY };

	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < c->nsecs; i++) {
			const struct placed *p = &c->secs[i];
			const uint64_t *fn = (const uint64_t *)((char *)c->mem +
								 (p->addr - c->base));
			if (p->type != order[pass])
				continue;
			for (uint64_t k = 0; k < p->size / 8; k++)
				((void (*)(void))(uintptr_t)fn[k])();
		}
	}
}

/* For debuggers (build/gdb/delos.py): called after every change to the list of cells. */
__attribute__((noinline)) void loader_debug_changed(const struct loader *ld)
{
	__asm__ volatile("" : : "r"(ld) : "memory");
}

/* Makes a loaded cell visible: list, namespace, owners' user lists. */
static void commit(struct loader *ld, struct loader_cell *c, unsigned flags)
{
	c->id = ld->next_id++;
	ld->last->next = c;
	ld->last = c;
	c->published = !(flags & LOADER_UNPUBLISHED);
	ld->ns_changes += c->published;
	if (c->published)
		symbols_ns_add(ld, c);
	imports_link(c);
	ld->link_changes++;
	loader_debug_changed(ld);
}

int loader_load(struct loader *ld, const struct loader_load_args *a,
		struct loader_cell **out)
{
	struct load L;
	int err = load_begin(&L, ld, a);

	if (out)
		*out = NULL;
	if (!err)
		err = load_run(&L, ALL_STEPS);
	if (!err)
		commit(ld, L.cell, a->flags);
	load_end(&L, !err);
	if (err)
		return err;
	if (!(a->flags & LOADER_NO_CTORS))
		run_ctors(L.cell);
	if (out)
		*out = L.cell;
	return 0;
}

int loader_publish(struct loader *ld, struct loader_cell *c)
{
	if (!c || c->published)
		return 0;
	int err = symbols_publish_check(ld, c, NULL, 0);
	if (err)
		return err;
	symbols_publish(ld, c);
	ld->ns_changes++;
	return 0;
}

int loader_publish_unchanged(struct loader *ld, struct loader_cell *c, uint64_t checked_at)
{
	if (!c || c->published)
		return 0;
	if (ld->ns_changes != checked_at)
		return loader_publish(ld, c);
	symbols_publish(ld, c);
	ld->ns_changes++;
	return 0;
}

uint64_t loader_ns_changes(const struct loader *ld)
{
	return ld->ns_changes;
}

/* Names the distinct cells that use c, for the refusal message. */
static int refuse_busy(struct loader *ld, const struct loader_cell *c)
{
	char buf[LOADER_ERR_MAX - 64];
	struct lmsg m;
	const struct loader_import *im, *seen;

	lmsg_init(&m, buf, sizeof(buf));
	for (im = c->users; im; im = im->next_user) {
		for (seen = c->users; seen != im && seen->user != im->user;)
			seen = seen->next_user;
		if (seen == im)
			lmsg_printf(&m, "%s%s", m.len ? ", " : "", im->user->name);
	}
	return ldr_err(ld, LOADER_EBUSY, "%s: cannot unload: used by %s", c->name, buf);
}

int loader_unload(struct loader *ld, struct loader_cell *c)
{
	int err = loader_detach(ld, c);

	if (!err)
		loader_reap(ld, c);
	return err;
}

void loader_reap(struct loader *ld, struct loader_cell *c)
{
	cell_free(ld, c);
}

int loader_detach(struct loader *ld, struct loader_cell *c)
{
	struct loader_cell *prev = &ld->core;

	if (!c || c->core)
		return ldr_err(ld, LOADER_EINVAL, "nano_core cannot be unloaded");
	if (c->users)
		return refuse_busy(ld, c);
	while (prev->next && prev->next != c)
		prev = prev->next;
	if (!prev->next)
		return ldr_err(ld, LOADER_ENOENT, "%s: not loaded", c->name);
	prev->next = c->next;
	if (ld->last == c)
		ld->last = prev;
	ld->ns_changes += c->published;
	if (c->published)
		symbols_ns_remove(ld, c);
	imports_unlink(c);
	ld->link_changes++;
	loader_debug_changed(ld);
	return 0;
}
