/*
 * The rows of a run (record "bench/rows"), their statistics and the table.
 */
#include <stdarg.h>

#include <delos/log.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/bench/bench.h"



static int rows_get(struct bench_rows *r)
{
	return sdb_get(BENCH_ROWS_RECORD, r, sizeof(*r), NULL) == (int)sizeof(*r) ? 0 : -1;
}

static void rows_put(const struct bench_rows *r)
{
	sdb_put(BENCH_OWNER, BENCH_ROWS_RECORD, BENCH_TYPE, BENCH_LAYOUT, r, sizeof(*r));
}

static void sort(uint64_t *x, size_t n)
{
	/* Shell sort: a few thousand samples at most, no recursion, no allocation. */
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && x[j - gap] > x[j]; j -= gap) {
				uint64_t t = x[j];
				x[j] = x[j - gap];
				x[j - gap] = t;
			}
}

static void add_row(const char *name, uint64_t median, uint64_t min, uint64_t max, uint64_t runs)
{
	struct bench_rows *r = kmalloc(sizeof(*r));
	struct bench_row *w;

	if (!r || rows_get(r) || r->count >= BENCH_ROWS_MAX) {
		kprintf("bench: no room for the row %s\n", name);
		kfree(r);
		return;
	}
	w = &r->row[r->count++];
	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->median = median, w->min = min, w->max = max, w->runs = runs;
	rows_put(r);
	kfree(r);
}

void bench_add(const char *name, uint64_t *x, size_t n)
{
	if (!n)
		return;
	sort(x, n);
	add_row(name, x[n / 2], x[0], x[n - 1], n);
}

void bench_add_ns(const char *name, uint64_t *ns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ns[i] = bench_cycles(ns[i]);
	bench_add(name, ns, n);
}

size_t bench_runs(size_t normal, size_t quick)
{
	struct bench_rows *r = kmalloc(sizeof(*r));
	size_t n = normal;

	if (r && !rows_get(r) && r->quick)
		n = quick;
	kfree(r);
	return n;
}

uint64_t *bench_buf(void)
{
	uint64_t *x = kmalloc(BENCH_SAMPLES * sizeof(uint64_t));

	if (!x)
		kprintf("bench: no memory for %u samples\n", BENCH_SAMPLES);
	return x;
}

uint64_t bench_zero(void)
{
	uint64_t x[101];

	for (int i = 0; i < 101; i++) {
		uint64_t t0 = bench_rdtsc();
		x[i] = bench_rdtsc() - t0;
	}
	sort(x, 101);
	return x[50];
}

uint64_t bench_ns(uint64_t cycles)
{
	uint64_t hz = tsc_hz() ? tsc_hz() : 1000000000ull;

	return cycles / hz * 1000000000ull + cycles % hz * 1000000000ull / hz;
}

uint64_t bench_cycles(uint64_t ns)
{
	uint64_t hz = tsc_hz() ? tsc_hz() : 1000000000ull;

	return ns / 1000000000ull * hz + ns % 1000000000ull * hz / 1000000000ull;
}

void bench_note(const char *fmt, ...)
{
	struct bench_rows *r = kmalloc(sizeof(*r));
	va_list ap;

	if (!r || rows_get(r) || r->notes >= BENCH_NOTES_MAX) {
		kfree(r);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(r->note[r->notes++], BENCH_NOTE_LEN + 1, fmt, ap);
	va_end(ap);
	rows_put(r);
	kfree(r);
}
