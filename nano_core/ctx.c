/* The CPU side of kernel tasks: preparing a stack, the first entry, the halt when nothing runs. */
#include <delos/ctx.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/string.h>
#include <delos/trap.h>
#include "hal/cpu.h"

/* The stack pointer of the task switched away from most recently; nano_core's. */
uint64_t ctx_saved_rsp;

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

