/*
 * The run queue record (layout in include/delos/sched.h), read and written the
 * same way by every policy cell. Header-only and static, so that each policy
 * cell carries its own private copy and exports nothing extra. Callers run
 * with interrupts off (the tasks cell calls policies only so).
 */
#ifndef CELLS_SCHED_RUNQUEUE_H
#define CELLS_SCHED_RUNQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/sched.h>

/* The record's header and the largest queue, as one buffer. */
struct rq_buf {
	uint32_t count;
	uint32_t reserved;
	int64_t running;
	int32_t running_prio;
	uint32_t reserved2;
	struct sched_entry q[SCHED_QUEUE_MAX];
};
_Static_assert(offsetof(struct rq_buf, q) == sizeof(struct sched_runqueue), "rq_buf mirrors layout 1");

static inline size_t rq_size(const struct rq_buf *rq)
{
	return sizeof(struct sched_runqueue) + rq->count * sizeof(struct sched_entry);
}

/* Checks a record's header against layout 1 and its size; 0 or SCHED_E_RECORD. */
static inline int rq_check(const struct sched_runqueue *h, int size, const struct statedb_meta *m)
{
	if (size < (int)sizeof(*h) || m->version != SCHED_RQ_LAYOUT || h->count > SCHED_QUEUE_MAX)
		return SCHED_E_RECORD;
	return (size_t)size == sizeof(*h) + h->count * sizeof(struct sched_entry) ? 0 : SCHED_E_RECORD;
}

/* Copies the queue into *rq; a missing record reads as empty and idle. */
static inline int rq_load(struct rq_buf *rq)
{
	struct statedb_meta m;
	int n = sdb_get(SCHED_RQ_RECORD, rq, sizeof(*rq), &m);

	if (n == STATEDB_E_NOT_FOUND) {
		memset(rq, 0, sizeof(*rq));
		rq->running = -1;
		rq->running_prio = SCHED_PRIO_UNSET;
		return 0;
	}
	return n < 0 ? SCHED_E_RECORD : rq_check((const struct sched_runqueue *)rq, n, &m);
}

/* Points *h at the record in place (read-only, no copy); NULL-safe on error. */
static inline int rq_view(const struct sched_runqueue **h)
{
	struct statedb_meta m;
	const void *data;
	int n = sdb_view(SCHED_RQ_RECORD, &data, &m);

	*h = NULL;
	if (n < 0 || rq_check(data, n, &m))
		return SCHED_E_RECORD;
	*h = data;
	return 0;
}

static inline int rq_store(const char *owner, const struct rq_buf *rq)
{
	int err = sdb_put(owner, SCHED_RQ_RECORD, SCHED_RQ_TYPE, SCHED_RQ_LAYOUT, rq, rq_size(rq));

	return err ? SCHED_E_RECORD : 0;
}

/* Index of id in the queue, or -1. */
static inline int rq_find(const struct rq_buf *rq, int64_t id)
{
	for (uint32_t i = 0; i < rq->count; i++)
		if (rq->q[i].id == id)
			return (int)i;
	return -1;
}

static inline void rq_remove_at(struct rq_buf *rq, uint32_t i)
{
	memmove(&rq->q[i], &rq->q[i + 1], (rq->count - i - 1) * sizeof(rq->q[0]));
	rq->count--;
}

/* Inserts at position i (0: head, count: tail); the caller checked for room. */
static inline void rq_insert_at(struct rq_buf *rq, uint32_t i, int64_t id, int prio)
{
	memmove(&rq->q[i + 1], &rq->q[i], (rq->count - i) * sizeof(rq->q[0]));
	rq->q[i] = (struct sched_entry){ .id = id, .prio = prio };
	rq->count++;
}

/* A priority as the policies read it: anything out of range is the default. */
static inline int rq_prio(int prio)
{
	return prio < SCHED_PRIO_MIN || prio > SCHED_PRIO_MAX ? SCHED_PRIO_DEFAULT : prio;
}

/*
 * Common start of enqueue and wake: loads the queue and checks id. Returns
 * 1 when id is queued already (nothing to do), 0 when it may be inserted.
 */
static inline int rq_prepare_insert(struct rq_buf *rq, int64_t id)
{
	int err;

	if (id <= 0)
		return SCHED_E_INVAL;
	if ((err = rq_load(rq)))
		return err;
	if (rq_find(rq, id) >= 0)
		return 1;
	return rq->count == SCHED_QUEUE_MAX ? SCHED_E_FULL : 0;
}

/* Where rq_add puts a new entry: an index, the tail, or second place. */
#define RQ_TAIL   (-1)
#define RQ_SECOND (-2)

/*
 * Queues id at `at` and stores the queue, leaving it in *rq. Returns 0, 1
 * when id was queued already (nothing changed), or a negative error.
 */
static inline int rq_add(const char *owner, int64_t id, int prio, int at, struct rq_buf *rq)
{
	int err = rq_prepare_insert(rq, id);

	if (err)
		return err;
	if (at == RQ_TAIL)
		at = (int)rq->count;
	else if (at == RQ_SECOND)
		at = rq->count ? 1 : 0;
	rq_insert_at(rq, (uint32_t)at, id, prio);
	return rq_store(owner, rq);
}

static inline int rq_dequeue(const char *owner, int64_t id)
{
	struct rq_buf rq;
	int err = rq_load(&rq), i;

	if (err)
		return err;
	if ((i = rq_find(&rq, id)) < 0)
		return SCHED_E_NOT_FOUND;
	rq_remove_at(&rq, (uint32_t)i);
	return rq_store(owner, &rq);
}

/* Removes entry i (or none when i < 0) and records it as running; returns its id or -1. */
static inline int64_t rq_take(const char *owner, struct rq_buf *rq, int i)
{
	int64_t id = i < 0 ? -1 : rq->q[i].id;

	rq->running = id;
	rq->running_prio = i < 0 ? SCHED_PRIO_UNSET : rq->q[i].prio;
	if (i >= 0)
		rq_remove_at(rq, (uint32_t)i);
	return rq_store(owner, rq) ? -1 : id;
}

/*
 * cell_init of a policy: takes over an existing queue (any policy's, layout 1)
 * or creates an empty one. Refuses a queue it cannot read, naming it.
 */
static inline int rq_init(const char *owner)
{
	struct rq_buf rq;
	statedb_handle h;
	/* Opening verifies it: with a handle, its reads do not. */
	int err = sdb_hopen(SCHED_RQ_RECORD, sizeof(struct rq_buf), &h);

	err = err == 0 || err == STATEDB_E_NOT_FOUND ? rq_load(&rq) : SCHED_E_RECORD;

	if (err) {
		klog(LOG_ERR, "%s: record '%s' is corrupt or not of layout %u; refusing to start",
		     owner, SCHED_RQ_RECORD, SCHED_RQ_LAYOUT);
		return err;
	}
	klog(LOG_INFO, "%s: run queue of %u task%s taken over", owner, rq.count, rq.count == 1 ? "" : "s");
	if ((err = rq_store(owner, &rq)))
		return err;
	/* With a handle and room for a full queue, every store is in place. */
	return sdb_hopen(SCHED_RQ_RECORD, sizeof(struct rq_buf), &h) ? SCHED_E_RECORD : 0;
}

#endif
