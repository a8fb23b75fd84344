/*
 * taskdemo_check: the tasks API's refusals and its wait/notify and join, run
 * from the calling task. Prints one line per check ("check NAME: ok" or
 * "check NAME: FAILED ...") and returns the number of failures.
 */
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/taskdemo/taskdemo.h"
#include "cells/tasks/tasks.h"

#define WOKE_RECORD "taskdemo/woke"

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

int taskdemo_check(void)
{
	int bad = check_refusals() + check_wait_notify();

	kprintf("taskdemo: checks: %d failed\n", bad);
	return bad;
}
