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
#include "metamodules/hot_write.h"

/* The record's header and the largest queue, as one buffer: the whole record (layout 2). */
struct rq_buf {
	uint32_t count;
	uint32_t reserved;
	int64_t running;
	int32_t running_prio;
	uint32_t reserved2;
	struct sched_entry q[SCHED_QUEUE_MAX];
};
_Static_assert(offsetof(struct rq_buf, q) == sizeof(struct sched_runqueue), "rq_buf mirrors layout 2");
_Static_assert(sizeof(struct rq_buf) == SCHED_RQ_SIZE, "the record is the whole buffer");

/*
 * Copies n 8-byte words forward (dst below src, or apart), inline: a queue
 * is a few entries long, and a library call costs more than the copy.
 */
static inline void rq_copy_words(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

/* Entry i made zero, as every entry past `count` is. */
static inline void rq_clear(struct rq_buf *rq, uint32_t i)
{
	rq->q[i] = (struct sched_entry){ 0 };
}

/* Bytes of the record in use: the header and `count` entries. */
static inline size_t rq_size(const struct rq_buf *rq)
{
	return sizeof(struct sched_runqueue) + rq->count * sizeof(struct sched_entry);
}

/* Checks a record's header against layout 2 and its size; 0 or SCHED_E_RECORD. */
static inline int rq_check(const struct sched_runqueue *h, int size, uint32_t version)
{
	if (size != (int)SCHED_RQ_SIZE || version != SCHED_RQ_LAYOUT || h->count > SCHED_QUEUE_MAX)
		return SCHED_E_RECORD;
	return 0;
}

/* Points *h at the record in place (read-only, no copy); NULL on error. */
static inline int rq_view(statedb_handle q, const struct sched_runqueue **h)
{
	const void *data;
	uint32_t version = 0;
	int n = sdb_hview(q, &data, &version);

	*h = NULL;
	if (n < 0 || rq_check(data, n, version))
		return SCHED_E_RECORD;
	*h = data;
	return 0;
}

/*
 * Copies the entries in use into *rq; the ones after them read as zero. *h
 * is the record in place, for rq_store_over in the same call (the caller
 * runs with interrupts off: nothing writes it in between).
 */
static inline int rq_load_view(statedb_handle q, struct rq_buf *rq, const struct sched_runqueue **h)
{
	int err = rq_view(q, h);

	if (err)
		return err;
	rq_copy_words(rq, *h, (sizeof(**h) + (*h)->count * sizeof(struct sched_entry)) / 8);
	if ((*h)->count < SCHED_QUEUE_MAX)
		rq_clear(rq, (*h)->count);
	return 0;
}

static inline int rq_load(statedb_handle q, struct rq_buf *rq)
{
	const struct sched_runqueue *h;

	return rq_load_view(q, rq, &h);
}

/*
 * Writes *rq back over the record in place h (from rq_load_view), loaded
 * with `was` entries: only the words that changed, in place (the record
 * never changes size, so its checksum is patched).
 */
static inline int rq_store_over(statedb_handle q, const struct sched_runqueue *h,
				const struct rq_buf *rq, uint32_t was)
{
	_Static_assert(sizeof(struct sched_runqueue) % 8 == 0 && sizeof(struct sched_entry) % 8 == 0,
		       "the queue in whole words");
	uint32_t n = rq->count > was ? rq->count : was;

	return hot_write_changed(q, 0, h, rq, sizeof(struct sched_runqueue) +
					      n * sizeof(struct sched_entry)) ? SCHED_E_RECORD : 0;
}

/* rq_store_over, viewing the record again. */
static inline int rq_store(statedb_handle q, const struct rq_buf *rq, uint32_t was)
{
	const struct sched_runqueue *h;

	if (rq_view(q, &h))
		return SCHED_E_RECORD;
	return rq_store_over(q, h, rq, was);
}

/* Index of id in the queue, or -1. */
static inline int rq_find(const struct rq_buf *rq, int64_t id)
{
	for (uint32_t i = 0; i < rq->count; i++)
		if (rq->q[i].id == id)
			return (int)i;
	return -1;
}

/* Removes entry i; the entry vacated at the end reads as zero. */
static inline void rq_remove_at(struct rq_buf *rq, uint32_t i)
{
	rq_copy_words(&rq->q[i], &rq->q[i + 1], (rq->count - i - 1) * sizeof(rq->q[0]) / 8);
	rq->count--;
	rq_clear(rq, rq->count);
}

/* Inserts at position i (0: head, count: tail); the caller checked for room. */
static inline void rq_insert_at(struct rq_buf *rq, uint32_t i, int64_t id, int prio)
{
	if (i < rq->count)	/* at the tail (the usual case) nothing moves */
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
static inline int rq_prepare_insert(statedb_handle q, struct rq_buf *rq, int64_t id)
{
	int err;

	if (id <= 0)
		return SCHED_E_INVAL;
	if ((err = rq_load(q, rq)))
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
static inline int rq_add(statedb_handle q, int64_t id, int prio, int at, struct rq_buf *rq)
{
	int err = rq_prepare_insert(q, rq, id);
	uint32_t was = rq->count;

	if (err)
		return err;
	if (at == RQ_TAIL)
		at = (int)rq->count;
	else if (at == RQ_SECOND)
		at = rq->count ? 1 : 0;
	rq_insert_at(rq, (uint32_t)at, id, prio);
	return rq_store(q, rq, was);
}

static inline int rq_dequeue(statedb_handle q, int64_t id)
{
	struct rq_buf rq;
	int err = rq_load(q, &rq), i;
	uint32_t was = rq.count;

	if (err)
		return err;
	if ((i = rq_find(&rq, id)) < 0)
		return SCHED_E_NOT_FOUND;
	rq_remove_at(&rq, (uint32_t)i);
	return rq_store(q, &rq, was);
}

/*
 * Removes entry i (or none when i < 0), records it as running and stores
 * the queue, loaded with `was` entries; returns its id or -1.
 */
static inline int64_t rq_take_over(statedb_handle q, const struct sched_runqueue *h,
				   struct rq_buf *rq, int i, uint32_t was)
{
	int64_t id = i < 0 ? -1 : rq->q[i].id;

	rq->running = id;
	rq->running_prio = i < 0 ? SCHED_PRIO_UNSET : rq->q[i].prio;
	if (i >= 0)
		rq_remove_at(rq, (uint32_t)i);
	return (h ? rq_store_over(q, h, rq, was) : rq_store(q, rq, was)) ? -1 : id;
}

static inline int64_t rq_take_store(statedb_handle q, struct rq_buf *rq, int i, uint32_t was)
{
	return rq_take_over(q, NULL, rq, i, was);
}

static inline int64_t rq_take(statedb_handle q, struct rq_buf *rq, int i)
{
	return rq_take_store(q, rq, i, rq->count);
}

/* Where sched_switch's caller goes: nowhere (it blocks), or as sched_enqueue or _requeue would put it. */
#define RQ_NONE (-3)

/*
 * sched_switch of a policy (include/delos/sched.h): queues id at `at`
 * (RQ_NONE: not at all), then takes the entry pick() chooses, with one read
 * and one write of the record. *err is 0 or the queueing's sched_error.
 */
static inline int64_t rq_switch(statedb_handle q, int64_t id, int prio, int at,
				int (*pick)(const struct rq_buf *rq), int *err)
{
	const struct sched_runqueue *h;
	struct rq_buf rq;
	uint32_t was;

	*err = 0;
	if (rq_load_view(q, &rq, &h)) {
		*err = SCHED_E_RECORD;
		return -1;
	}
	was = rq.count;
	if (at != RQ_NONE && id <= 0)
		*err = SCHED_E_INVAL;
	else if (at != RQ_NONE && rq_find(&rq, id) >= 0)
		;	/* queued already: it keeps its place */
	else if (at != RQ_NONE && rq.count == SCHED_QUEUE_MAX)
		*err = SCHED_E_FULL;
	else if (at != RQ_NONE)
		rq_insert_at(&rq, at == RQ_TAIL ? rq.count : at == RQ_SECOND ? (rq.count ? 1 : 0)
						    : (uint32_t)at, id, prio);
	return rq_take_over(q, h, &rq, pick(&rq), was);
}

/*
 * cell_init of a policy: takes over an existing queue (any policy's, layout
 * 2) or creates an empty one, and gives it a handle (the tasks cell opens
 * its own and passes it to every call). Opening verifies the record: this is
 * where a corrupt queue is refused, naming it.
 */
static inline int rq_init(const char *owner)
{
	struct rq_buf rq;
	statedb_handle h;
	int err = sdb_hopen(SCHED_RQ_RECORD, 0, &h);

	if (err == STATEDB_E_NOT_FOUND) {
		memset(&rq, 0, sizeof(rq));
		rq.running = -1;
		rq.running_prio = SCHED_PRIO_UNSET;
		err = sdb_create(owner, SCHED_RQ_RECORD, SCHED_RQ_TYPE, SCHED_RQ_LAYOUT, &rq, sizeof(rq));
		if (err == 0)
			err = sdb_hopen(SCHED_RQ_RECORD, 0, &h);
	}
	err = err == 0 ? rq_load(h, &rq) : SCHED_E_RECORD;
	if (err) {
		klog(LOG_ERR, "%s: record '%s' is corrupt or not of layout %u; refusing to start",
		     owner, SCHED_RQ_RECORD, SCHED_RQ_LAYOUT);
		return SCHED_E_RECORD;
	}
	klog(LOG_INFO, "%s: run queue of %u task%s taken over", owner, rq.count, rq.count == 1 ? "" : "s");
	return 0;
}

#endif
