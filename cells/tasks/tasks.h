/*
 * tasks (cell tasks@1): kernel tasks with their own guarded stacks, entered
 * through cellrefs, preempted by the timer and scheduled by whichever policy
 * cell exports cells/sched/sched.h. The task table lives in state_db, so this
 * cell keeps nothing itself and can be swapped with tasks asleep or preempted.
 *
 * Task 0, "idle", is the boot context adopted by cell_init (nano_core's boot
 * stack). It is never queued: it runs only when the policy has nothing to
 * run, and is preempted at the next tick as soon as anything is runnable.
 * While the boot context still runs nano_core's own console (no shell cell),
 * that console therefore gets the CPU only when every task is blocked.
 *
 * Context. task_notify, task_self, tasks_list and tasks_stats may be called
 * from interrupt handlers; everything that blocks or switches (task_sleep_ms,
 * task_wait, task_join, task_yield, task_exit) only from a task.
 *
 * Records (all of layout version TASKS_LAYOUT, owner "tasks"):
 *   "task/ID"       struct task_rec: one per task, until it is joined
 *   "tasks/cpu"     struct tasks_cpu: the running task and switch bookkeeping
 *   "tasks/table"   struct tasks_table: next id and number of records
 *   "tasks/blocked" struct tasks_blocked_entry[]: sleeping and waiting tasks
 * The layouts are in cells/tasks/records.h.
 *
 * Errors are negative enum tasks_error values; tasks_strerror names them.
 */
#ifndef CELLS_TASKS_H
#define CELLS_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#define TASKS_MAX          64   /* task records at once, exited-but-unjoined included */
#define TASK_NAME_MAX      23
#define TASK_CHANNEL_MAX   31
#define TASK_STACK_PAGES   8    /* 32 KiB, with nano_core's guard page below */

enum tasks_error {
	TASKS_E_INVAL = -1,      /* a NULL or out-of-range argument */
	TASKS_E_NAME = -2,       /* task name, cell, symbol or channel empty or too long */
	TASKS_E_ENTRY = -3,      /* the entry cell:symbol does not resolve */
	TASKS_E_FULL = -4,       /* TASKS_MAX task records exist */
	TASKS_E_NOMEM = -5,      /* no stack or no state_db memory */
	TASKS_E_NOT_FOUND = -6,  /* no task with that id */
	TASKS_E_SELF = -7,       /* a task cannot join itself; task 0 cannot exit or be joined */
	TASKS_E_STATE = -8,      /* a tasks record is missing, corrupt or of another layout */
	TASKS_E_SCHED = -9,      /* the scheduling policy refused (queue full?) */
	TASKS_E_DOWN = -10,      /* tasks is not initialized */
};

/* One row of tasks_list: a copy, consistent at the time of the call. */
struct task_info {
	int64_t id;
	char name[24];
	char state[12];          /* "running", "ready", "sleeping", "waiting", "exited" */
	char cell[32];           /* entry point (empty for task 0) */
	char sym[48];
	uint64_t runs;           /* times it was switched in */
	uint64_t cpu_ticks;      /* timer ticks charged to it */
	uint64_t saved_rip;      /* where it resumes: return address of its ctx_switch frame; 0 if running */
	uint64_t stack_lo, stack_hi;  /* its stack [lo, hi); 0, 0 once an exited task's stack is freed */
	uint64_t saved_rsp;      /* stack pointer saved at its last switch-out; 0 while it runs */
	int prio;
};

/* Totals, for the console and benchmarks. */
struct tasks_stats {
	uint64_t switches;       /* context switches since boot */
	uint64_t ticks;          /* timer ticks seen */
	uint64_t idle_ticks;     /* ticks that found task 0 or no task running */
	uint64_t live;           /* task records (exited-but-unjoined included) */
	int64_t current;
};

/*
 * Creates a ready task named `name` that runs `int sym(uint64_t arg)` of cell
 * `cell` on a fresh stack, and queues it with the default priority. The entry
 * must resolve now; it is resolved again (by name) when the task starts.
 * When it returns, its result is the task's exit code. Returns the new id
 * (> 0) or a negative tasks_error, having logged why and changed nothing.
 */
int64_t task_spawn(const char *name, const char *cell, const char *sym, uint64_t arg);

/*
 * Ends the calling task with `code`: it becomes "exited", its joiners are
 * woken, and its stack is freed by the next task to run. Task 0 cannot exit
 * (it logs the refusal and idles forever).
 */
_Noreturn void task_exit(int64_t code);

/*
 * Waits until task id has exited, stores its code (if code is not NULL) and
 * removes its record. Returns 0, TASKS_E_NOT_FOUND (no such task, or another
 * joiner took it), TASKS_E_SELF (id is the caller or 0).
 */
int task_join(int64_t id, int64_t *code);

/*
 * Blocks the calling task for at least ms milliseconds: it wakes at the first
 * timer tick at or after time_ns() + ms * 10^6 (so at most one tick late).
 * ms == 0 is task_yield().
 */
void task_sleep_ms(uint64_t ms);

/* Lets every other ready task of the same priority run once (round robin). */
void task_yield(void);

/* The running task's id (0 for idle), or TASKS_E_DOWN. */
int64_t task_self(void);

/*
 * Blocks until task_notify(channel) is called. A notify before the wait is
 * not remembered: to wait for a condition without losing a wake-up, test it
 * with interrupts off (irq_save) and call task_wait before irq_restore; the
 * interrupt flag is the caller's again when task_wait returns.
 * channel: 1..TASK_CHANNEL_MAX bytes (longer names are refused: returns at once).
 */
void task_wait(const char *channel);

/*
 * Wakes every task waiting on channel. Never switches tasks itself: a woken
 * task that should run first (per the policy) does so at the next tick.
 * Returns how many tasks were woken, or a negative tasks_error.
 */
int task_notify(const char *channel);

/*
 * Calls fn(ctx, t) for every task, in id order. Returns the number of tasks or
 * a negative tasks_error. fn runs with the caller's interrupt flag; the rows
 * are copies, each consistent (taken with interrupts off).
 */
int tasks_list(void (*fn)(void *ctx, const struct task_info *t), void *ctx);

/* Sets a task's priority (SCHED_PRIO_MIN..SCHED_PRIO_MAX); 0 or a negative error. */
int task_set_prio(int64_t id, int prio);

/* Fills *st; 0 or a negative error. */
int tasks_stats(struct tasks_stats *st);

/* Returns a sentence naming err. */
const char *tasks_strerror(int err);

/*
 * Called by dispatch on the event "timer.tick" (arg: the tick number), from
 * the timer's interrupt with interrupts off: wakes sleepers whose time has
 * come, charges the running task and preempts it if the policy says so.
 */
int tasks_tick(uint64_t tick);

/*
 * For nano_core, through the cellref tasks:tasks_irq_exit, after each
 * interrupt's handler returned (interrupts off, EOI sent): switches tasks if
 * a tick or a wake-up asked for it. Once it has been called, tasks_tick no
 * longer switches inside the tick, so preempted stacks hold only nano_core
 * and tasks frames. Returns 0.
 */
int tasks_irq_exit(uint64_t irq);

/* Entry and exit cellrefs handed to ctx_prepare; not for other callers. */
int tasks_task_start(uint64_t id);
int tasks_task_exit(uint64_t code);

#endif
