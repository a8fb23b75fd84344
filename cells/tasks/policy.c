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
 *
 * A policy call that faulted marks the policy down (tasks_cpu.policy_down,
 * with the loader generation it faulted in), and no call of it is made again
 * until the set of loaded cells changes (loader_generation moves: the
 * policy's reload or fallback, or any other load, unload or swap): a policy
 * that hangs would otherwise cost every switch its watchdog bound. While it
 * is down every switch, preemption or not, is the fallback pick, a queue
 * change is left to it (the task records say who is ready), and preemption is
 * asked at every tick, so the ready tasks share the CPU round robin. The
 * first switch or pick after the generation moved calls the policy again,
 * queueing every ready task but the running one first (an enqueue of a task
 * already queued keeps its place) and taking every other task off the queue,
 * so no task the fallback ran is left out of the policy's queue, or in it
 * after it blocked; if that faults, the policy is down again. The switch,
 * the pick and the tick mark it in their copy of tasks/current, which they
 * write; the other calls only read the mark.
 */
#include <delos/cellref.h>
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

/* tasks_cpu.policy_down: 0, or DOWN_MARK | the loader generation the policy faulted in. */
#define DOWN_MARK 0x80000000u

static uint32_t down_mark(void)
{
	return DOWN_MARK | ((uint32_t)loader_generation() & ~DOWN_MARK);
}

/* Runs c contained; true when the policy's code faulted (then *down is marked). */
static bool contained(struct policy_call *c, uint32_t *down)
{
	if (!trap_contain(run_call, c, FAULT_CTX_CALL, NULL))
		return false;
	*down = down_mark();	/* the recovery runs later, in its own task */
	return true;
}

/* Runs the call contained; its result, or on_fault when the policy is down or faults now. */
static int64_t call(uint32_t *down, enum policy_op op, statedb_handle q, int64_t id, int prio,
		    int64_t on_fault)
{
	struct policy_call c = { op, q, id, prio, 0, on_fault, 0 };

	if (*down)
		return on_fault;
	if (op == OP_PREEMPT)
		c.ran_ticks = (uint64_t)id;
	return contained(&c, down) ? on_fault : c.ret;
}

/* The mark as tasks/current holds it, for the calls that have no copy of it (0 if unreadable). */
static uint32_t stored_mark(void)
{
	struct tasks_cpu cpu;

	return cpu_get(&cpu) ? 0 : cpu.policy_down;
}

/*
 * A call without a copy of tasks/current that faulted marks the policy down
 * in the record itself: a policy whose enqueue or wake-up faults while its
 * pick still works would otherwise never be given up, and a task it failed to
 * queue (the recovery task, woken) never picked. Its callers read tasks/current
 * again after the call, or hold no copy of it across it.
 */
static int64_t cold(uint32_t was, uint32_t down, int64_t ret)
{
	if (down != was)
		cpu_put_policy_down(down);
	return ret;
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

/*
 * Makes the policy's queue hold exactly the ready tasks (task 0 and `current`
 * aside) as it comes back up.
 */
struct requeue {
	statedb_handle q;
	int64_t current;
	uint32_t *down;
};

static bool requeue_one(void *ctx, const struct statedb_meta *m)
{
	struct requeue *rq = ctx;
	const char *p = m->name + sizeof(TASK_RECORD_PREFIX) - 1;
	struct task_rec r;
	int64_t id = 0;

	for (; *p >= '0' && *p <= '9'; p++)
		id = id * 10 + (*p - '0');
	if (*p || id <= 0 || rec_get(id, &r))
		return true;
	if (id == rq->current || r.state != TASK_READY)
		call(rq->down, OP_DEQUEUE, rq->q, id, 0, 0);	/* one the fallback ran, left queued */
	else
		call(rq->down, OP_ENQUEUE, rq->q, id, r.prio, 0);
	return !*rq->down;
}

/*
 * Whether the policy may be called: not while it is down in the generation it
 * faulted in; the first time after, with every ready task queued again.
 */
static bool policy_up(statedb_handle q, uint32_t *down, int64_t current)
{
	struct requeue rq = { q, current, down };

	if (!*down)
		return true;
	if (*down == down_mark())
		return false;
	*down = 0;
	klog(LOG_INFO, "tasks: calling the scheduling policy again after its fault or a swap of tasks, "
	     "with every ready task queued");
	if (sdb_list(TASK_RECORD_PREFIX, requeue_one, &rq) < 0)
		*down = down_mark();	/* tried again at the next change */
	return !*down;
}

void policy_requeue_later(uint32_t *down)
{
	*down = DOWN_MARK | (((uint32_t)loader_generation() - 1) & ~DOWN_MARK);	/* not this generation's */
}

/* The policy's pick failed: the next ready task by id after `current` (-1: none). */
static int64_t fallback_pick(statedb_handle q, uint32_t *down, int64_t current)
{
	struct next_ready n = { current, -1, -1 };
	int64_t id;

	if (sdb_list(TASK_RECORD_PREFIX, look_at, &n) < 0)
		return -1;
	id = n.next >= 0 ? n.next : n.first;
	if (id == current)
		return -1;	/* choose_next keeps the caller running */
	if (id > 0)
		call(down, OP_DEQUEUE, q, id, 0, 0);	/* if the policy can still take it off its queue */
	return id;
}

int64_t policy_switch(statedb_handle q, uint32_t *down, int64_t current, int prio, int how, int *err)
{
	struct policy_call c = { OP_SWITCH, q, current, prio, (uint64_t)how, INT64_MIN, 0 };

	*err = 0;
	if (!policy_up(q, down, current))
		return fallback_pick(q, down, current);	/* -1 when current is the only one: it goes on */
	if (contained(&c, down)) {
		/*
		 * The queue is as the policy left it, without the caller: a caller
		 * that stays ready goes on now (it is queued again when the policy
		 * is back, policy_up); one that blocks or ends leaves to the next
		 * ready task by id.
		 */
		return how == SCHED_SWITCH_BLOCK ? fallback_pick(q, down, current) : current;
	}
	*err = c.err;
	return c.ret;
}

int64_t policy_pick(statedb_handle q, uint32_t *down, int64_t current)
{
	int64_t next = policy_up(q, down, current) ? call(down, OP_PICK, q, 0, 0, INT64_MIN) : INT64_MIN;

	return next == INT64_MIN ? fallback_pick(q, down, current) : next;
}

int policy_enqueue(statedb_handle q, int64_t id, int prio, bool requeue)
{
	uint32_t was = stored_mark(), down = was;
	/* Down or faulting: the fallback pick runs it (its record says ready), queued when the policy is back. */
	int64_t r = call(&down, requeue ? OP_REQUEUE : OP_ENQUEUE, q, id, prio, 0);

	return (int)cold(was, down, r);
}

int policy_wake(statedb_handle q, int64_t id, int prio)
{
	uint32_t was = stored_mark(), down = was;
	/* Down or faulting: run soon, by a fallback pick (the task's record says ready). */
	int64_t r = call(&down, OP_WAKE, q, id, prio, 1);

	return (int)cold(was, down, r);
}

int policy_dequeue(statedb_handle q, int64_t id)
{
	uint32_t was = stored_mark(), down = was;
	int64_t r;

	if (down)
		return 0;	/* a stale entry left in the queue is dropped at the switch */
	r = call(&down, OP_DEQUEUE, q, id, 0, SCHED_E_RECORD);
	return (int)cold(was, down, r);
}

bool policy_should_preempt(statedb_handle q, uint32_t *down, uint64_t ran_ticks)
{
	/* Down: every tick, so that the fallback pick shares the CPU round robin. */
	return call(down, OP_PREEMPT, q, (int64_t)ran_ticks, 0, 1) != 0;
}

const char *policy_name(void)
{
	static const char unknown[] = "(faulted)";
	uint32_t was = stored_mark(), down = was;
	int64_t r = call(&down, OP_NAME, 0, 0, 0, (int64_t)(uintptr_t)unknown);

	return (const char *)(uintptr_t)cold(was, down, r);
}
