/*
 * Host tests of state_db's hot path (include/delos/state_db.h, "The hot
 * path"): handles, in-place updates under the sequence counter, the
 * checksum kept exact, verification when a record is taken over, and the
 * scrub's bound.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/state_db.h>
#include "state_db/internal.h"

static long live_blocks, alloc_calls;
static struct state_db db;

static void *t_alloc(void *ctx, size_t n)
{
	(void)ctx;
	alloc_calls++;
	live_blocks++;
	return aligned_alloc(16, (n + 15) & ~(size_t)15);
}

static void t_free(void *ctx, void *p)
{
	(void)ctx;
	live_blocks--;
	free(p);
}

static void setup(void)
{
	live_blocks = alloc_calls = 0;
	cr_assert_eq(statedb_init(&db, t_alloc, t_free, NULL), STATEDB_OK);
}

static void teardown(void)
{
	if (sdb_root_ok(&db))
		statedb_fini(&db);
	cr_assert_eq(live_blocks, 0, "%ld blocks leaked", live_blocks);
}

TestSuite(state_db_hot, .init = setup, .fini = teardown);

struct val16 {
	uint64_t a, b;
};

static statedb_handle open16(const char *name, uint64_t a, uint64_t b)
{
	struct val16 v = { a, b };
	statedb_handle h;

	cr_assert_eq(statedb_create(&db, name, 3, 1, "tester", &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_hopen(&db, name, 0, &h), STATEDB_OK);
	cr_assert_neq(h, 0);
	return h;
}

/* The record's stored checksum is the one a full recomputation gives. */
static void assert_crc_exact(const char *name)
{
	struct sdb_slot *slot;
	struct sdb_rec *r = sdb_writer_find(&db, name, &slot);

	cr_assert_not_null(r);
	cr_assert_eq(sdb_rec_crc(r), r->crc, "'%s': stored %08x, recomputed %08x", name, r->crc,
		     sdb_rec_crc(r));
	cr_assert(sdb_rec_ok(r, name));
}

Test(state_db_hot, handle_reads_and_writes_in_place_without_allocating)
{
	statedb_handle h = open16("hot/a", 1, 2);
	struct val16 v = { 3, 4 }, got;
	struct statedb_meta m;
	long calls = alloc_calls;
	uint64_t b = 99;

	cr_assert_eq(statedb_hget(&db, h, &got, sizeof got, &m), (int)sizeof got);
	cr_assert(got.a == 1 && got.b == 2);
	cr_assert_str_eq(m.name, "hot/a");
	cr_assert_eq(statedb_hupdate(&db, h, &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_hwrite(&db, h, offsetof(struct val16, b), &b, sizeof b), STATEDB_OK);
	cr_assert_eq(alloc_calls, calls, "an in-place write allocated");
	cr_assert_eq(statedb_get(&db, "hot/a", &got, sizeof got, NULL), (int)sizeof got);
	cr_assert(got.a == 3 && got.b == 99);
	assert_crc_exact("hot/a");
	/* A plain update of a record with a handle goes in place too. */
	v = (struct val16){ 5, 6 };
	cr_assert_eq(statedb_update(&db, "hot/a", STATEDB_TYPE_KEEP, 2, &v, sizeof v), STATEDB_OK);
	cr_assert_eq(alloc_calls, calls);
	cr_assert_eq(statedb_hget(&db, h, &got, sizeof got, &m), (int)sizeof got);
	cr_assert(got.a == 5 && got.b == 6 && m.version == 2);
	assert_crc_exact("hot/a");
}

Test(state_db_hot, bad_in_place_writes_change_nothing)
{
	statedb_handle h = open16("hot/a", 1, 2);
	struct val16 got;
	uint64_t x = 7;

	cr_assert_eq(statedb_hwrite(&db, h, 9, &x, sizeof x), STATEDB_E_RANGE);
	cr_assert_eq(statedb_hwrite(&db, h, 17, &x, 0), STATEDB_E_RANGE);
	cr_assert_eq(statedb_hwrite(&db, h, 0, NULL, 8), STATEDB_E_INVAL);
	cr_assert_eq(statedb_hget(&db, h, &got, 8, NULL), STATEDB_E_NOSPACE);
	cr_assert_eq(statedb_hget(&db, 0, &got, sizeof got, NULL), STATEDB_E_STALE);
	cr_assert_eq(statedb_hget(&db, h + 1, &got, sizeof got, NULL), STATEDB_E_STALE);
	cr_assert_eq(statedb_hget(&db, h ^ (1ull << 40), &got, sizeof got, NULL), STATEDB_E_STALE);
	cr_assert_eq(statedb_hget(&db, h, &got, sizeof got, NULL), (int)sizeof got);
	cr_assert(got.a == 1 && got.b == 2);
	cr_assert_eq(statedb_hopen(&db, "hot/none", 0, &h), STATEDB_E_NOT_FOUND);
	cr_assert_eq(h, 0);
	cr_assert_str_neq(statedb_strerror(STATEDB_E_STALE), "unknown error");
}

Test(state_db_hot, stale_handle_after_delete_and_recreate_is_refused)
{
	statedb_handle h = open16("hot/a", 1, 2), h2;
	struct val16 got, v = { 8, 9 };

	cr_assert_eq(statedb_delete(&db, "hot/a"), STATEDB_OK);
	cr_assert_eq(statedb_hget(&db, h, &got, sizeof got, NULL), STATEDB_E_STALE);
	cr_assert_eq(statedb_hwrite(&db, h, 0, &v, 8), STATEDB_E_STALE);
	cr_assert_eq(statedb_hupdate(&db, h, &v, sizeof v), STATEDB_E_STALE);
	/* Same name again, and it reuses the freed handle slot: the old handle stays refused. */
	h2 = open16("hot/a", 8, 9);
	cr_assert_eq((uint32_t)h2, (uint32_t)h, "the freed slot is reused");
	cr_assert_neq(h2, h);
	cr_assert_eq(statedb_hget(&db, h, &got, sizeof got, NULL), STATEDB_E_STALE);
	cr_assert_eq(statedb_hupdate(&db, h, &v, sizeof v), STATEDB_E_STALE);
	cr_assert_eq(statedb_hget(&db, h2, &got, sizeof got, NULL), (int)sizeof got);
	cr_assert(got.a == 8 && got.b == 9);
}

Test(state_db_hot, handle_follows_moves_and_transactions)
{
	statedb_handle h = open16("hot/a", 1, 2), again;
	unsigned char big[64];
	struct statedb_txn *t;
	struct val16 v = { 10, 11 }, got;

	memset(big, 0x5a, sizeof big);
	/* Too big for its buffer: moved to a new one, the handle follows. */
	cr_assert_eq(statedb_hupdate(&db, h, big, sizeof big), STATEDB_OK);
	cr_assert_eq(statedb_hget(&db, h, big, sizeof big, NULL), (int)sizeof big);
	assert_crc_exact("hot/a");
	/* Updated by a transaction: the handle names the committed value. */
	cr_assert_eq(statedb_txn_begin(&db, 1, &t), STATEDB_OK);
	cr_assert_eq(statedb_txn_update(&db, t, "hot/a", STATEDB_TYPE_KEEP, 1, &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_hget(&db, h, big, sizeof big, NULL), (int)sizeof big, "not before commit");
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_OK);
	cr_assert_eq(statedb_hget(&db, h, &got, sizeof got, NULL), (int)sizeof got);
	cr_assert(got.a == 10 && got.b == 11);
	cr_assert_eq(statedb_hopen(&db, "hot/a", 0, &again), STATEDB_OK);
	cr_assert_eq(again, h, "one handle per record");
	/* Deleted by a transaction: stale. */
	cr_assert_eq(statedb_txn_begin(&db, 1, &t), STATEDB_OK);
	cr_assert_eq(statedb_txn_delete(&db, t, "hot/a"), STATEDB_OK);
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_OK);
	cr_assert_eq(statedb_hget(&db, h, &got, sizeof got, NULL), STATEDB_E_STALE);
}

Test(state_db_hot, capacity_lets_a_record_grow_in_place)
{
	unsigned char buf[200];
	statedb_handle h;
	long calls;

	memset(buf, 1, sizeof buf);
	cr_assert_eq(statedb_create(&db, "hot/q", 3, 1, "tester", buf, 24), STATEDB_OK);
	cr_assert_eq(statedb_hopen(&db, "hot/q", sizeof buf, &h), STATEDB_OK);
	calls = alloc_calls;
	for (size_t len = 24; len <= sizeof buf; len += 16) {
		memset(buf, (int)len, len);
		cr_assert_eq(statedb_hupdate(&db, h, buf, len), STATEDB_OK);
		cr_assert_eq(statedb_get(&db, "hot/q", buf, sizeof buf, NULL), (int)len);
		assert_crc_exact("hot/q");
	}
	cr_assert_eq(alloc_calls, calls, "growing within the capacity allocated");
	struct statedb_stats st;
	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	cr_assert_eq(st.data_bytes, 24 + 16 * ((sizeof buf - 24) / 16));
}

/* An open transaction that touched a record sees an in-place write as a conflict. */
Test(state_db_hot, in_place_write_conflicts_with_open_transaction)
{
	statedb_handle h = open16("hot/a", 1, 2);
	struct val16 v = { 5, 5 };
	struct statedb_txn *t;
	uint64_t x = 3;

	cr_assert_eq(statedb_txn_begin(&db, 1, &t), STATEDB_OK);
	cr_assert_eq(statedb_txn_update(&db, t, "hot/a", STATEDB_TYPE_KEEP, 1, &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_hwrite(&db, h, 0, &x, sizeof x), STATEDB_OK);
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_E_CONFLICT);
	cr_assert_eq(statedb_hget(&db, h, &v, sizeof v, NULL), (int)sizeof v);
	cr_assert(v.a == 3 && v.b == 2, "the in-place value stands");
}

/* Torn reads: a reader runs at every step of an in-place write (the fail point). */
struct reader {
	statedb_handle h;
	uint64_t old_fill, new_fill;
	unsigned steps, busy, whole;
};

static void check_whole(struct reader *r, const uint64_t *w, int n)
{
	for (int i = 1; i < n; i++)
		cr_assert_eq(w[i], w[0], "torn read: word %d is %lx, word 0 %lx", i, w[i], w[0]);
	cr_assert(w[0] == r->old_fill || w[0] == r->new_fill);
	r->whole++;
}

static bool read_between(uint64_t arg, int step);

/* The stand-in for nano_core's cellref resolution: test:read_between is the
 * fail point below, and nothing else resolves. */
static bool commit_stop(uint64_t arg, int step);

uint64_t cellref_resolve(const struct cellref *ref)
{
	if (strcmp(ref->cell, "test") == 0 && strcmp(ref->sym, "read_between") == 0)
		return (uint64_t)(uintptr_t)read_between;
	if (strcmp(ref->cell, "test") == 0 && strcmp(ref->sym, "commit_stop") == 0)
		return (uint64_t)(uintptr_t)commit_stop;
	return 0;
}

static const struct cellref read_between_ref = { "test", "read_between" };

static bool read_between(uint64_t arg, int step)
{
	void *ctx = (void *)(uintptr_t)arg;
	struct reader *r = ctx;
	uint64_t w[16];
	int n;

	cr_assert(step >= STATEDB_STEP_INPLACE_BEGIN && step <= STATEDB_STEP_INPLACE_END,
		  "in-place step %d", step);
	r->steps |= 1u << (step - STATEDB_STEP_INPLACE_BEGIN);
	n = statedb_hget(&db, r->h, w, sizeof w, NULL);
	if (n == STATEDB_E_BUSY)
		r->busy++;
	else
		check_whole(r, w, n / 8);
	n = statedb_get(&db, "hot/t", w, sizeof w, NULL);
	if (n == STATEDB_E_BUSY)
		r->busy++;
	else
		check_whole(r, w, n / 8);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0, "no false corruption mid-write");
	return true;    /* asks to stop: in-place writes do not stop half way */
}

Test(state_db_hot, readers_never_see_a_torn_in_place_write)
{
	uint64_t w[16], fill = 0x1111111111111111ull;
	struct reader r = { 0 };

	for (int i = 0; i < 16; i++)
		w[i] = fill;
	cr_assert_eq(statedb_create(&db, "hot/t", 3, 1, "tester", w, sizeof w), STATEDB_OK);
	cr_assert_eq(statedb_hopen(&db, "hot/t", 0, &r.h), STATEDB_OK);
	cr_assert_eq(statedb_set_fail_point(&db, &read_between_ref, (uint64_t)(uintptr_t)&r), STATEDB_OK);
	for (int k = 2; k < 6; k++) {
		r.old_fill = fill;
		r.new_fill = fill = 0x1111111111111111ull * (uint64_t)k;
		for (int i = 0; i < 16; i++)
			w[i] = fill;
		cr_assert_eq(k % 2 ? statedb_hupdate(&db, r.h, w, sizeof w)
				   : statedb_update(&db, "hot/t", STATEDB_TYPE_KEEP, 1, w, sizeof w),
			     STATEDB_OK);
	}
	statedb_set_fail_point(&db, NULL, 0);
	cr_assert_eq(r.steps, 0xf, "every in-place step was reached");
	cr_assert_gt(r.busy, 0, "readers in the middle were told to retry");
	cr_assert_gt(r.whole, 0, "readers at the end saw the whole new value");
	cr_assert_eq(statedb_hget(&db, r.h, w, sizeof w, NULL), (int)sizeof w);
	check_whole(&r, w, 16);
	cr_assert_eq(w[0], fill);
	assert_crc_exact("hot/t");
}

/* Corrupts a data byte behind state_db's back. */
static void corrupt(const char *name, size_t at)
{
	struct sdb_slot *slot;
	struct sdb_rec *r = sdb_writer_find(&db, name, &slot);

	cr_assert_not_null(r);
	r->data[at] ^= 0x40;
}

static int seen_bad;
static bool count_bad(void *ctx, const struct statedb_meta *m)
{
	(void)ctx;
	cr_assert_not(m->checksum_ok);
	seen_bad++;
	return true;
}

Test(state_db_hot, corruption_is_refused_when_a_record_is_taken_over)
{
	statedb_handle h = open16("hot/a", 1, 2), again;

	open16("hot/b", 3, 4);
	corrupt("hot/a", 3);
	/* The handle read does not verify (that is the point of it) ... */
	struct val16 got;
	cr_assert_eq(statedb_hget(&db, h, &got, sizeof got, NULL), (int)sizeof got);
	/* ... but a new cell version opening its handle does, and so does a new state_db's code. */
	cr_assert_eq(statedb_hopen(&db, "hot/a", 0, &again), STATEDB_E_CORRUPT);
	cr_assert_eq(again, 0);
	seen_bad = 0;
	cr_assert_eq(statedb_takeover(&db, count_bad, NULL), 1);
	cr_assert_eq(seen_bad, 1);
	cr_assert_eq(statedb_hopen(&db, "hot/b", 0, &again), STATEDB_OK);
	/* `state` (a list) says so too. */
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 1);
}

/*
 * A hot record's write patches its checksum over the bytes it changes, so a
 * corruption stays seen after it, wherever it is; a write that changes the
 * header checks the old value first and refuses.
 */
Test(state_db_hot, corruption_is_not_written_over)
{
	statedb_handle h = open16("hot/a", 1, 2), again;
	struct val16 v = { 7, 7 };
	uint64_t x = 1;

	corrupt("hot/a", 12);
	cr_assert_eq(statedb_hwrite(&db, h, 0, &x, sizeof x), STATEDB_OK);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 1, "a write elsewhere does not hide it");
	cr_assert_eq(statedb_hupdate(&db, h, &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 1, "nor does a write over it");
	cr_assert_eq(statedb_update(&db, "hot/a", STATEDB_TYPE_KEEP, 1, &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 1, "nor a named update in place");
	cr_assert_eq(statedb_hopen(&db, "hot/a", 0, &again), STATEDB_E_CORRUPT,
		     "a new cell version still refuses it");
	cr_assert_eq(statedb_update(&db, "hot/a", 9, 1, &v, sizeof v), STATEDB_E_CORRUPT,
		     "a write that changes the header checks first");
	/* A header corruption (the owner) is caught by a write that changes the header. */
	cr_assert_eq(statedb_delete(&db, "hot/a"), STATEDB_OK);
	h = open16("hot/a", 1, 2);
	struct sdb_slot *slot;
	sdb_writer_find(&db, "hot/a", &slot)->owner[0] ^= 1;
	cr_assert_eq(statedb_update(&db, "hot/a", 9, 1, &v, sizeof v), STATEDB_E_CORRUPT);
	cr_assert_eq(statedb_hupdate(&db, h, &v, sizeof v), STATEDB_OK, "data intact: written");
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 1, "the header's corruption is still seen");
}

/* A patched checksum is the checksum of the whole record, at every offset and length. */
Test(state_db_hot, patched_checksums_are_exact)
{
	unsigned char buf[2600], part[64];	/* past every level of the shift tables */
	statedb_handle h;

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	cr_assert_eq(statedb_create(&db, "hot/p", 1, 1, "t", buf, sizeof buf), STATEDB_OK);
	cr_assert_eq(statedb_hopen(&db, "hot/p", 0, &h), STATEDB_OK);
	for (size_t at = 0; at < sizeof buf; at += 37)
		for (size_t n = 0; n <= sizeof part && at + n <= sizeof buf; n += 9) {
			for (size_t i = 0; i < n; i++)
				part[i] = (unsigned char)(at + n + i);
			cr_assert_eq(statedb_hwrite(&db, h, at, part, n), STATEDB_OK);
			cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0, "at %zu n %zu", at, n);
		}
}

Test(state_db_hot, scrub_finds_corruption_within_its_bound)
{
	char name[32];
	struct statedb_stats st;
	size_t per_call = 4, calls, bound;

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "hot/r%d", i);
		open16(name, (uint64_t)i, 0);
	}
	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	bound = (st.index_slots + per_call - 1) / per_call;
	for (int victim = 0; victim < 40; victim += 13) {
		snprintf(name, sizeof name, "hot/r%d", victim);
		corrupt(name, 9);
		/* From wherever the scrub's cursor is, within `bound` calls. */
		for (calls = 1; calls <= bound; calls++)
			if (statedb_scrub(&db, per_call, NULL, NULL) == 1)
				break;
		cr_assert_leq(calls, bound, "'%s' found after %zu calls, bound %zu", name, calls, bound);
		cr_assert_eq(statedb_delete(&db, name), STATEDB_OK);
	}
	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	cr_assert_gt(st.scrubbed, 0);
	cr_assert_eq(statedb_scrub(&db, st.index_slots, NULL, NULL), 0, "the rest is intact");
	cr_assert_eq(statedb_scrub(NULL, 1, NULL, NULL), STATEDB_E_ROOT);
}

/* Calls of statedb_scrub_bytes with `budget` bytes a round takes, from the stats. */
static size_t scrub_round(size_t budget)
{
	struct statedb_stats st;

	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	cr_assert_gt(st.scrub_cost, 0);
	return (st.scrub_cost + budget - 1) / budget;
}

/* Small records and large ones, each corrupted near its start and near its end. */
Test(state_db_hot, byte_scrub_finds_corruption_within_two_rounds)
{
	static unsigned char big[1500];
	const size_t budget = 64;
	const size_t spots[] = { 0, 700, sizeof big - 1 };
	char name[32];

	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof name, "hot/r%d", i);
		open16(name, (uint64_t)i, 0);
	}
	for (int i = 0; i < 4; i++) {
		memset(big, 'a' + i, sizeof big);
		snprintf(name, sizeof name, "hot/big%d", i);
		cr_assert_eq(statedb_create(&db, name, 1, 1, "t", big, sizeof big), STATEDB_OK);
	}
	for (int victim = 0; victim < 4; victim++) {
		for (size_t k = 0; k < sizeof spots / sizeof spots[0]; k++) {
			size_t bound = 2 * scrub_round(budget), calls;
			int bad = 0;

			snprintf(name, sizeof name, "hot/big%d", victim);
			corrupt(name, spots[k]);
			/* From wherever the cursor is, even in the middle of this record. */
			for (calls = 1; calls <= bound; calls++)
				if ((bad = statedb_scrub_bytes(&db, budget, NULL, NULL)) != 0)
					break;
			cr_assert_eq(bad, 1, "'%s' byte %zu: found %d", name, spots[k], bad);
			cr_assert_leq(calls, bound, "'%s' byte %zu found after %zu calls, bound %zu",
				      name, spots[k], calls, bound);
			corrupt(name, spots[k]);        /* repaired: the same bit back */
		}
		snprintf(name, sizeof name, "hot/r%d", victim * 7);
		corrupt(name, 3);
		size_t bound = 2 * scrub_round(budget), calls;
		for (calls = 1; calls <= bound; calls++)
			if (statedb_scrub_bytes(&db, budget, NULL, NULL) == 1)
				break;
		cr_assert_leq(calls, bound, "'%s' found after %zu calls, bound %zu", name, calls, bound);
		cr_assert_eq(statedb_delete(&db, name), STATEDB_OK);
	}
	/* A whole round of an intact store finds nothing. */
	for (size_t calls = scrub_round(budget) + 1; calls; calls--)
		cr_assert_eq(statedb_scrub_bytes(&db, budget, NULL, NULL), 0);
	cr_assert_eq(statedb_scrub_bytes(NULL, budget, NULL, NULL), STATEDB_E_ROOT);
}

/* A large record written between every two calls neither stops the scrub nor hides a fault. */
Test(state_db_hot, byte_scrub_is_not_starved_by_a_record_written_every_call)
{
	static unsigned char big[2000];
	struct statedb_stats st;
	statedb_handle h;
	uint64_t rounds;
	char name[32];

	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "hot/r%d", i);
		open16(name, (uint64_t)i, 0);
	}
	cr_assert_eq(statedb_create(&db, "hot/busy", 1, 1, "t", big, sizeof big), STATEDB_OK);
	cr_assert_eq(statedb_hopen(&db, "hot/busy", 0, &h), STATEDB_OK);
	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	rounds = st.scrub_rounds;
	size_t round = scrub_round(64);
	for (size_t i = 0; i < 3 * round; i++) {
		unsigned char b = (unsigned char)i;

		cr_assert_eq(statedb_scrub_bytes(&db, 64, NULL, NULL), 0, "call %zu", i);
		cr_assert_eq(statedb_hwrite(&db, h, i % sizeof big, &b, 1), STATEDB_OK);
	}
	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	cr_assert_geq(st.scrub_rounds - rounds, 2, "%lu rounds in %zu calls",
		      (unsigned long)(st.scrub_rounds - rounds), 3 * round);
	corrupt("hot/busy", 1999);
	size_t calls;
	for (calls = 1; calls <= 2 * round; calls++) {
		unsigned char b = 1;
		int bad = statedb_scrub_bytes(&db, 64, NULL, NULL);

		if (bad == 1)
			break;
		cr_assert_eq(bad, 0);
		/* Writes before the corrupt byte: a write refuses to cover it, so none can fix it. */
		(void)statedb_hwrite(&db, h, calls % 100, &b, 1);
	}
	cr_assert_leq(calls, 2 * round, "found after %zu calls, bound %zu", calls, 2 * round);
}

/* Both CRC-32C codes give the standard check value and agree everywhere. */
Test(state_db_hot, crc32c_table_hardware_and_software_agree)
{
	unsigned char buf[300];
	uint32_t bitwise;

	cr_assert_eq(statedb_crc32c(0, "123456789", 9), 0xe3069283u);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n < sizeof buf; n += 7) {
		bitwise = ~0u;
		for (size_t i = 0; i < n; i++) {
			bitwise ^= buf[i];
			for (int k = 0; k < 8; k++)
				bitwise = (bitwise >> 1) ^ (0x82f63b78u & (0u - (bitwise & 1u)));
		}
		bitwise = ~bitwise;
		cr_assert_eq(statedb_crc32c(0, buf, n), bitwise, "n=%zu", n);
		if (sdb_cpu_has_crc32())
			cr_assert_eq(sdb_crc32c_hw(0, buf, n), bitwise, "hw n=%zu", n);
		cr_assert_eq(statedb_crc32c(statedb_crc32c(0, buf, n / 3), buf + n / 3, n - n / 3),
			     bitwise, "continued n=%zu", n);
	}
}

/* hstore writes the span that differs from the record, nothing when none does. */
Test(state_db_hot, hstore_writes_only_what_changed)
{
	unsigned char buf[300], got[300];
	struct statedb_stats a, b;
	statedb_handle h;

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 5);
	cr_assert_eq(statedb_create(&db, "hot/s", 1, 1, "t", buf, sizeof buf), STATEDB_OK);
	cr_assert_eq(statedb_hopen(&db, "hot/s", 0, &h), STATEDB_OK);
	statedb_stats(&db, &a);
	cr_assert_eq(statedb_hstore(&db, h, buf, sizeof buf), STATEDB_OK);
	statedb_stats(&db, &b);
	cr_assert_eq(b.inplace, a.inplace, "nothing differs: nothing written");
	buf[100] ^= 1;
	buf[151] ^= 2;
	cr_assert_eq(statedb_hstore(&db, h, buf, sizeof buf), STATEDB_OK);
	statedb_stats(&db, &a);
	cr_assert_eq(a.inplace, b.inplace + 1, "one in-place write");
	buf[3] ^= 4;
	cr_assert_eq(statedb_hstore(&db, h, buf, 10), STATEDB_OK, "a prefix of the record");
	cr_assert_eq(statedb_hget(&db, h, got, sizeof got, NULL), (int)sizeof got);
	cr_assert_eq(memcmp(got, buf, sizeof buf), 0);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0, "the patched checksum verifies");
	cr_assert_eq(statedb_hstore(&db, h, buf, sizeof buf + 1), STATEDB_E_RANGE);
	cr_assert_eq(statedb_hstore(&db, h + (1ull << 32), buf, sizeof buf), STATEDB_E_STALE);
	cr_assert_eq(statedb_hget(&db, h, got, sizeof got, NULL), (int)sizeof got);
	cr_assert_eq(memcmp(got, buf, sizeof buf), 0, "refused writes changed nothing");
}

/* hview points at the record in place, with its size and version. */
Test(state_db_hot, hview_points_at_the_record)
{
	statedb_handle h = open16("hot/v", 5, 6);
	const struct val16 *v;
	const void *p;
	uint32_t version = 0;

	cr_assert_eq(statedb_hview(&db, h, &p, &version), (int)sizeof(struct val16));
	v = p;
	cr_assert_eq(v->a, 5);
	cr_assert_eq(version, 1);
	cr_assert_eq(statedb_delete(&db, "hot/v"), STATEDB_OK);
	cr_assert_eq(statedb_hview(&db, h, &p, NULL), STATEDB_E_STALE);
	cr_assert_null(p);
}

/*
 * Spare blocks: with them on, a record replaced again and again (copy on
 * write) takes one block from the allocator, not one per write; they stay
 * counted as held, and turning them off gives them back.
 */
Test(state_db_hot, spare_blocks_are_reused_and_given_back)
{
	struct val16 v = { 1, 2 };
	struct statedb_stats st;
	long calls;

	cr_assert_eq(statedb_keep_spares(&db, true), STATEDB_OK);
	cr_assert_eq(statedb_create(&db, "cow/a", 3, 1, "tester", &v, sizeof v), STATEDB_OK);
	calls = alloc_calls;
	for (int i = 0; i < 20; i++) {
		v.a++;
		cr_assert_eq(statedb_update(&db, "cow/a", 3, 1, &v, sizeof v), STATEDB_OK);
	}
	cr_assert_leq(alloc_calls - calls, 1, "%ld allocator calls for 20 updates", alloc_calls - calls);
	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	cr_assert_geq(st.spares, 1);
	cr_assert_eq(st.blocks, (size_t)live_blocks, "spare blocks are counted as held");
	cr_assert_eq(statedb_keep_spares(&db, false), STATEDB_OK);
	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	cr_assert_eq(st.spares, 0);
	cr_assert_eq(st.blocks, (size_t)live_blocks);
}

/*
 * A transaction's update that keeps the header patches the checksum: the
 * corruption of the old value is carried into the committed new one, where
 * every verifying reader still finds it.
 */
Test(state_db_hot, txn_update_carries_a_corruption)
{
	struct val16 v = { 5, 6 }, back;
	struct statedb_txn *txn;

	cr_assert_eq(statedb_create(&db, "cow/c", 3, 1, "tester", &v, sizeof v), STATEDB_OK);
	corrupt("cow/c", 2);
	cr_assert_eq(statedb_txn_begin(&db, 1, &txn), STATEDB_OK);
	v.b = 7;
	cr_assert_eq(statedb_txn_update(&db, txn, "cow/c", STATEDB_TYPE_KEEP, 1, &v, sizeof v),
		     STATEDB_OK);
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_OK);
	cr_assert_eq(statedb_get(&db, "cow/c", &back, sizeof back, NULL), STATEDB_E_CORRUPT);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 1);
	/* An intact record patched the same way verifies. */
	cr_assert_eq(statedb_create(&db, "cow/d", 3, 1, "tester", &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_txn_begin(&db, 1, &txn), STATEDB_OK);
	v.a = 9;
	cr_assert_eq(statedb_txn_update(&db, txn, "cow/d", STATEDB_TYPE_KEEP, 1, &v, sizeof v),
		     STATEDB_OK);
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_OK);
	cr_assert_eq(statedb_get(&db, "cow/d", &back, sizeof back, NULL), (int)sizeof back);
	cr_assert_eq(memcmp(&back, &v, sizeof v), 0);
}

/*
 * Transactions by handle (statedb_txn_hupdate): four 16-byte records
 * hot/x0..3, each { k, base + k }, with handles.
 */
static statedb_handle hx[4];
static const char *const hx_names[4] = { "hot/x0", "hot/x1", "hot/x2", "hot/x3" };

static void hx_setup(uint64_t base)
{
	for (int k = 0; k < 4; k++)
		hx[k] = open16(hx_names[k], (uint64_t)k, base + (uint64_t)k);
}

/* Every record holds { k, base + k } (by handle and by name), its checksum exact. */
static void hx_assert(uint64_t base)
{
	for (int k = 0; k < 4; k++) {
		struct val16 v;

		cr_assert_eq(statedb_hget(&db, hx[k], &v, sizeof v, NULL), (int)sizeof v);
		cr_assert(v.a == (uint64_t)k && v.b == base + (uint64_t)k, "%s: %lu %lu, want %lu",
			  hx_names[k], v.a, v.b, base + (uint64_t)k);
		cr_assert_eq(statedb_get(&db, hx_names[k], &v, sizeof v, NULL), (int)sizeof v);
		cr_assert_eq(v.b, base + (uint64_t)k);
		assert_crc_exact(hx_names[k]);
	}
}

static struct statedb_txn *hx_txn(uint64_t base)
{
	struct statedb_txn *t;

	cr_assert_eq(statedb_txn_begin(&db, 1, &t), STATEDB_OK);
	for (int k = 0; k < 4; k++) {
		struct val16 v = { (uint64_t)k, base + (uint64_t)k };

		cr_assert_eq(statedb_txn_hupdate(&db, t, hx[k], &v, sizeof v), STATEDB_OK);
	}
	return t;
}

Test(state_db_hot, txn_by_handle_commits_all_together)
{
	struct statedb_txn *t;
	struct val16 v;

	hx_setup(100);
	t = hx_txn(200);
	/* Inside, its own writes; outside, the committed values. */
	cr_assert_eq(statedb_txn_get(&db, t, "hot/x2", &v, sizeof v, NULL), (int)sizeof v);
	cr_assert_eq(v.b, 202);
	hx_assert(100);
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_OK);
	hx_assert(200);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
	/* An abort leaves nothing. */
	t = hx_txn(300);
	cr_assert_eq(statedb_txn_abort(&db, t), STATEDB_OK);
	hx_assert(200);
}

/* The commit's fail point: stops at publish number `at`, reading every record there. */
struct commit_stop_ctx {
	int at, publishes, busy;
	uint64_t old_base, new_base;
};

static bool commit_stop(uint64_t arg, int step)
{
	struct commit_stop_ctx *c = (void *)(uintptr_t)arg;

	if (step != STATEDB_STEP_PUBLISH)
		return false;
	c->publishes++;
	for (int k = 0; k < 4; k++) {
		struct val16 v;
		int n = statedb_get(&db, hx_names[k], &v, sizeof v, NULL);

		if (n == STATEDB_E_BUSY) {
			c->busy++;
			continue;
		}
		cr_assert_eq(n, (int)sizeof v);
		cr_assert_eq(v.b, c->old_base + (uint64_t)k, "a reader saw a new value mid-commit");
	}
	return c->publishes == c->at;
}

static const struct cellref commit_stop_ref = { "test", "commit_stop" };

Test(state_db_hot, txn_by_handle_fails_at_every_publish_and_changes_nothing)
{
	hx_setup(100);
	for (int at = 1; at <= 4; at++) {
		struct commit_stop_ctx c = { .at = at, .old_base = 100, .new_base = 200 };
		struct statedb_txn *t = hx_txn(200);
		struct statedb_stats before, after;

		cr_assert_eq(statedb_stats(&db, &before), STATEDB_OK);
		cr_assert_eq(statedb_set_fail_point(&db, &commit_stop_ref, (uint64_t)(uintptr_t)&c),
			     STATEDB_OK);
		cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_E_ABORTED, "stop at %d", at);
		statedb_set_fail_point(&db, NULL, 0);
		cr_assert_eq(c.publishes, at);
		cr_assert_gt(c.busy, 0, "readers of a record being written were told to retry");
		hx_assert(100);
		cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
		cr_assert_eq(statedb_stats(&db, &after), STATEDB_OK);
		cr_assert_eq(after.updates, before.updates);
		cr_assert_eq(after.open_txns, 0);
	}
	/* Without the fail point the same commit goes through, past 4 publishes. */
	cr_assert_eq(statedb_txn_commit(&db, hx_txn(200)), STATEDB_OK);
	hx_assert(200);
}

Test(state_db_hot, txn_by_handle_conflicts_with_a_write_in_between)
{
	struct statedb_txn *t;
	struct val16 v = { 0, 999 };

	hx_setup(100);
	t = hx_txn(200);
	cr_assert_eq(statedb_hupdate(&db, hx[0], &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_E_CONFLICT);
	cr_assert_eq(statedb_hget(&db, hx[0], &v, sizeof v, NULL), (int)sizeof v);
	cr_assert_eq(v.b, 999, "the write in between stands");
	for (int k = 1; k < 4; k++) {
		cr_assert_eq(statedb_hget(&db, hx[k], &v, sizeof v, NULL), (int)sizeof v);
		cr_assert_eq(v.b, 100 + (uint64_t)k, "nothing of the transaction was committed");
	}
	/* A record deleted in between: the commit conflicts, nothing is touched. */
	t = hx_txn(300);
	cr_assert_eq(statedb_delete(&db, "hot/x3"), STATEDB_OK);
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_E_CONFLICT);
	cr_assert_eq(statedb_hget(&db, hx[1], &v, sizeof v, NULL), (int)sizeof v);
	cr_assert_eq(v.b, 101);
}

Test(state_db_hot, txn_by_handle_mixes_with_writes_by_name)
{
	struct statedb_txn *t;
	struct val16 v = { 1, 1 }, big[8] = { { 0, 0 } };

	hx_setup(100);
	cr_assert_eq(statedb_txn_begin(&db, 1, &t), STATEDB_OK);
	cr_assert_eq(statedb_txn_hupdate(&db, t, hx[1], &v, sizeof v), STATEDB_OK);
	v = (struct val16){ 1, 2 };
	cr_assert_eq(statedb_txn_update(&db, t, "hot/x1", STATEDB_TYPE_KEEP, 1, &v, sizeof v),
		     STATEDB_OK);
	v = (struct val16){ 1, 3 };
	cr_assert_eq(statedb_txn_hupdate(&db, t, hx[1], &v, sizeof v), STATEDB_OK);
	/* Another length goes by name; a delete after an update by handle deletes. */
	big[0].b = 77;
	cr_assert_eq(statedb_txn_hupdate(&db, t, hx[2], big, sizeof big), STATEDB_OK);
	v = (struct val16){ 3, 3 };
	cr_assert_eq(statedb_txn_hupdate(&db, t, hx[3], &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_txn_delete(&db, t, "hot/x3"), STATEDB_OK);
	cr_assert_eq(statedb_txn_get(&db, t, "hot/x3", &v, sizeof v, NULL), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_OK);
	cr_assert_eq(statedb_hget(&db, hx[1], &v, sizeof v, NULL), (int)sizeof v);
	cr_assert(v.a == 1 && v.b == 3);
	assert_crc_exact("hot/x1");
	cr_assert_eq(statedb_hget(&db, hx[2], big, sizeof big, NULL), (int)sizeof big);
	cr_assert_eq(big[0].b, 77);
	assert_crc_exact("hot/x2");
	cr_assert_eq(statedb_hget(&db, hx[3], &v, sizeof v, NULL), STATEDB_E_STALE);
	cr_assert_eq(statedb_get(&db, "hot/x3", &v, sizeof v, NULL), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
}

/*
 * A value written by handle gets the rest of its header at the first by-name
 * read: the record's own owner, type and version. Once the record changed
 * outside the transaction, that read says so (the commit would refuse it);
 * once it was deleted, the name finds the committed store.
 */
Test(state_db_hot, txn_by_handle_read_by_name_has_the_records_header)
{
	struct statedb_txn *t;
	struct statedb_meta m;
	struct val16 v = { 7, 8 };

	hx_setup(100);
	cr_assert_eq(statedb_txn_begin(&db, 1, &t), STATEDB_OK);
	cr_assert_eq(statedb_txn_hupdate(&db, t, hx[0], &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_txn_hupdate(&db, t, hx[1], &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_txn_hupdate(&db, t, hx[2], &v, sizeof v), STATEDB_OK);
	memset(&v, 0, sizeof v);
	cr_assert_eq(statedb_txn_get(&db, t, "hot/x0", &v, sizeof v, &m), (int)sizeof v);
	cr_assert(v.a == 7 && v.b == 8);
	cr_assert_str_eq(m.owner, "tester");
	cr_assert_str_eq(m.name, "hot/x0");
	cr_assert(m.type == 3 && m.version == 1 && m.size == sizeof v && m.checksum_ok);
	/* hot/x1 changed outside: its by-name read, and the commit, refuse. */
	v = (struct val16){ 0, 999 };
	cr_assert_eq(statedb_hupdate(&db, hx[1], &v, sizeof v), STATEDB_OK);
	cr_assert_eq(statedb_txn_get(&db, t, "hot/x1", &v, sizeof v, NULL), STATEDB_E_CONFLICT);
	cr_assert_eq(statedb_txn_update(&db, t, "hot/x1", STATEDB_TYPE_KEEP, 1, &v, sizeof v),
		     STATEDB_E_CONFLICT);
	/* hot/x2 deleted outside: by name, the transaction finds the committed store. */
	cr_assert_eq(statedb_delete(&db, "hot/x2"), STATEDB_OK);
	cr_assert_eq(statedb_txn_get(&db, t, "hot/x2", &v, sizeof v, NULL), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_E_CONFLICT);
	cr_assert_eq(statedb_hget(&db, hx[0], &v, sizeof v, NULL), (int)sizeof v);
	cr_assert_eq(v.b, 100, "nothing of the transaction was committed");
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
}

/*
 * A record moved to a bigger buffer (statedb_hopen with more capacity)
 * after a transaction wrote it by handle: the move is a change of the
 * store, and the commit conflicts rather than writing into the old buffer.
 */
Test(state_db_hot, txn_by_handle_conflicts_with_a_move_in_between)
{
	struct statedb_stats before, after;
	struct statedb_txn *t;
	statedb_handle h;
	struct val16 v;

	hx_setup(100);
	t = hx_txn(200);
	uint64_t changes = statedb_changes(&db);

	cr_assert_eq(statedb_stats(&db, &before), STATEDB_OK);
	cr_assert_eq(statedb_hopen(&db, "hot/x2", 256, &h), STATEDB_OK);
	cr_assert_eq(h, hx[2], "the handle follows the record");
	cr_assert_neq(statedb_changes(&db), changes, "a move is a change");
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_E_CONFLICT);
	cr_assert_eq(statedb_stats(&db, &after), STATEDB_OK);
	cr_assert_eq(after.updates, before.updates);
	hx_assert(100);
	/* Begun after the move, the same transaction commits. */
	cr_assert_eq(statedb_txn_commit(&db, hx_txn(200)), STATEDB_OK);
	hx_assert(200);
	cr_assert_eq(statedb_hget(&db, hx[2], &v, sizeof v, NULL), (int)sizeof v);
}

/*
 * Changes in either word, in the low half or the high half, by a
 * transaction and in place: the patched checksum stays exact, with the
 * crc32 instruction (where the host has it) and in software.
 */
Test(state_db_hot, txn_by_handle_patches_the_checksum_of_every_change)
{
	static const struct val16 vals[] = {
		{ 1, 100 }, { 2, 100 }, { 0x1234567800000002ull, 100 }, { 0x1234567800000002ull, 101 },
		{ 5, 0xff00000000000000ull }, { 5, 0xff00000000000000ull }, { 0, 0 },
	};
	const uint32_t hw = db.hw_crc;
	struct val16 back;

	hx_setup(100);
	for (size_t i = 0; i < 2 * sizeof vals / sizeof vals[0]; i++) {

		const struct val16 *v = &vals[i % (sizeof vals / sizeof vals[0])];
		struct statedb_txn *t;

		db.hw_crc = i < sizeof vals / sizeof vals[0] ? hw : 0;
		cr_assert_eq(statedb_txn_begin(&db, 1, &t), STATEDB_OK);
		cr_assert_eq(statedb_txn_hupdate(&db, t, hx[0], v, sizeof *v), STATEDB_OK);
		cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_OK);
		cr_assert_eq(statedb_hget(&db, hx[0], &back, sizeof back, NULL), (int)sizeof back);
		cr_assert_eq(memcmp(&back, v, sizeof back), 0);
		assert_crc_exact("hot/x0");
		/* The same change in place (statedb_hupdate: the 16-byte patch too). */
		cr_assert_eq(statedb_hupdate(&db, hx[1], v, sizeof *v), STATEDB_OK);
		assert_crc_exact("hot/x1");
	}
	db.hw_crc = hw;
}

/* More updates by handle than the transaction's embedded ops: the rest in blocks of their own. */
Test(state_db_hot, txn_by_handle_past_the_embedded_ops)
{
	enum { N = SDB_TXN_INLINE_OPS + 3 };
	static const char *const names[N] = { "many/0", "many/1", "many/2", "many/3",
					      "many/4", "many/5", "many/6" };
	statedb_handle h[N];
	struct val16 v;

	for (int k = 0; k < N; k++)
		h[k] = open16(names[k], (uint64_t)k, 0);
	for (int round = 0; round < 2; round++) {
		struct statedb_txn *t;

		cr_assert_eq(statedb_txn_begin(&db, 1, &t), STATEDB_OK);
		for (int k = 0; k < N; k++) {
			v = (struct val16){ (uint64_t)k, 10 + (uint64_t)round };
			cr_assert_eq(statedb_txn_hupdate(&db, t, h[k], &v, sizeof v), STATEDB_OK);
		}
		/* Round 0 aborts (its blocks freed: teardown counts them), round 1 commits. */
		cr_assert_eq(round ? statedb_txn_commit(&db, t) : statedb_txn_abort(&db, t), STATEDB_OK);
		for (int k = 0; k < N; k++) {
			cr_assert_eq(statedb_hget(&db, h[k], &v, sizeof v, NULL), (int)sizeof v);
			cr_assert_eq(v.b, round ? 11u : 0u, "%s after round %d", names[k], round);
			assert_crc_exact(names[k]);
		}
	}
}

Test(state_db_hot, txn_by_handle_carries_a_corruption)
{
	struct statedb_txn *t;
	struct val16 v;

	hx_setup(100);
	corrupt("hot/x0", 5);
	t = hx_txn(200);
	cr_assert_eq(statedb_txn_commit(&db, t), STATEDB_OK);
	/* A hot record's get checks bounds only; every verifying reader refuses it. */
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 1, "x0 is refused, the other three verify");
	cr_assert_eq(statedb_hopen(&db, "hot/x0", 0, &hx[0]), STATEDB_E_CORRUPT);
	cr_assert_eq(statedb_txn_hupdate(&db, NULL, hx[1], &v, sizeof v), STATEDB_E_TXN);
}
