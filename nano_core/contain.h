/* Containing faults in cells (include/delos/fault.h); private to nano_core. */
#ifndef NANO_CORE_CONTAIN_H
#define NANO_CORE_CONTAIN_H

#include <delos/cells.h>
#include <delos/trap.h>

/*
 * Reports a fault in cell code (w) to the fault handler, or logs it; always
 * returns. irq: the line of an abandoned IRQ route, or -1.
 */
void fault_contain(const struct trap_frame *f, const struct cells_where *w, uint64_t context,
		   int64_t irq);

/*
 * Reports a fault in cell code outside any contained call and ends the
 * running task through slot OPS_TASK_END. Returns only when no task can be
 * ended (empty slot, task 0), having said why.
 */
void fault_end_task(const struct trap_frame *f, const struct cells_where *w);

#endif
