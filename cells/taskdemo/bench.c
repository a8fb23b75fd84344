/*
 * taskdemo_bench: context switch and timer tick costs, in TSC cycles, for
 * tests/qemu/test_tasks.py's checks of what they mean (the counts of
 * switches and ticks). Results also go to record "taskdemo/bench" (layout 1),
 * and both are printed as
 *   taskdemo: bench: micro NAME median M min A max B runs N
 * a switch as half of one task's yield-to-return time while two tasks yield
 * to each other; a tick as the gap it leaves in a spinning task's rdtsc loop.
 * The benchmark suite, with these and the state_db rows, is cells/bench.
 */
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/taskdemo/taskdemo.h"
#include <delos/tasks.h>

#define BENCH_RECORD "taskdemo/bench"

struct bench {
	uint64_t switches, switch_cycles;
	uint64_t ticks, tick_cycles, tick_min, tick_max, tick_median;
};

#define MICRO_RUNS 201
#define PP_SAMPLES 512
#define PP_RECORD  "taskdemo/pingpong"

/* Median, min and max of a sample, which it sorts. */
struct stat3 {
	uint64_t median, min, max, runs;
};

static struct stat3 stat3(uint64_t *x, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && x[j - 1] > x[j]; j--) {
			uint64_t t = x[j];
			x[j] = x[j - 1];
			x[j - 1] = t;
		}
	return n ? (struct stat3){ x[n / 2], x[0], x[n - 1], n } : (struct stat3){ 0, 0, 0, 0 };
}

static void print_micro(const char *name, struct stat3 s)
{
	kprintf("taskdemo: bench: micro %s median %lu min %lu max %lu runs %lu\n", name, s.median,
		s.min, s.max, s.runs);
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Each yield is two switches (away and back); the last PP_SAMPLES are kept. */
int taskdemo_pingpong(uint64_t n)
{
	uint64_t gaps[PP_SAMPLES];
	struct stat3 st;
	size_t k = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();

		task_yield();
		if (i + PP_SAMPLES >= n && k < PP_SAMPLES)
			gaps[k++] = (rdtsc() - t0) / 2;
	}
	st = stat3(gaps, k);
	sdb_put("taskdemo", PP_RECORD, 0x54444d4fu, 1, &st, sizeof(st));
	return 0;
}

/* Spins until `ticks` gaps were seen; each gap is one interrupt's cost. */
int taskdemo_spin(uint64_t ticks)
{
	uint64_t gaps[TASKDEMO_SPIN_TICKS];
	struct bench b;
	uint64_t prev = rdtsc();

	if (ticks > TASKDEMO_SPIN_TICKS ||
	    sdb_get(BENCH_RECORD, &b, sizeof(b), NULL) != (int)sizeof(b))
		return -1;
	b.ticks = b.tick_cycles = b.tick_max = 0;
	b.tick_min = ~0ull;
	while (b.ticks < ticks) {
		uint64_t now = rdtsc(), gap = now - prev;
		prev = now;
		if (gap <= TASKDEMO_GAP)
			continue;
		gaps[b.ticks++] = gap;
		b.tick_cycles += gap;
		b.tick_min = gap < b.tick_min ? gap : b.tick_min;
		b.tick_max = gap > b.tick_max ? gap : b.tick_max;
	}
	b.tick_median = stat3(gaps, b.ticks).median;
	sdb_put("taskdemo", BENCH_RECORD, 0x54444d4fu, 1, &b, sizeof(b));
	return 0;
}

static int spawn_join(const char *name, const char *sym, uint64_t arg, int64_t *ids, int n)
{
	int err = 0;

	for (int i = 0; i < n; i++)
		if ((ids[i] = task_spawn(name, "taskdemo", sym, arg)) < 0)
			return (int)ids[i];
	for (int i = 0; i < n; i++)
		err = err ? err : task_join(ids[i], NULL);
	return err;
}

static int measure_switches(struct bench *b)
{
	struct tasks_stats s0, s1;
	int64_t ids[2];
	int err;

	tasks_stats(&s0);
	uint64_t t0 = rdtsc();
	if ((err = spawn_join("pingpong", "taskdemo_pingpong", TASKDEMO_PINGPONG, ids, 2)))
		return err;
	uint64_t t1 = rdtsc();
	tasks_stats(&s1);
	b->switches = s1.switches - s0.switches;
	b->switch_cycles = t1 - t0;
	return 0;
}

static void print_bench(const struct bench *b)
{
	uint64_t per_switch = b->switches ? b->switch_cycles / b->switches : 0;
	uint64_t per_tick = b->ticks ? b->tick_cycles / b->ticks : 0;
	uint64_t hz = tsc_hz() ? tsc_hz() : 1;

	kprintf("taskdemo: bench: %lu switches in %lu cycles: %lu cycles per switch (%lu ns)\n",
		b->switches, b->switch_cycles, per_switch, per_switch * 1000000000ul / hz);
	kprintf("taskdemo: bench: %lu ticks: %lu cycles per tick (min %lu, max %lu), %lu ns;"
		" %lu.%02lu%% of the CPU at 100 Hz\n", b->ticks, per_tick, b->tick_min, b->tick_max,
		per_tick * 1000000000ul / hz, per_tick * 100 * 100 / hz,
		per_tick * 100 * 100 * 100 / hz % 100);
}

int taskdemo_bench(void)
{
	struct bench b;
	int64_t id;
	int err;

	struct stat3 pp;

	memset(&b, 0, sizeof(b));
	if ((err = measure_switches(&b)))
		return err;
	if (sdb_get(PP_RECORD, &pp, sizeof(pp), NULL) != (int)sizeof(pp))
		return -1;
	sdb_delete(PP_RECORD);
	if ((err = sdb_put("taskdemo", BENCH_RECORD, 0x54444d4fu, 1, &b, sizeof(b))))
		return err;
	if ((err = spawn_join("spin", "taskdemo_spin", TASKDEMO_SPIN_TICKS, &id, 1)))
		return err;
	if (sdb_get(BENCH_RECORD, &b, sizeof(b), NULL) != (int)sizeof(b))
		return -1;
	print_bench(&b);
	print_micro("ctx_switch", pp);
	print_micro("timer_tick", (struct stat3){ b.tick_median, b.tick_min, b.tick_max, b.ticks });
	return 0;
}
