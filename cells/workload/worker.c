/*
 * A workload worker: rounds of ramfs and state_db operations whose every
 * result is checked against what it must be (workload.h). Everything a
 * round needs is in struct worker, on the task's stack, plus two heap
 * buffers; the lasting counts are in state_db.
 */
#include <stdarg.h>

#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/ramfs.h>
#include <delos/tasks.h>
#include "cells/workload/workload.h"

#define APPEND_LEN 100

struct worker {
	int n;                  /* worker number, 0..WORKLOAD_WORKERS-1 */
	uint32_t epoch;         /* the `work start` that spawned it */
	uint64_t round;
	uint64_t counter;       /* what "workload/ctr/N" must hold */
	uint64_t errors;        /* mismatches found in this round */
	uint8_t *out, *in;      /* WORKLOAD_IO_MAX bytes each */
};

static void mismatch(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mismatch(struct worker *w, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	klog(LOG_ERR, "workload: MISMATCH worker %d round %lu: %s", w->n, w->round, msg);
	w->errors++;
}

/* Whether a ramfs result is the expected one; logs the difference if not. */
static bool expect(struct worker *w, const char *what, const char *file, int64_t got, int64_t want)
{
	if (got == want)
		return true;
	mismatch(w, "%s %s gave %ld (%s), expected %ld", what, file, got,
		 got < 0 ? ramfs_strerror((int)got) : "a count", want);
	return false;
}

static uint8_t pattern(uint64_t seed, size_t i)
{
	return (uint8_t)(seed * 0x9e37u + i * 131u + (i >> 7));
}

static void write_file(struct worker *w, const char *name, size_t len, uint64_t seed, bool append)
{
	unsigned flags = RAMFS_O_WRITE | RAMFS_O_CREATE | (append ? RAMFS_O_APPEND : RAMFS_O_TRUNC);
	struct token t;

	for (size_t i = 0; i < len; i++)
		w->out[i] = pattern(seed, i);
	if (!expect(w, "open", name, ramfs_open(name, flags, &t), 0))
		return;
	expect(w, "write", name, ramfs_write(&t, w->out, len), (int64_t)len);
	struct ramfs_stat st;
	if (expect(w, "fstat", name, ramfs_fstat(&t, &st), 0))
		expect(w, "position after write", name, ramfs_seek(&t, 0, RAMFS_SEEK_CUR), (int64_t)st.size);
	expect(w, "close", name, ramfs_close(&t), 0);
}

/* Reads bytes [from, from + len) and checks them against pattern(seed, 0..len). */
static void verify(struct worker *w, const char *name, size_t from, size_t len, uint64_t seed)
{
	struct token t;

	if (!expect(w, "open", name, ramfs_open(name, RAMFS_O_READ, &t), 0))
		return;
	if (expect(w, "seek", name, ramfs_seek(&t, (int64_t)from, RAMFS_SEEK_SET), (int64_t)from) &&
	    expect(w, "read", name, ramfs_read(&t, w->in, len), (int64_t)len)) {
		for (size_t i = 0; i < len; i++) {
			if (w->in[i] != pattern(seed, i)) {
				mismatch(w, "%s byte %zu: wrote %02x, read %02x", name, from + i,
					 pattern(seed, i), w->in[i]);
				break;
			}
		}
	}
	expect(w, "close", name, ramfs_close(&t), 0);
}

static void check_size(struct worker *w, const char *name, int64_t want)
{
	struct ramfs_stat st;

	if (expect(w, "stat", name, ramfs_stat(name, &st), 0))
		expect(w, "size of", name, (int64_t)st.size, want);
}

/* Renames the file away and back, checking it can be read under the new name only. */
static void rename_round(struct worker *w, const char *name, size_t len, uint64_t seed)
{
	char moved[RAMFS_NAME_MAX + 1];
	struct ramfs_stat st;

	snprintf(moved, sizeof(moved), "work-%d-moved", w->n);
	if (!expect(w, "rename", name, ramfs_rename(name, moved), 0))
		return;
	expect(w, "stat of renamed", name, ramfs_stat(name, &st), RAMFS_E_NOT_FOUND);
	verify(w, moved, 0, len, seed);
	expect(w, "rename back", moved, ramfs_rename(moved, name), 0);
}

/* Removes the file and checks that a token for it is refused as stale. */
static void remove_round(struct worker *w, const char *name)
{
	struct ramfs_stat st;
	struct token t;
	char c;

	if (!expect(w, "open", name, ramfs_open(name, RAMFS_O_READ, &t), 0))
		return;
	expect(w, "remove", name, ramfs_remove(name), 0);
	expect(w, "read after remove", name, ramfs_read(&t, &c, 1), RAMFS_E_STALE);
	expect(w, "stat after remove", name, ramfs_stat(name, &st), RAMFS_E_NOT_FOUND);
}

static uint64_t round_seed(int n, uint64_t round)
{
	return round * 7919u + (uint64_t)n * 104729u;
}

static size_t round_len(uint64_t seed)
{
	return 1 + (size_t)(seed * 2654435761u % WORKLOAD_IO_MAX);
}

static void slot_name(char *name, size_t cap, int n, uint64_t slot)
{
	snprintf(name, cap, "work-%d-%lu", n, slot);
}

static void files_round(struct worker *w)
{
	char name[RAMFS_NAME_MAX + 1];
	uint64_t seed = round_seed(w->n, w->round);
	size_t len = round_len(seed);

	slot_name(name, sizeof(name), w->n, w->round % WORKLOAD_FILES);
	write_file(w, name, len, seed, false);
	verify(w, name, 0, len, seed);
	write_file(w, name, APPEND_LEN, ~seed, true);
	verify(w, name, len, APPEND_LEN, ~seed);
	check_size(w, name, (int64_t)(len + APPEND_LEN));
	if (w->round % 8 == 7)
		rename_round(w, name, len, seed);
	if (w->round % 16 == 15)
		remove_round(w, name);
}

static void counter_name(char *rec, size_t cap, int n)
{
	snprintf(rec, cap, "%s%d", WORKLOAD_CTR_PREFIX, n);
}

/*
 * A restarted worker redoes from its start the round a fault interrupted
 * (the counter marks it busy). If that round was inside rename_round, the
 * file may still be under its moved name, and the redone round's rename
 * would find it there: the half-done rename is undone first.
 */
static void undo_rename(struct worker *w)
{
	char moved[RAMFS_NAME_MAX + 1];
	int n;

	snprintf(moved, sizeof(moved), "work-%d-moved", w->n);
	n = ramfs_remove(moved);
	if (n && n != RAMFS_E_NOT_FOUND)
		mismatch(w, "remove of the half-renamed %s gave %d (%s)", moved, n, ramfs_strerror(n));
}

/* Starts from what the record holds (creating it at 0). */
static int counter_init(struct worker *w)
{
	struct workload_counter c = { 0, 0 };
	char rec[32];
	int n;

	counter_name(rec, sizeof(rec), w->n);
	n = sdb_get(rec, &c, sizeof(c), NULL);
	if (n == STATEDB_E_NOT_FOUND)
		n = sdb_create("workload", rec, WORKLOAD_CTR_TYPE, WORKLOAD_LAYOUT, &c, sizeof(c));
	else if (n == (int)sizeof(c))
		n = 0;
	if (n)
		klog(LOG_ERR, "workload: worker %d: counter %s unusable: %s", w->n, rec, sdb_strerror(n));
	w->counter = c.value;
	w->round = c.value;	/* a restarted worker goes on where its counter is */
	if (!n && c.busy)
		undo_rename(w);
	return n;
}

/* Marks the round's file slot as being rewritten, for `work verify`. */
static void mark_busy(struct worker *w)
{
	struct workload_counter c = { w->counter, w->round % WORKLOAD_FILES + 1 };
	char rec[32];
	int n;

	counter_name(rec, sizeof(rec), w->n);
	if ((n = sdb_update(rec, WORKLOAD_LAYOUT, &c, sizeof(c))))
		mismatch(w, "counter %s update refused: %s", rec, sdb_strerror(n));
}

/* The counter must hold what this worker last stored; then it goes up by one. */
static void counter_round(struct worker *w)
{
	struct workload_counter c;
	char rec[32];
	int n;

	counter_name(rec, sizeof(rec), w->n);
	n = sdb_get(rec, &c, sizeof(c), NULL);
	if (n != (int)sizeof(c)) {
		mismatch(w, "counter %s unreadable: %s", rec, sdb_strerror(n));
		return;
	}
	if (c.value != w->counter)
		mismatch(w, "counter %s holds %lu, expected %lu", rec, c.value, w->counter);
	c.value = ++w->counter;
	c.busy = 0;
	n = sdb_update(rec, WORKLOAD_LAYOUT, &c, sizeof(c));
	if (n)
		mismatch(w, "counter %s update refused: %s", rec, sdb_strerror(n));
}

/* Adds one round's results to "workload/stats"; interrupts off make it atomic. */
static void count_round(struct worker *w)
{
	struct workload_stats s = { 0, 0 };
	uint64_t flags = irq_save();
	int n = sdb_get(WORKLOAD_STATS_RECORD, &s, sizeof(s), NULL);

	if (n == (int)sizeof(s) || n == STATEDB_E_NOT_FOUND) {
		s.operations++;
		s.errors += w->errors;
		n = sdb_put("workload", WORKLOAD_STATS_RECORD, WORKLOAD_STATS_TYPE, WORKLOAD_LAYOUT,
			    &s, sizeof(s));
	}
	irq_restore(flags);
	if (n < 0)
		klog(LOG_ERR, "workload: MISMATCH worker %d: stats record unusable: %s", w->n,
		     sdb_strerror(n));
}

static bool should_run(const struct worker *w)
{
	struct workload_state s;

	return sdb_get(WORKLOAD_STATE_RECORD, &s, sizeof(s), NULL) == (int)sizeof(s) &&
	       s.running && s.epoch == w->epoch;
}

int workload_task(uint64_t arg)
{
	struct worker w = { .n = (int)(arg & 0xff), .epoch = (uint32_t)(arg >> 8) };

	w.out = kmalloc(WORKLOAD_IO_MAX);
	w.in = kmalloc(WORKLOAD_IO_MAX);
	if (!w.out || !w.in || counter_init(&w)) {
		klog(LOG_ERR, "workload: worker %d cannot start", w.n);
		kfree(w.out);
		kfree(w.in);
		return -1;
	}
	for (; should_run(&w); w.round++) {
		w.errors = 0;
		mark_busy(&w);
		files_round(&w);
		counter_round(&w);
		count_round(&w);
		task_sleep_ms(WORKLOAD_PAUSE_MS);
	}
	kfree(w.out);
	kfree(w.in);
	return 0;
}

/* What slot k must hold after `done` completed rounds: the last round that wrote it, if kept. */
static void verify_slot(struct worker *w, uint64_t done, uint64_t k, uint64_t *checked)
{
	char name[RAMFS_NAME_MAX + 1];
	struct ramfs_stat st;
	uint64_t r, seed;
	size_t len;

	slot_name(name, sizeof(name), w->n, k);
	(*checked)++;
	if (done <= k) {
		expect(w, "stat of never written", name, ramfs_stat(name, &st), RAMFS_E_NOT_FOUND);
		return;
	}
	r = k + (done - 1 - k) / WORKLOAD_FILES * WORKLOAD_FILES;
	w->round = r;
	if (r % 16 == 15) {
		expect(w, "stat of removed", name, ramfs_stat(name, &st), RAMFS_E_NOT_FOUND);
		return;
	}
	seed = round_seed(w->n, r);
	len = round_len(seed);
	check_size(w, name, (int64_t)(len + APPEND_LEN));
	verify(w, name, 0, len, seed);
	verify(w, name, len, APPEND_LEN, ~seed);
}

uint64_t workload_verify(int n, uint64_t *checked)
{
	struct worker w = { .n = n };
	struct workload_counter c;
	char rec[32], moved[RAMFS_NAME_MAX + 1];
	struct ramfs_stat st;
	int got;

	counter_name(rec, sizeof(rec), n);
	got = sdb_get(rec, &c, sizeof(c), NULL);
	if (got == STATEDB_E_NOT_FOUND)
		return 0;
	if (got != (int)sizeof(c)) {
		mismatch(&w, "counter %s unreadable: %s", rec, sdb_strerror(got));
		return w.errors;
	}
	w.out = kmalloc(WORKLOAD_IO_MAX);
	w.in = kmalloc(WORKLOAD_IO_MAX);
	if (!w.out || !w.in) {
		mismatch(&w, "no memory to verify");
	} else {
		for (uint64_t k = 0; k < WORKLOAD_FILES; k++)
			if (c.busy != k + 1)	/* the round a fault interrupted */
				verify_slot(&w, c.value, k, checked);
		snprintf(moved, sizeof(moved), "work-%d-moved", n);
		if (!c.busy)
			expect(&w, "stat of moved", moved, ramfs_stat(moved, &st), RAMFS_E_NOT_FOUND);
	}
	kfree(w.out);
	kfree(w.in);
	return w.errors;
}
