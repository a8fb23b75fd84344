/* The workload cell: `work start|stop|status`, and its registration (workload.h). */
#include <delos/cell.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/shell.h>
#include <delos/tasks.h>
#include "cells/workload/workload.h"

_Static_assert(WORKLOAD_WORKERS == 2, "the messages below name two tasks");

int workload_stats(struct workload_stats *out)
{
	int n = sdb_get(WORKLOAD_STATS_RECORD, out, sizeof(*out), NULL);

	return n == (int)sizeof(*out) ? 0 : n < 0 ? n : STATEDB_E_CORRUPT;
}

/* The state, or all zero (stopped, epoch 0) before the first start. */
static int state_get(struct workload_state *s)
{
	int n = sdb_get(WORKLOAD_STATE_RECORD, s, sizeof(*s), NULL);

	if (n == STATEDB_E_NOT_FOUND) {
		memset(s, 0, sizeof(*s));
		return 0;
	}
	return n == (int)sizeof(*s) ? 0 : n < 0 ? n : STATEDB_E_CORRUPT;
}

static int state_put(const struct workload_state *s)
{
	return sdb_put("workload", WORKLOAD_STATE_RECORD, WORKLOAD_STATE_TYPE, WORKLOAD_LAYOUT, s,
		       sizeof(*s));
}

static void print_status(const char *prefix)
{
	struct workload_stats st = { 0, 0 };
	int err = workload_stats(&st);

	if (err && err != STATEDB_E_NOT_FOUND)
		shell_printf("work: stats record unreadable: %s\n", sdb_strerror(err));
	shell_printf("work: %s%lu operations, %lu errors\n", prefix, st.operations, st.errors);
}

static void work_start(void)
{
	struct workload_state s;
	char name[TASK_NAME_MAX + 1];
	int err = state_get(&s);

	if (!err && s.running) {
		shell_printf("work: already running (tasks %ld and %ld)\n", s.tasks[0], s.tasks[1]);
		return;
	}
	s.running = 1;
	s.epoch++;
	memset(s.tasks, 0, sizeof(s.tasks));
	err = err ? err : state_put(&s);
	for (int i = 0; i < WORKLOAD_WORKERS && !err; i++) {
		snprintf(name, sizeof(name), "work%d", i);
		s.tasks[i] = task_spawn(name, "workload", "workload_task", (uint64_t)s.epoch << 8 | i);
		if (s.tasks[i] < 0)
			shell_printf("work: cannot start %s: %s\n", name, tasks_strerror((int)s.tasks[i]));
	}
	if (!err)
		err = state_put(&s);
	if (err)
		shell_printf("work: cannot start: %s\n", sdb_strerror(err));
	else
		shell_printf("work: started %d workers (tasks %ld and %ld)\n", WORKLOAD_WORKERS,
			     s.tasks[0], s.tasks[1]);
}

/* Says stop, then waits for every worker to finish its round and exit. */
static void work_stop(void)
{
	struct workload_state s;
	int err = state_get(&s);

	if (!err && !s.running) {
		shell_printf("work: not running\n");
		return;
	}
	s.running = 0;
	err = err ? err : state_put(&s);
	if (err) {
		shell_printf("work: cannot stop: %s\n", sdb_strerror(err));
		return;
	}
	for (int i = 0; i < WORKLOAD_WORKERS; i++)
		if (s.tasks[i] > 0)
			task_join(s.tasks[i], NULL);
	print_status("stopped after ");
}

/* Re-reads everything the workers wrote; only while they are stopped. */
static void work_verify(void)
{
	struct workload_state s;
	uint64_t checked = 0, bad = 0;
	int err = state_get(&s);

	if (err) {
		shell_printf("work: state record unreadable: %s\n", sdb_strerror(err));
		return;
	}
	if (s.running) {
		shell_printf("work: verify: stop the workers first (work stop)\n");
		return;
	}
	for (int i = 0; i < WORKLOAD_WORKERS; i++)
		bad += workload_verify(i, &checked);
	shell_printf("work: verify: %lu files checked, %lu mismatches\n", checked, bad);
}

void workload_cmd(int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[1], "start") == 0)
		work_start();
	else if (strcmp(argv[1], "stop") == 0)
		work_stop();
	else if (strcmp(argv[1], "status") == 0)
		print_status("");
	else if (strcmp(argv[1], "verify") == 0)
		work_verify();
	else
		shell_printf("work: unknown subcommand '%s'; usage: work start|stop|status|verify\n",
			     argv[1]);
}

int cell_init(void)
{
	int err = shell_register("work", "workload", "workload_cmd", "start|stop|status|verify",
				 "run ramfs and state_db workers that check every result");

	if (err)
		klog(LOG_ERR, "workload: cannot register 'work': %s", shell_strerror(err));
	return err;
}

void cell_exit(void)
{
	shell_unregister("work");
}
