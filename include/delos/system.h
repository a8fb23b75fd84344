/*
 * The narrow API through which the console commands cell (cells/kcmds) and
 * the shell's swap commands reach nano_core (grant `system`), beyond the
 * loader's read-only queries (include/delos/loader.h: loader_cell_next,
 * loader_cell_info, loader_cell_sym, loader_uses_next, ...), cells_load,
 * cells_unload and cells_call_in (include/delos/cells.h), the memory figures
 * (include/delos/mm.h) and the ops table's listing (include/delos/ops.h).
 */
#ifndef DELOS_SYSTEM_H
#define DELOS_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/loader.h>
#include <delos/swap.h>

/* nano_core's own image as a loader_cell_info: text and rodata sizes, start and end. */
void system_core_image(struct loader_cell_info *i);

/*
 * Swaps refs[0] for refs[1], refs[2] for refs[3], ... (npairs pairs of
 * "NAME@VERSION") as one transaction, logged in the swap log, and prints the
 * outcome (with each step's time when verbose). Returns 0 or a loader status,
 * having printed why, with nothing changed. When the swap moved the calling
 * task's own cell (swap=restart) it does not return: the old code is gone,
 * and the task starts over at its entry in the new cell. So everything about
 * the swap is printed here, by nano_core.
 */
int system_swap(const char *const *refs, size_t npairs, bool verbose);
/* Prints a swap's step times (as `swap -v` does). */
void swap_print_steps(const struct swap_result *r);

/* One swap of the swap log (the last SYSTEM_SWAP_LOG are kept). */
#define SYSTEM_SWAP_LOG 32
struct swap_log_entry {
	uint64_t when_ns;
	char what[96];
	int status;
	struct swap_result res;
};
/* Returns how many swaps were ever logged; fills *e with swap number n (from 0) if still kept. */
uint64_t system_swap_log(uint64_t n, struct swap_log_entry *e, bool *kept);

/* Ends QEMU with status code (see nano_core/boot.h); returns where there is no such device. */
void qemu_exit(unsigned code);
/* A sentence for a heap_check error (struct mm_audit's heap). */
const char *heap_strerror(int err);

#endif
