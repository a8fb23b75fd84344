/*
 * Restarting tasks at their entry (include/delos/tasks.h), for nano_core's
 * swap of a cell whose tasks are blocked inside it: each starts over in the
 * new cell, on its own stack, as the same task.
 */
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/sched.h>
#include <delos/sdb.h>
#include "cells/tasks/records.h"

/* Checks that task id may be restarted while blocked; fills *r. */
static int blocked_task(int64_t id, struct task_rec *r)
{
	int err;

	if (id == 0)
		return TASKS_E_SELF;
	if ((err = rec_get(id, r)))
		return err;
	if (r->state == TASK_EXITED)
		return r->stack_pages || id == tasks_current() ? TASKS_E_BUSY : 0;
	if (r->state != TASK_SLEEPING && r->state != TASK_WAITING)
		return TASKS_E_BUSY;
	if (!r->stack_pages || id == tasks_current())
		return TASKS_E_STATE;
	return 0;
}

/*
 * Writing the record is the commit: its saved_rsp of 0 makes the next
 * switch prepare the stack afresh (switch.c), so nothing is touched before.
 */
/* An exited task's stack was freed at its switch-out: it starts on a fresh one. */
static int new_stack(struct task_rec *r)
{
	uint64_t top = stack_alloc(TASK_STACK_PAGES);

	if (!top)
		return TASKS_E_NOMEM;
	r->stack_pages = TASK_STACK_PAGES;
	r->stack_hi = top;
	r->stack_lo = top - TASK_STACK_PAGES * 4096ull;
	return 0;
}

int tasks_restart(uint64_t id)
{
	uint64_t flags = irq_save();
	struct tasks_cpu cpu;
	struct task_rec r;
	bool was_blocked = false;
	int err;

	tasks_finish_switch();
	if ((err = blocked_task((int64_t)id, &r)) == 0) {
		was_blocked = r.state != TASK_EXITED;
		if (!was_blocked)
			err = new_stack(&r);
	}
	if (err == 0) {
		r.state = TASK_READY;
		r.saved_rsp = 0;
		r.exit_code = 0;
		if ((err = rec_put(&r)) && r.stack_pages && !was_blocked)
			stack_free(r.stack_hi, r.stack_pages);
	}
	if (err == 0) {
		if (was_blocked) {
			blocked_remove(r.id);
			/* Its frames go: so do a transaction they left open and the blocks they held. */
			tasks_abort_txn(r.id);
			stack_reclaim(r.stack_hi, r.stack_pages);
		}
		if (policy_enqueue(tasks_rq(), r.id, r.prio, false) < 0)
			klog(LOG_ERR, "tasks: the %s policy refused restarted task %ld", policy_name(), r.id);
		if (cpu_get(&cpu) == 0 && cpu.current == 0 && !cpu.need_resched) {
			cpu.need_resched = 1;
			cpu_put(&cpu);
		}
	}
	irq_restore(flags);
	if (err)
		klog(LOG_ERR, "tasks: cannot restart task %lu: %s", id, tasks_strerror(err));
	else
		klog(LOG_INFO, "tasks: task %ld '%s' will start over at %s:%s", r.id, r.name,
		     r.entry.cell, r.entry.sym);
	return err;
}

/*
 * ctx_prepare rewrites the top CTX_PREPARE_BYTES of the stack this runs on;
 * include/delos/ctx.h says why that is safe once this frame (and so
 * ctx_prepare's, below it) lies entirely below that region. It always does
 * in a task started by ctx_prepare, but is checked rather than assumed.
 */
int tasks_restart_self(uint64_t unused)
{
	uint64_t flags = irq_save(), fp = (uint64_t)__builtin_frame_address(0);
	struct task_rec r;
	int64_t self;
	int err;

	(void)unused;
	tasks_finish_switch();
	self = tasks_current();
	if (self <= 0)
		err = self == 0 ? TASKS_E_SELF : (int)self;
	else if ((err = rec_get(self, &r)) == 0 &&
		 (!r.stack_pages || fp < r.stack_lo || fp + 16 > r.stack_hi - CTX_PREPARE_BYTES))
		err = TASKS_E_STATE;
	if (err) {
		irq_restore(flags);
		klog(LOG_ERR, "tasks: the running task cannot start over: %s", tasks_strerror(err));
		return err;
	}
	klog(LOG_INFO, "tasks: task %ld '%s' starts over at %s:%s", r.id, r.name, r.entry.cell,
	     r.entry.sym);
	tasks_abort_txn(self);	/* its frames go, and a transaction they left open */
	stack_reclaim(r.stack_hi, r.stack_pages);	/* and the heap blocks they held */
	ctx_resume_on(r.stack_lo, r.stack_hi);
	ctx_restart(ctx_prepare(r.stack_hi, &tasks_start_ref, (uint64_t)self, &tasks_exit_ref));
}
