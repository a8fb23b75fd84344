/*
 * The tasks cell's records (layout version TASKS_LAYOUT, owner "tasks") and
 * the private helpers its files share. Nothing here is exported: helpers are
 * hidden symbols, and every function runs with interrupts off unless it says
 * otherwise (one CPU; interrupts off is the lock over all tasks records).
 */
#ifndef CELLS_TASKS_RECORDS_H
#define CELLS_TASKS_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include <delos/cellref.h>
#include "cells/tasks/tasks.h"

#define TASKS_PRIVATE __attribute__((visibility("hidden")))

#define TASKS_LAYOUT       1u
#define TASK_TYPE          0x5441534bu   /* "TASK": "task/ID" */
#define TASKS_CPU_TYPE     0x54435055u   /* "TCPU": "tasks/current" */
#define TASKS_TABLE_TYPE   0x5454424cu   /* "TTBL": "tasks/table" */
#define TASKS_BLOCKED_TYPE 0x54424c4bu   /* "TBLK": "tasks/blocked" */

#define TASKS_CPU_RECORD     "tasks/current"
#define TASKS_TABLE_RECORD   "tasks/table"
#define TASKS_BLOCKED_RECORD "tasks/blocked"
#define TASK_RECORD_PREFIX   "task/"
#define TASK_EXIT_CHANNEL    "task.exit/"   /* + id: joiners wait here */

/*
 * Offset from a saved rsp to the return address of nano_core's ctx_switch
 * frame (rbp rbx r12 r13 r14 r15 pushed, in nano_core/ctx.S).
 */
#define CTX_FRAME_RET_OFFSET (6 * 8)

enum task_state {
	TASK_READY = 1,     /* queued in the policy (task 0: runnable when nothing is queued) */
	TASK_RUNNING,       /* never stored: shown for tasks_cpu.current while it runs */
	TASK_SLEEPING,      /* in tasks/blocked with a deadline */
	TASK_WAITING,       /* in tasks/blocked with a channel */
	TASK_EXITED,        /* exit_code valid; record kept until joined */
};

/*
 * "task/ID": one task. The running task's record is not rewritten when it is
 * switched in: while id == tasks_cpu.current (and the CPU is not idling in
 * its context, see `waiting`), it is running whatever `state` says, and
 * saved_rsp is stale. Everything else is written at its switch-out.
 */
struct task_rec {
	int64_t id;
	char name[TASK_NAME_MAX + 1];
	struct cellref entry;      /* empty for task 0 */
	uint64_t arg;
	uint32_t state;            /* enum task_state */
	int32_t prio;
	int64_t exit_code;
	uint64_t runs;             /* turns completed (switch-outs) */
	uint64_t cpu_ticks;        /* ticks charged, up to its last switch-out */
	uint64_t saved_rsp;        /* stack pointer of its last switch-out (or from ctx_prepare) */
	uint64_t stack_lo, stack_hi;
	uint32_t stack_pages;      /* 0: not allocated by tasks (task 0), or already freed */
	uint32_t reserved;
};

/* "tasks/current": the CPU's side. */
struct tasks_cpu {
	int64_t current;           /* the task whose code runs, 0 for idle */
	/* The last switch-out, until tasks_finish_switch records it in the task's record. */
	int64_t pending;           /* the task switched away from; -1 when none is pending */
	uint32_t pending_state;    /* the state it left in */
	uint32_t waiting;          /* 1: current is blocked and the CPU halts in its context */
	uint64_t pending_ticks;    /* ticks to charge it */
	uint64_t ran_ticks;        /* ticks charged to current since it was switched in */
	uint64_t switches, ticks, idle_ticks;
	uint32_t need_resched;     /* a woken or new task should run before current: preempt at the next tick */
	int32_t current_prio;      /* current's priority, to queue it again without reading its record */
	uint32_t irq_exit_hook;    /* 1 once nano_core called tasks_irq_exit: ticks then only request */
	uint32_t reserved;
};
_Static_assert(sizeof(struct tasks_cpu) == 80, "tasks layout 1");

/* "tasks/table". */
struct tasks_table {
	int64_t next_id;
	uint64_t live;             /* "task/ID" records */
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
TASKS_PRIVATE int rec_create(const struct task_rec *r);
TASKS_PRIVATE int rec_delete(int64_t id);
TASKS_PRIVATE int cpu_get(struct tasks_cpu *c);
TASKS_PRIVATE int cpu_put(const struct tasks_cpu *c);
TASKS_PRIVATE int table_get(struct tasks_table *t);
TASKS_PRIVATE int table_put(const struct tasks_table *t);
TASKS_PRIVATE int blocked_add(int64_t id, uint64_t wake_ns, const char *channel);
TASKS_PRIVATE int blocked_remove(int64_t id);
/* Copies up to max ids of blocked tasks due at now_ns (or waiting on channel if not NULL). */
TASKS_PRIVATE int blocked_due(uint64_t now_ns, const char *channel, int64_t *ids, int max);
TASKS_PRIVATE const char *task_state_name(uint32_t state);

/* switch.c */
TASKS_PRIVATE void tasks_finish_switch(void);
TASKS_PRIVATE void tasks_resched(uint32_t new_state);
TASKS_PRIVATE int tasks_make_ready(int64_t id);
TASKS_PRIVATE int64_t tasks_current(void);

#endif
