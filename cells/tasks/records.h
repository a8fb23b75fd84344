/*
 * The tasks cell's records (layout version TASKS_LAYOUT, owner "tasks") and
 * the private helpers its files share. Nothing here is exported: helpers are
 * hidden symbols, and every function runs with interrupts off unless it says
 * otherwise (one CPU; interrupts off is the lock over all tasks records).
 */
#ifndef CELLS_TASKS_RECORDS_H
#define CELLS_TASKS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/cellref.h>
#include <delos/state_db.h>
#include <delos/ctx.h>
#include <delos/tasks.h>

#define TASKS_PRIVATE __attribute__((visibility("hidden")))

#define TASKS_LAYOUT       4u
#define TASK_TYPE          0x5441534bu   /* "TASK": "task/ID" */
#define TASKS_CPU_TYPE     0x54435055u   /* "TCPU": "tasks/current" */
#define TASKS_TABLE_TYPE   0x5454424cu   /* "TTBL": "tasks/table" */
#define TASKS_BLOCKED_TYPE 0x54424c4bu   /* "TBLK": "tasks/blocked" */

#define TASKS_CPU_RECORD     "tasks/current"
#define TASKS_TABLE_RECORD   "tasks/table"
#define TASKS_BLOCKED_RECORD "tasks/blocked"
#define TASK_RECORD_PREFIX   "task/"
#define TASK_EXIT_CHANNEL    "task.exit/"   /* + id: joiners wait here */

/* Offset from a saved rsp to the return address of its context (include/delos/ctx.h). */
#define CTX_FRAME_RET_OFFSET (CTX_RET * 8)

enum task_state {
	TASK_READY = 1,     /* queued in the policy (task 0: runnable when nothing is queued) */
	TASK_RUNNING,       /* never stored: shown for tasks_cpu.current while it runs */
	TASK_SLEEPING,      /* in tasks/blocked with a deadline */
	TASK_WAITING,       /* in tasks/blocked with a channel */
	TASK_EXITED,        /* exit_code valid; record kept until joined */
};

/*
 * "task/ID": one task. The running task's record is not rewritten when it is
 * switched in: while id == tasks_cpu.current, it is running whatever `state`
 * says, and saved_rsp is stale. Everything else is written at its
 * switch-out. saved_rsp == 0 with a stack of its own means "start at the
 * entry": the stack is prepared (ctx_prepare) when the task is switched in.
 */
struct task_rec {
	int64_t id;
	char name[TASK_NAME_MAX + 1];
	struct cellref entry;      /* empty for task 0 */
	uint64_t arg;
	int32_t prio;
	uint32_t stack_pages;      /* 0: not allocated by tasks (task 0), or already freed */
	int64_t exit_code;
	uint64_t stack_lo, stack_hi;
	/*
	 * Last, and in this order (the field every switch-out changes at the
	 * very end), so that the in-place write of a switch-out patches the
	 * checksum over the bytes that changed only, with none behind them.
	 */
	uint32_t state;            /* enum task_state */
	uint32_t reserved;
	uint64_t cpu_ticks;        /* ticks charged, up to its last switch-out */
	uint64_t saved_rsp;        /* stack pointer of its last switch-out, from ctx_prepare, or 0 */
	uint64_t runs;             /* turns completed (switch-outs) */
};

/* The fields of struct task_rec a switch-out writes, as they lie at its end. */
struct task_hot {
	uint32_t state;
	uint32_t reserved;
	uint64_t cpu_ticks, saved_rsp, runs;
};
#define TASK_HOT_AT offsetof(struct task_rec, state)
_Static_assert(TASK_HOT_AT + sizeof(struct task_hot) == sizeof(struct task_rec), "hot fields last");

/*
 * "tasks/current": the CPU's side. The fields are ordered by how often they
 * change, the most often last, so that an in-place write (which patches the
 * checksum over the changed span and the bytes behind it) stays short: a
 * tick changes the last word only (its count), a switch the words before it.
 * A turn's ticks are not counted as they come: they are ticks - turn_tick,
 * charged when the turn ends (hand_over).
 */
struct tasks_cpu {
	/*
	 * Handles of the other hot records (opened by cell_init), so that the
	 * switch and the tick look no record up by name. This record's own
	 * handle is the data word of the OPS_TASKS_INSIDE slot, which outlives
	 * swaps of this cell.
	 */
	statedb_handle table_h, blocked_h, rq_h;
	/*
	 * No sleeper is due before this time_ns(): at most the earliest
	 * deadline in tasks/blocked (lowered by blocked_add, raised by the tick
	 * that looks), so that a tick with nothing due reads no other record.
	 */
	uint64_t wake_ns;
	uint64_t idle_ticks;       /* ticks of the idle turns (task 0, or no task) that ended */
	uint64_t turn_tick;        /* `ticks` when current's turn began */
	uint32_t need_resched;     /* preempt current at the next tasks_irq_exit (a tick or a wake-up asked) */
	int32_t current_prio;      /* current's priority, to queue it again without reading its record */
	/* The last switch-out, until tasks_finish_switch records it in the task's record. */
	uint32_t pending_state;    /* the state it left in */
	uint32_t policy_down;      /* 0, or the policy faulted: policy.c's mark (0 in older records) */
	uint64_t pending_ticks;    /* ticks to charge it */
	int64_t pending;           /* the task switched away from; -1 when none is pending */
	/*
	 * The task whose code runs, 0 for idle; -1 while no task runs: the CPU
	 * halts in nano_core (ctx_block with nothing to run) until
	 * tasks_idle_next names the next one.
	 */
	int64_t current;
	uint64_t switches;
	uint64_t ticks;            /* timer ticks seen */
};
_Static_assert(sizeof(struct tasks_cpu) == 104, "tasks layout 4");

/* Ticks of current's turn so far. */
static inline uint64_t turn_ticks(const struct tasks_cpu *c)
{
	return c->ticks - c->turn_tick;
}

/* Idle ticks, the idle turn under way included. */
static inline uint64_t idle_ticks(const struct tasks_cpu *c)
{
	return c->idle_ticks + (c->current <= 0 ? turn_ticks(c) : 0);
}

/* A task's place in "tasks/table": its id (-1: free) and its record's handle. */
struct tasks_slot {
	int64_t id;
	statedb_handle h;
};

/*
 * "tasks/table": every task, so that walking them (the swap's quiescence
 * question, tasks_list) reads no record by name. A task's slot is the first
 * free one from id % TASKS_MAX on.
 */
struct tasks_table {
	int64_t next_id;
	uint64_t live;             /* "task/ID" records */
	struct tasks_slot slot[TASKS_MAX];
};

/* "tasks/blocked": an array of these, one per sleeping or waiting task. */
struct tasks_blocked_entry {
	int64_t id;
	uint64_t wake_ns;          /* sleeping: time_ns() deadline; 0 when waiting */
	char channel[TASK_CHANNEL_MAX + 1];  /* waiting: the channel; "" when sleeping */
};

/* records.c: typed access, each returning 0 or a negative tasks_error. */
TASKS_PRIVATE int rec_get(int64_t id, struct task_rec *r);
TASKS_PRIVATE int rec_put(const struct task_rec *r);
/* Creates the record and gives it a handle (*h). */
TASKS_PRIVATE int rec_create(const struct task_rec *r, statedb_handle *h);
/*
 * Task id's record in place (read-only, for the caller's call only) and its
 * handle; 0, or TASKS_E_NOT_FOUND when it has no handle (then use rec_get).
 */
TASKS_PRIVATE int rec_view(int64_t id, const struct task_rec **r, statedb_handle *h);
/* The same, from a view of tasks/table the caller took (table_view_of). */
TASKS_PRIVATE int rec_view_in(const struct tasks_table *t, int64_t id, const struct task_rec **r,
			      statedb_handle *h);
/* tasks/table in place through c's handle (read-only, for the caller's call only), or NULL. */
TASKS_PRIVATE const struct tasks_table *table_view_of(const struct tasks_cpu *c);
/*
 * Writes the hot fields of the record h names, in place: only the span
 * where *hot differs from *was (the record's current hot fields).
 */
TASKS_PRIVATE int rec_put_hot(statedb_handle h, const struct task_hot *was, const struct task_hot *hot);
/* The record through its handle, by name if the handle went stale. */
TASKS_PRIVATE int rec_hget(statedb_handle h, int64_t id, struct task_rec *r);
TASKS_PRIVATE int rec_delete(int64_t id);
TASKS_PRIVATE int cpu_get(struct tasks_cpu *c);
/* tasks/current in place (read-only, for the caller's call only), or NULL: then use cpu_get. */
TASKS_PRIVATE const struct tasks_cpu *cpu_view(void);
/* Writes tasks/current's tick count alone, in place. */
TASKS_PRIVATE int cpu_put_ticks(uint64_t ticks);
/*
 * Sets tasks/current's policy_down alone, with interrupts off: a copy read
 * with them on and written back would undo a tick's changes in between (a
 * wake-up's need_resched lost made the woken task wait a whole tick more).
 */
TASKS_PRIVATE int cpu_put_policy_down(uint32_t down);
TASKS_PRIVATE int cpu_put(const struct tasks_cpu *c);
/*
 * The same, where *view is the record in place (NULL when it was read by
 * name), as cpu_get_view gave it earlier in the caller's call: cpu_put_over
 * writes the words of c that differ from it, with no second look-up.
 */
TASKS_PRIVATE int cpu_get_view(struct tasks_cpu *c, const struct tasks_cpu **view);
TASKS_PRIVATE int cpu_put_over(const struct tasks_cpu *view, const struct tasks_cpu *c);
TASKS_PRIVATE int table_get(struct tasks_table *t);
TASKS_PRIVATE int table_put(const struct tasks_table *t);
/* An empty table: no task, next id 0. */
TASKS_PRIVATE void table_init(struct tasks_table *t);
/* Gives id a slot (0, or TASKS_E_FULL), or frees its slot. */
TASKS_PRIVATE int table_add(struct tasks_table *t, int64_t id, statedb_handle h);
TASKS_PRIVATE void table_remove(struct tasks_table *t, int64_t id);
TASKS_PRIVATE int blocked_add(int64_t id, uint64_t wake_ns, const char *channel);
TASKS_PRIVATE int blocked_remove(int64_t id);
/*
 * Copies up to max ids of blocked tasks due at now_ns (or waiting on channel
 * if not NULL). c is the caller's copy of tasks/current, for its handles,
 * or NULL to read it. *later (if not NULL) becomes the earliest deadline of
 * the sleepers not due, UINT64_MAX if none.
 */
TASKS_PRIVATE int blocked_due(const struct tasks_cpu *c, uint64_t now_ns, const char *channel,
			      int64_t *ids, int max, uint64_t *later);
TASKS_PRIVATE const char *task_state_name(uint32_t state);
/* The run queue's handle for the policy calls (include/delos/sched.h), opened again if it went stale. */
TASKS_PRIVATE statedb_handle tasks_rq(void);
/*
 * The same on the hot path, from the caller's copy c of tasks/current:
 * c->rq_h as it is, or (when `stale`, after a policy call refused it)
 * opened again, in c and in the record.
 */
TASKS_PRIVATE statedb_handle tasks_rq_of(struct tasks_cpu *c, bool stale);
/* Whether the run queue (through c->rq_h) reads as one that holds no task. */
TASKS_PRIVATE bool tasks_rq_empty(const struct tasks_cpu *c);
/* Opens the hot records' handles and keeps them (cell_init); 0 or a tasks_error. */
TASKS_PRIVATE int tasks_open_handles(void);

/* switch.c */
TASKS_PRIVATE void tasks_finish_switch(void);
/*
 * Switches away from the calling task, leaving it in `state` (enum
 * task_state), by a tail call of ctx_block(next, flags); flags is the
 * caller's irq_save() value, restored on every way out. Returns
 * TASKS_AGAIN when the caller runs again (at once if it stays the one to
 * run), or a negative error, having switched nothing. Interrupts off.
 * Its signature is ctx_block's, so that callers can tail-call it too.
 */
TASKS_PRIVATE int tasks_switch(uint64_t state, uint64_t flags);
/*
 * tasks_switch's state for a preemption: the task stays ready, and keeps its
 * turn (sched_requeue) if it had not used up its slice.
 */
#define TASKS_SWITCH_PREEMPT 0x100u
TASKS_PRIVATE int tasks_make_ready(int64_t id);
TASKS_PRIVATE int64_t tasks_current(void);

/*
 * policy.c: the calls of the scheduling policy (include/delos/sched.h), each
 * contained; on a fault in the policy a pick falls back to the next ready
 * task by id after `current`, the others return as if the policy refused.
 * *down is the caller's copy of tasks_cpu.policy_down, marked on a fault:
 * the policy is not called again until the loader generation moves.
 */
TASKS_PRIVATE int64_t policy_switch(statedb_handle q, uint32_t *down, int64_t current, int prio, int how,
				    int *err);
TASKS_PRIVATE int64_t policy_pick(statedb_handle q, uint32_t *down, int64_t current);
TASKS_PRIVATE int policy_enqueue(statedb_handle q, int64_t id, int prio, bool requeue);
TASKS_PRIVATE int policy_wake(statedb_handle q, int64_t id, int prio);
TASKS_PRIVATE int policy_dequeue(statedb_handle q, int64_t id);
TASKS_PRIVATE bool policy_should_preempt(statedb_handle q, uint32_t *down, uint64_t ran_ticks);
TASKS_PRIVATE const char *policy_name(void);
/* Marks *down so that the next policy call first makes the queue hold exactly the ready tasks. */
TASKS_PRIVATE void policy_requeue_later(uint32_t *down);

/* list.c: the holder of OPS_TASKS_INSIDE (include/delos/ops.h); global, so that the slot resolves it. */
struct ops_inside_query;
int tasks_inside(struct ops_inside_query *q);

/* tasks.c: aborts a transaction task id left open, contained (a fault there is state_db's). */
TASKS_PRIVATE void tasks_abort_txn(int64_t id);

/* tasks.c: the cellrefs every task's stack is prepared with. */
TASKS_PRIVATE extern const struct cellref tasks_start_ref, tasks_exit_ref;

#endif
