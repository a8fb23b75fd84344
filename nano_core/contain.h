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

/*
 * A fault raised by code, not the CPU (cell_panic, a stack-protector
 * failure): raises a #UD at fault_raise_ud2 whose handler takes rip (in the
 * caller) and rbp from here, and kind and msg into the report.
 */
_Noreturn void fault_raise(uint32_t kind, const char *msg, uint64_t rip, uint64_t rbp);
extern char fault_raise_ud2[];
/* At the #UD of fault_raise: puts the raiser's rip and rbp in f; false if none is pending. */
bool fault_take_raised(struct trap_frame *f);
/*
 * A fault whose RIP is in no code (nano_core's text nor a cell's), entered
 * from a cell: fills w with that cell's return address on the stack and
 * returns true, so the fault is that cell's. False otherwise (contain.c).
 */
bool fault_charge_no_code(const struct trap_frame *f, struct cells_where *w);
/* Marks the fault being handled as a stack overflow, or as a hang of `ms`. */
void fault_mark_overflow(void);
void fault_mark_hang(uint64_t ms);

/*
 * The hang watchdog (nano_core/watchdog.c), at the end of every interrupt
 * with the interrupted frame: true when that context has stayed in one
 * cell's code (w), on one stack, with no context switch, beyond the cell's
 * bound; *ms says how long.
 */
bool watchdog_check(const struct trap_frame *f, struct cells_where *w, uint64_t *ms);
/*
 * The stack a stack overflow in a cell is contained on (top, and its size in
 * pages), set once at boot: the double fault that reports it arrives on a
 * small interrupt stack that a second double fault would start over, so the
 * containment (the fault handler, a task end) runs from here instead.
 */
#define OVERFLOW_STACK_PAGES 8	/* 32 KiB, as a task's */
void trap_set_overflow_stack(uint64_t top, size_t pages);
_Noreturn void trap_redo(struct trap_frame *f);	/* isr.S */
/* The message of the pending raised fault, or NULL (for nano_core's own report). */
const char *fault_raised_message(void);

#endif
