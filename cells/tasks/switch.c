/*
 * Switching tasks: the one path through which the CPU goes from one task to
 * another, the wake-up of blocked tasks and the timer tick. All of it runs
 * with interrupts off.
 *
 * "Switch, then record": ctx_switch saves the old task's stack pointer where
 * only ctx_last_saved() knows it, so a switch leaves the old task `pending`
 * in tasks/current (with the state it left in and the ticks it used), and
 * the first tasks code to run afterwards, whatever it is (the resumed task,
 * a new task's start, a tick, a notify, a list), writes the old task's
 * record: state, ticks, saved rsp, or frees its stack if it exited
 * (tasks_finish_switch). Each switch thus writes one task record, not two:
 * the incoming task's record is left as it was (see records.h).
 */
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/time.h>
#include "cells/sched/sched.h"
#include "cells/tasks/records.h"

int64_t tasks_current(void)
{
	struct tasks_cpu cpu;
	int err = cpu_get(&cpu);

	return err ? err : cpu.current;
}

static void free_stack(struct task_rec *r)
{
	if (r->stack_pages)
		stack_free(r->stack_hi, r->stack_pages);
	r->stack_pages = 0;
	r->stack_lo = r->stack_hi = r->saved_rsp = 0;
}

/* Records the pending switch-out, if any; leaves the CPU record in *cpu. */
static int finish_into(struct tasks_cpu *cpu)
{
	struct task_rec r;
	int err = cpu_get(cpu);

	if (err || cpu->pending < 0)
		return err;
	if (rec_get(cpu->pending, &r) == 0) {
		r.state = cpu->pending_state;
		r.cpu_ticks += cpu->pending_ticks;
		r.runs++;
		if (r.state == TASK_EXITED)
			free_stack(&r);
		else
			r.saved_rsp = ctx_last_saved();
		rec_put(&r);
	}
	cpu->pending = -1;
	return cpu_put(cpu);
}

void tasks_finish_switch(void)
{
	struct tasks_cpu cpu;

	finish_into(&cpu);
}

static uint32_t state_of(int64_t id)
{
	struct task_rec r;

	return rec_get(id, &r) ? 0 : r.state;
}

static void set_state(int64_t id, uint32_t state)
{
	struct task_rec r;

	if (rec_get(id, &r) == 0) {
		r.state = state;
		rec_put(&r);
	}
}

/*
 * Nothing to run and the caller is blocked (idle too): halts in its context
 * until an interrupt makes something runnable. Ticks see cpu.waiting and
 * leave switching to this loop. Returns the caller's state afterwards.
 */
static uint32_t wait_here(struct tasks_cpu *cpu, uint32_t state, int64_t *next)
{
	set_state(cpu->current, state);
	cpu->waiting = 1;
	cpu_put(cpu);
	for (;;) {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		if ((*next = sched_pick()) >= 0 || state_of(0) == TASK_READY)
			break;
	}
	cpu_get(cpu);
	cpu->waiting = 0;
	state = state_of(cpu->current);
	if (*next < 0)
		*next = 0;
	return state;
}

/*
 * The task to run next: the policy's pick, else idle if it is ready (the
 * caller itself, when it is idle and stays ready), else wait here. *state is
 * the caller's state, which a wait may change.
 */
static int64_t choose_next(struct tasks_cpu *cpu, uint32_t *state)
{
	int64_t next = sched_pick();

	if (next >= 0)
		return next;
	if (cpu->current == 0 ? *state == TASK_READY : state_of(0) == TASK_READY)
		return 0;
	if (cpu->current != 0 && *state == TASK_READY)
		return cpu->current;	/* only when its enqueue failed */
	*state = wait_here(cpu, *state, &next);
	return next;
}

/* Jumps to next, leaving the caller pending in `state`; returns when it is resumed. */
static void switch_to(struct tasks_cpu *cpu, int64_t next, uint32_t state)
{
	struct task_rec n;

	if (rec_get(next, &n) || !n.saved_rsp) {
		klog(LOG_ERR, "tasks: cannot switch to task %ld: no saved context", next);
		return;
	}
	cpu->pending = cpu->current;
	cpu->pending_state = state;
	cpu->pending_ticks = cpu->ran_ticks;
	cpu->current = next;
	cpu->current_prio = n.prio;
	cpu->ran_ticks = 0;
	cpu->need_resched = 0;
	cpu->switches++;
	if (cpu_put(cpu))
		return;
	ctx_switch(n.saved_rsp);
	tasks_finish_switch();
}

void tasks_resched(uint32_t new_state)
{
	struct tasks_cpu cpu;
	uint32_t state = new_state;
	int64_t next;

	if (finish_into(&cpu))
		return;
	if (new_state == TASK_READY && cpu.current != 0 &&
	    sched_enqueue(cpu.current, cpu.current_prio) < 0)
		klog(LOG_ERR, "tasks: the %s policy refused task %ld", sched_name(), cpu.current);
	next = choose_next(&cpu, &state);
	if (next != cpu.current) {
		switch_to(&cpu, next, state);
		return;
	}
	cpu.need_resched = 0;	/* the caller goes on: a new turn */
	cpu.ran_ticks = 0;
	cpu_put(&cpu);
}

/* A sleeping or waiting task becomes ready; asks for a preemption if it should run first. */
int tasks_make_ready(int64_t id)
{
	struct tasks_cpu cpu;
	struct task_rec r;
	int err, wake;

	if ((err = rec_get(id, &r)))
		return err;
	if (r.state != TASK_SLEEPING && r.state != TASK_WAITING)
		return 0;
	r.state = TASK_READY;
	blocked_remove(id);
	if ((err = rec_put(&r)) || id == 0)
		return err;
	wake = sched_wake(id, r.prio);
	if (wake < 0)
		klog(LOG_ERR, "tasks: the %s policy refused to wake task %ld", sched_name(), id);
	if ((err = cpu_get(&cpu)))
		return err;
	if (wake > 0 || cpu.current == 0) {
		cpu.need_resched = 1;
		return cpu_put(&cpu);
	}
	return 0;
}

static void wake_sleepers(uint64_t now_ns)
{
	int64_t ids[TASKS_MAX];
	int n = blocked_due(now_ns, NULL, ids, TASKS_MAX);

	for (int i = 0; i < n; i++)
		tasks_make_ready(ids[i]);
}

/* Charges the tick; returns whether the running task should give way now. */
static bool charge_tick(struct tasks_cpu *cpu)
{
	bool running;

	if (cpu_get(cpu))
		return false;
	running = !cpu->waiting;
	cpu->ticks++;
	if (running)
		cpu->ran_ticks++;
	if (!running || cpu->current == 0)
		cpu->idle_ticks++;
	if (cpu_put(cpu) || !running)
		return false;	/* the CPU idles in a blocked task's context: wait_here switches */
	if (cpu->need_resched)
		return true;
	return sched_should_preempt(cpu->current == 0 ? UINT64_MAX : cpu->ran_ticks);
}

/*
 * Preempts right here, inside the tick, unless nano_core calls
 * tasks_irq_exit after each interrupt: then only asks for it, so that a
 * preempted task's stack holds no frame of dispatch or timer (which could
 * then never be swapped while it is preempted).
 */
int tasks_tick(uint64_t tick)
{
	struct tasks_cpu cpu;

	(void)tick;
	tasks_finish_switch();
	wake_sleepers(time_ns());
	if (!charge_tick(&cpu))
		return 0;
	if (!cpu.irq_exit_hook) {
		tasks_resched(TASK_READY);
	} else if (!cpu.need_resched) {
		cpu.need_resched = 1;
		cpu_put(&cpu);
	}
	return 0;
}

int tasks_irq_exit(uint64_t irq)
{
	struct tasks_cpu cpu;

	(void)irq;
	if (cpu_get(&cpu))
		return 0;
	if (!cpu.irq_exit_hook) {
		cpu.irq_exit_hook = 1;
		cpu_put(&cpu);
	}
	if (cpu.need_resched && !cpu.waiting)
		tasks_resched(TASK_READY);
	return 0;
}
