/*
 * The demo spawned by loading taskdemo@1 (see taskdemo.h). Records, owner
 * "taskdemo", layout 1:
 *   "taskdemo/a", "taskdemo/b"  struct counter: iterations, done flag
 *   "taskdemo/config"           struct config: deadline of the busy tasks, ids
 *   "taskdemo/sleep"            struct sleep_stats: lateness of each wake-up
 */
#include <delos/cell.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/taskdemo/taskdemo.h"
#include <delos/tasks.h>
#include <delos/timer.h>

#define OWNER  "taskdemo"
#define LAYOUT 1u
#define TYPE   0x54444d4fu	/* "TDMO" */

struct counter {
	uint64_t count;
	uint64_t done;
};

struct config {
	uint64_t busy_deadline_ns;
	int64_t busy[2], sleeper;
};

struct sleep_stats {
	uint64_t rounds, late_max_ns, late_sum_ns, late_min_ns;
	uint64_t early;          /* wake-ups before the deadline: must stay 0 */
	uint64_t done;
	int64_t joined_code[2];
};

static const char *const counter_name[2] = { "taskdemo/a", "taskdemo/b" };

static bool get(const char *name, void *buf, size_t size)
{
	return sdb_get(name, buf, size, NULL) == (int)size;
}

static void put(const char *name, const void *buf, size_t size)
{
	sdb_put(OWNER, name, TYPE, LAYOUT, buf, size);
}

int taskdemo_busy(uint64_t which)
{
	struct config cfg;
	struct counter c = { 0, 0 };

	if (which > 1 || !get("taskdemo/config", &cfg, sizeof(cfg)))
		return -1;
	while (time_ns() < cfg.busy_deadline_ns) {
		get(counter_name[which], &c, sizeof(c));
		c.count++;
		put(counter_name[which], &c, sizeof(c));
	}
	c.done = 1;
	put(counter_name[which], &c, sizeof(c));
	return (int)which + 1;
}

static void record_wakeup(uint64_t due, uint64_t now)
{
	uint64_t late_ns = now > due ? now - due : 0;
	struct sleep_stats s;

	if (!get("taskdemo/sleep", &s, sizeof(s)))
		return;
	s.early += now < due;
	s.rounds++;
	s.late_sum_ns += late_ns;
	s.late_max_ns = late_ns > s.late_max_ns ? late_ns : s.late_max_ns;
	s.late_min_ns = s.rounds == 1 || late_ns < s.late_min_ns ? late_ns : s.late_min_ns;
	put("taskdemo/sleep", &s, sizeof(s));
}

/* Sleeps `rounds` times, then joins the busy tasks. */
int taskdemo_sleeper(uint64_t rounds)
{
	struct sleep_stats s;
	struct config cfg;

	for (uint64_t i = 0; i < rounds; i++) {
		/* An absolute deadline: a preemption before the sleep does not count as lateness. */
		uint64_t due = time_ns() + TASKDEMO_SLEEP_MS * 1000000ull;
		task_sleep_until(due);
		record_wakeup(due, time_ns());
	}
	if (!get("taskdemo/config", &cfg, sizeof(cfg)) || !get("taskdemo/sleep", &s, sizeof(s)))
		return -1;
	for (int i = 0; i < 2; i++)
		if (task_join(cfg.busy[i], &s.joined_code[i]))
			s.joined_code[i] = -1;
	s.done = 1;
	put("taskdemo/sleep", &s, sizeof(s));
	klog(LOG_INFO, "taskdemo: demo done");
	return 0;
}

static void print_lateness(const struct sleep_stats *s)
{
	uint64_t tick_ns = 1000000000ull / timer_hz();
	uint64_t mean = s->rounds ? s->late_sum_ns / s->rounds : 0;
	uint64_t max_h = s->late_max_ns * 100 / tick_ns;

	kprintf("taskdemo: sleeper %lu/%u rounds of %u ms, %lu early, late min %lu us mean %lu us"
		" max %lu us (max %lu.%02lu ticks)\n", s->rounds, TASKDEMO_ROUNDS, TASKDEMO_SLEEP_MS,
		s->early, s->late_min_ns / 1000, mean / 1000, s->late_max_ns / 1000, max_h / 100,
		max_h % 100);
}

static void print_task(void *ctx, const struct task_info *t)
{
	(void)ctx;
	kprintf("  %3ld %-10s %-8s runs %-6lu ticks %-5lu rip %016lx rsp %016lx stack %016lx-%016lx\n",
		t->id, t->name, t->state, t->runs, t->cpu_ticks, t->saved_rip, t->saved_rsp,
		t->stack_lo, t->stack_hi);
}

int taskdemo_report(void)
{
	struct counter a, b;
	struct sleep_stats s;

	if (!get(counter_name[0], &a, sizeof(a)) || !get(counter_name[1], &b, sizeof(b)) ||
	    !get("taskdemo/sleep", &s, sizeof(s)))
		return -1;
	uint64_t total = a.count + b.count;
	kprintf("taskdemo: busy a=%lu b=%lu (a's share %lu%%)\n", a.count, b.count,
		total ? a.count * 100 / total : 0);
	print_lateness(&s);
	if (s.done)
		kprintf("taskdemo: joined busy_a code %ld, busy_b code %ld\n", s.joined_code[0],
			s.joined_code[1]);
	tasks_list(print_task, NULL);
	bool done = a.done && b.done && s.done;
	kprintf("taskdemo: %s\n", done ? "done" : "running");
	return done;
}

/* The states of busy_a and the sleeper, "gone" once joined. */
struct demo_states {
	char busy_a[12], sleeper[12];
};

static void find_states(void *ctx, const struct task_info *t)
{
	struct demo_states *st = ctx;

	if (!strcmp(t->name, "busy_a"))
		memcpy(st->busy_a, t->state, sizeof(st->busy_a));
	if (!strcmp(t->name, "sleeper"))
		memcpy(st->sleeper, t->state, sizeof(st->sleeper));
}

int taskdemo_counts(void)
{
	struct demo_states st = { "gone", "gone" };
	struct counter a, b;
	struct sleep_stats s;

	if (!get(counter_name[0], &a, sizeof(a)) || !get(counter_name[1], &b, sizeof(b)) ||
	    !get("taskdemo/sleep", &s, sizeof(s)))
		return -1;
	tasks_list(find_states, &st);
	kprintf("taskdemo: a=%lu b=%lu rounds=%lu busy_a=%s sleeper=%s\n", a.count, b.count, s.rounds,
		st.busy_a, st.sleeper);
	return 0;
}

/* Fresh records for this run (a reload starts over). */
static void reset_records(struct config *cfg)
{
	struct counter zero = { 0, 0 };
	struct sleep_stats s;

	memset(&s, 0, sizeof(s));
	put(counter_name[0], &zero, sizeof(zero));
	put(counter_name[1], &zero, sizeof(zero));
	put("taskdemo/sleep", &s, sizeof(s));
	memset(cfg, 0, sizeof(*cfg));
	cfg->busy_deadline_ns = time_ns() + TASKDEMO_BUSY_MS * 1000000ull;
}

int cell_init(void)
{
	struct config cfg;

	reset_records(&cfg);
	put("taskdemo/config", &cfg, sizeof(cfg));	/* the busy tasks read the deadline */
	cfg.busy[0] = task_spawn("busy_a", "taskdemo", "taskdemo_busy", 0);
	cfg.busy[1] = task_spawn("busy_b", "taskdemo", "taskdemo_busy", 1);
	put("taskdemo/config", &cfg, sizeof(cfg));
	cfg.sleeper = task_spawn("sleeper", "taskdemo", "taskdemo_sleeper", TASKDEMO_ROUNDS);
	put("taskdemo/config", &cfg, sizeof(cfg));
	if (cfg.busy[0] < 0 || cfg.busy[1] < 0 || cfg.sleeper < 0)
		return -1;
	klog(LOG_INFO, "taskdemo: spawned busy_a %ld, busy_b %ld, sleeper %ld", cfg.busy[0],
	     cfg.busy[1], cfg.sleeper);
	return 0;
}
