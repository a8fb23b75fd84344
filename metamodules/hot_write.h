/*
 * In-place writes of fixed-size records through their state_db handles,
 * changed words only. Header-only and static, so that each cell that
 * includes it carries its own copy and exports nothing extra.
 *
 * state_db patches a record's checksum over the bytes written and the
 * bytes behind them (include/delos/state_db.h, "The hot path"). Writing
 * whole 8-byte words, and only the span of words that changed, keeps that
 * patch to a few table lookups per word, and to none for the bytes behind
 * the span when the fields that change most often end the record.
 */
#ifndef METAMODULES_HOT_WRITE_H
#define METAMODULES_HOT_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include <delos/sdb.h>

/*
 * Writes the words of now (n bytes, n a multiple of 8) that differ from was,
 * at the record's bytes from `at` on. was is normally the record's own bytes
 * in place (sdb_hview), read before anything was written. Returns 0 (also
 * when nothing changed) or sdb_hwrite's error.
 */
static inline int hot_write_changed(statedb_handle h, size_t at, const void *was, const void *now,
				    size_t n)
{
	const uint64_t *a = was, *b = now;
	size_t lo = 0, hi = n / 8;

	while (lo < hi && a[lo] == b[lo])
		lo++;
	while (hi > lo && a[hi - 1] == b[hi - 1])
		hi--;
	if (lo == hi)
		return 0;
	return sdb_hwrite(h, at + lo * 8, b + lo, (hi - lo) * 8);
}

#endif
