/*
 * nano_core's side of the loader: the kernel environment it links into, the
 * cell objects GRUB loaded as modules, the manifest, and boot loading.
 */
#ifndef DELOS_CELLS_H
#define DELOS_CELLS_H

#include <stdbool.h>
#include <stdint.h>

#include <delos/loader.h>
#include <delos/manifest.h>
#include <delos/mb2.h>
#include <delos/trap.h>

/*
 * Creates the loader over nano_core's exports, reads the manifest module and
 * loads the manifest's boot cells in dependency order, calling each one's
 * cell_init. A cell that cannot be loaded is logged and skipped, never fatal.
 */
void cells_init(const struct mb2_info *boot);

/* The one loader; NULL before cells_init. Callers run with interrupts off. */
struct loader *cells_loader(void);

/*
 * Loads NAME@VERSION from its module with its manifest grants and runs its
 * cell_init. Returns 0, or a negative loader status after printing why.
 */
int cells_load(const char *ref);
/* Runs cell_exit (if any) and unloads; returns 0 or a loader status after printing why. */
int cells_unload(const char *name);

/*
 * Calls a cell's `int fn(void)` and stores its result. A CPU exception in it
 * is caught and described in *ti; returns its vector + 1, or 0.
 */
int cells_call(uint64_t fn, int *result, struct trap_info *ti);

/* Prints "<cell:symbol+0xoff>" for an address inside a cell; false if none has it. */
bool cells_print_addr(uint64_t addr);

/* The console commands: cells, syms, deps, load, unload, call. */
void kcmd_cells(int argc, char **argv);
void kcmd_syms(int argc, char **argv);
void kcmd_deps(int argc, char **argv);
void kcmd_load(int argc, char **argv);
void kcmd_unload(int argc, char **argv);
void kcmd_call(int argc, char **argv);

#endif
