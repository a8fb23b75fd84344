/*
 * Switching tasks: the one path through which the CPU goes from one task to
 * another, the wake-up of blocked tasks, the timer tick and preemption. All
 * of it runs with interrupts off.
 *
 * No frame of this cell stays on a switched-out stack. tasks_switch ends in
 * a tail call of nano_core's ctx_block, and everything that reaches it
 * tail-calls it in turn (tasks_block, tasks_irq_exit), so the switched-out
 * task resumes directly in whatever called into this cell: a client of the
 * blocking API, or nano_core's interrupt exit. Only task_exit calls it
 * normally: an exited task is never resumed.
 *
 * "Switch, then record": ctx_block saves the old task's stack pointer where
 * only ctx_last_saved() knows it, so a switch leaves the old task `pending`
 * in tasks/current (with the state it left in and the ticks it used), and
 * the first tasks code to run afterwards, whatever it is (a blocking call, a
 * new task's start, a tick, an interrupt exit, a notify, a list), writes the
 * old task's record: state, ticks, saved rsp, or frees its stack if it
 * exited (tasks_finish_switch). Every entry point of this cell does that
 * before it reads a task record. Each switch thus writes one task record,
 * not two: the incoming task's record is left as it was (see records.h).
 */
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/time.h>
#include <delos/sched.h>
#include "cells/tasks/records.h"

_Static_assert(TASKS_AGAIN == CTX_RESUMED, "tasks_block returns what ctx_block does");

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

/* The hot fields of a record, as they lie at its end. */
static const struct task_hot *hot_of(const struct task_rec *r)
{
	return (const struct task_hot *)((const char *)r + TASK_HOT_AT);
}

/* A switch-out of a task that stays alive: only its hot fields that changed, in place. */
static bool record_hot(const struct tasks_cpu *cpu, const struct tasks_table *t)
{
	const struct task_rec *v;
	struct task_hot hot;
	statedb_handle h;

	if (cpu->pending_state == TASK_EXITED || rec_view_in(t, cpu->pending, &v, &h))
		return false;
	hot = (struct task_hot){
		.state = cpu->pending_state, .runs = v->runs + 1,
		.cpu_ticks = v->cpu_ticks + cpu->pending_ticks, .saved_rsp = ctx_last_saved(),
	};
	return rec_put_hot(h, hot_of(v), &hot) == 0;
}

static int record_pending_view(struct tasks_cpu *cpu, const struct tasks_cpu **v,
			       const struct tasks_table **t, bool *changed);

/*
 * Reads the CPU record into *cpu and records the pending switch-out in its
 * task's record, if there is one; returns whether *cpu changed (then the
 * caller must write it back). *t is a view of tasks/table for the rest of
 * the caller's call when a switch-out was recorded, else NULL (see
 * table_of). An exited task stays pending
 * while no task runs: the CPU may be halting on its stack, which is freed
 * once another task runs.
 */
static int record_pending(struct tasks_cpu *cpu, const struct tasks_table **t, bool *changed)
{
	return record_pending_view(cpu, NULL, t, changed);
}

/* record_pending, with the CPU record's place (*v) for cpu_put_over. */
static int record_pending_view(struct tasks_cpu *cpu, const struct tasks_cpu **v,
			       const struct tasks_table **t, bool *changed)
{
	struct task_rec r;
	int err = cpu_get_view(cpu, v);

	*changed = false;
	*t = NULL;
	if (err || cpu->pending < 0 || (cpu->pending_state == TASK_EXITED && cpu->current < 0))
		return err;
	*t = table_view_of(cpu);
	if (!record_hot(cpu, *t) && rec_get(cpu->pending, &r) == 0) {
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
	*changed = true;
	return 0;
}

/* The view of tasks/table record_pending gave, or one taken now. */
static const struct tasks_table *table_of(const struct tasks_cpu *cpu, const struct tasks_table *t)
{
	return t ? t : table_view_of(cpu);
}

/* Records the pending switch-out, if any; leaves the CPU record in *cpu. */
static int finish_into(struct tasks_cpu *cpu, const struct tasks_table **t)
{
	bool changed;
	int err = record_pending(cpu, t, &changed);

	return err || !changed ? err : cpu_put(cpu);
}

void tasks_finish_switch(void)
{
	const struct tasks_table *t;
	struct tasks_cpu cpu;

	finish_into(&cpu, &t);
}

static uint32_t state_of(int64_t id)
{
	struct task_rec r;

	return rec_get(id, &r) ? 0 : r.state;
}

/*
 * How the caller, leaving in `state`, goes back into the queue: not at all
 * when it blocks (or is idle, never queued); at the tail; or keeping its
 * turn when a wake-up preempted it before its slice ran out.
 */
static int queue_how(const struct tasks_cpu *cpu, uint64_t state)
{
	if ((state != TASKS_SWITCH_PREEMPT && state != TASK_READY) || cpu->current == 0)
		return SCHED_SWITCH_BLOCK;
	if (state == TASKS_SWITCH_PREEMPT && turn_ticks(cpu) < SCHED_SLICE_TICKS)
		return SCHED_SWITCH_REQUEUE;
	return SCHED_SWITCH_ENQUEUE;
}

/*
 * The policy's pick after queueing the caller as `how` says (contained,
 * policy.c), with the run queue opened again if it went stale.
 */
static int64_t queue_and_pick(struct tasks_cpu *cpu, int how)
{
	int err;
	int64_t next = policy_switch(tasks_rq_of(cpu, false), &cpu->policy_down, cpu->current, cpu->current_prio,
				     how, &err);

	if (err == SCHED_E_RECORD)
		next = policy_switch(tasks_rq_of(cpu, true), &cpu->policy_down, cpu->current, cpu->current_prio,
				     how, &err);
	if (err < 0 && how != SCHED_SWITCH_BLOCK)
		klog(LOG_ERR, "tasks: the %s policy refused task %ld", policy_name(), cpu->current);
	return next;
}

/*
 * The task to run next when the caller leaves in `state` (queued first if
 * it stays ready): the policy's pick, else idle if it is ready (the caller
 * itself, when it is idle and stays ready), else the caller if it stays
 * ready, else -1: nothing can run.
 */
static int64_t choose_next(struct tasks_cpu *cpu, uint32_t state, int how)
{
	int64_t next = queue_and_pick(cpu, how);

	if (next >= 0)
		return next;
	if (cpu->current == 0 ? state == TASK_READY : state_of(0) == TASK_READY)
		return 0;
	if (state == TASK_READY)
		return cpu->current;	/* only when its enqueue failed */
	return -1;
}

/*
 * The stack pointer to resume task id at: its saved one, or a fresh start
 * at its entry (a new or restarted task). 0 if it has no context to run.
 */
static uint64_t resume_rsp(const struct tasks_table *t, int64_t id, int32_t *prio)
{
	const struct task_rec *v;
	struct task_rec r;
	statedb_handle h;
	uint64_t rsp;

	if (rec_view_in(t, id, &v, &h)) {
		if (rec_get(id, &r))
			return 0;
		v = &r;
	}
	if (v->state != TASK_READY) {	/* a stale pick (policy.c) */
		klog(LOG_WARN, "tasks: the %s policy picked task %ld, which is not ready", policy_name(), id);
		return 0;
	}
	*prio = v->prio;
	rsp = v->saved_rsp;
	if (!rsp && v->stack_pages)
		rsp = ctx_prepare(v->stack_hi, &tasks_start_ref, (uint64_t)id, &tasks_exit_ref);
	if (!rsp)
		klog(LOG_ERR, "tasks: cannot switch to task %ld: no saved context", id);
	ctx_resume_on(v->stack_lo, v->stack_hi);	/* the switch checks rsp against them */
	return rsp;
}

/* Begins a new turn of current at this tick, adding an idle turn that ends to the idle ticks. */
static void new_turn(struct tasks_cpu *cpu)
{
	if (cpu->current <= 0)
		cpu->idle_ticks += turn_ticks(cpu);
	cpu->turn_tick = cpu->ticks;
}

/* Makes next (-1: none) current, the caller pending in `state`. */
static void hand_over(struct tasks_cpu *cpu, int64_t next, int32_t next_prio, uint32_t state)
{
	cpu->pending = cpu->current;
	cpu->pending_state = state;
	cpu->pending_ticks = turn_ticks(cpu);
	new_turn(cpu);
	cpu->current = next;
	cpu->current_prio = next_prio;
	cpu->need_resched = 0;
	cpu->switches += next >= 0;
}

/* The CPU record is written once, at the end, whichever way it goes. */
int tasks_switch(uint64_t state, uint64_t flags)
{
	const struct tasks_cpu *view;
	const struct tasks_table *t;
	struct tasks_cpu cpu;
	int32_t next_prio = SCHED_PRIO_UNSET;
	uint64_t rsp = 0;
	int64_t self, next;
	bool changed;
	int err, how;

	if ((err = record_pending_view(&cpu, &view, &t, &changed))) {
		irq_restore(flags);
		return err;
	}
	if ((self = cpu.current) < 0) {
		err = TASKS_E_STATE;
		goto out;
	}
	how = queue_how(&cpu, state);
	if (state == TASKS_SWITCH_PREEMPT)
		state = TASK_READY;
	next = choose_next(&cpu, (uint32_t)state, how);
	if (next == self) {
		cpu.need_resched = 0;	/* the caller goes on: a new turn */
		new_turn(&cpu);
		changed = true;
		err = TASKS_AGAIN;
		goto out;
	}
	if (next >= 0 && !(rsp = resume_rsp(table_of(&cpu, t), next, &next_prio))) {
		err = TASKS_E_STATE;
		goto out;
	}
	hand_over(&cpu, next, next_prio, (uint32_t)state);
	if (cpu_put_over(view, &cpu)) {
		err = TASKS_E_STATE;
		changed = false;	/* no half-written switch */
		goto out;
	}
	__attribute__((musttail)) return ctx_block(rsp, flags);
out:
	if (changed && cpu_put(&cpu) && err > 0)
		err = TASKS_E_STATE;
	if (err < 0 && self >= 0 && state != TASK_READY)
		blocked_remove(self);	/* it goes on running: not blocked after all */
	irq_restore(flags);
	return err;
}

uint64_t tasks_idle_next(void)
{
	const struct tasks_table *t;
	struct tasks_cpu cpu;
	int32_t prio = SCHED_PRIO_UNSET;
	uint64_t rsp;
	int64_t next;

	if (finish_into(&cpu, &t) || cpu.current >= 0)
		return 0;
	next = policy_pick(tasks_rq_of(&cpu, false), &cpu.policy_down, -1);
	if (next < 0 && state_of(0) == TASK_READY)
		next = 0;
	if (next < 0 || !(rsp = resume_rsp(table_of(&cpu, t), next, &prio)))
		return 0;
	new_turn(&cpu);
	cpu.current = next;
	cpu.current_prio = prio;
	cpu.need_resched = 0;
	cpu.switches++;
	return cpu_put(&cpu) ? 0 : rsp;
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
	wake = policy_wake(tasks_rq(), id, r.prio);
	if (wake < 0)
		klog(LOG_ERR, "tasks: the %s policy refused to wake task %ld", policy_name(), id);
	if ((err = cpu_get(&cpu)))
		return err;
	if ((wake > 0 || cpu.current == 0) && !cpu.need_resched) {
		cpu.need_resched = 1;
		return cpu_put(&cpu);
	}
	return 0;
}

/*
 * Wakes the sleepers due at now_ns, given the caller's copy of the CPU
 * record (*cpu; *view the record in place), which the
 * wake-ups write too: it is written first and read again after. Before the
 * earliest deadline (cpu->wake_ns) it reads nothing; after it, it raises
 * cpu->wake_ns to the next deadline, in *cpu (written with the tick), once
 * every due sleeper is woken: a tick abandoned half-way (a fault) leaves
 * the deadline passed, and the next tick wakes the sleepers still due.
 * Returns 0, or -1 if *cpu is lost.
 */
static int wake_sleepers(struct tasks_cpu *cpu, const struct tasks_cpu **view, uint64_t now_ns)
{
	int64_t ids[TASKS_MAX];
	uint64_t later;
	int n;

	if (now_ns < cpu->wake_ns || (n = blocked_due(cpu, now_ns, NULL, ids, TASKS_MAX, &later)) < 0)
		return 0;
	if (n > 0) {
		if (cpu_put_over(*view, cpu))
			return -1;
		for (int i = 0; i < n; i++)
			tasks_make_ready(ids[i]);
		if (cpu_get_view(cpu, view))
			return -1;
	}
	cpu->wake_ns = later;
	return 0;
}

/*
 * Whether a tick should ask the policy to preempt the running task: not
 * when none runs or one is asked for already, nor with nothing queued:
 * there is nothing to give way to (unless the policy is down: then the
 * fallback pick shares the CPU, at every tick).
 */
static bool ask_preempt(const struct tasks_cpu *cpu)
{
	return cpu->current >= 0 && !cpu->need_resched && (cpu->policy_down || !tasks_rq_empty(cpu));
}

/*
 * Counts the tick (the turn under way is charged when it ends: hand_over)
 * and asks for a preemption if the policy says so.
 */
static void charge_tick(const struct tasks_cpu *view, struct tasks_cpu *cpu)
{
	cpu->ticks++;
	if (ask_preempt(cpu) &&
	    policy_should_preempt(tasks_rq_of(cpu, false), &cpu->policy_down,
				  cpu->current == 0 ? UINT64_MAX : turn_ticks(cpu)))
		cpu->need_resched = 1;
	cpu_put_over(view, cpu);
}

/*
 * With nothing pending, nothing due and nothing to ask, a tick reads
 * tasks/current in place and writes its count alone; otherwise one read
 * (a copy) and one write of the words that changed.
 */
int tasks_tick(uint64_t tick)
{
	const struct tasks_cpu *view = cpu_view();
	const struct tasks_table *t;
	struct tasks_cpu cpu;
	uint64_t now = time_ns();
	bool changed;

	(void)tick;
	if (view && view->pending < 0 && now < view->wake_ns && !ask_preempt(view) &&
	    cpu_put_ticks(view->ticks + 1) == 0)
		return 0;
	if (record_pending_view(&cpu, &view, &t, &changed) || wake_sleepers(&cpu, &view, now))
		return 0;
	charge_tick(view, &cpu);
	return 0;
}

int tasks_irq_exit(uint64_t irq, uint64_t unused)
{
	const struct tasks_cpu *v;
	const struct tasks_table *t;
	struct tasks_cpu cpu;

	(void)irq, (void)unused;
	if ((v = cpu_view()) && v->pending < 0 && !v->need_resched)
		return 0;	/* nothing to record, nothing to preempt: no copy */
	if (finish_into(&cpu, &t) || cpu.current < 0 || !cpu.need_resched)
		return 0;
	__attribute__((musttail)) return tasks_switch(TASKS_SWITCH_PREEMPT, 0);
}
