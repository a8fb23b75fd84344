/* The tasks API (include/delos/tasks.h): creating, ending, joining and blocking tasks. */
#include <delos/ctx.h>
#include <delos/fault.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include <delos/sched.h>
#include "cells/tasks/records.h"
#include <delos/timer.h>

const struct cellref tasks_start_ref = { "tasks", "tasks_task_start" };
const struct cellref tasks_exit_ref = { "tasks", "tasks_task_exit" };

static bool name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= max;
}

/* Fills a ready task record for a stack whose top is `top`. */
static void new_record(struct task_rec *r, int64_t id, const char *name,
		       const struct cellref *entry, uint64_t arg, uint64_t top)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	memcpy(r->name, name, strlen(name) + 1);
	r->entry = *entry;
	r->arg = arg;
	r->state = TASK_READY;
	r->prio = SCHED_PRIO_DEFAULT;
	r->stack_pages = TASK_STACK_PAGES;
	r->stack_hi = top;
	r->stack_lo = top - TASK_STACK_PAGES * 4096ull;
	r->saved_rsp = ctx_prepare(top, &tasks_start_ref, (uint64_t)id, &tasks_exit_ref);
}

/* Publishes a new task: its record, the table, the queue; undoes all on failure. */
static int64_t publish(const char *name, const struct cellref *entry, uint64_t arg, uint64_t top)
{
	struct tasks_table t;
	struct tasks_cpu cpu;
	struct task_rec r;
	statedb_handle h;
	int err;

	if ((err = table_get(&t)) || (err = cpu_get(&cpu)))
		return err;
	if (t.live >= TASKS_MAX)
		return TASKS_E_FULL;
	new_record(&r, t.next_id, name, entry, arg, top);
	if ((err = rec_create(&r, &h)))
		return err;
	t.next_id++;
	t.live++;
	if ((err = table_add(&t, r.id, h)) == 0 && (err = table_put(&t)) == 0 &&
	    (err = policy_enqueue(tasks_rq(), r.id, r.prio, false)) < 0)
		err = TASKS_E_SCHED;
	if (err) {
		rec_delete(r.id);
		t.next_id--;
		t.live--;
		table_remove(&t, r.id);
		table_put(&t);
		return err;
	}
	if (cpu.current == 0) {
		cpu.need_resched = 1;
		cpu_put(&cpu);
	}
	return r.id;
}

int64_t task_spawn(const char *name, const char *cell, const char *sym, uint64_t arg)
{
	struct cellref entry;
	uint64_t top, flags;
	int64_t id;

	if (!name_ok(name, TASK_NAME_MAX) || !cellref_make(&entry, cell, sym)) {
		klog(LOG_ERR, "tasks: spawn: name, cell or symbol empty or too long");
		return TASKS_E_NAME;
	}
	if (!cellref_resolve(&entry)) {
		klog(LOG_ERR, "tasks: spawn '%s': %s:%s does not resolve", name, cell, sym);
		return TASKS_E_ENTRY;
	}
	if (!(top = stack_alloc(TASK_STACK_PAGES)))
		return TASKS_E_NOMEM;
	flags = irq_save();
	id = publish(name, &entry, arg, top);
	irq_restore(flags);
	if (id < 0) {
		stack_free(top, TASK_STACK_PAGES);
		klog(LOG_ERR, "tasks: spawn '%s': %s", name, tasks_strerror((int)id));
	}
	return id;
}

/*
 * A new task's first tasks code: records the switch that started it, then
 * jumps (a tail call, so no tasks frame stays under the task's code) into
 * its entry, whose return goes straight back to nano_core's trampoline.
 */
int tasks_task_start(uint64_t id)
{
	int (*entry)(uint64_t);
	struct task_rec r;
	uint64_t flags = irq_save();
	int err;

	tasks_finish_switch();
	err = rec_get((int64_t)id, &r);
	irq_restore(flags);
	if (err)
		return err;
	entry = (int (*)(uint64_t))cellref_resolve(&r.entry);
	if (!entry) {
		klog(LOG_ERR, "tasks: task %ld '%s': entry %s:%s no longer resolves", r.id, r.name,
		     r.entry.cell, r.entry.sym);
		return TASKS_E_ENTRY;
	}
	__attribute__((musttail)) return entry(r.arg);
}

static void exit_channel(int64_t id, char ch[TASK_CHANNEL_MAX + 1])
{
	snprintf(ch, TASK_CHANNEL_MAX + 1, TASK_EXIT_CHANNEL "%ld", id);
}

struct abort_call {
	int64_t id;
};

static void run_abort(void *arg)
{
	sdb_txn_abort_task(((struct abort_call *)arg)->id);
}

/*
 * Aborts a transaction task id left open, as a contained call: a task is
 * often ended because state_db's own code faulted under it, and a fault of
 * that code again here is state_db's (its recovery reloads it), not a fault
 * while ending a faulted task, which nano_core cannot survive.
 */
void tasks_abort_txn(int64_t id)
{
	struct abort_call c = { id };

	trap_contain(run_abort, &c, FAULT_CTX_CALL, NULL);
}

static _Noreturn void park(void)
{
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}

/* The exited task is never resumed, so its frames here do not matter: its stack is freed. */
_Noreturn void task_exit(int64_t code)
{
	char ch[TASK_CHANNEL_MAX + 1];
	struct task_rec r;
	int64_t self;

	irq_save();
	tasks_finish_switch();
	self = tasks_current();
	tasks_abort_txn(self);	/* a transaction it left open goes with it */
	if (self <= 0 || rec_get(self, &r)) {
		klog(LOG_ERR, "tasks: task_exit(%ld) from %s; idling instead", code,
		     self == 0 ? "task 0 (idle), which cannot exit" : "no task");
		park();
	}
	r.exit_code = code;
	rec_put(&r);
	exit_channel(self, ch);
	task_notify(ch);
	tasks_switch(TASK_EXITED, 0);
	klog(LOG_ERR, "tasks: exited task %ld was resumed; parking it", self);
	park();
}

int tasks_task_exit(uint64_t code)
{
	task_exit((int64_t)code);
}

/*
 * For nano_core (slot OPS_TASK_END), when the running task faulted in a
 * cell: it ends as task_exit does, with the fault's code. Task 0 and "no
 * task" are refused (nano_core then halts), never parked.
 */
int tasks_end_faulted(uint64_t code)
{
	int64_t self = tasks_current();

	if (self <= 0)
		return self == 0 ? TASKS_E_SELF : TASKS_E_STATE;
	task_exit((int64_t)code);
}

/* Without a timer cell no tick will come: wait by yielding until the deadline. */
static bool have_timer(void)
{
	const void *data;

	return sdb_view(TIMER_RECORD, &data, NULL) >= 0;
}

/*
 * What each operation of tasks_block does before it may switch: returns the
 * state to leave the caller in (> 0), having queued it as blocked if it
 * blocks, or 0 or a negative error for tasks_block to return at once.
 */
static int op_sleep(int64_t self, uint64_t deadline)
{
	int err;

	if (time_ns() >= deadline)
		return 0;
	if (!have_timer())
		return TASK_READY;
	return (err = blocked_add(self, deadline, NULL)) ? err : TASK_SLEEPING;
}

static int op_wait(int64_t self, const char *channel)
{
	int err;

	if (!name_ok(channel, TASK_CHANNEL_MAX))
		return TASKS_E_NAME;
	return (err = blocked_add(self, 0, channel)) ? err : TASK_WAITING;
}

/* Removes an exited task's record, taking its exit code. */
static int reap(const struct task_rec *r, struct tasks_join *j)
{
	struct tasks_table t;
	int err;

	if ((err = rec_delete(r->id)))
		return err;
	j->code = r->exit_code;
	if (table_get(&t) == 0 && t.live > 0) {
		t.live--;
		table_remove(&t, r->id);
		table_put(&t);
	}
	return 0;
}

static int op_join(int64_t self, struct tasks_join *j)
{
	char ch[TASK_CHANNEL_MAX + 1];
	struct task_rec r;
	int err;

	if (!j)
		return TASKS_E_INVAL;
	if (j->id <= 0 || j->id == self)
		return TASKS_E_SELF;
	if ((err = rec_get(j->id, &r)))
		return err;
	if (r.state == TASK_EXITED)
		return reap(&r, j);
	exit_channel(j->id, ch);
	return (err = blocked_add(self, 0, ch)) ? err : TASK_WAITING;
}

/* Yielding goes straight to the switch, which records the last switch-out itself. */
int tasks_block(uint64_t op, uint64_t arg)
{
	uint64_t flags = irq_save();
	int64_t self;
	int state;

	if (op == TASKS_OP_YIELD) {
		__attribute__((musttail)) return tasks_switch(TASK_READY, flags);
	}
	if (op == TASKS_OP_JOIN)
		tasks_finish_switch();	/* the task joined may be the one that just exited */
	if ((self = tasks_current()) < 0)
		state = self == -1 ? TASKS_E_STATE : (int)self;
	else if (op == TASKS_OP_SLEEP)
		state = op_sleep(self, arg);
	else if (op == TASKS_OP_WAIT)
		state = op_wait(self, (const char *)arg);
	else if (op == TASKS_OP_JOIN)
		state = op_join(self, (struct tasks_join *)arg);
	else
		state = TASKS_E_INVAL;
	if (state <= 0) {
		irq_restore(flags);
		return state;
	}
	__attribute__((musttail)) return tasks_switch((uint64_t)state, flags);
}

int tasks_yield_self(uint64_t unused)
{
	(void)unused;
	if (task_self() <= 0)
		return -1;	/* the boot context (task 0) or no task: nothing to yield */
	return tasks_block(TASKS_OP_YIELD, 0);
}

int64_t task_self(void)
{
	uint64_t flags = irq_save();
	int64_t id = tasks_current();

	irq_restore(flags);
	return id;
}

int task_notify(const char *channel)
{
	int64_t ids[TASKS_MAX];
	uint64_t flags;
	int n;

	if (!name_ok(channel, TASK_CHANNEL_MAX))
		return TASKS_E_NAME;
	flags = irq_save();
	tasks_finish_switch();
	n = blocked_due(NULL, 0, channel, ids, TASKS_MAX, NULL);
	for (int i = 0; i < n; i++)
		tasks_make_ready(ids[i]);
	irq_restore(flags);
	return n;
}

static void set_current_prio(int64_t id, int prio)
{
	struct tasks_cpu cpu;

	if (cpu_get(&cpu) == 0 && cpu.current == id) {
		cpu.current_prio = prio;
		cpu_put(&cpu);
	}
}

int task_set_prio(int64_t id, int prio)
{
	struct task_rec r;
	uint64_t flags;
	int err;

	if (prio < SCHED_PRIO_MIN || prio > SCHED_PRIO_MAX)
		return TASKS_E_INVAL;
	flags = irq_save();
	tasks_finish_switch();
	if ((err = rec_get(id, &r)) == 0) {
		r.prio = prio;
		err = rec_put(&r);
	}
	if (err == 0 && r.state == TASK_READY && id != 0 && policy_dequeue(tasks_rq(), id) == 0)
		policy_enqueue(tasks_rq(), id, prio, false);
	if (err == 0)
		set_current_prio(id, prio);
	irq_restore(flags);
	return err;
}

const char *tasks_strerror(int err)
{
	static const char *const msgs[] = {
		"ok", "invalid argument", "name, cell, symbol or channel empty or too long",
		"the entry cell:symbol does not resolve", "too many tasks", "out of memory",
		"no such task", "a task cannot join itself, and task 0 cannot exit or be joined",
		"a tasks record is missing, corrupt or of another layout",
		"the scheduling policy refused", "tasks is not initialized",
		"the task is not sleeping or waiting",
	};

	return err <= 0 && -err < (int)(sizeof(msgs) / sizeof(msgs[0])) ? msgs[-err] : "unknown error";
}
