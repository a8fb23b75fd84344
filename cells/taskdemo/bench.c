/*
 * taskdemo_bench: context switch and timer tick costs, in TSC cycles (under
 * QEMU -icount shift=0 the TSC runs at 1 GHz of guest time, one instruction
 * per nanosecond). Results also go to record "taskdemo/bench" (layout 1).
 */
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/taskdemo/taskdemo.h"
#include <delos/tasks.h>

#define BENCH_RECORD "taskdemo/bench"

struct bench {
	uint64_t switches, switch_cycles;
	uint64_t ticks, tick_cycles, tick_min, tick_max;
};

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int taskdemo_pingpong(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		task_yield();
	return 0;
}

/* Spins until `ticks` gaps were seen; each gap is one interrupt's cost. */
int taskdemo_spin(uint64_t ticks)
{
	struct bench b;
	uint64_t prev = rdtsc();

	if (sdb_get(BENCH_RECORD, &b, sizeof(b), NULL) != (int)sizeof(b))
		return -1;
	b.ticks = b.tick_cycles = b.tick_max = 0;
	b.tick_min = ~0ull;
	while (b.ticks < ticks) {
		uint64_t now = rdtsc(), gap = now - prev;
		prev = now;
		if (gap <= TASKDEMO_GAP)
			continue;
		b.ticks++;
		b.tick_cycles += gap;
		b.tick_min = gap < b.tick_min ? gap : b.tick_min;
		b.tick_max = gap > b.tick_max ? gap : b.tick_max;
	}
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

/* What one state_db operation costs on a record of `size` bytes (the tasks records are ~200). */
static void measure_sdb(size_t size)
{
	char buf[256];
	const void *view;
	uint64_t t0, t1, t2, t3, n = 1000;

	memset(buf, 0, sizeof(buf));
	sdb_put("taskdemo", "taskdemo/probe", 0x54444d4fu, 1, buf, size);
	t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		sdb_get("taskdemo/probe", buf, sizeof(buf), NULL);
	t1 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		sdb_view("taskdemo/probe", &view, NULL);
	t2 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		sdb_put("taskdemo", "taskdemo/probe", 0x54444d4fu, 1, buf, size);
	t3 = rdtsc();
	sdb_delete("taskdemo/probe");
	kprintf("taskdemo: bench: state_db on %zu bytes: get %lu, view %lu, put %lu cycles\n", size,
		(t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n);
}

int taskdemo_bench(void)
{
	struct bench b;
	int64_t id;
	int err;

	memset(&b, 0, sizeof(b));
	measure_sdb(16);
	measure_sdb(200);
	if ((err = measure_switches(&b)))
		return err;
	if ((err = sdb_put("taskdemo", BENCH_RECORD, 0x54444d4fu, 1, &b, sizeof(b))))
		return err;
	if ((err = spawn_join("spin", "taskdemo_spin", TASKDEMO_SPIN_TICKS, &id, 1)))
		return err;
	if (sdb_get(BENCH_RECORD, &b, sizeof(b), NULL) != (int)sizeof(b))
		return -1;
	print_bench(&b);
	return 0;
}
