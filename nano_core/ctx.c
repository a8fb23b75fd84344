/* The CPU side of kernel tasks: preparing a stack and the first entry. */
#include <delos/ctx.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/string.h>
#include "hal/cpu.h"

/* The stack pointer of the task switched away from most recently; nano_core's. */
uint64_t ctx_saved_rsp;

/* What a new task needs, stored at the top of its own stack. */
struct task_start {
	struct cellref start, exit;
	uint64_t arg;
};

void ctx_task_entry(void);
_Noreturn void ctx_task_main(struct task_start *ts);

uint64_t ctx_last_saved(void)
{
	return ctx_saved_rsp;
}

/*
 * The initial stack: the task_start block, then a ctx_switch frame whose
 * return address is ctx_task_entry and whose r12 points at the block.
 */
uint64_t ctx_prepare(uint64_t stack_top, const struct cellref *start, uint64_t arg,
		     const struct cellref *exit)
{
	uint64_t sp = (stack_top - sizeof(struct task_start)) & ~15ull;
	struct task_start *ts = (struct task_start *)sp;
	uint64_t *frame;

	ts->start = *start;
	ts->exit = *exit;
	ts->arg = arg;
	frame = (uint64_t *)(sp - 8 * 8);
	memset(frame, 0, 8 * 8);
	frame[3] = (uint64_t)ts;		/* r12 (pop order r15 r14 r13 r12 rbx rbp ret) */
	frame[6] = (uint64_t)ctx_task_entry;	/* return address */
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

uint64_t irq_save(void)
{
	uint64_t flags = read_rflags();

	cpu_cli();
	return flags;
}

void irq_restore(uint64_t flags)
{
	if (flags & (1 << 9))
		cpu_sti();
}
