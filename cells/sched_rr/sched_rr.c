/*
 * sched_rr@1: preemptive round robin. Priorities are stored (so that another
 * policy can take the queue over) but not used. A task that wakes from a
 * sleep or wait goes to the head of the queue and preempts the running one,
 * so a sleeper runs within a tick of its deadline; a task preempted by such a
 * wake-up before its slice ran out goes second, right behind it, keeping its
 * turn; a new task, or one whose slice ran out, goes to the tail; the running
 * task gives way after SCHED_SLICE_TICKS when anything else is ready. All
 * state is the run queue record (include/delos/sched.h).
 */
#include <delos/cell.h>
#include "metamodules/runqueue.h"
#include <delos/sched.h>

#define OWNER "sched_rr"

int sched_enqueue(statedb_handle q, int64_t id, int prio)
{
	struct rq_buf rq;
	int err = rq_add(q, id, prio, RQ_TAIL, &rq);

	return err > 0 ? 0 : err;
}

int sched_wake(statedb_handle q, int64_t id, int prio)
{
	struct rq_buf rq;
	int err = rq_add(q, id, prio, 0, &rq);

	return err ? (err < 0 ? err : 0) : 1;
}

int sched_requeue(statedb_handle q, int64_t id, int prio)
{
	struct rq_buf rq;
	int err = rq_add(q, id, prio, RQ_SECOND, &rq);

	return err > 0 ? 0 : err;
}

int sched_dequeue(statedb_handle q, int64_t id)
{
	return rq_dequeue(q, id);
}

/* The head of the queue, or -1 when it is empty. */
static int head(const struct rq_buf *rq)
{
	return rq->count ? 0 : -1;
}

int64_t sched_pick(statedb_handle q)
{
	struct rq_buf rq;

	if (rq_load(q, &rq))
		return -1;
	return rq_take(q, &rq, head(&rq));
}

int64_t sched_switch(statedb_handle q, int64_t id, int prio, int how, int *err)
{
	int at = how == SCHED_SWITCH_ENQUEUE ? RQ_TAIL : how == SCHED_SWITCH_REQUEUE ? RQ_SECOND : RQ_NONE;

	return rq_switch(q, id, prio, at, head, err);
}

bool sched_should_preempt(statedb_handle q, uint64_t ran_ticks)
{
	const struct sched_runqueue *h;

	if (rq_view(q, &h))
		return false;
	return h->count > 0 && ran_ticks >= SCHED_SLICE_TICKS;
}

const char *sched_name(void)
{
	return "rr";
}

int cell_init(void)
{
	return rq_init(OWNER);
}
