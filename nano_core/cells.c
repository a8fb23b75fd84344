#include <delos/cells.h>
#include <delos/kernel.h>
#include <delos/ksyms.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/paging.h>
#include <delos/string.h>
#include <delos/swap.h>
#include <delos/time.h>
#include <delos/trap.h>

#define MAX_EXPORTS 256
#define STUCK_SYMS 64

/* The loader, the manifest and where cells go; owned by nano_core, set up once. */
static struct {
	struct loader *ld;
	struct manifest manifest;
	struct manifest_entry *entries;
	const struct mb2_info *boot;
	uint64_t next_va;		/* bump pointer in [CELL_BASE, CELL_LIMIT) */
	uint64_t generation;		/* counts loads and unloads */
} cs = { .next_va = CELL_BASE };

uint64_t loader_generation(void)
{
	return cs.generation;
}

static const char *const private_names[] = { "cell_init", "cell_exit", "cell_swap_in", NULL };

struct loader *cells_loader(void)
{
	return cs.ld;
}

/* Each mapping gets a fresh range with an unmapped guard page on either side. */
static void *env_map(void *ctx, size_t bytes, uint64_t *addr)
{
	uint64_t va = cs.next_va + PAGE_SIZE;

	(void)ctx;
	if (bytes > CELL_LIMIT - va - PAGE_SIZE || !mm_map_fresh(va, bytes))
		return NULL;
	cs.next_va = va + bytes;
	*addr = va;
	return (void *)va;
}

static int env_protect(void *ctx, void *mem, size_t bytes, int perm)
{
	unsigned p = PERM_R;

	(void)ctx;
	if ((perm & LOADER_PERM_W) && (perm & LOADER_PERM_X))
		return -1;
	if (perm & LOADER_PERM_W)
		p = PERM_RW;
	else if (perm & LOADER_PERM_X)
		p = PERM_RX;
	return paging_protect((uint64_t)mem, PAGE_ALIGN_UP(bytes), p);
}

static void env_unmap(void *ctx, void *mem, size_t bytes)
{
	(void)ctx;
	mm_unmap_free((uint64_t)mem, PAGE_ALIGN_UP(bytes));
}

/*
 * Writes into mapped cell memory whatever its permissions, through the
 * physmap's writable alias of each frame; the cell's own mapping keeps its
 * permissions (the kernel's text_poke).
 */
static int env_poke(void *ctx, void *mem, const void *src, size_t len)
{
	uint64_t va = (uint64_t)mem, pa;
	const uint8_t *s = src;

	(void)ctx;
	while (len) {
		size_t chunk = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		chunk = chunk < len ? chunk : len;
		if (!paging_translate(va, &pa))
			return -1;
		memcpy(phys_to_virt(pa), s, chunk);
		va += chunk, s += chunk, len -= chunk;
	}
	return 0;
}

static void *env_alloc(void *ctx, size_t bytes)
{
	(void)ctx;
	return kmalloc(bytes);
}

static void env_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

static const struct loader_env kernel_env = {
	env_map, env_protect, env_unmap, env_poke, env_alloc, env_free, NULL,
};

static const struct mb2_module *find_module(const char *name)
{
	for (size_t i = 0; i < cs.boot->module_count; i++) {
		const struct mb2_module *m = &cs.boot->modules[i];
		if (m->cmdline && strcmp(m->cmdline, name) == 0)
			return m;
	}
	return NULL;
}

static const struct mb2_module *find_module_of(const struct manifest_entry *e)
{
	char ref[48];

	snprintf(ref, sizeof(ref), "%s@%u", e->name, e->version);
	return find_module(ref);
}

static bool read_manifest(void)
{
	const struct mb2_module *m = find_module("manifest");
	struct manifest_error err;
	size_t cap;

	if (!m) {
		klog(LOG_ERR, "cells: no manifest module; no cells will load");
		return false;
	}
	const char *text = phys_to_virt(m->start);
	size_t len = m->end - m->start;
	cap = manifest_count_lines(text, len);
	cs.entries = kmalloc(cap * sizeof(*cs.entries));
	if (!cs.entries)
		return false;
	manifest_init(&cs.manifest, cs.entries, cap);
	if (manifest_parse(&cs.manifest, "cells.manifest", text, len, &err)) {
		klog(LOG_ERR, "cells: %s", err.message);
		return false;
	}
	return true;
}

static bool create_loader(void)
{
	static struct loader_export exports[MAX_EXPORTS];
	struct loader_config cfg = { &kernel_env, exports, kexport_count, private_names };
	int err;

	if (kexport_count > MAX_EXPORTS)
		panic("cells: %lu exports, room for %d", kexport_count, MAX_EXPORTS);
	for (uint64_t i = 0; i < kexport_count; i++)
		exports[i] = (struct loader_export){ &ksym_strings[kexport_table[i].name],
						     &ksym_strings[kexport_table[i].grant],
						     kexport_table[i].addr };
	err = loader_create(&cfg, &cs.ld);
	if (err)
		klog(LOG_ERR, "cells: cannot create the loader: %d", err);
	return err == 0;
}

struct cell_call {
	uint64_t fn, arg;
	int result;
};

static void run_int_fn(void *arg)
{
	struct cell_call *c = arg;

	c->result = ((int (*)(uint64_t))c->fn)(c->arg);
}

int cells_call_arg(uint64_t fn, uint64_t arg, int *result, struct trap_info *ti)
{
	struct cell_call c = { fn, arg, 0 };
	int r = trap_catch(run_int_fn, &c, ti);

	*result = c.result;
	return r;
}

int cells_call(uint64_t fn, int *result, struct trap_info *ti)
{
	return cells_call_arg(fn, 0, result, ti);
}

void cells_changed(void)
{
	cs.generation++;
}

static void fill_args(const struct manifest_entry *e, const struct mb2_module *m, char *version,
		      const char **grants, struct loader_load_args *a)
{
	snprintf(version, 12, "%u", e->version);
	for (uint32_t i = 0; i < e->grant_count; i++)
		grants[i] = e->grants[i];
	*a = (struct loader_load_args){
		.path = e->object, .name = e->name, .version = version,
		.obj = phys_to_virt(m->start), .size = m->end - m->start,
		.grants = grants, .ngrants = e->grant_count,
	};
}

/* Runs the cell's cell_init; a failure or fault unloads it again. */
static int init_cell(struct loader_cell *c, const char *ref)
{
	uint64_t fn;
	int result, vec;
	struct trap_info ti;

	if (loader_cell_lookup(c, "cell_init", &fn))
		return 0;
	vec = cells_call(fn, &result, &ti);
	if (vec == 0 && result == 0)
		return 0;
	if (vec)
		kprintf("cells: %s: cell_init raised %s at %016lx; unloading it\n", ref,
			trap_name(ti.vector), ti.rip);
	else
		kprintf("cells: %s: cell_init returned %d; unloading it\n", ref, result);
	loader_unload(cs.ld, c);
	cs.generation++;
	return LOADER_EINVAL;
}

/* Loads one manifest entry (check_only: just ask whether it would load). */
static int load_entry(const struct manifest_entry *e, bool check_only)
{
	char ref[48], version[12];
	const char *grants[MANIFEST_GRANTS_MAX];
	struct loader_load_args a;
	struct loader_cell *c;
	const struct mb2_module *m;
	int err;

	snprintf(ref, sizeof(ref), "%s@%u", e->name, e->version);
	if (!(m = find_module(ref))) {
		kprintf("cells: %s: its object is not among the boot modules\n", ref);
		return LOADER_ENOENT;
	}
	if (loader_cell_find(cs.ld, e->name)) {
		kprintf("cells: %s is already loaded; unload it first\n", e->name);
		return LOADER_EINVAL;
	}
	fill_args(e, m, version, grants, &a);
	uint64_t t0 = time_ns();
	err = check_only ? loader_check(cs.ld, &a) : loader_load(cs.ld, &a, &c);
	uint64_t link_ns = time_ns() - t0;
	if (err) {
		if (!check_only)
			kprintf("%s\n", loader_error(cs.ld));
		return err;
	}
	if (check_only)
		return 0;
	cs.generation++;
	klog(LOG_DEBUG, "cells: linked %s in %lu ns (%zu bytes)", ref, link_ns, a.size);
	return init_cell(c, ref);
}

int cells_load(const char *ref)
{
	const struct manifest_entry *e = manifest_find_ref(&cs.manifest, ref);

	if (!cs.ld)
		return LOADER_EINVAL;
	if (!e) {
		kprintf("cells: no %s in cells.manifest\n", ref);
		return LOADER_ENOENT;
	}
	int err = load_entry(e, false);
	if (!err)
		kprintf("cells: loaded %s\n", ref);
	return err;
}

int cells_unload(const char *name)
{
	struct loader_cell *c = cs.ld ? loader_cell_find(cs.ld, name) : NULL;
	struct loader_cell_info info;
	struct trap_info ti;
	uint64_t fn;
	int result, err;

	if (!c) {
		kprintf("cells: no loaded cell named '%s'\n", name);
		return LOADER_ENOENT;
	}
	loader_cell_info(c, &info);
	if (info.core) {
		kprintf("cells: nano_core cannot be unloaded\n");
		return LOADER_EINVAL;
	}
	/* cell_exit runs only once nothing stands in the way of the unload. */
	if (!loader_users_next(c, NULL) && loader_cell_lookup(c, "cell_exit", &fn) == 0 &&
	    cells_call(fn, &result, &ti))
		kprintf("cells: %s: cell_exit raised %s; unloading anyway\n", name, trap_name(ti.vector));
	cs.generation++;	/* before: no remembered address may reach the cell once it goes */
	if ((err = loader_unload(cs.ld, c))) {
		kprintf("%s\n", loader_error(cs.ld));
		return err;
	}
	cs.generation++;
	kprintf("cells: unloaded %s\n", name);
	return 0;
}

/* One cell that could not be ordered: what it defines and what it needs. */
struct stuck {
	const struct manifest_entry *e;
	const char *defs[STUCK_SYMS], *refs[STUCK_SYMS];
	size_t ndefs, nrefs;
	int mark;		/* depth-first search: 0 new, 1 on the path, 2 done */
};

static void collect_sym(void *ctx, const char *name, bool defined)
{
	struct stuck *s = ctx;

	if (defined && s->ndefs < STUCK_SYMS)
		s->defs[s->ndefs++] = name;
	else if (!defined && s->nrefs < STUCK_SYMS)
		s->refs[s->nrefs++] = name;
}

static bool needs(const struct stuck *a, const struct stuck *b)
{
	for (size_t i = 0; i < a->nrefs; i++)
		for (size_t j = 0; j < b->ndefs; j++)
			if (strcmp(a->refs[i], b->defs[j]) == 0)
				return true;
	return false;
}

/* Depth-first search for a cycle through v; on finding one, prints it and returns true. */
static bool find_cycle(struct stuck *st, size_t n, size_t v, size_t *path, size_t depth)
{
	path[depth] = v;
	st[v].mark = 1;
	for (size_t w = 0; w < n; w++) {
		if (!needs(&st[v], &st[w]))
			continue;
		if (st[w].mark == 1) {
			size_t first = 0;
			while (path[first] != w)
				first++;
			kprintf("cells: boot cells form a dependency cycle:");
			for (size_t i = first; i <= depth; i++)
				kprintf(" %s@%u ->", st[path[i]].e->name, st[path[i]].e->version);
			kprintf(" %s@%u; none of them is loaded\n", st[w].e->name, st[w].e->version);
			return true;
		}
		if (st[w].mark == 0 && find_cycle(st, n, w, path, depth + 1))
			return true;
	}
	st[v].mark = 2;
	return false;
}

/* Says why each of the cells that could not be ordered was left out. */
static void report_stuck(const struct manifest_entry **left, size_t n)
{
	struct stuck *st = kzalloc(n * sizeof(*st));
	size_t *path = kmalloc(n * sizeof(*path));
	bool cycle = false;

	for (size_t i = 0; st && path && i < n; i++) {
		char version[12];
		const char *grants[MANIFEST_GRANTS_MAX];
		struct loader_load_args a;
		const struct mb2_module *m = find_module_of(left[i]);
		st[i].e = left[i];
		if (m) {
			fill_args(left[i], m, version, grants, &a);
			loader_object_symbols(cs.ld, &a, collect_sym, &st[i]);
		}
	}
	for (size_t v = 0; st && path && !cycle && v < n; v++)
		cycle = st[v].mark == 0 && find_cycle(st, n, v, path, 0);
	for (size_t i = 0; !cycle && i < n; i++) {
		load_entry(left[i], true);
		kprintf("cells: %s@%u not loaded: %s\n", left[i]->name, left[i]->version,
			loader_error(cs.ld));
	}
	kfree(st);
	kfree(path);
}

/*
 * Loads cells in dependency order: each round loads every pending cell whose
 * references all resolve now. A round that loads nothing leaves cells that
 * need each other (a cycle, which is named) or a symbol nobody defines.
 * Returns how many were loaded.
 */
size_t cells_load_ordered(const struct manifest_entry **list, size_t n)
{
	const struct manifest_entry **left = kmalloc(n * sizeof(*left));
	size_t nleft = n, loaded = 0;
	bool progress = true;

	if (!left)
		return 0;
	memcpy(left, list, n * sizeof(*left));
	while (nleft && progress) {
		progress = false;
		for (size_t i = 0; i < nleft;) {
			if (load_entry(left[i], true)) {
				i++;
				continue;
			}
			loaded += load_entry(left[i], false) == 0;
			left[i] = left[--nleft];
			progress = true;
		}
	}
	if (nleft)
		report_stuck(left, nleft);
	kfree(left);
	return loaded;
}

static void load_boot_cells(void)
{
	const struct manifest_entry **boot = kmalloc(cs.manifest.count * sizeof(*boot));
	size_t n = 0;

	for (size_t i = 0; boot && i < cs.manifest.count; i++)
		if (cs.entries[i].boot)
			boot[n++] = &cs.entries[i];
	if (boot)
		cells_load_ordered(boot, n);
	kfree(boot);
}

const struct manifest_entry *cells_manifest_find(const char *ref)
{
	return manifest_find_ref(&cs.manifest, ref);
}

void cells_init(const struct mb2_info *boot)
{
	cs.boot = boot;
	if (!create_loader() || !read_manifest())
		return;
	klog(LOG_INFO, "cells: %zu manifest entries, %lu nano_core exports", cs.manifest.count,
	     kexport_count);
	load_boot_cells();
}

bool cells_print_addr(uint64_t addr)
{
	struct loader_addr_info ai;
	struct loader_cell_info ci;

	if (!cs.ld || !loader_addr_lookup(cs.ld, addr, &ai))
		return false;
	loader_cell_info(ai.cell, &ci);
	kprintf("<%s:%s+0x%lx>", ci.name, ai.symbol ? ai.symbol : ai.section ? ai.section : "?",
		ai.offset);
	return true;
}

/* What one side of a swap pair needs to stay alive until the swap is over. */
struct swap_new {
	char version[12];
	const char *grants[MANIFEST_GRANTS_MAX];
};

/* Resolves "OLD@V NEW@W": OLD must be loaded at version V, NEW in the manifest and the ISO. */
static bool parse_pair(const char *old_ref, const char *new_ref, struct swap_pair *p,
		       struct swap_new *keep, bool *restart)
{
	const struct manifest_entry *e = manifest_find_ref(&cs.manifest, new_ref);
	const struct mb2_module *m;
	char name[40], want[12];
	uint32_t version;
	struct loader_cell_info ci;

	if (manifest_parse_ref(old_ref, strlen(old_ref), name, &version) ||
	    !(p->old = loader_cell_find(cs.ld, name))) {
		kprintf("swap: '%s' is not a loaded cell (NAME@VERSION)\n", old_ref);
		return false;
	}
	loader_cell_info(p->old, &ci);
	if (ci.core) {
		kprintf("swap: nano_core is the one part that cannot be swapped\n");
		return false;
	}
	snprintf(want, sizeof(want), "%u", version);
	if (strcmp(ci.version, want)) {
		kprintf("swap: %s is loaded at version %s, not %u\n", ci.name, ci.version, version);
		return false;
	}
	if (!e || !(m = find_module(new_ref))) {
		kprintf("swap: no %s in cells.manifest and the boot modules\n", new_ref);
		return false;
	}
	fill_args(e, m, keep->version, keep->grants, &p->new_args);
	const struct manifest_entry *old_e = manifest_find(&cs.manifest, ci.name, version);
	const char *policy = old_e ? manifest_extra(old_e, "swap") : NULL;
	*restart = policy && strcmp(policy, "restart") == 0;
	return true;
}

void kcmd_swap(int argc, char **argv)
{
	struct swap_pair pairs[SWAP_MAX_PAIRS];
	struct swap_new keep[SWAP_MAX_PAIRS];
	bool restart[SWAP_MAX_PAIRS];
	struct swap_result *res = kmalloc(sizeof(*res));
	char what[96] = "";
	bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	int first = verbose ? 2 : 1, n = (argc - first) / 2;

	if (!res || argc - first < 2 || (argc - first) % 2 || n > SWAP_MAX_PAIRS) {
		kprintf("usage: swap [-v] OLD@VERSION NEW@VERSION [OLD@VERSION NEW@VERSION]...\n");
		kfree(res);
		return;
	}
	memset(pairs, 0, sizeof(pairs));
	for (int i = 0; i < n; i++) {
		if (!parse_pair(argv[first + 2 * i], argv[first + 2 * i + 1], &pairs[i], &keep[i],
				&restart[i])) {
			kfree(res);
			return;
		}
		size_t len = strlen(what);
		snprintf(what + len, sizeof(what) - len, "%s%s -> %s", i ? ", " : "",
			 argv[first + 2 * i], argv[first + 2 * i + 1]);
	}
	swap_print_result(cells_swap(pairs, restart, (size_t)n, what, res), res, verbose);
	kfree(res);
	swap_restart_self_if_needed();
}
