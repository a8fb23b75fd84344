/*
 * nano_core's side of the loader: the kernel environment it links into, the
 * cell objects GRUB loaded as modules, the manifest, and boot loading.
 */
#ifndef DELOS_CELLS_H
#define DELOS_CELLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/loader.h>
#include <delos/manifest.h>
#include <delos/mb2.h>
#include <delos/trap.h>

/*
 * Creates the loader over nano_core's exports, reads the manifest module,
 * makes the loader a cell (role=loader) and loads the cells of
 * role=platform (their cell_init hands over the ACPI facts; then they are
 * unloaded); before platform_init. A cell that cannot be loaded is logged
 * and skipped, never fatal.
 */
void cells_start(const struct mb2_info *boot);
/* Loads the manifest's boot cells in dependency order, calling each one's cell_init. */
void cells_init(void);

/* The one loader; NULL before cells_start. Callers run with interrupts off. */
struct loader *cells_loader(void);

/*
 * Loads NAME@VERSION from its module with its manifest grants and runs its
 * cell_init. Returns 0, or a negative loader status after printing why.
 */
int cells_load(const char *ref);
/* Runs cell_exit (if any) and unloads; returns 0 or a loader status after printing why. */
int cells_unload(const char *name);
/*
 * For benchmarks (grant `bench`): cells_load without the "loaded" line, giving
 * the loader's link time (validate, place, relocate; cell_init excluded) in
 * *link_ns; cells_unload without the "unloaded" line.
 */
int cells_load_timed(const char *ref, uint64_t *link_ns);
int cells_unload_quiet(const char *name);

/*
 * Calls a cell's `int fn(void)` and stores its result. A CPU exception in it
 * is caught and described in *ti; returns its vector + 1, or 0.
 */
int cells_call(uint64_t fn, int *result, struct trap_info *ti);
/* The same for `int fn(uint64_t arg)`. */
int cells_call_arg(uint64_t fn, uint64_t arg, int *result, struct trap_info *ti);
/*
 * The same as a contained call in `context` (include/delos/fault.h): a fault
 * in the cell is also charged to it and reported to the fault handler.
 */
int cells_call_in(uint64_t context, uint64_t fn, uint64_t arg, int *result, struct trap_info *ti);

/* Says the set of loaded cells changed (loader_generation moves on). */
void cells_changed(void);

/*
 * Swaps pairs[i].old for the object in pairs[i].new_args, as one transaction
 * (include/delos/swap.h), logs it under `what`, and returns 0 or a loader status.
 */
struct swap_pair;
struct swap_result;
int cells_swap(struct swap_pair *pairs, const bool *restart, size_t n, const char *what,
	       struct swap_result *res);
/*
 * After a swap that moved the calling task's own cell (swap=restart), the
 * caller must not return into the old code: this starts it over at its entry
 * in the new cell. Returns at once when that is not the case.
 */
void swap_restart_self_if_needed(void);
/*
 * Swaps the loaded OLD@V for NEW@W of the manifest and the boot modules (a
 * reload when they are the same: a fresh copy of the pristine object), as
 * `swap` does; logs the result (a kernel log line), prints a refusal. Returns
 * 0 or a loader status. Grant `recovery`.
 */
int cells_swap_to(const char *old_ref, const char *new_ref);
/*
 * cells_swap_to that fills *res (each step's time, the pause) and prints
 * nothing on success; a refusal is printed. Grant `timing`.
 */
int cells_swap_timed(const char *old_ref, const char *new_ref, struct swap_result *res);
/*
 * The manifest entry of the loaded cell `name` at its loaded version, or NULL
 * when it is not loaded or not in the manifest: read-only, nano_core's for
 * the boot (the fault handler reads its policies from it). Grant `recovery`.
 */
const struct manifest_entry *cells_manifest_entry(const char *name);
/* The hang watchdog's bound for the loaded cell `name` (a bound cells_watchdog_set gave, else
 * the manifest's watchdog=MS; 0: none). */
uint64_t cells_watchdog_ms(const char *name);
/* The smallest nonzero bound cells_watchdog_set gave (0: none), for the NMI watchdog's rate. */
uint64_t cells_watchdog_arg_min_ms(void);

/* One cell's hang bound from the watchdog=CELL:MS boot argument. */
#define CELLS_WATCHDOG_BOUNDS 16
#define CELLS_WATCHDOG_MAX_MS 600000u
struct cells_bound {
	char cell[32];	/* NUL-terminated */
	uint64_t ms;	/* 0: not watched */
};
/*
 * Replaces the manifest's watchdog bounds of the n cells of b (the fault
 * handler parses the boot argument: cells/faults/args.c). Once a boot: a
 * second call, or a bound with no name, an unterminated one or one above
 * CELLS_WATCHDOG_MAX_MS, is refused (-1) and changes nothing; n may be 0 (the
 * argument was refused). Given at boot, before the NMI watchdog starts, the
 * smallest bound also sets its rate. Grant `recovery`.
 */
int cells_watchdog_set(const struct cells_bound *b, size_t n);
/* Whether cells.manifest has any version of the cell `name`. Grant `recovery`. */
bool cells_manifest_has(const char *name);
/* The heartbeat period the manifest declares for the loaded cell `name` (heartbeat=MS; 0: none). */
uint64_t cells_heartbeat_ms(const char *name);
/* The progress bound the manifest declares for the loaded cell `name` (progress=MS; 0: none). */
uint64_t cells_progress_ms(const char *name);

/* The manifest entry of "NAME@VERSION", or NULL. */
const struct manifest_entry *cells_manifest_find(const char *ref);

/* Prints "<cell:symbol+0xoff>" for an address inside a cell; false if none has it. */
bool cells_print_addr(uint64_t addr);

/* Where an address lies: the cell (never nano_core) and its symbol or section. */
struct cells_where {
	char cell[32], version[12], symbol[48];
	uint64_t offset;
};
/* Fills *w for an address in a loaded cell's range; false (w untouched) otherwise. */
bool cells_addr_owner(uint64_t addr, struct cells_where *w);
/*
 * Only the cell's name (as w->cell), from a one-entry cache of the cell
 * range it was last found in while the loaded cells stay the same: for what
 * asks on every interrupt (the watchdog). Interrupts off.
 */
bool cells_addr_cell(uint64_t addr, char cell[32]);

/*
 * The cell window (nano_core/cell_window.c), where cells are mapped; set up
 * from CELL_WINDOW_SIZE and the cell_window= argument before the loader.
 * cell_window_map maps `size` bytes (whole pages) of fresh frames, not
 * zeroed (the loader writes every byte of its mappings before anything reads
 * them), read-write with an unmapped guard page on either side, or prints why not
 * and returns NULL. cell_window_unmap unmaps such a mapping and only then
 * gives its range back for reuse.
 */
struct vrange_stats;
void cell_window_init(void);
void *cell_window_map(uint64_t size, uint64_t *addr);
void cell_window_unmap(uint64_t va, uint64_t size);
void cell_window_stats(struct vrange_stats *s);

#endif
