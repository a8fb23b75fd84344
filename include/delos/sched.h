/*
 * Scheduling policy API. Every policy cell (sched_rr@1, sched_prio@1, ...)
 * exports exactly these symbols, so one can be swapped for another; only one
 * is loaded at a time. The tasks cell is the only caller, always with
 * interrupts off. A policy keeps nothing itself: its whole state is the run
 * queue record below, which every policy reads and writes in the same layout,
 * so a new policy takes over the queue of the old one as it stands.
 *
 * Record "sched/runqueue" (owner: the first policy loaded, type SCHED_RQ_TYPE,
 * layout version SCHED_RQ_LAYOUT = 2): a struct sched_runqueue header followed
 * by SCHED_QUEUE_MAX struct sched_entry, the first `count` in arrival order
 * (q[0] is the oldest) and the rest zero, so that the record never changes
 * size and every change is written in place, only the bytes it changes.
 *
 * The hot path: each call names the queue by its state_db handle, which the
 * tasks cell opens once (sdb_hopen of SCHED_RQ_RECORD) and passes in, so a
 * policy looks no record up by name; a policy's cell_init creates the record
 * or takes it over (verifying it) and opens its handle.
 *   - an entry's prio is what the caller gave; a policy that does not use
 *     priorities still stores them. A priority outside SCHED_PRIO_MIN..MAX
 *     (SCHED_PRIO_UNSET, or written by an older policy) means SCHED_PRIO_DEFAULT.
 *   - `running` is the id sched_pick returned last (-1: idle) and
 *     `running_prio` its priority, for policies that compare with it.
 * A task id is in the queue at most once. Task 0 (idle) is never queued.
 */
#ifndef CELLS_SCHED_H
#define CELLS_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <delos/state_db.h>

#define SCHED_RQ_RECORD   "sched/runqueue"
#define SCHED_RQ_TYPE     0x53525155u    /* "SRQU" */
#define SCHED_RQ_LAYOUT   2u
#define SCHED_QUEUE_MAX   64
/* Layout 2: the record is always this size; entries past `count` are zero. */
#define SCHED_RQ_SIZE     (24u + SCHED_QUEUE_MAX * 16u)

/* Higher is more urgent. */
#define SCHED_PRIO_MIN     0
#define SCHED_PRIO_DEFAULT 8
#define SCHED_PRIO_MAX     15
#define SCHED_PRIO_UNSET   (-1)

/* Ticks (of timer@1, 10 ms) a task runs before it may be preempted for an equal one. */
#define SCHED_SLICE_TICKS  1

enum sched_error {
	SCHED_E_INVAL = -1,      /* id <= 0 */
	SCHED_E_FULL = -2,       /* SCHED_QUEUE_MAX entries queued */
	SCHED_E_NOT_FOUND = -3,  /* dequeue: id is not queued */
	SCHED_E_RECORD = -4,     /* the run queue record is corrupt, of another layout, or cannot be written */
};

struct sched_entry {
	int64_t id;
	int32_t prio;
	uint32_t reserved;       /* 0 */
};

struct sched_runqueue {
	uint32_t count;
	uint32_t reserved;       /* 0 */
	int64_t running;
	int32_t running_prio;
	uint32_t reserved2;      /* 0 */
	struct sched_entry q[];
};
_Static_assert(sizeof(struct sched_entry) == 16, "run queue layout 1");
_Static_assert(sizeof(struct sched_runqueue) == 24, "run queue layout 1");

/*
 * Makes id runnable after it was created or preempted: at the tail (of its
 * level). Returns 0 (also when id is queued already: it keeps its place) or a
 * negative sched_error.
 */
int sched_enqueue(statedb_handle q, int64_t id, int prio);

/*
 * Makes id runnable after it slept or waited. Returns 1 when it should run
 * before the running task at once (tasks then preempts at the next tick or
 * interrupt exit), 0 otherwise, or a negative sched_error.
 */
int sched_wake(statedb_handle q, int64_t id, int prio);

/*
 * Makes the running task runnable again after a wake-up preempted it before
 * its slice ran out: it keeps its turn, running again as soon as the task
 * whose wake-up preempted it lets it, ahead of the tasks that were already
 * waiting for theirs. Returns 0 (also when id is queued already) or a
 * negative sched_error.
 */
int sched_requeue(statedb_handle q, int64_t id, int prio);

/* Removes id from the queue; 0 or SCHED_E_NOT_FOUND. */
int sched_dequeue(statedb_handle q, int64_t id);

/* Removes and returns the task to run next and records it as running, or -1 for idle. */
int64_t sched_pick(statedb_handle q);

/*
 * The switch's one call: queues id (the running task, which is leaving) as
 * `how` says, then picks as sched_pick, reading and writing the queue once.
 * SCHED_SWITCH_BLOCK: not queued (it blocks or ends); SCHED_SWITCH_ENQUEUE
 * and SCHED_SWITCH_REQUEUE: as sched_enqueue and sched_requeue would queue
 * it. Returns what sched_pick does (which may be id itself); *err is 0 or
 * the sched_error that kept id out of the queue (the pick is made all the
 * same), SCHED_E_RECORD if the queue could not be read.
 */
enum sched_switch_how {
	SCHED_SWITCH_BLOCK,
	SCHED_SWITCH_ENQUEUE,
	SCHED_SWITCH_REQUEUE,
};
int64_t sched_switch(statedb_handle q, int64_t id, int prio, int how, int *err);

/*
 * Whether the running task, after ran_ticks ticks in this turn, should give
 * way now. Never asked while the queue is empty (count 0): there is nothing
 * to give way to.
 */
bool sched_should_preempt(statedb_handle q, uint64_t ran_ticks);

/* The policy's name: "rr", "prio". */
const char *sched_name(void);

#endif
