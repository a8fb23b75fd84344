#include "nano_core/boot.h"
#include <delos/display.h>
#include <delos/fault.h>
#include <delos/cells.h>
#include <delos/irqflags.h>
#include <delos/kernel.h>
#include <delos/loader_cell.h>
#include "nano_core/ksyms.h"
#include <delos/log.h>
#include <delos/manifest_table.h>
#include <delos/mm.h>
#include <delos/paging.h>
#include <delos/string.h>
#include <delos/swap.h>
#include <delos/system.h>
#include <delos/time.h>
#include <delos/trap.h>
#include "nano_core/loader_slot.h"
#include "nano_core/ops_core.h"
#include "nano_core/physmap.h"

#define MAX_EXPORTS 256

/* The loader, the manifest and where cells go; owned by nano_core, set up once. */
static struct {
	struct loader *ld;
	struct manifest manifest;
	struct manifest_entry *entries;
	uint32_t *boot_order;		/* indices of the boot entries, in load order */
	size_t boot_count;
	const struct mb2_info *boot;
	uint64_t generation;		/* counts loads and unloads */
	uint64_t last_link_ns;		/* the last load's link time (cells_load_timed) */
} cs;

uint64_t loader_generation(void)
{
	return cs.generation;
}

static const char *const private_names[] = { "cell_init", "cell_exit", "cell_swap_in",
					      "cell_swap_prepare", "cell_swap_done", NULL };

struct loader *cells_loader(void)
{
	return cs.ld;
}

/* Each mapping gets a range of the cell window (cell_window.c). */
static void *env_map(void *ctx, size_t bytes, uint64_t *addr)
{
	(void)ctx;
	return cell_window_map(PAGE_ALIGN_UP(bytes), addr);
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
	return physmap_protect((uint64_t)mem, PAGE_ALIGN_UP(bytes), p);
}

static void env_unmap(void *ctx, void *mem, size_t bytes)
{
	(void)ctx;
	cell_window_unmap((uint64_t)mem, PAGE_ALIGN_UP(bytes));
}

/* Re-linking patches cell text and rodata through text_poke only. */
static int env_poke(void *ctx, void *mem, const void *src, size_t len)
{
	(void)ctx;
	return text_poke(mem, src, len);
}

static int env_poke_batch(void *ctx, const struct loader_poke *p, size_t n)
{
	(void)ctx;
	return text_poke_batch(p, n);
}

static void env_poke_plan(void *ctx, struct loader_poke *p, size_t n)
{
	(void)ctx;
	text_poke_plan(p, n);
}

static void *env_alloc(void *ctx, size_t bytes)
{
	(void)ctx;
	return kmalloc_kept(bytes);	/* the loader's: outlives the task that loads */
}

static void env_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

static const struct loader_env kernel_env = {
	env_map, env_protect, env_unmap, env_poke, env_alloc, env_free, NULL, env_poke_batch,
	env_poke_plan,
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

/* The "manifest" module is the table celltool compiled (include/delos/manifest_table.h). */
static bool read_manifest(void)
{
	const struct mb2_module *m = find_module("manifest");
	struct manifest_error err;
	size_t count, boots;

	if (!m) {
		klog(LOG_ERR, "cells: no manifest module; no cells will load");
		return false;
	}
	const void *table = phys_to_virt(m->start);
	size_t len = m->end - m->start;
	/* manifest_table_read checks the whole table, checksum included. */
	if (manifest_table_header_check(table, len, &count, &boots, &err) == 0) {
		cs.entries = kmalloc((count + 1) * sizeof(*cs.entries));
		cs.boot_order = kmalloc((boots + 1) * sizeof(*cs.boot_order));
		if (!cs.entries || !cs.boot_order)
			return false;
		manifest_init(&cs.manifest, cs.entries, count);
		if (manifest_table_read(table, len, &cs.manifest, cs.boot_order, boots, &err) == 0) {
			cs.boot_count = boots;
			return true;
		}
	}
	klog(LOG_ERR, "cells: the manifest module: %s; no cells will load", err.message);
	return false;
}

static bool create_loader(void)
{
	static struct loader_export exports[MAX_EXPORTS];
	struct loader_config cfg = { &kernel_env, exports, kexport_count, private_names };
	const struct mb2_module *m = find_module("loader.placed");
	int err;

	if (kexport_count > MAX_EXPORTS)
		panic("cells: %lu exports, room for %d", kexport_count, MAX_EXPORTS);
	/* An export in nano_core's text is a function; the others are data. */
	for (uint64_t i = 0; i < kexport_count; i++) {
		uint64_t addr = kexport_table[i].addr;
		exports[i] = (struct loader_export){
			&ksym_strings[kexport_table[i].name], &ksym_strings[kexport_table[i].grant], addr,
			addr >= (uint64_t)__text_start && addr < (uint64_t)__text_end,
		};
	}
	if (!m) {
		klog(LOG_ERR, "cells: no loader.placed module: no loader, no cells will load");
		return false;
	}
	if (loader_slot_place(phys_to_virt(m->start), m->end - m->start, &kernel_env))
		return false;
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

/* The function of the innermost cells_call_in under way (a cell_init, a swap hook), or 0. */
static uint64_t calling_in;

int cells_call_in(uint64_t context, uint64_t fn, uint64_t arg, int *result, struct trap_info *ti)
{
	struct cell_call c = { fn, arg, 0 };
	uint64_t outer = calling_in;
	int r;

	calling_in = fn;
	r = trap_contain(run_int_fn, &c, context, ti);
	calling_in = outer;
	*result = c.result;
	return r;
}

uint64_t cells_calling_in(void)
{
	return calling_in;
}

int cells_call(uint64_t fn, int *result, struct trap_info *ti)
{
	return cells_call_arg(fn, 0, result, ti);
}

/*
 * Every change to the list of cells (a load, an unload, a swap's commit)
 * comes here, also before an unload: a debugger breaks on it and re-reads
 * the list (build/gdb/delos.py), as on ld.so's _dl_debug_state.
 */
__attribute__((noinline)) void cells_changed(void)
{
	__asm__ volatile("" : : : "memory");
	cs.generation++;
}

/* What a loader_load_args points at for one manifest entry. */
struct entry_args {
	char version[12];
	const char *grants[MANIFEST_GRANTS_MAX];
	struct loader_guard guards[MANIFEST_GUARDS_MAX];
};

static void fill_args(const struct manifest_entry *e, const struct mb2_module *m,
		      struct entry_args *keep, struct loader_load_args *a)
{
	snprintf(keep->version, sizeof(keep->version), "%u", e->version);
	for (uint32_t i = 0; i < e->grant_count; i++)
		keep->grants[i] = e->grants[i];
	for (uint32_t i = 0; i < e->guarded_count; i++)
		keep->guards[i] = (struct loader_guard){ e->guarded[i], e->guard_grant };
	*a = (struct loader_load_args){
		.path = e->object, .name = e->name, .version = keep->version,
		.obj = phys_to_virt(m->start), .size = m->end - m->start,
		.grants = keep->grants, .ngrants = e->grant_count,
		.guards = keep->guards, .nguards = e->guarded_count,
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
	vec = cells_call_in(FAULT_CTX_INIT, fn, 0, &result, &ti);
	if (vec == 0 && result == 0)
		return 0;
	if (vec)
		kprintf("cells: %s: cell_init raised %s at %016lx; unloading it\n", ref,
			trap_name(ti.vector), ti.rip);
	else
		kprintf("cells: %s: cell_init returned %d; unloading it\n", ref, result);
	cells_changed();	/* before, as in cells_unload: cellref_call remembers addresses */
	loader_unload(cs.ld, c);
	cells_changed();
	return LOADER_EINVAL;
}

/*
 * How load_entry goes: only ask whether the entry would load; load it; or
 * load it unless a symbol it needs is not defined yet, which is quietly
 * returned as LOADER_EUNDEF (the loader fails then before it maps anything,
 * so this costs what a check does, and a load that succeeds is not checked
 * twice).
 */
enum load_mode { LOAD_CHECK, LOAD, LOAD_IF_READY };

static int load_entry(const struct manifest_entry *e, enum load_mode mode)
{
	bool check_only = mode == LOAD_CHECK;
	char ref[48];
	struct entry_args keep;
	struct loader_load_args a;
	struct loader_cell *c;
	const struct mb2_module *m;
	int err;

	snprintf(ref, sizeof(ref), "%s@%u", e->name, e->version);
	if (!(m = find_module(ref))) {
		kprintf("cells: %s: its object is not among the boot modules\n", ref);
		return LOADER_ENOENT;
	}
	fill_args(e, m, &keep, &a);
	uint64_t t0 = time_ns();
	err = check_only ? loader_check(cs.ld, &a) : loader_load(cs.ld, &a, &c);
	uint64_t link_ns = time_ns() - t0;
	if (err) {
		if (mode == LOAD || (mode == LOAD_IF_READY && err != LOADER_EUNDEF))
			kprintf("%s\n", loader_error(cs.ld));
		return err;
	}
	if (check_only)
		return 0;
	cells_changed();
	cs.last_link_ns = link_ns;
	klog(LOG_DEBUG, "cells: linked %s in %lu ns (%zu bytes)", ref, link_ns, a.size);
	return init_cell(c, ref);
}

static int load_ref(const char *ref, bool quiet)
{
	const struct manifest_entry *e = manifest_find_ref(&cs.manifest, ref);

	if (!cs.ld)
		return LOADER_EINVAL;
	if (!e) {
		kprintf("cells: no %s in cells.manifest\n", ref);
		return LOADER_ENOENT;
	}
	int err = load_entry(e, LOAD);
	if (!err && !quiet)
		kprintf("cells: loaded %s\n", ref);
	return err;
}

int cells_load(const char *ref)
{
	return load_ref(ref, false);
}

int cells_load_timed(const char *ref, uint64_t *link_ns)
{
	int err = load_ref(ref, true);

	*link_ns = err ? 0 : cs.last_link_ns;
	return err;
}

static int unload_name(const char *name, bool quiet)
{
	struct loader_cell *c = cs.ld ? loader_cell_find(cs.ld, name) : NULL;
	struct loader_cell_info info;
	struct trap_info ti;
	char why[96];
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
	if (loader_slot_in(info.start, info.end)) {
		kprintf("cells: %s is the loader; it cannot be unloaded\n", name);
		return LOADER_EINVAL;
	}
	if (ops_unload_check(c, why, sizeof(why))) {
		kprintf("cells: %s: not unloaded, nothing changed (swap it for a cell that serves "
			"the slot)\n", why);
		return LOADER_EINVAL;
	}
	/* cell_exit runs only once nothing stands in the way of the unload. */
	if (!loader_users_next(c, NULL) && loader_cell_lookup(c, "cell_exit", &fn) == 0 &&
	    cells_call(fn, &result, &ti))
		kprintf("cells: %s: cell_exit raised %s; unloading anyway\n", name, trap_name(ti.vector));
	cells_changed();	/* before: no remembered address may reach the cell once it goes */
	if ((err = loader_unload(cs.ld, c))) {
		kprintf("%s\n", loader_error(cs.ld));
		return err;
	}
	cells_changed();
	if (!quiet)
		kprintf("cells: unloaded %s\n", name);
	return 0;
}

int cells_unload(const char *name)
{
	return unload_name(name, false);
}

int cells_unload_quiet(const char *name)
{
	return unload_name(name, true);
}

/*
 * boot_if=SCREEN: the entry boots only where the loader gave that screen;
 * boot_if=arg:KEY=VALUE: only when the kernel command line holds KEY=VALUE.
 */
static bool boot_condition_met(const struct manifest_entry *e)
{
	const char *cond = manifest_extra(e, "boot_if");
	bool known;

	if (!cond)
		return true;
	if (strncmp(cond, "arg:", 4) == 0) {
		char key[32], value[32];
		size_t klen = 0;
		while (cond[4 + klen] && cond[4 + klen] != '=')
			klen++;
		const char *eq = cond + 4 + klen;
		if (!klen || klen >= sizeof(key) || *eq != '=') {
			klog(LOG_ERR, "cells: %s@%u: boot_if '%s' is not arg:KEY=VALUE; not loaded",
			     e->name, e->version, cond);
			return false;
		}
		memcpy(key, cond + 4, klen);
		key[klen] = '\0';
		if (cmdline_get(key, value, sizeof(value)) && strcmp(value, eq + 1) == 0)
			return true;
		klog(LOG_INFO, "cells: %s@%u not loaded at boot: the command line has no %s",
		     e->name, e->version, cond + 4);
		return false;
	}
	if (display_has(cond, &known))
		return true;
	if (!known)
		klog(LOG_ERR, "cells: %s@%u: unknown boot_if '%s' (text_screen or framebuffer); "
		     "not loaded", e->name, e->version, cond);
	else
		klog(LOG_INFO, "cells: %s@%u not loaded at boot: this boot has no %s",
		     e->name, e->version, cond);
	return false;
}

/* Boot cells load in the order celltool computed from their imports. */
static bool has_role(const struct manifest_entry *e, const char *want)
{
	const char *role = manifest_extra(e, "role");

	return role && strcmp(role, want) == 0;
}

static void load_boot_cells(void)
{
	for (size_t i = 0; i < cs.boot_count; i++) {
		const struct manifest_entry *e = &cs.entries[cs.boot_order[i]];
		if (!has_role(e, "loader") && boot_condition_met(e))
			load_entry(e, LOAD);
	}
}

/*
 * The placed image's loader loads the boot entry of role=loader as a cell;
 * the slot then points at that cell's table and the placed image goes.
 * Without such an entry, or when it does not load, the placed image stays
 * the loader (a fault in it is then nano_core's: it is in no cell).
 */
static void load_loader_cell(void)
{
	const struct manifest_entry *e = NULL;
	struct loader_cell_info ci;
	struct loader_cell *c;
	struct loader_sym ops;
	char ref[48];

	for (size_t i = 0; i < cs.boot_count && !e; i++)
		if (has_role(&cs.entries[cs.boot_order[i]], "loader"))
			e = &cs.entries[cs.boot_order[i]];
	if (!e) {
		klog(LOG_ERR, "cells: no boot entry of role=loader; the placed loader stays");
		return;
	}
	snprintf(ref, sizeof(ref), "%s@%u", e->name, e->version);
	if (load_entry(e, LOAD) || !(c = loader_cell_find(cs.ld, e->name)) ||
	    !loader_cell_sym_find(c, LOADER_CELL_OPS_SYMBOL, &ops) || !ops.exported) {
		klog(LOG_ERR, "cells: %s did not load, or exports no %s; the placed loader stays",
		     ref, LOADER_CELL_OPS_SYMBOL);
		return;
	}
	loader_cell_info(c, &ci);
	if (loader_slot_set(ops.addr, ci.start, ci.end)) {
		klog(LOG_ERR, "cells: %s's table refused; the placed loader stays", ref);
		return;
	}
	loader_slot_unplace(&kernel_env);
	klog(LOG_INFO, "cells: the loader is the cell %s", ref);
}

const struct manifest_entry *cells_manifest_find(const char *ref)
{
	return manifest_find_ref(&cs.manifest, ref);
}

/*
 * The entries of role=platform (not boot cells: boot=no) load before the
 * platform is set up; each one's cell_init hands nano_core what it found
 * (the ACPI facts: platform_set_acpi) and it is unloaded again.
 */
static void load_platform_cells(void)
{
	for (size_t i = 0; i < cs.manifest.count; i++) {
		const struct manifest_entry *e = &cs.entries[i];

		if (has_role(e, "platform") && load_entry(e, LOAD) == 0)
			unload_name(e->name, true);
	}
}

static bool cells_ready;

void cells_start(const struct mb2_info *boot)
{
	cs.boot = boot;
	cell_window_init();
	if (!create_loader() || !read_manifest())
		return;
	klog(LOG_INFO, "cells: %zu manifest entries, %lu nano_core exports", cs.manifest.count,
	     kexport_count);
	load_loader_cell();
	load_platform_cells();
	cells_ready = true;
}

void cells_init(void)
{
	if (!cells_ready)
		return;
	if (cmdline_has("cells", "none")) {
		klog(LOG_INFO, "cells: cells=none: no boot cell loaded; nano_core keeps the console");
		return;
	}
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

/* snprintf(dst, size, "%s", src) without the formatting: the watchdog asks on every tick. */
static void copy_bounded(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	while (n + 1 < size && src[n])
		n++;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool cells_addr_owner(uint64_t addr, struct cells_where *w)
{
	struct loader_addr_info ai;
	struct loader_cell_info ci;
	const char *sym;

	if (!cs.ld || !loader_addr_lookup(cs.ld, addr, &ai))
		return false;
	loader_cell_info(ai.cell, &ci);
	if (ci.core)
		return false;
	sym = ai.symbol ? ai.symbol : ai.section ? ai.section : "?";
	copy_bounded(w->cell, sizeof(w->cell), ci.name);
	copy_bounded(w->version, sizeof(w->version), ci.version);
	copy_bounded(w->symbol, sizeof(w->symbol), sym);
	w->offset = ai.offset;
	return true;
}

/*
 * The cell whose range held the last address cells_addr_cell found, for the
 * loader generation it was found in: the watchdog asks on every interrupt,
 * mostly about the same cell, and a load, unload or swap moves the
 * generation on. Interrupts off (it is asked from interrupt handlers only).
 */
static struct {
	uint64_t gen;               /* loader_generation() + 1 when filled; 0: empty */
	uint64_t start, end;
	char cell[32];
} owner_cache;

bool cells_addr_cell(uint64_t addr, char cell[32])
{
	struct loader_addr_info ai;
	struct loader_cell_info ci;

	if (owner_cache.gen == cs.generation + 1 && addr >= owner_cache.start && addr < owner_cache.end) {
		memcpy(cell, owner_cache.cell, sizeof(owner_cache.cell));
		return true;
	}
	if (!cs.ld || !loader_addr_lookup(cs.ld, addr, &ai))
		return false;
	loader_cell_info(ai.cell, &ci);
	if (ci.core)
		return false;
	copy_bounded(cell, sizeof(owner_cache.cell), ci.name);
	if (addr >= ci.start && addr < ci.end) {
		memcpy(owner_cache.cell, cell, sizeof(owner_cache.cell));
		owner_cache.start = ci.start;
		owner_cache.end = ci.end;
		owner_cache.gen = cs.generation + 1;
	}
	return true;
}

/* Resolves "OLD@V NEW@W": OLD must be loaded at version V, NEW in the manifest and the ISO. */
static bool parse_pair(const char *old_ref, const char *new_ref, struct swap_pair *p,
		       struct entry_args *keep, bool *restart)
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
	fill_args(e, m, keep, &p->new_args);
	const struct manifest_entry *old_e = manifest_find(&cs.manifest, ci.name, version);
	const char *policy = old_e ? manifest_extra(old_e, "swap") : NULL;
	*restart = policy && strcmp(policy, "restart") == 0;
	return true;
}

void swap_print_steps(const struct swap_result *r)
{
	for (int s = 0; s < SWAP_STEPS; s++)
		kprintf("  %-9s %8lu ns\n", swap_step_name(s), r->step_ns[s]);
	kprintf("  pause     %8lu ns (world stopped)\n  unmap     %8lu ns (old cells, world running)\n"
		"  total     %8lu ns\n", r->pause_ns, r->reap_ns, r->total_ns);
	kprintf("  relocations rewritten %zu (in %zu imports)\n", r->relocs_rewritten, r->imports_moved);
}

static void print_result(int err, const struct swap_result *res, bool verbose)
{
	if (err) {
		kprintf("%s\nswap refused at step '%s'; nothing changed\n", res->message,
			swap_step_name(res->failed_step));
		return;
	}
	kprintf("swap: done in %lu us (world stopped %lu us, %zu relocations rewritten)\n",
		res->total_ns / 1000, res->pause_ns / 1000, res->relocs_rewritten);
	if (verbose)
		swap_print_steps(res);
}

/*
 * One swap at a time: a swap whose quiescence step lets the other tasks run
 * can meet another one started by one of them (the console's swap and the
 * recovery task's reload of a cell that faulted meanwhile), and the stopped
 * world's state (quiesce.c) is the first one's. The second is refused,
 * changing nothing; the recovery task tries again. Owned by cells.c, one
 * swap's caller at a time (the flag is taken with interrupts off).
 */
static bool swap_running;

static int swap_one_at_a_time(struct swap_pair *pairs, const bool *restart, size_t n, const char *what,
			      struct swap_result *res)
{
	uint64_t flags = irq_save();
	int err;

	if (swap_running) {
		irq_restore(flags);
		klog(LOG_WARN, "swap: %s refused: another swap is in progress", what);
		return LOADER_EBUSY;
	}
	swap_running = true;
	irq_restore(flags);
	err = cells_swap(pairs, restart, n, what, res);
	swap_running = false;
	return err;
}

static int swap_refs(const char *const *refs, size_t npairs, bool verbose, struct swap_result *res)
{
	struct swap_pair pairs[SWAP_MAX_PAIRS];
	struct entry_args keep[SWAP_MAX_PAIRS];	/* alive until the swap is over */
	bool restart[SWAP_MAX_PAIRS];
	char what[96] = "";
	int err;

	memset(pairs, 0, sizeof(pairs));
	for (size_t i = 0; i < npairs; i++) {
		size_t len = strlen(what);
		if (!parse_pair(refs[2 * i], refs[2 * i + 1], &pairs[i], &keep[i], &restart[i]))
			return LOADER_EINVAL;
		snprintf(what + len, sizeof(what) - len, "%s%s -> %s", i ? ", " : "", refs[2 * i],
			 refs[2 * i + 1]);
	}
	err = swap_one_at_a_time(pairs, restart, npairs, what, res);
	print_result(err, res, verbose);
	return err;
}

int system_swap(const char *const *refs, size_t npairs, bool verbose)
{
	struct swap_result *res = kmalloc(sizeof(*res));
	int err = LOADER_ENOMEM;

	if (!npairs || npairs > SWAP_MAX_PAIRS) {
		kprintf("swap: 1 to %d pairs\n", SWAP_MAX_PAIRS);
		err = LOADER_EINVAL;
	} else if (!res) {
		kprintf("swap: out of memory\n");
	} else {
		err = swap_refs(refs, npairs, verbose, res);
	}
	kfree(res);
	swap_restart_self_if_needed();
	return err;
}

int cells_swap_to(const char *old_ref, const char *new_ref)
{
	struct swap_result *res = kmalloc(sizeof(*res));
	int err;

	if (!res) {
		klog(LOG_ERR, "swap: %s -> %s: out of memory", old_ref, new_ref);
		return LOADER_ENOMEM;
	}
	/* A log line, not console text: it may land in the middle of what a person types. */
	if (!(err = cells_swap_timed(old_ref, new_ref, res)))
		klog(LOG_INFO, "swap: %s -> %s done in %lu us (world stopped %lu us)", old_ref, new_ref,
		     res->total_ns / 1000, res->pause_ns / 1000);
	kfree(res);
	swap_restart_self_if_needed();
	return err;
}

int cells_swap_timed(const char *old_ref, const char *new_ref, struct swap_result *res)
{
	struct swap_pair pair;
	struct entry_args keep;
	char what[96];
	bool restart;
	int err = LOADER_EINVAL;

	memset(&pair, 0, sizeof(pair));
	memset(res, 0, sizeof(*res));
	if (parse_pair(old_ref, new_ref, &pair, &keep, &restart)) {
		snprintf(what, sizeof(what), "%s -> %s", old_ref, new_ref);
		if ((err = swap_one_at_a_time(&pair, &restart, 1, what, res)))
			print_result(err, res, false);
	}
	return err;
}

/* The manifest's KEY=MS for the loaded cell `name`, or dflt when it gives none. */
static uint64_t manifest_ms(const char *name, const char *key, uint64_t dflt)
{
	const struct manifest_entry *e = cells_manifest_entry(name);
	const char *v = e ? manifest_extra(e, key) : NULL;
	uint64_t ms = 0;

	if (!v)
		return dflt;
	for (; *v >= '0' && *v <= '9'; v++)
		ms = ms * 10 + (uint64_t)(*v - '0');
	return ms;
}

/*
 * The watchdog=CELL:MS bounds of the boot argument, which the fault handler
 * cell reads and hands over once a boot (cells_watchdog_set). Set before
 * the NMI watchdog starts, at boot, they also set its rate.
 */
static struct cells_bound wd_arg[CELLS_WATCHDOG_BOUNDS];
static size_t wd_args;
static bool wd_taken;

int cells_watchdog_set(const struct cells_bound *b, size_t n)
{
	uint64_t flags;

	if (wd_taken || n > CELLS_WATCHDOG_BOUNDS)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!b[i].cell[0] || b[i].cell[sizeof(b[i].cell) - 1] || b[i].ms > CELLS_WATCHDOG_MAX_MS)
			return -1;
	flags = irq_save();
	memcpy(wd_arg, b, n * sizeof(*b));
	wd_args = n;
	wd_taken = true;
	irq_restore(flags);
	return 0;
}

bool cells_manifest_has(const char *name)
{
	return manifest_versions(&cs.manifest, name, NULL, 0) > 0;
}

uint64_t cells_watchdog_arg_min_ms(void)
{
	uint64_t min = 0;

	for (size_t i = 0; i < wd_args; i++)
		if (wd_arg[i].ms && (!min || wd_arg[i].ms < min))
			min = wd_arg[i].ms;
	return min;
}

uint64_t cells_watchdog_ms(const char *name)
{
	for (size_t i = 0; i < wd_args; i++)
		if (strcmp(wd_arg[i].cell, name) == 0)
			return wd_arg[i].ms;
	return manifest_ms(name, "watchdog", FAULT_WATCHDOG_DEFAULT_MS);
}

uint64_t cells_heartbeat_ms(const char *name)
{
	return manifest_ms(name, "heartbeat", 0);
}

uint64_t cells_progress_ms(const char *name)
{
	return manifest_ms(name, "progress", 0);
}

const struct manifest_entry *cells_manifest_entry(const char *name)
{
	struct loader_cell *c = cs.ld ? loader_cell_find(cs.ld, name) : NULL;
	struct loader_cell_info ci;
	uint32_t v = 0;

	if (!c)
		return NULL;
	loader_cell_info(c, &ci);
	for (const char *p = ci.version; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint32_t)(*p - '0');
	return manifest_find(&cs.manifest, name, v);
}

void system_core_image(struct loader_cell_info *i)
{
	i->text_size = __text_end - __text_start;
	i->rodata_size = __rodata_end - __rodata_start;
	i->start = (uint64_t)__kernel_start;
	i->end = (uint64_t)__kernel_end;
}
