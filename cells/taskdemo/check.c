/*
 * taskdemo_check: the tasks API's refusals, its wait/notify and join, and
 * restarting tasks, run from the calling task. Prints one line per check
 * ("check NAME: ok" or "check NAME: FAILED ...") and returns the number of
 * failures.
 */
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/taskdemo/taskdemo.h"
#include <delos/tasks.h>

#define WOKE_RECORD   "taskdemo/woke"
#define STARTS_RECORD "taskdemo/starts"

static int verdict(const char *name, bool ok, int64_t got)
{
	if (ok)
		kprintf("taskdemo: check %s: ok\n", name);
	else
		kprintf("taskdemo: check %s: FAILED (got %ld)\n", name, got);
	return ok ? 0 : 1;
}

static uint64_t live_tasks(void)
{
	struct tasks_stats st;

	return tasks_stats(&st) ? 0 : st.live;
}

/* Each refusal returns its error and leaves the task table as it was. */
static int check_refusals(void)
{
	uint64_t before = live_tasks();
	int64_t r;
	int bad = 0;

	r = task_spawn("nope", "taskdemo", "no_such_symbol", 0);
	bad += verdict("spawn-missing-symbol", r == TASKS_E_ENTRY, r);
	r = task_spawn("nope", "no_such_cell", "no_such_symbol", 0);
	bad += verdict("spawn-missing-cell", r == TASKS_E_ENTRY, r);
	r = task_spawn("", "taskdemo", "taskdemo_busy", 0);
	bad += verdict("spawn-empty-name", r == TASKS_E_NAME, r);
	r = task_spawn("a-name-longer-than-23-bytes", "taskdemo", "taskdemo_busy", 0);
	bad += verdict("spawn-long-name", r == TASKS_E_NAME, r);
	r = task_join(999999, NULL);
	bad += verdict("join-unknown", r == TASKS_E_NOT_FOUND, r);
	r = task_join(task_self(), NULL);
	bad += verdict("join-self", r == TASKS_E_SELF, r);
	r = task_join(0, NULL);
	bad += verdict("join-idle", r == TASKS_E_SELF, r);
	r = task_notify("a-channel-name-longer-than-31-bytes");
	bad += verdict("notify-long-channel", r == TASKS_E_NAME, r);
	r = task_set_prio(task_self(), 99);
	bad += verdict("prio-out-of-range", r == TASKS_E_INVAL, r);
	bad += verdict("table-unchanged", live_tasks() == before, (int64_t)live_tasks());
	return bad;
}

int taskdemo_waiter(uint64_t arg)
{
	uint64_t woke = 1;

	(void)arg;
	task_wait("taskdemo.go");
	sdb_put("taskdemo", WOKE_RECORD, 0x54444d4fu, 1, &woke, sizeof(woke));
	return 7;
}

static uint64_t woke(void)
{
	uint64_t w = 0;

	sdb_get(WOKE_RECORD, &w, sizeof(w), NULL);
	return w;
}

/* A waiter stays blocked through a sleep and a notify of another channel, then wakes. */
static int check_wait_notify(void)
{
	uint64_t zero = 0;
	int64_t id, code = -1;
	int bad = 0, n;

	sdb_put("taskdemo", WOKE_RECORD, 0x54444d4fu, 1, &zero, sizeof(zero));
	if ((id = task_spawn("waiter", "taskdemo", "taskdemo_waiter", 0)) < 0)
		return verdict("spawn-waiter", false, id);
	task_sleep_ms(30);
	n = task_notify("taskdemo.other");
	bad += verdict("notify-other-channel", n == 0 && !woke(), n);
	n = task_notify("taskdemo.go");
	bad += verdict("notify-wakes-one", n == 1, n);
	int err = task_join(id, &code);
	bad += verdict("join-waiter", err == 0 && code == 7 && woke(), err ? err : code);
	sdb_delete(WOKE_RECORD);
	return bad;
}

/* Counts the starts of taskdemo_restartee; returns the new count. */
static uint64_t count_start(void)
{
	uint64_t n = 0;

	sdb_get(STARTS_RECORD, &n, sizeof(n), NULL);
	n++;
	sdb_put("taskdemo", STARTS_RECORD, 0x54444d4fu, 1, &n, sizeof(n));
	return n;
}

/*
 * Blocks on its first start (waits on a channel nobody notifies, sleeps
 * 10 s, or restarts itself, by how), and returns 10 * how + its start count
 * on the next one: exit code 10 * how + 2 means it started over exactly once.
 */
int taskdemo_restartee(uint64_t how)
{
	uint64_t n = count_start();

	if (n == 1 && how == 0)
		task_wait("taskdemo.never");
	else if (n == 1 && how == 1)
		task_sleep_ms(10000);
	else if (n == 1 && how == 2)
		return tasks_restart_self(0) - 1000;	/* returns only if refused */
	return (int)(10 * how + n);
}

/* Spawns a restartee, lets it block, restarts it (unless it restarts itself) and joins it. */
static int restart_one(const char *name, uint64_t how)
{
	uint64_t zero = 0;
	int64_t id, code = -1;
	int err;

	sdb_put("taskdemo", STARTS_RECORD, 0x54444d4fu, 1, &zero, sizeof(zero));
	if ((id = task_spawn("restartee", "taskdemo", "taskdemo_restartee", how)) < 0)
		return verdict(name, false, id);
	task_sleep_ms(30);
	err = how == 2 ? 0 : tasks_restart((uint64_t)id);
	if (err == 0)
		err = task_join(id, &code);
	sdb_delete(STARTS_RECORD);
	return verdict(name, err == 0 && code == (int64_t)(10 * how + 2), err ? err : code);
}

/* Restarts are refused for task 0, unknown, running and ready tasks, changing nothing. */
static int check_restart(void)
{
	uint64_t before = live_tasks(), flags;
	int64_t r, id;
	int bad = 0;

	r = tasks_restart(0);
	bad += verdict("restart-idle", r == TASKS_E_SELF, r);
	r = tasks_restart(999999);
	bad += verdict("restart-unknown", r == TASKS_E_NOT_FOUND, r);
	r = tasks_restart((uint64_t)task_self());	/* task 0 when run from nano_core's console */
	bad += verdict("restart-running", r == (task_self() ? TASKS_E_BUSY : TASKS_E_SELF), r);
	/*
	 * Ready: it has not run yet. Interrupts stay off from the spawn to the
	 * restart, or a tick in between could preempt the caller (its slice run
	 * out) and let the restartee run to its end first.
	 */
	flags = irq_save();
	if ((id = task_spawn("restartee", "taskdemo", "taskdemo_restartee", 3)) > 0)
		r = tasks_restart((uint64_t)id);
	irq_restore(flags);
	if (id > 0) {
		bad += verdict("restart-ready", r == TASKS_E_BUSY, r);
		task_join(id, NULL);
	}
	bad += verdict("restart-refusals-change-nothing", live_tasks() == before, (int64_t)live_tasks());
	bad += restart_one("restart-waiting", 0);
	bad += restart_one("restart-sleeping", 1);
	bad += restart_one("restart-self", 2);
	return bad;
}

int taskdemo_check(void)
{
	int bad = check_refusals() + check_wait_notify() + check_restart();

	kprintf("taskdemo: checks: %d failed\n", bad);
	return bad;
}
