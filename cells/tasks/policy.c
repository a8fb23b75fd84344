/*
 * The tasks cell's calls of the scheduling policy (include/delos/sched.h),
 * each a contained call (trap_contain): a fault in the policy cell's code,
 * or a hang there that a watchdog ends, abandons the call and is charged to
 * the policy cell, whose recovery policy (reload) repairs it, instead of
 * ending whichever task was switching, or taking nano_core down when the
 * switch is a preemption at interrupt exit or the end of a faulted task.
 *
 * Until the policy is repaired the tasks cell goes on without it: a pick
 * falls back to the next ready task by id after the current one, round robin
 * over the task records (so the recovery task gets to run), and a queue
 * change that faulted is reported as the policy refusing it. A task a
 * fallback pick ran may be left in the queue; the switch checks that a
 * picked task is ready (resume_rsp), so a stale entry is dropped there.
 */
#include <delos/fault.h>
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/sched.h>
#include <delos/sdb.h>
#include "cells/tasks/records.h"

enum policy_op { OP_SWITCH, OP_PICK, OP_ENQUEUE, OP_REQUEUE, OP_WAKE, OP_DEQUEUE, OP_PREEMPT, OP_NAME };

struct policy_call {
	enum policy_op op;
	statedb_handle q;
	int64_t id;
	int prio;
	uint64_t ran_ticks;	/* OP_PREEMPT; OP_SWITCH: how */
	int64_t ret;
	int err;		/* OP_SWITCH */
};

static void run_call(void *arg)
{
	struct policy_call *c = arg;

	switch (c->op) {
	case OP_SWITCH:
		c->ret = sched_switch(c->q, c->id, c->prio, (int)c->ran_ticks, &c->err);
		break;
	case OP_PICK:
		c->ret = sched_pick(c->q);
		break;
	case OP_ENQUEUE:
		c->ret = sched_enqueue(c->q, c->id, c->prio);
		break;
	case OP_REQUEUE:
		c->ret = sched_requeue(c->q, c->id, c->prio);
		break;
	case OP_WAKE:
		c->ret = sched_wake(c->q, c->id, c->prio);
		break;
	case OP_DEQUEUE:
		c->ret = sched_dequeue(c->q, c->id);
		break;
	case OP_PREEMPT:
		c->ret = sched_should_preempt(c->q, c->ran_ticks);
		break;
	case OP_NAME:
		c->ret = (int64_t)(uintptr_t)sched_name();
		break;
	}
}

/* Runs c contained; its result, or on_fault when the policy's code faulted. */
static int64_t call(enum policy_op op, statedb_handle q, int64_t id, int prio, int64_t on_fault)
{
	struct policy_call c = { op, q, id, prio, 0, on_fault, 0 };

	if (op == OP_PREEMPT)
		c.ran_ticks = (uint64_t)id;
	return trap_contain(run_call, &c, FAULT_CTX_CALL, NULL) ? on_fault : c.ret;
}

/* Collects the ids of the ready tasks (task 0 aside) after `after`, wrapping around. */
struct next_ready {
	int64_t after, first, next;
};

static bool look_at(void *ctx, const struct statedb_meta *m)
{
	struct next_ready *n = ctx;
	const char *p = m->name + sizeof(TASK_RECORD_PREFIX) - 1;
	struct task_rec r;
	int64_t id = 0;

	for (; *p >= '0' && *p <= '9'; p++)
		id = id * 10 + (*p - '0');
	if (*p || id <= 0 || rec_get(id, &r) || r.state != TASK_READY)
		return true;
	if (n->first < 0 || id < n->first)
		n->first = id;
	if (id > n->after && (n->next < 0 || id < n->next))
		n->next = id;
	return true;
}

/* The policy's pick failed: the next ready task by id after `current` (-1: none). */
static int64_t fallback_pick(statedb_handle q, int64_t current)
{
	struct next_ready n = { current, -1, -1 };
	int64_t id;

	if (sdb_list(TASK_RECORD_PREFIX, look_at, &n) < 0)
		return -1;
	id = n.next >= 0 ? n.next : n.first;
	if (id == current)
		return -1;	/* choose_next keeps the caller running */
	if (id > 0)
		call(OP_DEQUEUE, q, id, 0, 0);	/* if the policy can still take it off its queue */
	return id;
}

int64_t policy_switch(statedb_handle q, int64_t current, int prio, int how, int *err)
{
	struct policy_call c = { OP_SWITCH, q, current, prio, (uint64_t)how, INT64_MIN, 0 };

	if (trap_contain(run_call, &c, FAULT_CTX_CALL, NULL)) {
		/*
		 * The queue is as the policy left it, without the caller: a caller
		 * that stays ready goes on (a fallback pick of another task would
		 * leave it out of the queue for good); one that blocks or ends
		 * leaves to the next ready task by id.
		 */
		*err = 0;
		return how == SCHED_SWITCH_BLOCK ? fallback_pick(q, current) : current;
	}
	*err = c.err;
	return c.ret;
}

int64_t policy_pick(statedb_handle q, int64_t current)
{
	int64_t next = call(OP_PICK, q, 0, 0, INT64_MIN);

	return next == INT64_MIN ? fallback_pick(q, current) : next;
}

int policy_enqueue(statedb_handle q, int64_t id, int prio, bool requeue)
{
	return (int)call(requeue ? OP_REQUEUE : OP_ENQUEUE, q, id, prio, SCHED_E_RECORD);
}

int policy_wake(statedb_handle q, int64_t id, int prio)
{
	/* On a fault: run soon, by a fallback pick (the task's record says ready). */
	return (int)call(OP_WAKE, q, id, prio, 1);
}

int policy_dequeue(statedb_handle q, int64_t id)
{
	return (int)call(OP_DEQUEUE, q, id, 0, SCHED_E_RECORD);
}

bool policy_should_preempt(statedb_handle q, uint64_t ran_ticks)
{
	return call(OP_PREEMPT, q, (int64_t)ran_ticks, 0, 1) != 0;
}

const char *policy_name(void)
{
	static const char unknown[] = "(faulted)";

	return (const char *)(uintptr_t)call(OP_NAME, 0, 0, 0, (int64_t)(uintptr_t)unknown);
}
