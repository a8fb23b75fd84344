/*
 * The system benchmarks: linking cells, live swaps step by step, and the
 * time from a fault to the service answering again. Figures come from
 * nano_core's own clocks (the loader's link time, the swap's step times, in
 * ns) and are converted to TSC cycles for the rows.
 */
#include <delos/cellref.h>
#include <delos/cells.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/ramfs.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/swap.h>
#include <delos/tasks.h>
#include "cells/bench/bench.h"

static bool loaded(const char *cell, const char *sym)
{
	struct cellref r;

	return cellref_make(&r, cell, sym) && cellref_resolve(&r);
}

int bench_link(void)
{
	static const char *const refs[3] = { "bench_gen1@1", "bench_gen10@1", "bench_gen100@1" };
	static const char *const names[3] = { "bench_gen1", "bench_gen10", "bench_gen100" };
	static const char *const rows[3] = { "link_1k", "link_10k", "link_100k" };
	static const char *const syms[3] = { "bench_gen1_fault", "bench_gen10_fault",
					     "bench_gen100_fault" };
	size_t n = bench_runs(11, 3);
	uint64_t *x = bench_buf();
	int err = 0;

	if (!x)
		return -1;
	for (int s = 0; s < 3 && !err; s++) {
		if (loaded(names[s], syms[s]))
			cells_unload_quiet(names[s]);
		for (size_t i = 0; i <= n && !err; i++) {	/* run 0: the warm-up */
			uint64_t ns;
			if (!(err = cells_load_timed(refs[s], &ns)))
				err = cells_unload_quiet(names[s]);
			if (i)
				x[i - 1] = ns;
		}
		if (!err)
			bench_add_ns(rows[s], x, n);
	}
	kfree(x);
	return err;
}

/* One swap kind: OLD -> NEW, and BACK -> OLD between runs when it is not a self-swap. */
struct swap_kind {
	const char *name, *old_ref, *new_ref;
	bool back;                 /* swap back (untimed) after each timed swap */
	bool once;                 /* one run only: it cannot be undone (a migration) */
};

static const struct swap_kind kinds[] = {
	{ "hello", "hello@1", "hello@1", false, false },        /* a leaf: no users */
	{ "log_sink", "log_sink@1", "log_sink@1", false, false }, /* many users */
	{ "dispatch", "dispatch@1", "dispatch@1", false, false }, /* IRQ routes through it */
	{ "sched", "sched_rr@1", "sched_prio@1", true, false },   /* a policy change */
	{ "ramfs", "ramfs@1", "ramfs@2", false, true },           /* a migration */
};

#define STEP_ROWS (SWAP_STEPS + 2)	/* the steps, the pause, the total */

/* Files for ramfs@2's migration to rewrite: a small file system. */
static int ramfs_fill(int files)
{
	char name[16], data[64];
	struct token t;
	int err = 0;

	memset(data, 'd', sizeof(data));
	for (int i = 0; i < files && !err; i++) {
		snprintf(name, sizeof(name), "bench.m%d", i);
		err = ramfs_open(name, RAMFS_O_WRITE | RAMFS_O_CREATE | RAMFS_O_TRUNC, &t);
		if (!err)
			err = ramfs_write(&t, data, sizeof(data)) == (int64_t)sizeof(data) ? 0 : -1;
	}
	return err;
}

static uint64_t median_of(uint64_t *x, size_t n)
{
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && x[b - 1] > x[b]; b--) {
			uint64_t t = x[b];
			x[b] = x[b - 1];
			x[b - 1] = t;
		}
	return x[n / 2];
}

/* n timed swaps of kind k; x holds STEP_ROWS * n samples. */
static int swap_one(const struct swap_kind *k, uint64_t *x, size_t n, struct swap_result *res)
{
	char row[BENCH_NAME_MAX + 1];
	uint64_t *pause = x + SWAP_STEPS * n, *total = x + (SWAP_STEPS + 1) * n, med[SWAP_STEPS];
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		if ((err = cells_swap_timed(k->old_ref, k->new_ref, res)))
			break;
		for (int s = 0; s < SWAP_STEPS; s++)
			x[s * n + i] = res->step_ns[s];
		pause[i] = res->pause_ns;
		total[i] = res->total_ns;
		if (k->back)
			err = cells_swap_timed(k->new_ref, k->old_ref, res);
	}
	if (err)
		return err;
	snprintf(row, sizeof(row), "swap_pause_%s", k->name);
	bench_add_ns(row, pause, n);
	snprintf(row, sizeof(row), "swap_total_%s", k->name);
	bench_add_ns(row, total, n);
	for (int s = 0; s < SWAP_STEPS; s++)
		med[s] = median_of(x + s * n, n);
	/* Each step's median, in us, as a line of the steps table under the rows. */
	bench_note("swap %-12s %5lu.%lu %7lu.%lu %7lu.%lu %7lu.%lu %7lu.%lu", k->name,
		   med[SWAP_CHECK] / 1000, med[SWAP_CHECK] / 100 % 10,
		   med[SWAP_QUIESCE] / 1000, med[SWAP_QUIESCE] / 100 % 10,
		   med[SWAP_RELINK] / 1000, med[SWAP_RELINK] / 100 % 10,
		   med[SWAP_HANDOVER] / 1000, med[SWAP_HANDOVER] / 100 % 10,
		   med[SWAP_COMMIT] / 1000, med[SWAP_COMMIT] / 100 % 10);
	return 0;
}

int bench_swap(void)
{
	size_t n = bench_runs(11, 3);
	uint64_t *x = kmalloc(STEP_ROWS * n * sizeof(uint64_t));
	struct swap_result *res = kmalloc(sizeof(*res));
	int failed = 0;

	if (!x || !res) {
		kfree(x);
		kfree(res);
		return -1;
	}
	bench_note("swap steps (us)  check quiesce  relink handover  commit (medians)");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct swap_kind *k = &kinds[i];
		if (k->once) {
			/* ramfs@1 -> @2 can be done once a boot: layout 2 does not go back. */
			if (ramfs_layout() != 1) {
				bench_note("swap %s: %s is gone (a migration, once a boot); no row",
					   k->name, k->old_ref);
				continue;
			}
			if (ramfs_fill(16)) {
				failed++;
				continue;
			}
		}
		failed += swap_one(k, x, k->once ? 1 : n, res) != 0;
	}
	kfree(x);
	kfree(res);
	return failed ? -1 : 0;
}

/* One fault of the victim (in bench_peer, or in bench_gen1 when in_gen) to its answer, in cycles. */
static int recover_once(uint32_t in_gen, uint64_t *cycles)
{
	struct bench_victim v = { 1, in_gen, 0, 0 };
	int64_t id;

	if (sdb_put(BENCH_OWNER, BENCH_VICTIM_RECORD, BENCH_TYPE, BENCH_LAYOUT, &v, sizeof(v)) ||
	    (id = task_spawn("bench-victim", "bench_peer", "bench_peer_victim", 0)) < 0)
		return -1;
	/* The fault ends the task and its joiners would see that end, not the restart: poll. */
	for (int i = 0; i < 300; i++) {
		task_sleep_ms(10);
		if (sdb_get(BENCH_VICTIM_RECORD, &v, sizeof(v), NULL) == (int)sizeof(v) && v.answer_tsc)
			break;
	}
	if (!v.answer_tsc) {
		kprintf("bench: recover: the victim did not answer within 3 s\n");
		return -1;
	}
	task_join(id, NULL);
	*cycles = v.answer_tsc - v.fault_tsc;
	return 0;
}

int bench_recover(void)
{
	size_t n = bench_runs(5, 2);
	uint64_t x[8], unused;
	bool peer = false, gen = false;
	int err = 0;

	if (!loaded("bench_peer", "bench_peer_victim")) {
		if ((err = cells_load_timed("bench_peer@1", &unused)))
			return err;
		peer = true;
	}
	if (!loaded("bench_gen1", "bench_gen1_fault")) {
		if ((err = cells_load_timed("bench_gen1@1", &unused)))
			goto out;
		gen = true;
	}
	for (uint32_t in_gen = 0; in_gen < 2 && !err; in_gen++) {
		for (size_t i = 0; i < n && !err; i++) {
			err = recover_once(in_gen, &x[i]);
			task_sleep_ms(20);	/* past the cells' fault_window: each fault its own episode */
		}
		if (!err)
			bench_add(in_gen ? "recover_reload" : "recover_restart", x, n);
	}
out:
	sdb_delete(BENCH_VICTIM_RECORD);
	if (gen)
		cells_unload_quiet("bench_gen1");
	if (peer)
		cells_unload_quiet("bench_peer");
	return err;
}
