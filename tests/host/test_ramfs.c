/*
 * Host tests for the ramfs logic (the .c files of cells/ramfs, the code of ramfs@1 and
 * ramfs@2) over the real state_db store: tokens through every call, every
 * single-bit flip of a token refused, tokens of other servers and keys,
 * stale tokens, bad input that changes nothing, files of many chunks, short
 * writes when the store refuses, damaged records, random operation
 * sequences against a model (fixed seeds), and migration from layout 1 to 2.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/state_db.h>
#include <delos/token.h>
#include "cells/ramfs/fs.h"
#include "cells/ramfs/store.h"

/* The store: a state_db root of the test's own, with malloc. */
static struct state_db db;

static void *t_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return aligned_alloc(16, (n + 15) & ~(size_t)15);
}

static void t_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

int rfs_store_view(const char *name, const void **data, struct statedb_meta *meta)
{
	return statedb_view(&db, name, data, meta);
}

int rfs_store_create(const char *name, uint32_t type, uint32_t version, const void *data,
		     size_t len)
{
	return statedb_create(&db, name, type, version, RAMFS_OWNER, data, len);
}

int rfs_store_put(const char *name, uint32_t type, uint32_t version, const void *data,
		  size_t len)
{
	int err = statedb_update(&db, name, type, version, data, len);

	if (err == STATEDB_E_NOT_FOUND)
		err = statedb_create(&db, name, type, version, RAMFS_OWNER, data, len);
	return err;
}

int rfs_store_delete(const char *name)
{
	return statedb_delete(&db, name);
}

struct prefix_walk {
	const char *prefix;
	statedb_list_fn *fn;
	void *ctx;
};

static bool prefix_filter(void *ctx, const struct statedb_meta *meta)
{
	struct prefix_walk *w = ctx;

	if (strncmp(meta->name, w->prefix, strlen(w->prefix)))
		return true;
	return w->fn(w->ctx, meta);
}

int rfs_store_list(const char *prefix, statedb_list_fn *fn, void *ctx)
{
	struct prefix_walk w = { prefix, fn, ctx };

	return statedb_list(&db, prefix_filter, &w);
}

void *rfs_store_alloc(size_t bytes)
{
	return malloc(bytes);
}

void rfs_store_free(void *p)
{
	free(p);
}

/* Two file systems over the same store: the code of ramfs@1 and of ramfs@2. */
static struct rfs fs1, fs2;

static void setup(void)
{
	static const uint8_t seed[16] = "ramfs test seed";

	cr_assert_eq(statedb_init(&db, t_alloc, t_free, NULL), STATEDB_OK);
	fs1.layout = 1;
	cr_assert_eq(token_key_derive(seed, sizeof(seed), &fs1.key), TOKEN_OK);
	fs1.now_ns = 1000;
	fs2 = fs1;
	fs2.layout = 2;
}

static void teardown(void)
{
	statedb_fini(&db);
}

TestSuite(ramfs, .init = setup, .fini = teardown);

/* A fixed-seed generator (splitmix64), so failures reproduce. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_bytes(void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng();
}

static struct token open_ok(const struct rfs *fs, const char *name, unsigned flags)
{
	struct token t;
	int err = rfs_open(fs, name, flags, &t);

	cr_assert_eq(err, 0, "open %s: %s", name, ramfs_strerror(err));
	return t;
}

static void write_ok(const struct rfs *fs, struct token *t, const void *buf, size_t n)
{
	int64_t w = rfs_write(fs, t, buf, n);

	cr_assert_eq(w, (int64_t)n, "write %zu: %lld (%s)", n, (long long)w,
		     ramfs_strerror((int)w));
}

/* The whole file, read through a fresh token; returns its size. */
static size_t slurp(const struct rfs *fs, const char *name, uint8_t *buf, size_t cap)
{
	struct token t = open_ok(fs, name, RAMFS_O_READ);
	size_t got = 0;
	int64_t n;

	while ((n = rfs_read(fs, &t, buf + got, cap - got)) > 0)
		got += (size_t)n;
	cr_assert_eq(n, 0, "read %s: %s", name, ramfs_strerror((int)n));
	return got;
}

static int64_t tell(const struct rfs *fs, struct token *t)
{
	return rfs_seek(fs, t, 0, RAMFS_SEEK_CUR);
}

static bool count_one(void *ctx, const struct statedb_meta *m)
{
	(void)m;
	++*(size_t *)ctx;
	return true;
}

static size_t count_prefix(const char *prefix)
{
	size_t n = 0;

	rfs_store_list(prefix, count_one, &n);
	return n;
}

/* A fingerprint of every record (name, version, checksum), independent of
 * the walk's order: equal before and after means nothing changed. */
static bool mix_one(void *ctx, const struct statedb_meta *m)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *p = m->name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	*(uint64_t *)ctx += h ^ ((uint64_t)m->checksum << 8) ^ m->version ^ m->size;
	return true;
}

static uint64_t store_print(void)
{
	uint64_t h = 0;

	cr_assert_geq(statedb_list(&db, mix_one, &h), 0);
	return h;
}

Test(ramfs, token_round_trip)
{
	uint8_t buf[16] = { 0 };
	struct token t = open_ok(&fs1, "notes", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct token before = t;
	struct ramfs_stat st;

	write_ok(&fs1, &t, "hello", 5);
	cr_assert_neq(memcmp(&t, &before, sizeof(t)), 0, "the token did not change");
	cr_assert_eq(tell(&fs1, &t), 5, "the position did not advance");
	cr_assert_eq(rfs_read(&fs1, &t, buf, sizeof(buf)), 0, "read at the end");
	cr_assert_eq(rfs_seek(&fs1, &t, 1, RAMFS_SEEK_SET), 1);
	cr_assert_eq(rfs_read(&fs1, &t, buf, 3), 3);
	cr_assert_arr_eq(buf, "ell", 3);
	cr_assert_eq(tell(&fs1, &t), 4);
	cr_assert_eq(rfs_fstat(&fs1, &t, &st), 0);
	cr_assert_eq(st.size, 5);
	cr_assert_str_eq(st.name, "notes");
	cr_assert_eq(st.layout, 1);
	cr_assert_eq(rfs_close(&fs1, &t), 0);
	cr_assert_eq(rfs_read(&fs1, &t, buf, 1), RAMFS_E_NOT_TOKEN, "a closed token still reads");
}

Test(ramfs, old_tokens_replay_at_their_position)
{
	uint8_t buf[4];
	struct token t = open_ok(&fs1, "f", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct token at0 = t;

	write_ok(&fs1, &t, "abcd", 4);
	cr_assert_eq(rfs_read(&fs1, &at0, buf, 4), 4, "the token from before the write");
	cr_assert_arr_eq(buf, "abcd", 4);
}

Test(ramfs, append_and_modes)
{
	uint8_t buf[8];
	struct token w = open_ok(&fs1, "log", RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct token a = open_ok(&fs1, "log", RAMFS_O_WRITE | RAMFS_O_APPEND);
	struct token r = open_ok(&fs1, "log", RAMFS_O_READ);

	write_ok(&fs1, &w, "1234", 4);
	write_ok(&fs1, &a, "56", 2);
	cr_assert_eq(tell(&fs1, &a), 6);
	write_ok(&fs1, &w, "x", 1);   /* at 4: overwrites the 5 */
	cr_assert_eq(rfs_read(&fs1, &r, buf, 8), 6);
	cr_assert_arr_eq(buf, "1234x6", 6);
	cr_assert_eq(rfs_read(&fs1, &w, buf, 1), RAMFS_E_MODE);
	cr_assert_eq(rfs_write(&fs1, &r, "z", 1), RAMFS_E_MODE);
	r = open_ok(&fs1, "log", RAMFS_O_WRITE | RAMFS_O_TRUNC);
	cr_assert_eq(slurp(&fs1, "log", buf, sizeof(buf)), 0, "truncated");
}

/* Every one of the 512 single-bit changes of a token is refused by every
 * call, and neither the token, the caller's buffer nor the file changes. */
Test(ramfs, every_bit_flip_refused)
{
	struct token t = open_ok(&fs1, "secret", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	uint8_t buf[8], data[8];
	struct ramfs_stat st;

	write_ok(&fs1, &t, "payload!", 8);
	cr_assert_eq(rfs_seek(&fs1, &t, 0, RAMFS_SEEK_SET), 0);
	uint64_t print = store_print();
	for (int bit = 0; bit < TOKEN_SIZE * 8; bit++) {
		struct token bad = t, copy;
		bad.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		copy = bad;
		memset(buf, 0xee, sizeof(buf));
		int64_t r = rfs_read(&fs1, &bad, buf, sizeof(buf));
		cr_assert(r == RAMFS_E_FORGED || r == RAMFS_E_NOT_TOKEN, "bit %d: read gave %lld",
			  bit, (long long)r);
		cr_assert_eq(rfs_write(&fs1, &bad, "XXXX", 4), r, "bit %d: write", bit);
		cr_assert_eq(rfs_seek(&fs1, &bad, 0, RAMFS_SEEK_END), r, "bit %d: seek", bit);
		cr_assert_eq(rfs_fstat(&fs1, &bad, &st), r, "bit %d: fstat", bit);
		cr_assert_eq(rfs_close(&fs1, &bad), r, "bit %d: close", bit);
		cr_assert_eq(memcmp(&bad, &copy, sizeof(bad)), 0, "bit %d: token changed", bit);
		for (size_t i = 0; i < sizeof(buf); i++)
			cr_assert_eq(buf[i], 0xee, "bit %d: buffer written", bit);
	}
	cr_assert_eq(store_print(), print, "a refused call changed the store");
	cr_assert_eq(rfs_read(&fs1, &t, data, 8), 8, "the genuine token still works");
	cr_assert_arr_eq(data, "payload!", 8);
}

Test(ramfs, tokens_of_other_servers_and_keys_refused)
{
	struct token t = open_ok(&fs1, "f", RAMFS_O_READ | RAMFS_O_CREATE | RAMFS_O_WRITE);
	struct ramfs_ticket tk;
	struct token other;
	struct rfs stranger = fs1;
	uint8_t buf[4];

	cr_assert_eq(rfs_ticket_open(&fs1, &t, &tk), 0);
	cr_assert_eq(token_seal(&fs1.key, "log", &tk, sizeof(tk), 0, &other), TOKEN_OK);
	cr_assert_eq(rfs_read(&fs1, &other, buf, 4), RAMFS_E_WRONG_SERVER,
		     "the same payload sealed for 'log'");
	stranger.key.k0 ^= 1;
	cr_assert_eq(rfs_read(&stranger, &t, buf, 4), RAMFS_E_FORGED, "a token of another key");
	stranger.key = (struct token_key){ 0, 0 };
	cr_assert_eq(rfs_read(&stranger, &t, buf, 4), RAMFS_E_NO_KEY);
	cr_assert_eq(rfs_open(&stranger, "g", RAMFS_O_WRITE | RAMFS_O_CREATE, &other),
		     RAMFS_E_NO_KEY);
	cr_assert_eq(rfs_stat(&fs1, "g", &(struct ramfs_stat){ 0 }), RAMFS_E_NOT_FOUND,
		     "open without a key created the file");
	memset(&other, 0, sizeof(other));
	cr_assert_eq(rfs_read(&fs1, &other, buf, 4), RAMFS_E_NOT_TOKEN);
	cr_assert_eq(rfs_read(&fs1, NULL, buf, 4), RAMFS_E_INVAL);
}

Test(ramfs, genuine_token_of_unknown_format_refused)
{
	struct ramfs_ticket tk = { .format = 2, .mode = RAMFS_O_READ, .id = 1, .gen = 1 };
	struct token t;
	uint8_t buf[4];

	cr_assert_eq(rfs_ticket_seal(&fs1, &tk, &t), 0);
	cr_assert_eq(rfs_read(&fs1, &t, buf, 4), RAMFS_E_NOT_TOKEN);
}

Test(ramfs, removed_and_recreated_file_makes_tokens_stale)
{
	struct token t = open_ok(&fs1, "f", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct ramfs_stat a, b;
	uint8_t buf[4];

	write_ok(&fs1, &t, "old!", 4);
	cr_assert_eq(rfs_stat(&fs1, "f", &a), 0);
	cr_assert_eq(rfs_remove(&fs1, "f"), 0);
	cr_assert_eq(rfs_read(&fs1, &t, buf, 4), RAMFS_E_STALE);
	struct token n = open_ok(&fs1, "f", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	cr_assert_eq(rfs_stat(&fs1, "f", &b), 0);
	cr_assert_eq(a.id, b.id, "the id was not reused (test premise)");
	cr_assert_neq(a.gen, b.gen);
	cr_assert_eq(b.size, 0, "the new file sees the old one's size");
	cr_assert_eq(rfs_seek(&fs1, &t, 0, RAMFS_SEEK_SET), RAMFS_E_STALE);
	cr_assert_eq(rfs_write(&fs1, &t, "evil", 4), RAMFS_E_STALE);
	cr_assert_eq(rfs_seek(&fs1, &n, 0, RAMFS_SEEK_END), 0, "the old token wrote to the new file");
	cr_assert_eq(rfs_close(&fs1, &t), 0, "closing a stale token");
	cr_assert_eq(rfs_remove(&fs1, "f"), 0);
	cr_assert_eq(rfs_remove(&fs1, "f"), RAMFS_E_NOT_FOUND);
}

Test(ramfs, bad_input_changes_nothing)
{
	struct token t = open_ok(&fs1, "f", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct token keep;
	char long_name[RAMFS_NAME_MAX + 2];
	struct ramfs_stat st;

	write_ok(&fs1, &t, "0123456789", 10);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	keep = t;
	uint64_t print = store_print();
	cr_assert_eq(rfs_open(&fs1, long_name, RAMFS_O_WRITE | RAMFS_O_CREATE, &t), RAMFS_E_NAME);
	long_name[RAMFS_NAME_MAX] = '\0';
	cr_assert_eq(rfs_stat(&fs1, long_name, &st), RAMFS_E_NOT_FOUND, "a 39-byte name is valid");
	cr_assert_eq(rfs_open(&fs1, "", RAMFS_O_READ, &t), RAMFS_E_NAME);
	cr_assert_eq(rfs_open(&fs1, "a b", RAMFS_O_READ | RAMFS_O_CREATE, &t), RAMFS_E_NAME);
	cr_assert_eq(rfs_open(&fs1, "t\x7f", RAMFS_O_READ | RAMFS_O_CREATE, &t), RAMFS_E_NAME);
	cr_assert_eq(rfs_open(&fs1, NULL, RAMFS_O_READ, &t), RAMFS_E_INVAL);
	cr_assert_eq(rfs_open(&fs1, "g", 0, &t), RAMFS_E_INVAL, "neither read nor write");
	cr_assert_eq(rfs_open(&fs1, "g", RAMFS_O_READ | RAMFS_O_TRUNC, &t), RAMFS_E_INVAL);
	cr_assert_eq(rfs_open(&fs1, "g", RAMFS_O_WRITE | RAMFS_O_EXCL, &t), RAMFS_E_INVAL);
	cr_assert_eq(rfs_open(&fs1, "g", RAMFS_O_READ | 0x100, &t), RAMFS_E_INVAL);
	cr_assert_eq(rfs_open(&fs1, "g", RAMFS_O_READ, &t), RAMFS_E_NOT_FOUND);
	cr_assert_eq(rfs_open(&fs1, "f", RAMFS_O_WRITE | RAMFS_O_CREATE | RAMFS_O_EXCL | RAMFS_O_TRUNC,
			      &t), RAMFS_E_EXISTS);
	cr_assert_eq(rfs_seek(&fs1, &t, -11, RAMFS_SEEK_END), RAMFS_E_SEEK);
	cr_assert_eq(rfs_seek(&fs1, &t, RAMFS_FILE_MAX + 1ll, RAMFS_SEEK_SET), RAMFS_E_SEEK);
	cr_assert_eq(rfs_seek(&fs1, &t, 0, 3), RAMFS_E_INVAL);
	cr_assert_eq(rfs_seek(&fs1, &t, RAMFS_FILE_MAX - 1, RAMFS_SEEK_SET), RAMFS_FILE_MAX - 1);
	cr_assert_eq(rfs_write(&fs1, &t, "ab", 2), RAMFS_E_TOO_BIG);
	t = keep;
	cr_assert_eq(rfs_write(&fs1, &t, NULL, 1), RAMFS_E_INVAL);
	cr_assert_eq(rfs_rename(&fs1, "f", "no way"), RAMFS_E_NAME);
	cr_assert_eq(rfs_rename(&fs1, "nope", "g"), RAMFS_E_NOT_FOUND);
	cr_assert_eq(rfs_remove(&fs1, ""), RAMFS_E_NAME);
	cr_assert_eq(store_print(), print, "a refused call changed the store");
	cr_assert_eq(memcmp(&t, &keep, sizeof(t)), 0);
}

Test(ramfs, rename_keeps_tokens)
{
	struct token t = open_ok(&fs1, "a", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct ramfs_stat st;
	uint8_t buf[8];

	write_ok(&fs1, &t, "data", 4);
	open_ok(&fs1, "c", RAMFS_O_WRITE | RAMFS_O_CREATE);
	cr_assert_eq(rfs_rename(&fs1, "a", "c"), RAMFS_E_EXISTS);
	cr_assert_eq(rfs_rename(&fs1, "a", "a"), 0);
	cr_assert_eq(rfs_rename(&fs1, "a", "b"), 0);
	cr_assert_eq(rfs_stat(&fs1, "a", &st), RAMFS_E_NOT_FOUND);
	cr_assert_eq(rfs_stat(&fs1, "b", &st), 0);
	cr_assert_str_eq(st.name, "b");
	cr_assert_eq(rfs_seek(&fs1, &t, 0, RAMFS_SEEK_SET), 0);
	cr_assert_eq(rfs_read(&fs1, &t, buf, 8), 4, "a token from before the rename");
	cr_assert_eq(rfs_fstat(&fs1, &t, &st), 0);
	cr_assert_str_eq(st.name, "b");
}

struct listing {
	char names[8][RAMFS_NAME_MAX + 1];
	uint64_t sizes[8];
	int n;
};

static bool collect(void *ctx, const char *name, const struct ramfs_stat *st, int err)
{
	struct listing *l = ctx;

	cr_assert_eq(err, 0, "%s: %s", name, ramfs_strerror(err));
	cr_assert_lt(l->n, 8);
	strcpy(l->names[l->n], name);
	l->sizes[l->n++] = st->size;
	return true;
}

Test(ramfs, list)
{
	struct listing l = { 0 };
	struct token t = open_ok(&fs1, "two", RAMFS_O_WRITE | RAMFS_O_CREATE);

	open_ok(&fs1, "one", RAMFS_O_WRITE | RAMFS_O_CREATE);
	write_ok(&fs1, &t, "22", 2);
	cr_assert_eq(rfs_list(&fs1, collect, &l), 2);
	cr_assert_eq(l.n, 2);
	int two = strcmp(l.names[0], "two") == 0 ? 0 : 1;
	cr_assert_str_eq(l.names[two], "two");
	cr_assert_str_eq(l.names[1 - two], "one");
	cr_assert_eq(l.sizes[two], 2);
	cr_assert_eq(l.sizes[1 - two], 0);
}

/* A file of many chunks, written and read in odd pieces, with a hole. */
Test(ramfs, files_larger_than_one_record)
{
	size_t size = (1u << 20) + 123, hole_at = size + 2 * RAMFS_CHUNK + 100, total = hole_at + 7;
	uint8_t *want = calloc(1, total), *got = calloc(1, total + 1);
	struct token t = open_ok(&fs1, "big", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);

	rng_state = 7;
	rng_bytes(want, size);
	for (size_t at = 0; at < size;) {
		size_t n = 1 + rng() % 10000;
		n = n > size - at ? size - at : n;
		write_ok(&fs1, &t, want + at, n);
		at += n;
	}
	cr_assert_eq(rfs_seek(&fs1, &t, (int64_t)hole_at, RAMFS_SEEK_SET), (int64_t)hole_at);
	memcpy(want + hole_at, "the end", 7);
	write_ok(&fs1, &t, "the end", 7);
	cr_assert_eq(slurp(&fs1, "big", got, total + 1), total);
	cr_assert_eq(memcmp(got, want, total), 0, "contents differ");
	cr_assert_eq(count_prefix(RAMFS_PFX_DATA), (hole_at + 7 + RAMFS_CHUNK - 1) / RAMFS_CHUNK - 1,
		     "one chunk record per written chunk (one chunk is a hole)");
	cr_assert_eq(rfs_remove(&fs1, "big"), 0);
	cr_assert_eq(count_prefix("ramfs/"), 1, "only the superblock is left");
	free(want);
	free(got);
}

/* Refuses every state_db create and update from the Nth on. */
struct refuse {
	long calls, from;
};

static bool refuse_from(uint64_t arg, int step)
{
	struct refuse *r = (struct refuse *)(uintptr_t)arg;

	return step == STATEDB_STEP_ALLOC && r->calls++ >= r->from;
}

/* The stand-in for nano_core's cellref resolution, through which state_db
 * finds its fail point: test:refuse_from is refuse_from. */
uint64_t cellref_resolve(const struct cellref *r)
{
	if (strcmp(r->cell, "test") == 0 && strcmp(r->sym, "refuse_from") == 0)
		return (uint64_t)(uintptr_t)refuse_from;
	return 0;
}

static const struct cellref refuse_ref = { "test", "refuse_from" };

/* A write the store refuses half way: the count it returns is what the file
 * got; the file's size covers exactly that; no chunk record lies past the
 * end; bytes a chunk past the count are the old ones. Both layouts. */
static void short_write_case(const struct rfs *fs, long from)
{
	enum { OLD = 6000, AT = 1000, N = 3 * RAMFS_CHUNK + 10 };
	static uint8_t old[OLD], data[N], want[AT + N], got[AT + N + 1];
	struct token t = open_ok(fs, "w", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE |
				 RAMFS_O_TRUNC);
	struct refuse r = { 0, from };

	rng_bytes(old, OLD);
	rng_bytes(data, N);
	write_ok(fs, &t, old, OLD);
	cr_assert_eq(rfs_seek(fs, &t, AT, RAMFS_SEEK_SET), AT);
	statedb_set_fail_point(&db, &refuse_ref, (uint64_t)(uintptr_t)&r);
	int64_t w = rfs_write(fs, &t, data, N);
	statedb_set_fail_point(&db, NULL, 0);
	cr_assert(w == N || (w >= 0 && w < N && w % RAMFS_CHUNK == (RAMFS_CHUNK - AT) % RAMFS_CHUNK) ||
		  w == RAMFS_E_NOMEM || w == RAMFS_E_STORE, "from %ld: write gave %lld", from,
		  (long long)w);
	size_t done = w > 0 ? (size_t)w : 0, size = AT + done > OLD ? AT + done : OLD;
	memcpy(want, old, OLD);
	memcpy(want + AT, data, done);
	cr_assert_eq(slurp(fs, "w", got, sizeof(got)), size, "from %ld: size", from);
	cr_assert_eq(memcmp(got, want, AT + done), 0, "from %ld: the written bytes", from);
	size_t stop = (AT + done + RAMFS_CHUNK) / RAMFS_CHUNK * RAMFS_CHUNK;
	if (stop < size)
		cr_assert_eq(memcmp(got + stop, want + stop, size - stop), 0, "from %ld: later bytes", from);
	cr_assert_eq(count_prefix(RAMFS_PFX_DATA), (size + RAMFS_CHUNK - 1) / RAMFS_CHUNK,
		     "from %ld: chunk records", from);
	cr_assert_eq(tell(fs, &t), w >= 0 ? AT + w : AT, "from %ld: the token's position", from);
}

Test(ramfs, short_writes_when_the_store_refuses)
{
	rng_state = 11;
	for (int layout = 1; layout <= 2; layout++)
		for (long from = 0; from < 12; from++)
			short_write_case(layout == 1 ? &fs1 : &fs2, from);
}

/* After a short write left a chunk longer than the file, growing the file
 * past it shows zeros there, never the bytes of the failed write. */
Test(ramfs, bytes_past_the_end_never_come_back)
{
	struct token t = open_ok(&fs1, "z", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct refuse r = { 0, 1 };   /* the chunk update passes, the inode update fails */
	uint8_t got[3 * RAMFS_CHUNK];

	write_ok(&fs1, &t, "0123456789", 10);
	statedb_set_fail_point(&db, &refuse_ref, (uint64_t)(uintptr_t)&r);
	cr_assert_lt(rfs_write(&fs1, &t, "ABCDEFGHIJ", 10), 0);
	statedb_set_fail_point(&db, NULL, 0);
	cr_assert_eq(rfs_seek(&fs1, &t, 2 * RAMFS_CHUNK, RAMFS_SEEK_SET), 2 * RAMFS_CHUNK);
	write_ok(&fs1, &t, "!", 1);
	cr_assert_eq(slurp(&fs1, "z", got, sizeof(got)), 2 * RAMFS_CHUNK + 1);
	for (size_t i = 10; i < 2 * RAMFS_CHUNK; i++)
		cr_assert_eq(got[i], 0, "byte %zu of the hole is %#x", i, got[i]);
}

/* Flips a byte of a record's data in place, as a wild write would. */
static void damage(const char *rec)
{
	const void *data;
	int n = statedb_view(&db, rec, &data, NULL);

	cr_assert_gt(n, 0, "no record %s", rec);
	((uint8_t *)(uintptr_t)data)[n / 2] ^= 0x40;
}

Test(ramfs, damaged_records_reported_and_removable)
{
	struct token t = open_ok(&fs1, "bad", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	uint8_t buf[RAMFS_CHUNK * 2 + 10];
	struct ramfs_stat st;
	char rec[RFS_RECNAME_MAX];

	memset(buf, 'q', sizeof(buf));
	write_ok(&fs1, &t, buf, sizeof(buf));
	cr_assert_eq(rfs_fstat(&fs1, &t, &st), 0);
	rfs_name_data(rec, st.id, st.gen, 1);
	damage(rec);
	cr_assert_eq(rfs_seek(&fs1, &t, 0, RAMFS_SEEK_SET), 0);
	cr_assert_eq(rfs_read(&fs1, &t, buf, sizeof(buf)), RAMFS_E_CORRUPT);
	rfs_name_inode(rec, st.id);
	damage(rec);
	cr_assert_eq(rfs_stat(&fs1, "bad", &st), RAMFS_E_CORRUPT);
	cr_assert_eq(rfs_read(&fs1, &t, buf, 1), RAMFS_E_CORRUPT);
	cr_assert_eq(rfs_remove(&fs1, "bad"), 0);
	cr_assert_eq(count_prefix("ramfs/"), 1, "the damaged file's records are all gone");
	cr_assert_eq(rfs_read(&fs1, &t, buf, 1), RAMFS_E_STALE);
}

/*
 * Random operation sequences against a model. Files are "m0".."m9"; each
 * model file has a serial (its identity); each model token names a serial,
 * so a token whose file was removed must be refused as stale.
 */
enum { M_NAMES = 10, M_TOKENS = 12, M_IO_MAX = 9000 };

struct mfile {
	bool exists;
	uint64_t serial;
	uint8_t *data;
	size_t size, cap;
};

struct mtoken {
	bool live;
	struct token t;
	uint64_t serial, pos;
	unsigned mode;
};

struct model {
	struct mfile f[M_NAMES];
	struct mtoken t[M_TOKENS];
	uint64_t serials;
	const struct rfs *fs;
	int step;
};

static void m_name(char *buf, int i)
{
	sprintf(buf, "m%d", i);
}

static struct mfile *m_file_of(struct model *m, uint64_t serial)
{
	for (int i = 0; i < M_NAMES; i++)
		if (m->f[i].exists && m->f[i].serial == serial)
			return &m->f[i];
	return NULL;
}

static void m_resize(struct mfile *f, size_t size)
{
	if (size > f->cap) {
		f->cap = size * 2;
		f->data = realloc(f->data, f->cap);
	}
	if (size > f->size)
		memset(f->data + f->size, 0, size - f->size);
	f->size = size;
}

static const unsigned open_flags[] = {
	RAMFS_O_READ, RAMFS_O_WRITE, RAMFS_O_READ | RAMFS_O_WRITE,
	RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE, RAMFS_O_WRITE | RAMFS_O_CREATE | RAMFS_O_TRUNC,
	RAMFS_O_WRITE | RAMFS_O_APPEND | RAMFS_O_CREATE, RAMFS_O_READ | RAMFS_O_CREATE | RAMFS_O_EXCL,
	RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_APPEND,
};

static void m_open(struct model *m)
{
	int i = (int)(rng() % M_NAMES);
	unsigned flags = open_flags[rng() % (sizeof(open_flags) / sizeof(open_flags[0]))];
	struct mtoken *mt = &m->t[rng() % M_TOKENS];
	struct mfile *f = &m->f[i];
	struct token t;
	char name[8];
	int want = 0;

	m_name(name, i);
	if (f->exists && (flags & RAMFS_O_EXCL))
		want = RAMFS_E_EXISTS;
	else if (!f->exists && !(flags & RAMFS_O_CREATE))
		want = RAMFS_E_NOT_FOUND;
	cr_assert_eq(rfs_open(m->fs, name, flags, &t), want, "step %d: open %s %#x", m->step, name, flags);
	if (want)
		return;
	if (!f->exists)
		*f = (struct mfile){ .exists = true, .serial = ++m->serials, .data = f->data, .cap = f->cap };
	if (flags & RAMFS_O_TRUNC)
		f->size = 0;
	*mt = (struct mtoken){ true, t, f->serial, 0, flags & (RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_APPEND) };
}

static struct mtoken *m_token(struct model *m)
{
	struct mtoken *mt = &m->t[rng() % M_TOKENS];

	return mt->live ? mt : NULL;
}

static void m_write(struct model *m)
{
	static uint8_t buf[M_IO_MAX];
	struct mtoken *mt = m_token(m);
	struct mfile *f;
	size_t n = rng() % 8 ? rng() % M_IO_MAX : 0;
	int64_t want;

	if (!mt)
		return;
	f = m_file_of(m, mt->serial);
	rng_bytes(buf, n);
	want = !f ? RAMFS_E_STALE : !(mt->mode & RAMFS_O_WRITE) ? RAMFS_E_MODE : (int64_t)n;
	cr_assert_eq(rfs_write(m->fs, &mt->t, buf, n), want, "step %d: write %zu", m->step, n);
	if (want < 0)
		return;
	uint64_t pos = (mt->mode & RAMFS_O_APPEND) ? f->size : mt->pos;
	if (n && pos + n > f->size)
		m_resize(f, pos + n);
	if (n)
		memcpy(f->data + pos, buf, n);
	mt->pos = pos + n;
}

static void m_read(struct model *m)
{
	static uint8_t buf[M_IO_MAX];
	struct mtoken *mt = m_token(m);
	struct mfile *f;
	size_t n = rng() % M_IO_MAX;
	int64_t want;

	if (!mt)
		return;
	f = m_file_of(m, mt->serial);
	want = !f ? RAMFS_E_STALE : !(mt->mode & RAMFS_O_READ) ? RAMFS_E_MODE
	     : mt->pos >= f->size ? 0 : (int64_t)(f->size - mt->pos < n ? f->size - mt->pos : n);
	cr_assert_eq(rfs_read(m->fs, &mt->t, buf, n), want, "step %d: read %zu", m->step, n);
	if (want <= 0)
		return;
	cr_assert_eq(memcmp(buf, f->data + mt->pos, (size_t)want), 0, "step %d: read bytes", m->step);
	mt->pos += (uint64_t)want;
}

static void m_seek(struct model *m)
{
	struct mtoken *mt = m_token(m);
	struct mfile *f;
	int whence = (int)(rng() % 3);
	int64_t off, base, want;

	if (!mt)
		return;
	f = m_file_of(m, mt->serial);
	off = (int64_t)(rng() % 20000) - 10000;
	base = whence == RAMFS_SEEK_SET ? 0 : whence == RAMFS_SEEK_CUR ? (int64_t)mt->pos
	     : f ? (int64_t)f->size : 0;
	want = !f ? RAMFS_E_STALE : base + off < 0 ? RAMFS_E_SEEK : base + off;
	cr_assert_eq(rfs_seek(m->fs, &mt->t, off, whence), want, "step %d: seek %lld %d", m->step,
		     (long long)off, whence);
	if (want >= 0)
		mt->pos = (uint64_t)want;
}

static void m_remove(struct model *m)
{
	int i = (int)(rng() % M_NAMES);
	char name[8];

	m_name(name, i);
	cr_assert_eq(rfs_remove(m->fs, name), m->f[i].exists ? 0 : RAMFS_E_NOT_FOUND,
		     "step %d: remove %s", m->step, name);
	m->f[i].exists = false;
}

static void m_rename(struct model *m)
{
	int a = (int)(rng() % M_NAMES), b = (int)(rng() % M_NAMES);
	char from[8], to[8];
	int want = !m->f[a].exists ? RAMFS_E_NOT_FOUND : a == b ? 0
		 : m->f[b].exists ? RAMFS_E_EXISTS : 0;

	m_name(from, a);
	m_name(to, b);
	cr_assert_eq(rfs_rename(m->fs, from, to), want, "step %d: rename %s %s", m->step, from, to);
	if (want || a == b)
		return;
	struct mfile tmp = m->f[b];
	m->f[b] = m->f[a];
	m->f[a] = tmp;
	m->f[a].exists = false;
}

static void m_stat(struct model *m)
{
	int i = (int)(rng() % M_NAMES);
	struct ramfs_stat st;
	char name[8];

	m_name(name, i);
	cr_assert_eq(rfs_stat(m->fs, name, &st), m->f[i].exists ? 0 : RAMFS_E_NOT_FOUND,
		     "step %d: stat %s", m->step, name);
	if (m->f[i].exists)
		cr_assert_eq(st.size, m->f[i].size, "step %d: size of %s", m->step, name);
}

static bool m_list_one(void *ctx, const char *name, const struct ramfs_stat *st, int err)
{
	struct model *m = ctx;
	int i = atoi(name + 1);

	cr_assert_eq(err, 0);
	cr_assert(i >= 0 && i < M_NAMES && m->f[i].exists, "step %d: list shows %s", m->step, name);
	cr_assert_eq(st->size, m->f[i].size, "step %d: list size of %s: %llu, model %zu", m->step, name, (unsigned long long)st->size, m->f[i].size);
	return true;
}

static void m_list(struct model *m)
{
	int n = 0;

	for (int i = 0; i < M_NAMES; i++)
		n += m->f[i].exists;
	cr_assert_eq(rfs_list(m->fs, m_list_one, m), n, "step %d: list count", m->step);
}

static void m_close(struct model *m)
{
	struct mtoken *mt = m_token(m);

	if (!mt)
		return;
	cr_assert_eq(rfs_close(m->fs, &mt->t), 0);
	mt->live = false;
}

static void m_check_all(struct model *m)
{
	static uint8_t got[RAMFS_FILE_MAX / 64];
	char name[8];

	for (int i = 0; i < M_NAMES; i++) {
		if (!m->f[i].exists)
			continue;
		m_name(name, i);
		cr_assert_eq(slurp(m->fs, name, got, sizeof(got)), m->f[i].size);
		cr_assert_eq(memcmp(got, m->f[i].data, m->f[i].size), 0, "contents of %s", name);
	}
}

static void run_model(uint64_t seed, int steps, bool migrate_half_way)
{
	static void (*const ops[])(struct model *) = {
		m_open, m_open, m_write, m_write, m_write, m_read, m_read, m_seek,
		m_remove, m_rename, m_stat, m_list, m_close,
	};
	struct model m = { .fs = &fs1 };

	rng_state = seed;
	for (m.step = 0; m.step < steps; m.step++) {
		if (migrate_half_way && m.step == steps / 2) {
			m_check_all(&m);
			cr_assert_geq(rfs_migrate(&fs2), 0);
			m.fs = &fs2;
		}
		ops[rng() % (sizeof(ops) / sizeof(ops[0]))](&m);
	}
	m_check_all(&m);
	for (int i = 0; i < M_NAMES; i++) {
		char name[8];
		m_name(name, i);
		if (m.f[i].exists)
			cr_assert_eq(rfs_remove(m.fs, name), 0);
		free(m.f[i].data);
	}
	cr_assert_eq(count_prefix(RAMFS_PFX_FILE) + count_prefix(RAMFS_PFX_INODE) +
		     count_prefix(RAMFS_PFX_DATA), 0, "seed %llu: records left behind",
		     (unsigned long long)seed);
}

Test(ramfs, model_layout1)
{
	for (uint64_t seed = 1; seed <= 6; seed++)
		run_model(seed, 3000, false);
}

Test(ramfs, model_layout2)
{
	struct rfs saved = fs1;

	fs1 = fs2;
	for (uint64_t seed = 101; seed <= 104; seed++)
		run_model(seed, 3000, false);
	fs1 = saved;
}

Test(ramfs, model_across_migration)
{
	for (uint64_t seed = 201; seed <= 204; seed++)
		run_model(seed, 3000, true);
}

/* The fingerprint of the records under one prefix. */
static uint64_t prefix_print(const char *prefix)
{
	uint64_t h = 0;

	rfs_store_list(prefix, mix_one, &h);
	return h;
}

static bool all_layout2(void *ctx, const struct statedb_meta *m)
{
	cr_assert_eq(m->version, 2, "%s is still of layout %u", m->name, m->version);
	++*(int *)ctx;
	return true;
}

Test(ramfs, migration_keeps_every_byte_and_old_tokens_work)
{
	static uint8_t big[3 * RAMFS_CHUNK + 77], got[sizeof(big) + 1];
	struct token tb = open_ok(&fs1, "big", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct token ts = open_ok(&fs1, "small", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct ramfs_stat st;
	int n = 0;

	open_ok(&fs1, "empty", RAMFS_O_WRITE | RAMFS_O_CREATE);
	rng_state = 5;
	rng_bytes(big, sizeof(big));
	write_ok(&fs1, &tb, big, sizeof(big));
	write_ok(&fs1, &ts, "tiny", 4);
	cr_assert_eq(rfs_seek(&fs1, &tb, 100, RAMFS_SEEK_SET), 100);
	cr_assert_eq(rfs_stat(&fs2, "big", &st), 0, "layout 2 code reads layout 1 records");
	cr_assert_eq(st.layout, 1);
	uint64_t data = prefix_print(RAMFS_PFX_DATA), names = prefix_print(RAMFS_PFX_FILE);

	cr_assert_eq(rfs_migrate(&fs1), 0, "layout 1 code has nothing to migrate");
	cr_assert_eq(rfs_migrate(&fs2), 3);
	cr_assert_eq(rfs_migrate(&fs2), 0, "migrating twice");
	rfs_store_list(RAMFS_PFX_INODE, all_layout2, &n);
	cr_assert_eq(n, 3);
	cr_assert_eq(prefix_print(RAMFS_PFX_DATA), data, "migration touched file data");
	cr_assert_eq(prefix_print(RAMFS_PFX_FILE), names, "migration touched names");
	cr_assert_eq(slurp(&fs2, "big", got, sizeof(got)), sizeof(big));
	cr_assert_eq(memcmp(got, big, sizeof(big)), 0);
	cr_assert_eq(rfs_stat(&fs2, "big", &st), 0);
	cr_assert_eq(st.layout, 2);
	cr_assert_eq(st.mtime_ns, 0, "a migrated file's time is unknown");
	cr_assert_eq(rfs_read(&fs2, &tb, got, 10), 10, "a token from ramfs@1");
	cr_assert_arr_eq(got, big + 100, 10);
	fs2.now_ns = 5555;
	write_ok(&fs2, &ts, "!", 1);
	cr_assert_eq(rfs_stat(&fs2, "small", &st), 0);
	cr_assert_eq(st.mtime_ns, 5555);
	cr_assert_eq(slurp(&fs2, "small", got, sizeof(got)), 5);
	cr_assert_arr_eq(got, "tiny!", 5);
	cr_assert_eq(rfs_stat(&fs1, "small", &st), RAMFS_E_LAYOUT, "layout 1 code reads layout 2");
	cr_assert_eq(rfs_read(&fs1, &tb, got, 1), RAMFS_E_LAYOUT);
}

Test(ramfs, layout2_writes_upgrade_one_file_at_a_time)
{
	struct token a = open_ok(&fs1, "a", RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct ramfs_stat st;

	open_ok(&fs1, "b", RAMFS_O_WRITE | RAMFS_O_CREATE);
	fs2.now_ns = 42;
	write_ok(&fs2, &a, "x", 1);
	cr_assert_eq(rfs_stat(&fs2, "a", &st), 0);
	cr_assert_eq(st.layout, 2);
	cr_assert_eq(st.mtime_ns, 42);
	cr_assert_eq(rfs_stat(&fs2, "b", &st), 0);
	cr_assert_eq(st.layout, 1);
	cr_assert_eq(rfs_migrate(&fs2), 1);
}

/* Stamps file id's metadata record with another layout number. */
static void restamp(uint32_t id, uint32_t version)
{
	char rec[RFS_RECNAME_MAX];
	const void *data;
	uint8_t copy[128];

	rfs_name_inode(rec, id);
	int n = statedb_view(&db, rec, &data, NULL);
	cr_assert_gt(n, 0);
	memcpy(copy, data, (size_t)n);
	cr_assert_eq(statedb_update(&db, rec, STATEDB_TYPE_KEEP, version, copy, (size_t)n), 0);
}

Test(ramfs, records_of_unknown_layouts_refused)
{
	struct token t = open_ok(&fs2, "new", RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE);
	struct ramfs_stat st;
	uint8_t c;

	write_ok(&fs2, &t, "x", 1);
	cr_assert_eq(rfs_fstat(&fs2, &t, &st), 0);
	restamp(st.id, 3);
	cr_assert_eq(rfs_stat(&fs2, "new", &st), RAMFS_E_LAYOUT, "a layout 3 record");
	cr_assert_eq(rfs_read(&fs2, &t, &c, 1), RAMFS_E_LAYOUT);
	cr_assert_eq(rfs_migrate(&fs2), 0, "migration must leave newer records alone");
	restamp(st.id, 0);
	cr_assert_eq(rfs_stat(&fs2, "new", &st), RAMFS_E_CORRUPT, "a layout 0 record");
}
