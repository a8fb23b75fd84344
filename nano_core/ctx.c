/* The CPU side of kernel tasks: preparing a stack, the first entry, the halt when nothing runs. */
#include <delos/ctx.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/paging.h>
#include <delos/string.h>
#include <delos/trap.h>
#include "hal/cpu.h"
#include "nano_core/contain.h"

/* The stack pointer of the task switched away from most recently; nano_core's. */
uint64_t ctx_saved_rsp;

/*
 * The stack [lo, hi) the next resume point lies on, as the tasks cell names
 * it (ctx_resume_on), and the one of the context resumed last, which runs
 * now (copied by ctx.S once the resume point passed its check). Owned by
 * ctx.S and ctx.c, interrupts off.
 */
uint64_t ctx_next_lo, ctx_next_hi, ctx_run_lo, ctx_run_hi;
/* Where a resume point's return address may be: nano_core's text, then the cell window. */
const uint64_t ctx_code[4] = { (uint64_t)__text_start, (uint64_t)__text_end, CELL_BASE, CELL_LIMIT };
extern char ctx_resume_load[], ctx_refuse_rdi[];

_Static_assert(CTX_FRAME_WORDS * 8 == 64 && CTX_RET * 8 == 48, "ctx.S's CTX_FRAME_BYTES and CTX_RET_AT");
_Static_assert(KERNEL_VMA < CELL_BASE, "ctx.S checks nano_core's text before the cell window");

void ctx_resume_on(uint64_t lo, uint64_t hi)
{
	ctx_next_lo = lo;
	ctx_next_hi = hi;
}

bool ctx_running_stack(uint64_t *lo, uint64_t *hi)
{
	*lo = ctx_run_lo;
	*hi = ctx_run_hi;
	return ctx_run_hi > ctx_run_lo;
}

/*
 * The resume point's saved context is not mapped (ctx.S's load of its return
 * address faulted: the stack named is gone): refused as any other, in the
 * context that tried to take it.
 */
bool ctx_resume_faulted(struct trap_frame *f)
{
	if (f->vector != 14 || f->rip != (uint64_t)ctx_resume_load)
		return false;
	f->rip = (uint64_t)ctx_refuse_rdi;
	return true;
}

/*
 * ctx.S refused the resume point rsp. The tasks cell, which named it, has
 * already made its task the running one: the fault is charged to the cell
 * holding the switch slots and ends that task (contain.c), from the stack
 * this runs on (the one switched away from, below its saved context).
 */
_Noreturn void ctx_refused(uint64_t rsp)
{
	uint64_t ret = 0;
	char why[80];

	if (!(rsp & 7) && rsp >= ctx_next_lo && rsp + 8 * CTX_FRAME_WORDS <= ctx_next_hi &&
	    paging_readable(rsp + 8 * CTX_RET, 8))
		ret = ((uint64_t *)rsp)[CTX_RET];
	klog(LOG_ERR, "ctx: refused to resume rsp %016lx (return address %016lx): not a saved context "
	     "on the stack %016lx-%016lx returning into code", rsp, ret, ctx_next_lo, ctx_next_hi);
	snprintf(why, sizeof(why), "bad resume point: rsp %lx, return to %lx", rsp, ret);
	fault_switch_refused(why, rsp, ret);
}

/* What a new task needs, stored at the top of its own stack. */
struct task_start {
	struct cellref start, exit;
	uint64_t arg;
};

/* The prepared frame: a saved context (enum ctx_frame_word) and a pad word that aligns the entry. */
#define PREPARED_WORDS (CTX_FRAME_WORDS + 1)
_Static_assert(sizeof(struct task_start) + 15 + 8 * PREPARED_WORDS <= CTX_PREPARE_BYTES,
	       "ctx_prepare writes more than it promises");

void ctx_task_entry(void);
_Noreturn void ctx_task_main(struct task_start *ts);
_Noreturn void ctx_idle(void);

uint64_t ctx_last_saved(void)
{
	return ctx_saved_rsp;
}

/*
 * The initial stack: the task_start block, then a saved context whose
 * return address is ctx_task_entry, whose r12 points at the block and whose
 * flags keep interrupts off (the trampoline enables them). The pad word puts
 * ctx_task_entry's rsp at 8 mod 16, as after a call.
 */
uint64_t ctx_prepare(uint64_t stack_top, const struct cellref *start, uint64_t arg,
		     const struct cellref *exit)
{
	uint64_t sp = (stack_top - sizeof(struct task_start)) & ~15ull;
	struct task_start *ts = (struct task_start *)sp;
	uint64_t *frame;

	trap_forget_stack(stack_top);
	ts->start = *start;
	ts->exit = *exit;
	ts->arg = arg;
	frame = (uint64_t *)(sp - 8 * PREPARED_WORDS);
	memset(frame, 0, 8 * PREPARED_WORDS);
	frame[CTX_R12] = (uint64_t)ts;
	frame[CTX_RET] = (uint64_t)ctx_task_entry;
	return (uint64_t)frame;
}

static _Noreturn void park(const char *why, const struct cellref *r)
{
	klog(LOG_ERR, "task: %s %s:%s does not resolve; parking this task", why, r->cell, r->sym);
	for (;;)
		cpu_sti_hlt();
}

_Noreturn void ctx_task_main(struct task_start *ts)
{
	int code = 0;

	cpu_sti();
	if (cellref_call(&ts->start, ts->arg, &code))
		park("entry", &ts->start);
	cellref_call(&ts->exit, (uint64_t)(int64_t)code, NULL);
	park("exit", &ts->exit);
}

/*
 * ctx_block(0, ...) ends here, on the stack of the task that blocked, below
 * its saved context: halts until an interrupt made something runnable, as
 * the ops slot idle_next says (include/delos/ctx.h), then resumes it. The
 * slot is resolved each time: nano_core keeps no address inside a cell.
 */
_Noreturn void ctx_idle(void)
{
	for (;;) {
		cpu_sti_hlt();
		cpu_cli();
		uint64_t fn = ops_resolve(OPS_IDLE_NEXT);
		uint64_t rsp = fn ? ((uint64_t (*)(void))fn)() : 0;
		if (rsp)
			ctx_restart(rsp);
	}
}

