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

/* Reports a missed heartbeat of `cell` (nano_core/heartbeat.c), or with progress no
 * progress on the work it owes: a hang, nothing abandoned. */
void fault_heartbeat(const char *cell, const char *version, uint64_t ms, uint64_t period_ms,
		     bool progress);
/* The function of the innermost cells_call_in under way (a cell_init, a swap hook), or 0 (cells.c). */
uint64_t cells_calling_in(void);

/*
 * After a fault in a cell that every task switch goes through (ops_switches):
 * calls slot OPS_FAULT_RECOVER_NOW once, as a caught call, interrupts off.
 * Called where no frame of the faulted code is live on the stack (the end
 * of an interrupt, a parked task); does nothing when no such fault waits.
 */
void fault_recover_now(void);
/* Looks for cells that missed their heartbeat as of now (time_ns()); at the end of every interrupt, interrupts off. */
void heartbeat_check(uint64_t now);

/*
 * Reports a fault in cell code outside any contained call and ends the
 * running task through slot OPS_TASK_END. Returns only when no task can be
 * ended (empty slot, task 0), having said why.
 */
void fault_end_task(const struct trap_frame *f, const struct cells_where *w);
/*
 * The context switch refused a resume point (ctx.c): charged to the holder
 * of the switch slots, ending the task it was to resume; `why` says what was
 * wrong with it.
 */
_Noreturn void fault_switch_refused(const char *why, uint64_t rsp, uint64_t ret);
/* For ctx.S: the resume point's saved context was unmapped; f resumes to refuse it. */
bool ctx_resume_faulted(struct trap_frame *f);
/* The stack [lo, hi) the running task is on, as its last resume named it; false if unknown. */
bool ctx_running_stack(uint64_t *lo, uint64_t *hi);
/* Set by fault_end_task when the task end itself faulted in a cell: park the task instead of halting. */
extern bool fault_park_wanted;
/* Where a parked task waits (with the loader generation it faulted in) until the cells change. */
_Noreturn void fault_park(uint64_t gen);

/*
 * A fault raised by code, not the CPU (cell_panic, a stack-protector
 * failure): raises a #UD at fault_raise_ud2 whose handler takes rip (in the
 * caller) and rbp from here, and kind and msg into the report.
 */
_Noreturn void fault_raise(uint32_t kind, const char *msg, uint64_t rip, uint64_t rbp);
extern char fault_raise_ud2[];
/*
 * fault_raise for a fault found outside the faulting context (the NMI
 * watchdog): the report takes every register of `f`, the interrupted frame,
 * and says vector 2 (NMI).
 */
_Noreturn void fault_raise_frame(uint32_t kind, const char *msg, const struct trap_frame *f);
/* At the #UD of fault_raise: puts the raiser's rip and rbp in f; false if none is pending. */
bool fault_take_raised(struct trap_frame *f);
/*
 * A fault in nano_core code that acts only on its caller's memory (memcpy,
 * strlen, snprintf, ...; the list is in contain.c), called by a cell,
 * directly or through others on that list: fills w with the calling cell's
 * call site and returns true, so the fault is that cell's. False otherwise.
 */
bool fault_charge_caller(const struct trap_frame *f, struct cells_where *w);
/*
 * A fault whose RIP is in no code (nano_core's text nor a cell's), entered
 * from a cell: fills w with that cell's return address on the stack (on the
 * running task's stack when the stack pointer has left it) and returns true,
 * so the fault is that cell's. False otherwise (contain.c).
 */
bool fault_charge_no_code(const struct trap_frame *f, struct cells_where *w);
/*
 * Whether f's stack pointer lies outside the running task's stack [*lo, *hi)
 * (ctx_running_stack; false when that is unknown). A fault at no code there
 * is charged to the cell that ran last on the task's stack (contain.c).
 */
bool fault_off_task_stack(const struct trap_frame *f, uint64_t *lo, uint64_t *hi);
/*
 * A fault at the very first instruction a cell's direct call reached, in
 * nano_core's text but at no function's start (the call's target
 * corrupted): nothing of nano_core ran, so the fault is the calling cell's;
 * fills w with its call site and returns true. False otherwise (contain.c).
 */
bool fault_charge_bad_call(const struct trap_frame *f, struct cells_where *w);
/* Marks the fault being handled as a stack overflow, or as a hang of `ms`. */
void fault_mark_overflow(void);
void fault_mark_hang(uint64_t ms);

/*
 * The hang watchdog (nano_core/watchdog.c), at the end of every interrupt
 * with the interrupted frame: true when that context has stayed in one
 * cell's code (w), on one stack, with no context switch, beyond the cell's
 * bound; *ms says how long. now is time_ns() at this interrupt.
 */
bool watchdog_check(const struct trap_frame *f, struct cells_where *w, uint64_t *ms, uint64_t now);
/* Whether f's code is nano_core's, called (within a few frames) from `cell`'s code. */
bool watchdog_called_from(const struct trap_frame *f, const char *cell);
/*
 * The NMI watchdog (nano_core/nmi_watchdog.c). nmi_watchdog_init routes the
 * RTC's periodic interrupt as an NMI; false (said why) where it cannot.
 * nmi_watchdog is trap_dispatch's for vector 2: false when the NMI is not
 * the watchdog's; on a hang with interrupts off it rewrites f to return
 * into nmi_hang_raise, which raises the fault in the interrupted context.
 */
bool nmi_watchdog_init(void);
bool nmi_watchdog(struct trap_frame *f);
_Noreturn void nmi_hang_raise(void);
uint64_t nmi_watchdog_count(void);
/* The vector to report for the raised fault being handled: 2 for the NMI watchdog's, else `vector`. */
uint64_t fault_raised_vector(uint64_t vector);
/* Interrupts (vectors 32 and up) trap_dispatch has taken since boot. */
uint64_t trap_irqs_taken(void);
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
