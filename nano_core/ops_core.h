/* nano_core's side of the ops slots (include/delos/ops.h) in a swap or an unload. */
#ifndef NANO_CORE_OPS_CORE_H
#define NANO_CORE_OPS_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <delos/swap.h>

/*
 * For the swap's check step: refuses (non-zero, `why` naming the slot) when
 * a required slot held by an old cell names a symbol its new cell does not
 * export as a function.
 */
int ops_swap_check(const struct swap_pair *pairs, size_t n, char *why, size_t cap);
/*
 * For an unload: refuses (non-zero, `why` naming the slot) when cell c holds
 * a required slot, which the unload would leave empty.
 */
int ops_unload_check(const struct loader_cell *c, char *why, size_t cap);
/* After a swap's commit, world stopped: slots held by old cells name their new cells. */
void ops_swap_commit(const struct swap_pair *pairs, size_t n);

/*
 * Whether `cell` holds a slot every task switch goes through (irq_exit,
 * task_end, idle_next): a fault in its code may leave no way to switch to
 * another task (nano_core/contain.c, OPS_FAULT_RECOVER_NOW).
 */
bool ops_switches(const char *cell);

#endif
