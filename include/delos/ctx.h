/*
 * Kernel tasks' CPU side, which stays in nano_core: stacks, the context
 * switch, the halt when nothing can run, and the first entry of a new task
 * (grant `sched`). Everything else about tasks (the table, states, sleeping,
 * joining) lives in the tasks cell and state_db.
 */
#ifndef DELOS_CTX_H
#define DELOS_CTX_H

#include <stddef.h>
#include <stdint.h>

#include <delos/cellref.h>
#include <delos/irqflags.h>	/* irq_save, irq_restore */
#include <delos/mm.h>	/* stack_alloc, stack_free */

/*
 * A switched-out context, from its saved stack pointer up, in 64-bit words:
 * the callee-saved registers, the frame pointer, the return address and the
 * interrupt flag to restore. CTX_RBP and CTX_RET make it a frame-pointer
 * record, so a walk of the task's frame chain can start at saved_rsp +
 * 8 * CTX_RBP (the return address is where the task resumes).
 */
enum ctx_frame_word { CTX_R15, CTX_R14, CTX_R13, CTX_R12, CTX_RBX, CTX_RBP, CTX_RET, CTX_FLAGS,
		      CTX_FRAME_WORDS };

/* What ctx_block returns when the blocked task is resumed. */
#define CTX_RESUMED 1

/*
 * Blocks the running task and runs another: saves the callee-saved
 * registers, the frame pointer, the return address and `flags` (an
 * irq_save() value) on the running stack, leaves the stack pointer in
 * ctx_last_saved() ("switch, then record": the task is no longer running
 * once its rsp is known, so the resumed side records it), then loads
 * next_rsp (a value saved here, or one from ctx_prepare) and resumes it.
 * Call it with interrupts off.
 *
 * When the blocked task is resumed, ctx_block sets the interrupt flag as
 * `flags` says and returns CTX_RESUMED to its caller. Reached by a tail call
 * (`__attribute__((musttail)) return ctx_block(...)`, hence the int return
 * and two uint64_t parameters that callers must match), it returns to the
 * caller of the function that tail-called it: no frame of that function
 * stays on the blocked stack, so the cell that holds it can be swapped while
 * the task is blocked.
 *
 * next_rsp == 0 means that nothing can run now: the task's context is saved
 * all the same, then the CPU halts on the same stack (below the saved
 * context) with interrupts on. After each interrupt, with interrupts off,
 * nano_core calls the ops slot idle_next (include/delos/ops.h) as
 * `uint64_t fn(void)`: it returns the saved rsp of the context to run next
 * (possibly the one just saved), which nano_core resumes as ctx_restart
 * does, or 0 to go on halting. The halting CPU belongs to no task.
 */
int ctx_block(uint64_t next_rsp, uint64_t flags);

/*
 * The stack [lo, hi) the next resume point (of ctx_block, ctx_restart or
 * idle_next) lies on: call it before each, with interrupts off. The switch
 * takes a resume point only when its saved context lies inside that stack,
 * 8-byte aligned, and returns into code (nano_core's text or the cell
 * window); any other is refused, as a fault of the cell holding the switch
 * slots in the task it was to resume, which is ended (include/delos/fault.h).
 * A corrupted saved rsp thus ends one task instead of jumping anywhere.
 */
void ctx_resume_on(uint64_t lo, uint64_t hi);

/* ctx_block(next_rsp, the current interrupt flag), for callers that need no tail call. */
void ctx_switch(uint64_t next_rsp);

/* The rsp saved by the most recent ctx_block or ctx_switch. */
uint64_t ctx_last_saved(void);

/*
 * Resumes the context saved at rsp without saving the running one, which is
 * abandoned: its stack may be reused, freed, or (this is what it is for)
 * prepared again. Interrupts off; the resumed context sets them as its
 * saved flags say.
 *
 * This is how a task restarts on its own stack: ctx_prepare(its stack top)
 * overwrites the CTX_PREPARE_BYTES below the top while the task runs deeper
 * down, then ctx_restart(the prepared rsp) moves up onto the new frame.
 * That is safe when the frame of the code doing it (and so ctx_prepare's,
 * below it) lies entirely below stack_top - CTX_PREPARE_BYTES: what is
 * overwritten then holds only the task's oldest frames, nano_core's task
 * trampoline, which are abandoned with everything else.
 */
_Noreturn void ctx_restart(uint64_t rsp);

/*
 * Prepares a new stack so that resuming the returned rsp starts nano_core's
 * task trampoline, which enables interrupts and calls `start` as
 * int start(uint64_t arg) (a cellref, resolved then), then calls `exit` as
 * int exit(uint64_t code) with its result. exit must not return; if either
 * does not resolve, the trampoline logs it and parks the CPU in that task
 * forever (hlt loop). Writes at most CTX_PREPARE_BYTES below stack_top.
 */
uint64_t ctx_prepare(uint64_t stack_top, const struct cellref *start, uint64_t arg,
		     const struct cellref *exit);
#define CTX_PREPARE_BYTES 256

/*
 * The swap's stack walk, for the holder of OPS_TASKS_INSIDE
 * (include/delos/ops.h): follows the frame-pointer chain that starts at rip
 * and rbp inside the stack [lo, hi) (frames of interrupts included) and
 * returns the index of the first of the n ranges holding an address of it,
 * that address in *at; or -1 when none does. Reads only the stack.
 */
struct ops_range;
int ctx_frames_inside(const struct ops_range *r, size_t n, uint64_t rip, uint64_t rbp,
		      uint64_t lo, uint64_t hi, uint64_t *at);

/* The boot context's stack [lo, hi): task 0 ("idle") runs on it. */
void ctx_boot_stack(uint64_t *lo, uint64_t *hi);

#endif
