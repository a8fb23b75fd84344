/*
 * tasks (cell tasks@1): kernel tasks with their own guarded stacks, entered
 * through cellrefs, preempted by the timer and scheduled by whichever policy
 * cell exports include/delos/sched.h. The task table lives in state_db, so this
 * cell keeps nothing itself, and no frame of it stays on a switched-out
 * stack: every switch is a tail call of nano_core's ctx_block, so a blocked
 * or preempted task resumes straight in its caller (the client of the
 * blocking call, or nano_core's interrupt exit). This cell can therefore be
 * swapped with tasks asleep, waiting or preempted.
 *
 * The blocking calls (task_yield, task_sleep_ms, task_wait, task_join) are
 * inline wrappers, below, over one entry, tasks_block, whose signature is
 * ctx_block's so that it can tail-call it; their loops run in the caller.
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
 * Preemption happens only in tasks_irq_exit, which nano_core calls from its
 * own frame at the end of each interrupt; the tick only asks for it.
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

#include <delos/time.h>

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
	TASKS_E_BUSY = -11,      /* restart: the task is not sleeping or waiting */
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
 * The one blocking entry, behind the inline wrappers below; not for other
 * callers. Runs op for the calling task with interrupts off and, if it has to
 * block, switches away by a tail call of ctx_block, so that it "returns"
 * only when the task is resumed, with TASKS_AGAIN (ctx.h's CTX_RESUMED) and
 * the caller's interrupt flag. Otherwise returns 0 (done) or a negative
 * tasks_error at once.
 *   TASKS_OP_YIELD  arg unused: lets the other ready tasks run; TASKS_AGAIN.
 *   TASKS_OP_SLEEP  arg = time_ns() deadline: 0 once it has passed; else
 *                   sleeps until the first tick at or after it (without a
 *                   timer cell: yields) and returns TASKS_AGAIN.
 *   TASKS_OP_WAIT   arg = const char *channel: waits for a notify; TASKS_AGAIN.
 *   TASKS_OP_JOIN   arg = struct tasks_join *: 0 with code set and the
 *                   record removed once id has exited; else waits for its
 *                   exit and returns TASKS_AGAIN.
 */
enum tasks_op { TASKS_OP_YIELD = 1, TASKS_OP_SLEEP, TASKS_OP_WAIT, TASKS_OP_JOIN };
#define TASKS_AGAIN 1
struct tasks_join {
	int64_t id;
	int64_t code;
};
int tasks_block(uint64_t op, uint64_t arg);

/*
 * Waits until task id has exited, stores its code (if code is not NULL) and
 * removes its record. Returns 0, TASKS_E_NOT_FOUND (no such task, or another
 * joiner took it), TASKS_E_SELF (id is the caller or 0).
 */
static inline int task_join(int64_t id, int64_t *code)
{
	struct tasks_join j = { id, 0 };
	int err;

	while ((err = tasks_block(TASKS_OP_JOIN, (uint64_t)&j)) == TASKS_AGAIN)
		;
	if (err == 0 && code)
		*code = j.code;
	return err;
}

/* Lets every other ready task of the same priority run once (round robin). */
static inline void task_yield(void)
{
	tasks_block(TASKS_OP_YIELD, 0);
}

/*
 * Blocks the calling task until time_ns() reaches deadline_ns: it wakes at
 * the first timer tick at or after it (so at most one tick late). Returns at
 * once if the deadline has passed.
 */
static inline void task_sleep_until(uint64_t deadline_ns)
{
	while (tasks_block(TASKS_OP_SLEEP, deadline_ns) == TASKS_AGAIN)
		;
}

/*
 * Blocks the calling task for at least ms milliseconds: it wakes at the first
 * timer tick at or after time_ns() + ms * 10^6 (so at most one tick late).
 * ms == 0 is task_yield().
 */
static inline void task_sleep_ms(uint64_t ms)
{
	uint64_t now = time_ns(), max_ms = (UINT64_MAX - now) / 1000000ull;

	if (ms == 0)
		task_yield();
	else
		task_sleep_until(now + (ms < max_ms ? ms : max_ms) * 1000000ull);
}

/*
 * Blocks until task_notify(channel) is called. A notify before the wait is
 * not remembered: to wait for a condition without losing a wake-up, test it
 * with interrupts off (irq_save) and call task_wait before irq_restore; the
 * interrupt flag is the caller's again when task_wait returns.
 * channel: 1..TASK_CHANNEL_MAX bytes (longer names are refused: returns at once).
 */
static inline void task_wait(const char *channel)
{
	tasks_block(TASKS_OP_WAIT, (uint64_t)channel);
}

/* The running task's id (0 for idle), or TASKS_E_DOWN; -1 in an interrupt while no task runs. */
int64_t task_self(void);

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
/* Fills *t for task id as tasks_list would, without visiting the others; 0 or TASKS_E_NOT_FOUND. */
int tasks_info(int64_t id, struct task_info *t);

/* Sets a task's priority (SCHED_PRIO_MIN..SCHED_PRIO_MAX); 0 or a negative error. */
int task_set_prio(int64_t id, int prio);

/* Fills *st; 0 or a negative error. */
int tasks_stats(struct tasks_stats *st);

/* Returns a sentence naming err. */
const char *tasks_strerror(int err);

/*
 * Called by dispatch on the event "timer.tick" (arg: the tick number), from
 * the timer's interrupt with interrupts off: wakes sleepers whose time has
 * come, charges the running task and, if the policy says it should give way,
 * asks tasks_irq_exit to preempt it. Never switches itself. Returns 0.
 */
int tasks_tick(uint64_t tick);

/*
 * For nano_core, through the ops slot irq_exit, at the end of
 * each interrupt, after its handler returned (interrupts off, EOI sent):
 * preempts the running task if a tick or a wake-up asked for it, by a tail
 * call of ctx_block. The preempted task's stack then holds nano_core's
 * interrupt frames only, and it resumes there (with interrupts still off)
 * when it is switched back in. Returns 0, or CTX_RESUMED after a switch.
 * The second parameter is unused: it makes the signature ctx_block's, which
 * the tail call needs (nano_core may call it as int fn(uint64_t irq)).
 */
int tasks_irq_exit(uint64_t irq, uint64_t unused);

/*
 * For nano_core's halt (ctx_block with nothing to run; include/delos/ctx.h),
 * after each interrupt, interrupts off: makes the task to run next current
 * and returns its saved rsp, or returns 0 while nothing can run.
 */
uint64_t tasks_idle_next(void);

/*
 * For nano_core's swap of a cell whose tasks may be restarted (nano_core/quiesce.c),
 * through the ops slots task_restart and task_restart_self.
 *
 * tasks_restart: the sleeping, waiting or exited (not yet joined) task id
 * starts over at its entry
 * (resolved by name when it starts, so in whichever cell holds it then) the
 * next time it runs: on the same stack, with the same id, name, entry and
 * argument (an exited task gets a fresh stack, its exit code is dropped). It
 * leaves the blocked list and is queued as ready; its old context is
 * dropped (its stack is prepared afresh when it is switched in).
 * Returns 0, or refuses with nothing changed: TASKS_E_SELF (id 0),
 * TASKS_E_NOT_FOUND, TASKS_E_BUSY (ready or running), TASKS_E_NOMEM, TASKS_E_STATE.
 *
 * tasks_restart_self: the calling task starts over at its entry now, on its
 * own stack (ctx_prepare at its top, then ctx_restart; see ctx.h for why
 * that is safe). Does not return, unless it refuses (task 0, no task, no
 * stack of its own): then returns that negative error, nothing changed.
 */
int tasks_restart(uint64_t id);
int tasks_restart_self(uint64_t unused);
/* The calling task yields (ops slot task_yield); -1 if the caller is no task. */
int tasks_yield_self(uint64_t unused);

/*
 * For nano_core's fault containment (registered in slot OPS_TASK_END of
 * include/delos/ops.h): ends the running task with exit code `code`, as
 * task_exit. Returns TASKS_E_SELF (task 0) or TASKS_E_STATE (no task)
 * instead of ending anything.
 */
int tasks_end_faulted(uint64_t code);

/* Entry and exit cellrefs handed to ctx_prepare; not for other callers. */
int tasks_task_start(uint64_t id);
int tasks_task_exit(uint64_t code);

#endif
