/*
 * The micro-benchmarks: calls, tasks, state_db, tokens, ramfs, the tick.
 * A call is timed one at a time between two rdtsc (lfence first), net of an
 * empty pair's cost (bench_zero); a context switch is half of one task's
 * yield-to-return time while two tasks yield to each other; a tick is the
 * gap it leaves in a spinning task's rdtsc loop.
 */
#include <delos/cellref.h>
#include <delos/cells.h>
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/ramfs.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/tasks.h>
#include <delos/time.h>
#include <delos/token.h>
#include <delos/tokens.h>
#include "cells/bench/callee.h"

#define WARMUP 16
#define PINGPONG_RECORD "bench/pingpong"
#define SPIN_RECORD "bench/spin"
#define SPIN_GAP 150           /* cycles: a longer gap in the spin loop is an interrupt */
#define BIG 4096u

/* Runs stmt WARMUP times, then n times timed into x. */
#define TIME_N(x, n, zero, stmt)                                       \
	do {                                                           \
		for (size_t w_ = 0; w_ < WARMUP; w_++) {               \
			stmt;                                          \
		}                                                      \
		for (size_t i_ = 0; i_ < (n); i_++) {                  \
			uint64_t t0_ = bench_rdtsc();                  \
			stmt;                                          \
			uint64_t d_ = bench_rdtsc() - t0_;             \
			(x)[i_] = d_ > (zero) ? d_ - (zero) : 0;       \
		}                                                      \
	} while (0)

BENCH_XCALL_LOOP(bench_local_xcall)

int bench_xcall(void)
{
	static const struct cellref peer = { "bench_peer", "bench_peer_xcall" };
	struct bench_xcall x = { bench_runs(1001, 101), bench_zero(), bench_buf() };
	uint64_t unused;
	bool loaded = false;
	int result, err = 0;

	if (!x.samples)
		return -1;
	if (!cellref_resolve(&peer)) {
		if ((err = cells_load_timed("bench_peer@1", &unused)))
			goto out;
		loaded = true;
	}
	bench_local_xcall((uint64_t)&x);	/* warm-up */
	bench_local_xcall((uint64_t)&x);
	bench_add("xcall_local", x.samples, x.n);
	bench_far_xcall((uint64_t)&x);
	bench_far_xcall((uint64_t)&x);
	bench_add("xcall_local_far", x.samples, x.n);
	int64_t page = (int64_t)((uint64_t)bench_callee >> 12);
	bench_note("xcall: pages from the callee to the loop: local %ld, local_far %ld, cross %ld", (int64_t)((uint64_t)bench_local_xcall >> 12) - page,
		   (int64_t)((uint64_t)bench_far_xcall >> 12) - page,
		   (int64_t)(cellref_resolve(&peer) >> 12) - page);
	cellref_call(&peer, (uint64_t)&x, &result);
	if ((err = cellref_call(&peer, (uint64_t)&x, &result)) == 0)
		bench_add("xcall_cross", x.samples, x.n);
	if (loaded)
		cells_unload_quiet("bench_peer");
out:
	kfree(x.samples);
	return err;
}

int bench_core_call(void)
{
	uint64_t *x = bench_buf(), zero = bench_zero(), acc = 0;
	size_t n = bench_runs(1001, 101);

	if (!x)
		return -1;
	TIME_N(x, n, zero, acc += loader_generation());
	bench_add("core_call", x, n);
	kfree(x);
	return acc == 1 ? 1 : 0;	/* never: keeps the calls */
}

/* Each yield is two switches (away and back); the gaps go to PINGPONG_RECORD's slot arg. */
int bench_pingpong(uint64_t n)
{
	uint64_t *x = bench_buf();
	size_t k = 0;

	if (!x)
		return -1;
	for (uint64_t i = 0; i < n + WARMUP; i++) {
		uint64_t t0 = bench_rdtsc();
		task_yield();
		if (i >= WARMUP && k < BENCH_SAMPLES)
			x[k++] = (bench_rdtsc() - t0) / 2;
	}
	int err = sdb_put(BENCH_OWNER, PINGPONG_RECORD, BENCH_TYPE, BENCH_LAYOUT, x, k * 8);
	kfree(x);
	return err;
}

int bench_ctx_switch(void)
{
	uint64_t n = bench_runs(1000, 100), *x = bench_buf();
	int64_t a, b, ca = 0, cb = 0;
	int len;

	if (!x)
		return -1;
	sdb_delete(PINGPONG_RECORD);
	if ((a = task_spawn("bench-ping", "bench", "bench_pingpong", n)) < 0 ||
	    (b = task_spawn("bench-pong", "bench", "bench_pingpong", n)) < 0) {
		kfree(x);
		return -1;
	}
	task_join(a, &ca);
	task_join(b, &cb);
	/* The record holds the last of the two to finish; both saw the same pairs of switches. */
	len = sdb_get(PINGPONG_RECORD, x, BENCH_SAMPLES * 8, NULL);
	if (ca || cb || len <= 0) {
		kfree(x);
		return -1;
	}
	bench_add("ctx_switch", x, (size_t)len / 8);
	sdb_delete(PINGPONG_RECORD);
	kfree(x);
	return 0;
}

int bench_nop_task(uint64_t arg)
{
	return (int)arg;
}

int bench_spawn_join(void)
{
	uint64_t *x = bench_buf(), zero = bench_zero();
	size_t n = bench_runs(201, 31);
	int err = 0;

	if (!x)
		return -1;
	TIME_N(x, n, zero, {
		int64_t id = task_spawn("bench-nop", "bench", "bench_nop_task", 0);
		err |= id < 0 || task_join(id, NULL);
	});
	if (!err)
		bench_add("spawn_join", x, n);
	kfree(x);
	return err ? -1 : 0;
}

static int put_big(const char *name, uint8_t fill)
{
	uint8_t *buf = kmalloc(BIG);
	int err;

	if (!buf)
		return -1;
	memset(buf, fill, BIG);
	err = sdb_put(BENCH_OWNER, name, BENCH_TYPE, BENCH_LAYOUT, buf, BIG);
	kfree(buf);
	return err;
}

int bench_sdb_get(void)
{
	uint64_t *x = bench_buf(), zero = bench_zero(), v[2] = { 1, 2 };
	uint8_t *buf = kmalloc(BIG);
	size_t n = bench_runs(201, 31);
	statedb_handle h, hb;
	int err = 0;

	if (!x || !buf || sdb_put(BENCH_OWNER, "bench/hot16", BENCH_TYPE, BENCH_LAYOUT, v, 16) ||
	    put_big("bench/hot4k", 7) || sdb_hopen("bench/hot16", 0, &h) ||
	    sdb_hopen("bench/hot4k", 0, &hb)) {
		err = -1;
		goto out;
	}
	TIME_N(x, n, zero, err |= sdb_hget(h, v, sizeof(v)) != 16);
	bench_add("sdb_get16", x, n);
	TIME_N(x, n, zero, err |= sdb_get("bench/hot16", v, sizeof(v), NULL) != 16);
	bench_add("sdb_get16_name", x, n);
	TIME_N(x, n, zero, err |= sdb_hget(hb, buf, BIG) != (int)BIG);
	bench_add("sdb_get4k", x, n);
	TIME_N(x, n, zero, err |= sdb_get("bench/hot4k", buf, BIG, NULL) != (int)BIG);
	bench_add("sdb_get4k_name", x, n);
out:
	sdb_delete("bench/hot16");
	sdb_delete("bench/hot4k");
	kfree(buf);
	kfree(x);
	return err ? -1 : 0;
}

int bench_sdb_update(void)
{
	uint64_t *x = bench_buf(), zero = bench_zero(), v[2] = { 1, 2 };
	uint8_t *buf = kmalloc(BIG);
	size_t n = bench_runs(201, 31);
	statedb_handle h, hb;
	int err = 0;

	if (!x || !buf || sdb_put(BENCH_OWNER, "bench/hot16", BENCH_TYPE, BENCH_LAYOUT, v, 16) ||
	    put_big("bench/hot4k", 7) || sdb_hopen("bench/hot16", 0, &h) ||
	    sdb_hopen("bench/hot4k", 0, &hb)) {
		err = -1;
		goto out;
	}
	memset(buf, 9, BIG);
	TIME_N(x, n, zero, (v[0]++, err |= sdb_hupdate(h, v, sizeof(v))));
	bench_add("sdb_update16", x, n);
	TIME_N(x, n, zero, (buf[0]++, err |= sdb_hupdate(hb, buf, BIG)));
	bench_add("sdb_update4k", x, n);
	TIME_N(x, n, zero, (v[0]++, err |= sdb_put(BENCH_OWNER, "bench/put16", BENCH_TYPE,
						 BENCH_LAYOUT, v, sizeof(v))));
	bench_add("sdb_put16", x, n);
	TIME_N(x, n, zero, (buf[0]++, err |= sdb_put(BENCH_OWNER, "bench/put4k", BENCH_TYPE,
						    BENCH_LAYOUT, buf, BIG)));
	bench_add("sdb_put4k", x, n);
out:
	sdb_delete("bench/hot16");
	sdb_delete("bench/hot4k");
	sdb_delete("bench/put16");
	sdb_delete("bench/put4k");
	kfree(buf);
	kfree(x);
	return err ? -1 : 0;
}

static const char *const txn_names[4] = { "bench/txn0", "bench/txn1", "bench/txn2", "bench/txn3" };

/*
 * begin, `count` updates of `len` bytes through the records' handles h
 * (statedb_txn_hupdate: small values inline, a 4 KiB one by name), commit:
 * the store's transaction code itself.
 */
static int txn(const statedb_handle *h, const void *v, size_t len, int count)
{
	struct state_db *db = statedb_root();
	struct statedb_txn *t;
	uint64_t flags = irq_save();
	int err = statedb_txn_begin(db, 0, &t);

	for (int k = 0; k < count && !err; k++)
		err = statedb_txn_hupdate(db, t, h[k], v, len);
	if (err && t)
		statedb_txn_abort(db, t);
	else
		err = statedb_txn_commit(db, t);
	irq_restore(flags);
	return err;
}

int bench_sdb_txn(void)
{
	uint64_t *x = bench_buf(), zero = bench_zero(), v[2] = { 1, 2 };
	uint8_t *buf = kmalloc(BIG);
	size_t n = bench_runs(201, 31);
	statedb_handle h[4];
	int err = 0;

	if (!x || !buf) {
		err = -1;
		goto out;
	}
	for (int k = 0; k < 4; k++)
		err |= sdb_put(BENCH_OWNER, txn_names[k], BENCH_TYPE, BENCH_LAYOUT, v, sizeof(v)) ||
		       sdb_hopen(txn_names[k], 0, &h[k]);
	if (err)
		goto out;
	TIME_N(x, n, zero, (v[0]++, err |= txn(h, v, sizeof(v), 4)));
	/* The records hold the last values: the commits were real. */
	for (int k = 0; k < 4; k++) {
		uint64_t back[2] = { 0, 0 };

		err |= sdb_hget(h[k], back, sizeof(back)) != (int)sizeof(back) || back[0] != v[0];
	}
	bench_add("sdb_txn4", x, n);
	memset(buf, 3, BIG);
	sdb_delete(txn_names[0]);
	err |= put_big(txn_names[0], 3) || sdb_hopen(txn_names[0], 0, &h[0]);
	TIME_N(x, n, zero, (buf[0]++, err |= txn(h, buf, BIG, 1)));
	bench_add("sdb_txn4k", x, n);
out:
	for (int k = 0; k < 4; k++)
		sdb_delete(txn_names[k]);
	kfree(buf);
	kfree(x);
	return err ? -1 : 0;
}

int bench_token(void)
{
	uint64_t *x = bench_buf(), zero = bench_zero(), payload[4] = { 1, 2, 3, 4 }, back[4];
	size_t n = bench_runs(201, 31), len;
	struct token_key key;
	struct token t;
	int err = 0;

	if (!x || tokens_key(&key)) {
		kfree(x);
		return -1;
	}
	TIME_N(x, n, zero, err |= token_seal(&key, "bench", payload, sizeof(payload), 7, &t));
	bench_add("token_seal", x, n);
	TIME_N(x, n, zero, err |= token_open(&key, "bench", &t, sizeof(t), back, sizeof(back), &len));
	bench_add("token_open", x, n);
	memset(&key, 0, sizeof(key));
	kfree(x);
	return err || memcmp(back, payload, sizeof(back)) ? -1 : 0;
}

int bench_ramfs_rw(void)
{
	uint64_t *x = bench_buf(), zero = bench_zero();
	uint8_t *buf = kmalloc(BIG);
	size_t n = bench_runs(101, 21);
	struct token t, at0;
	int err = 0;

	if (!x || !buf || ramfs_open("bench.rw", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE |
				     RAMFS_O_TRUNC, &at0)) {
		err = -1;
		goto out;
	}
	memset(buf, 5, BIG);
	t = at0;
	err |= ramfs_write(&t, buf, BIG) != (int64_t)BIG;
	/* Each call starts from the token at position 0: the same 4 KiB each time. */
	TIME_N(x, n, zero, (t = at0, err |= ramfs_write(&t, buf, BIG) != (int64_t)BIG));
	bench_add("ramfs_write4k", x, n);
	TIME_N(x, n, zero, (t = at0, err |= ramfs_read(&t, buf, BIG) != (int64_t)BIG));
	bench_add("ramfs_read4k", x, n);
	ramfs_remove("bench.rw");
out:
	kfree(buf);
	kfree(x);
	return err ? -1 : 0;
}

/* Spins until `ticks` gaps were seen; each gap is one interrupt's cost (to SPIN_RECORD). */
int bench_spin(uint64_t ticks)
{
	uint64_t *x = bench_buf(), prev = bench_rdtsc(), t0 = prev;
	size_t k = 0;

	if (!x || ticks > BENCH_SAMPLES) {
		kfree(x);
		return -1;
	}
	while (k < ticks) {
		uint64_t now = bench_rdtsc(), gap = now - prev;
		prev = now;
		if (gap > SPIN_GAP)
			x[k++] = gap;
	}
	x[k++] = prev - t0;	/* the last slot: the whole spin's length */
	int err = sdb_put(BENCH_OWNER, SPIN_RECORD, BENCH_TYPE, BENCH_LAYOUT, x, k * 8);
	kfree(x);
	return err;
}

int bench_tick(void)
{
	uint64_t ticks = bench_runs(50, 10), *x = bench_buf(), sum = 0;
	int64_t id, code = 0;
	int len;

	if (!x)
		return -1;
	sdb_delete(SPIN_RECORD);
	if ((id = task_spawn("bench-spin", "bench", "bench_spin", ticks)) < 0 || task_join(id, &code) ||
	    code || (len = sdb_get(SPIN_RECORD, x, BENCH_SAMPLES * 8, NULL)) != (int)(ticks + 1) * 8) {
		kfree(x);
		return -1;
	}
	uint64_t span = x[ticks];
	for (uint64_t i = 0; i < ticks; i++)
		sum += x[i];
	bench_add("timer_tick", x, ticks);
	/* The share of the CPU the interrupts took while the spinner ran, in ppm. */
	uint64_t ppm = span ? sum * 1000000 / span : 0;
	bench_note("tick: %lu ticks took %lu.%04lu%% of the CPU (%lu of %lu cycles)", ticks,
		   ppm / 10000, ppm % 10000, sum, span);
	sdb_delete(SPIN_RECORD);
	kfree(x);
	return 0;
}
