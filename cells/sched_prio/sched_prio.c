/*
 * sched_prio@1: fixed priorities (SCHED_PRIO_MAX most urgent), round robin
 * within a level. A woken task queues at the tail of its level and preempts
 * the running task only if it is more urgent; the running task gives way at
 * once to a more urgent ready task, and after SCHED_SLICE_TICKS to an equal
 * one. A task preempted before its slice ran out goes back to the head of
 * its level, keeping its turn. Reads a queue written by sched_rr as it stands: entries keep their
 * arrival order, and a missing priority counts as SCHED_PRIO_DEFAULT.
 */
#include <delos/cell.h>
#include "metamodules/runqueue.h"
#include <delos/sched.h>

#define OWNER "sched_prio"

/* Index of the oldest entry of the most urgent level, or -1 when empty. */
static int most_urgent(const struct sched_entry *q, uint32_t count)
{
	int best = -1;

	for (uint32_t i = 0; i < count; i++)
		if (best < 0 || rq_prio(q[i].prio) > rq_prio(q[best].prio))
			best = (int)i;
	return best;
}

int sched_enqueue(statedb_handle q, int64_t id, int prio)
{
	struct rq_buf rq;
	int err = rq_add(q, id, prio, RQ_TAIL, &rq);

	return err > 0 ? 0 : err;
}

int sched_wake(statedb_handle q, int64_t id, int prio)
{
	struct rq_buf rq;
	int err = rq_add(q, id, prio, RQ_TAIL, &rq);

	if (err)
		return err < 0 ? err : 0;
	return rq.running < 0 || rq_prio(prio) > rq_prio(rq.running_prio);
}

/* At index 0 the entry is the oldest of its level: most_urgent picks it first among equals. */
int sched_requeue(statedb_handle q, int64_t id, int prio)
{
	struct rq_buf rq;
	int err = rq_add(q, id, prio, 0, &rq);

	return err > 0 ? 0 : err;
}

int sched_dequeue(statedb_handle q, int64_t id)
{
	return rq_dequeue(q, id);
}

static int pick(const struct rq_buf *rq)
{
	return most_urgent(rq->q, rq->count);
}

int64_t sched_pick(statedb_handle q)
{
	struct rq_buf rq;

	if (rq_load(q, &rq))
		return -1;
	return rq_take(q, &rq, pick(&rq));
}

int64_t sched_switch(statedb_handle q, int64_t id, int prio, int how, int *err)
{
	int at = how == SCHED_SWITCH_ENQUEUE ? RQ_TAIL : how == SCHED_SWITCH_REQUEUE ? 0 : RQ_NONE;

	return rq_switch(q, id, prio, at, pick, err);
}

bool sched_should_preempt(statedb_handle q, uint64_t ran_ticks)
{
	const struct sched_runqueue *h;
	int best, top, mine;

	if (rq_view(q, &h) || (best = most_urgent(h->q, h->count)) < 0)
		return false;
	if (h->running < 0)
		return true;
	top = rq_prio(h->q[best].prio);
	mine = rq_prio(h->running_prio);
	return top > mine || (top == mine && ran_ticks >= SCHED_SLICE_TICKS);
}

const char *sched_name(void)
{
	return "prio";
}

int cell_init(void)
{
	return rq_init(OWNER);
}
