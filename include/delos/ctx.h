/*
 * Kernel tasks' CPU side, which stays in nano_core: stacks, the context
 * switch and the first entry of a new task (grant `sched`). Everything else
 * about tasks (the table, states, sleeping, joining) lives in the tasks cell
 * and state_db.
 */
#ifndef DELOS_CTX_H
#define DELOS_CTX_H

#include <stdint.h>

#include <delos/cellref.h>
#include <delos/mm.h>	/* stack_alloc, stack_free */

/*
 * Saves the callee-saved registers and the stack pointer of the running
 * task, switches to the stack `next_rsp` (a value ctx_switch saved, or one
 * from ctx_prepare) and returns there. The stack pointer it saved is left in
 * ctx_last_saved() for the resumed side to record ("switch, then record":
 * the saving task is no longer running once its rsp is known). Run with
 * interrupts off.
 */
void ctx_switch(uint64_t next_rsp);
/* The rsp saved by the most recent ctx_switch. */
uint64_t ctx_last_saved(void);

/*
 * Prepares a new stack so that switching to the returned rsp starts
 * nano_core's task trampoline, which enables interrupts and calls
 * `start` as int start(uint64_t arg) (a cellref, resolved then), then
 * calls `exit` as int exit(uint64_t code) with its result. exit must not
 * return; if either does not resolve, the trampoline logs it and parks
 * the CPU in that task forever (hlt loop).
 */
uint64_t ctx_prepare(uint64_t stack_top, const struct cellref *start, uint64_t arg,
		     const struct cellref *exit);

/* The boot context's stack [lo, hi): task 0 ("idle") runs on it. */
void ctx_boot_stack(uint64_t *lo, uint64_t *hi);

/* Interrupt flag save/restore for cells (grant `core`). */
uint64_t irq_save(void);
void irq_restore(uint64_t flags);

#endif
