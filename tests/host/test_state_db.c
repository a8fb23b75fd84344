/*
 * Host tests for state_db (the files in state_db/): long random operation sequences
 * checked against a model, a failure injected at every step of create and
 * update, the allocator refusing at every allocation, checksum corruption of
 * data and of every header field, bad input, readers holding old values
 * across updates, index growth and tombstones, messages, and the CRC.
 *
 * Every store takes memory from a counting allocator that can be told to
 * refuse from its Nth call on; "nothing changed" is checked by comparing a
 * snapshot (sorted list, stats, live allocations) taken before and after.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/state_db.h>
#include "state_db/internal.h"

struct talloc {
	long calls;       /* alloc calls so far */
	long fail_from;   /* calls numbered fail_from and later return NULL; -1: never */
	long live;        /* blocks handed out and not yet freed */
};

static struct talloc ta;
static struct state_db db;

static void *t_alloc(void *ctx, size_t n)
{
	struct talloc *a = ctx;
	long call = a->calls++;
	void *p;

	cr_assert_eq(a, &ta);
	if (a->fail_from >= 0 && call >= a->fail_from)
		return NULL;
	p = malloc(n);
	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % 16, 0);
	a->live++;
	return p;
}

static void t_free(void *ctx, void *p)
{
	struct talloc *a = ctx;

	cr_assert_not_null(p);
	a->live--;
	free(p);
}

static void setup(void)
{
	ta = (struct talloc){ .fail_from = -1 };
	cr_assert_eq(statedb_init(&db, t_alloc, t_free, &ta), STATEDB_OK);
}

static void teardown(void)
{
	if (sdb_root_ok(&db))
		statedb_fini(&db);
}

TestSuite(state_db, .init = setup, .fini = teardown);

/* Frees the store and checks that every allocation came back. */
static void finish(void)
{
	cr_assert_eq(statedb_fini(&db), STATEDB_OK);
	cr_assert_eq(ta.live, 0, "%ld allocations leaked", ta.live);
}

static struct statedb_stats stats(void)
{
	struct statedb_stats st;

	cr_assert_eq(statedb_stats(&db, &st), STATEDB_OK);
	return st;
}

/* ---- snapshots: what the store shows, to check that nothing changed ---- */

#define SNAP_MAX 512

struct snap {
	int n;
	struct statedb_meta meta[SNAP_MAX];
	struct statedb_stats st;
	long live;
};

static bool collect(void *ctx, const struct statedb_meta *m)
{
	struct snap *s = ctx;

	cr_assert_lt(s->n, SNAP_MAX);
	s->meta[s->n++] = *m;
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct statedb_meta *)a)->name, ((const struct statedb_meta *)b)->name);
}

static void take_snap(struct snap *s)
{
	s->n = 0;
	cr_assert_eq(statedb_list(&db, collect, s), s->n);
	qsort(s->meta, s->n, sizeof s->meta[0], by_name);
	s->st = stats();
	s->live = ta.live;
}

static void assert_same_meta(const struct statedb_meta *a, const struct statedb_meta *b)
{
	cr_assert_str_eq(a->name, b->name);
	cr_assert_str_eq(a->owner, b->owner, "record '%s'", a->name);
	cr_assert_eq(a->type, b->type, "record '%s'", a->name);
	cr_assert_eq(a->version, b->version, "record '%s'", a->name);
	cr_assert_eq(a->size, b->size, "record '%s'", a->name);
	cr_assert_eq(a->checksum, b->checksum, "record '%s'", a->name);
	cr_assert_eq(a->checksum_ok, b->checksum_ok, "record '%s'", a->name);
}

static void assert_unchanged(const struct snap *before)
{
	static struct snap now;

	take_snap(&now);
	cr_assert_eq(now.n, before->n, "record count changed");
	for (int i = 0; i < now.n; i++)
		assert_same_meta(&now.meta[i], &before->meta[i]);
	cr_assert_eq(now.st.records, before->st.records);
	cr_assert_eq(now.st.data_bytes, before->st.data_bytes);
	cr_assert_eq(now.st.mem_bytes, before->st.mem_bytes);
	cr_assert_eq(now.st.blocks, before->st.blocks);
	cr_assert_eq(now.st.index_slots, before->st.index_slots);
	cr_assert_eq(now.st.tombstones, before->st.tombstones);
	cr_assert_eq(now.st.creates, before->st.creates);
	cr_assert_eq(now.st.updates, before->st.updates);
	cr_assert_eq(now.st.deletes, before->st.deletes);
	cr_assert_eq(now.live, before->live, "allocations: %ld before, %ld now", before->live, now.live);
	cr_assert_eq(now.st.blocks, (size_t)now.live, "store and allocator disagree on blocks");
}

/* ---- helpers ---- */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill(uint64_t *s, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rnd(s);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

/* The checksum the store must compute: header fields as laid out, then data. */
static uint32_t expect_crc(const char *name, uint32_t type, uint32_t version, const char *owner,
			   const void *data, size_t len)
{
	struct {
		uint32_t type, version, len;
		char owner[32];
		char name[48];
	} h;
	_Static_assert(sizeof h == 92, "no padding");
	memset(&h, 0, sizeof h);
	h.type = type;
	h.version = version;
	h.len = (uint32_t)len;
	strcpy(h.owner, owner);
	strcpy(h.name, name);
	return statedb_crc32c(statedb_crc32c(0, &h, sizeof h), data, len);
}

/* Asserts that get and view of name give len bytes equal to data. */
static void assert_value(const char *name, const void *data, size_t len, uint32_t type,
			 uint32_t version, const char *owner)
{
	static unsigned char buf[STATEDB_DATA_MAX];
	struct statedb_meta m;
	const void *p;

	cr_assert_eq(statedb_get(&db, name, buf, sizeof buf, &m), (int)len, "get '%s'", name);
	cr_assert(len == 0 || memcmp(buf, data, len) == 0, "get '%s': wrong bytes", name);
	cr_assert(m.checksum_ok);
	cr_assert_str_eq(m.name, name);
	cr_assert_str_eq(m.owner, owner);
	cr_assert_eq(m.type, type);
	cr_assert_eq(m.version, version);
	cr_assert_eq(m.size, len);
	cr_assert_eq(m.checksum, expect_crc(name, type, version, owner, data, len));
	cr_assert_eq(statedb_view(&db, name, &p, NULL), (int)len, "view '%s'", name);
	cr_assert(len == 0 || memcmp(p, data, len) == 0, "view '%s': wrong bytes", name);
}

static void create_ok(const char *name, const char *text)
{
	cr_assert_eq(statedb_create(&db, name, 1, 1, "tester", text, strlen(text)), STATEDB_OK,
		     "create '%s'", name);
}

/* ---- the random sequences against a model ---- */

#define NNAMES 300

struct mrec {
	bool live;
	uint32_t type, version;
	char owner[STATEDB_OWNER_MAX + 1];
	unsigned char *data;
	size_t len;
};

struct model {
	struct mrec rec[NNAMES];
	char name[NNAMES][STATEDB_NAME_MAX + 1];
	int sorted[NNAMES];          /* indices of name[] in strcmp order */
	uint64_t creates, updates, deletes;
	size_t longest;              /* longest value written */
};

static struct model model;
static unsigned char scratch[STATEDB_DATA_MAX];
static unsigned char readbuf[STATEDB_DATA_MAX];

static int by_model_name(const void *a, const void *b)
{
	return strcmp(model.name[*(const int *)a], model.name[*(const int *)b]);
}

/* Names of every shape: short, 47 bytes, and with the edge characters. */
static void model_init(void)
{
	memset(&model, 0, sizeof model);
	for (int i = 0; i < NNAMES; i++) {
		char *n = model.name[i];

		if (i % 7 == 0) {
			snprintf(n, sizeof model.name[i], "!long~name/%03d", i);
			memset(n + strlen(n), 'x', STATEDB_NAME_MAX - strlen(n));
			n[STATEDB_NAME_MAX] = '\0';
		} else {
			snprintf(n, sizeof model.name[i], "rec.%d", i);
		}
		model.sorted[i] = i;
	}
	qsort(model.sorted, NNAMES, sizeof model.sorted[0], by_model_name);
}

static void model_set(struct mrec *m, uint32_t type, uint32_t version, const void *data, size_t len)
{
	free(m->data);
	m->data = malloc(len ? len : 1);
	memcpy(m->data, data, len);
	m->len = len;
	if (len > model.longest)
		model.longest = len;
	m->type = type;
	m->version = version;
	m->live = true;
}

static void model_free(void)
{
	for (int i = 0; i < NNAMES; i++)
		free(model.rec[i].data);
	memset(model.rec, 0, sizeof model.rec);
}

/* Sizes: many empty and small ones, some pages, a few up to the limit. */
static size_t pick_len(uint64_t *s)
{
	unsigned r = rnd(s) % 1000;

	if (r < 100)
		return 0;
	if (r < 600)
		return rnd(s) % 65;
	if (r < 993)
		return rnd(s) % 4097;
	if (r < 996)
		return STATEDB_DATA_MAX;
	return rnd(s) % (STATEDB_DATA_MAX + 1);
}

static void op_create(uint64_t *s, int k)
{
	struct mrec *m = &model.rec[k];
	uint32_t type = (uint32_t)rnd(s), version = rnd(s) % 4;
	char owner[STATEDB_OWNER_MAX + 1];
	size_t len = pick_len(s);
	int rc;

	snprintf(owner, sizeof owner, "cell%u", (unsigned)(rnd(s) % 10));
	if (rnd(s) % 16 == 0) {
		memset(owner, 'o', STATEDB_OWNER_MAX);      /* the longest owner */
		owner[STATEDB_OWNER_MAX] = '\0';
	}
	fill(s, scratch, len);
	rc = statedb_create(&db, model.name[k], type, version, owner, scratch, len);
	cr_assert_eq(rc, m->live ? STATEDB_E_EXISTS : STATEDB_OK, "create '%s': %d", model.name[k], rc);
	if (rc == STATEDB_OK) {
		model_set(m, type, version, scratch, len);
		memcpy(m->owner, owner, sizeof owner);
		model.creates++;
	}
}

static void op_update(uint64_t *s, int k)
{
	struct mrec *m = &model.rec[k];
	uint32_t type = rnd(s) % 4 ? (uint32_t)rnd(s) : STATEDB_TYPE_KEEP;
	uint32_t version = rnd(s) % 4;
	size_t len = pick_len(s);
	int rc;

	fill(s, scratch, len);
	rc = statedb_update(&db, model.name[k], type, version, scratch, len);
	cr_assert_eq(rc, m->live ? STATEDB_OK : STATEDB_E_NOT_FOUND, "update '%s': %d", model.name[k], rc);
	if (rc == STATEDB_OK) {
		model_set(m, type == STATEDB_TYPE_KEEP ? m->type : type, version, scratch, len);
		model.updates++;
	}
}

static void op_delete(int k)
{
	struct mrec *m = &model.rec[k];
	int rc = statedb_delete(&db, model.name[k]);

	cr_assert_eq(rc, m->live ? STATEDB_OK : STATEDB_E_NOT_FOUND, "delete '%s': %d", model.name[k], rc);
	if (rc == STATEDB_OK) {
		m->live = false;
		model.deletes++;
	}
}

static void op_get(int k)
{
	struct mrec *m = &model.rec[k];

	if (m->live) {
		assert_value(model.name[k], m->data, m->len, m->type, m->version, m->owner);
		return;
	}
	cr_assert_eq(statedb_get(&db, model.name[k], readbuf, sizeof readbuf, NULL), STATEDB_E_NOT_FOUND);
}

/* A get into a buffer that may be too small: refused whole, or copied. */
static void op_get_small(uint64_t *s, int k)
{
	struct mrec *m = &model.rec[k];
	size_t cap = rnd(s) % 100;
	struct statedb_meta meta;
	int rc;

	memset(readbuf, 0xa5, cap);
	rc = statedb_get(&db, model.name[k], cap ? readbuf : NULL, cap, &meta);
	if (!m->live) {
		cr_assert_eq(rc, STATEDB_E_NOT_FOUND);
	} else if (m->len > cap) {
		cr_assert_eq(rc, STATEDB_E_NOSPACE);
		cr_assert_eq(meta.size, m->len);
		for (size_t i = 0; i < cap; i++)
			cr_assert_eq(readbuf[i], 0xa5, "NOSPACE get wrote into the buffer");
	} else {
		cr_assert_eq(rc, (int)m->len);
		cr_assert(m->len == 0 || memcmp(readbuf, m->data, m->len) == 0);
	}
}

/* The sorted list must be exactly the model's live records. */
static void check_list(void)
{
	static struct snap got;
	int j = 0;

	take_snap(&got);
	for (int i = 0; i < NNAMES; i++) {
		int k = model.sorted[i];
		struct mrec *m = &model.rec[k];

		if (!m->live)
			continue;
		cr_assert_lt(j, got.n, "list lacks '%s'", model.name[k]);
		cr_assert_str_eq(got.meta[j].name, model.name[k]);
		cr_assert_str_eq(got.meta[j].owner, m->owner);
		cr_assert_eq(got.meta[j].type, m->type);
		cr_assert_eq(got.meta[j].version, m->version);
		cr_assert_eq(got.meta[j].size, m->len);
		cr_assert(got.meta[j].checksum_ok);
		cr_assert_eq(got.meta[j].checksum,
			     expect_crc(model.name[k], m->type, m->version, m->owner, m->data, m->len));
		j++;
	}
	cr_assert_eq(j, got.n, "list has %d records, the model %d", got.n, j);
	cr_assert_eq(got.st.records, (size_t)j);
	cr_assert_eq(got.st.blocks, (size_t)ta.live);
	cr_assert_eq(got.st.retired, 0);
	cr_assert_leq((got.st.records + got.st.tombstones) * 4, got.st.index_slots * 3,
		      "the index is fuller than its limit");
}

static void check_counts(void)
{
	struct statedb_stats st = stats();
	size_t bytes = 0;

	for (int i = 0; i < NNAMES; i++)
		if (model.rec[i].live)
			bytes += model.rec[i].len;
	cr_assert_eq(st.data_bytes, bytes);
	cr_assert_eq(st.creates, model.creates);
	cr_assert_eq(st.updates, model.updates);
	cr_assert_eq(st.deletes, model.deletes);
	cr_assert_eq(st.corrupt_seen, 0);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
}

/* nops random operations on names picked among the first nnames. */
static void run_random(uint64_t seed, int nops, int nnames)
{
	uint64_t s = seed;

	model_init();
	for (int i = 0; i < nops; i++) {
		int k = (int)(rnd(&s) % (uint64_t)nnames);
		unsigned op = rnd(&s) % 100;

		if (op < 25)
			op_create(&s, k);
		else if (op < 45)
			op_update(&s, k);
		else if (op < 70)
			op_get(k);
		else if (op < 85)
			op_delete(k);
		else
			op_get_small(&s, k);
		if (i % 500 == 0)
			check_list();
	}
	check_list();
	check_counts();
	cr_assert_eq(model.longest, STATEDB_DATA_MAX, "the sequence never wrote the largest value");
	model_free();
	finish();
}

Test(state_db, random_seed_1, .timeout = 300)
{
	run_random(1, 50000, NNAMES);
}

Test(state_db, random_seed_2, .timeout = 300)
{
	run_random(0xdecafbad, 50000, NNAMES);
}

/* Few names, so creates and deletes hit the same slots and tombstones churn. */
Test(state_db, random_few_names, .timeout = 300)
{
	run_random(77, 20000, 12);
}

/* ---- a failure at every step of create and update ---- */

struct failer {
	int fail_at;          /* step to stop at; 0: none */
	unsigned seen;        /* bit per step reached */
	const char *watch;    /* a record readers check at every step, or NULL */
	const char *value;    /* its value meanwhile */
};

static struct failer failer;

/* Stops at failer.fail_at. At every step a reader checks that the watched
 * record still shows its whole old value. */
static bool fail_cb(uint64_t arg, int step)
{
	struct failer *f = (struct failer *)(uintptr_t)arg;

	cr_assert_eq(f, &failer);
	cr_assert(step >= STATEDB_STEP_ALLOC && step < STATEDB_STEP_END, "step %d", step);
	f->seen |= 1u << step;
	if (f->watch)
		assert_value(f->watch, f->value, strlen(f->value), 7, 1, "ramfs");
	return step == f->fail_at;
}

static bool commit_cb(uint64_t arg, int step);

/* The stand-in for nano_core's cellref resolution, through which state_db
 * finds its fail point: test:fail_cb is fail_cb, test:commit_cb is
 * commit_cb, and nothing else resolves (as a cell that was unloaded). */
uint64_t cellref_resolve(const struct cellref *r)
{
	if (strcmp(r->cell, "test") != 0)
		return 0;
	if (strcmp(r->sym, "fail_cb") == 0)
		return (uint64_t)(uintptr_t)fail_cb;
	if (strcmp(r->sym, "commit_cb") == 0)
		return (uint64_t)(uintptr_t)commit_cb;
	return 0;
}

static const struct cellref fail_ref = { "test", "fail_cb" };
#define FAILER ((uint64_t)(uintptr_t)&failer)

static unsigned steps_mask(int from, int to)
{
	unsigned m = 0;

	for (int s = from; s <= to; s++)
		m |= 1u << s;
	return m;
}

static void update_at_every_step(size_t len)
{
	static struct snap before;
	const char *old = "the old value of victim";
	int rc;

	fill(&(uint64_t){ len }, scratch, len);
	failer = (struct failer){ .watch = "victim", .value = old };
	cr_assert_eq(statedb_set_fail_point(&db, &fail_ref, FAILER), STATEDB_OK);
	for (int step = STATEDB_STEP_ALLOC; step <= STATEDB_STEP_CHECKSUM; step++) {
		take_snap(&before);
		failer.fail_at = step;
		failer.seen = 0;
		rc = statedb_update(&db, "victim", 8, 2, scratch, len);
		cr_assert_eq(rc, STATEDB_E_ABORTED, "len %zu, step %d: rc %d", len, step, rc);
		cr_assert_eq(failer.seen, steps_mask(STATEDB_STEP_ALLOC, step));
		assert_unchanged(&before);
		assert_value("victim", old, strlen(old), 7, 1, "ramfs");
	}
	failer.fail_at = 0;
	failer.seen = 0;
	cr_assert_eq(statedb_update(&db, "victim", 8, 2, scratch, len), STATEDB_OK);
	cr_assert_eq(failer.seen, steps_mask(STATEDB_STEP_ALLOC, STATEDB_STEP_CHECKSUM),
		     "an update passes every step but the index");
	statedb_set_fail_point(&db, NULL, 0);
	assert_value("victim", scratch, len, 8, 2, "ramfs");
	cr_assert_eq(statedb_update(&db, "victim", 7, 1, old, strlen(old)), STATEDB_OK);
}

Test(state_db, update_fails_at_every_step)
{
	const char *old = "the old value of victim";
	size_t lens[] = { 0, 1, strlen(old), 5000, STATEDB_DATA_MAX };

	create_ok("left", "neighbour");
	cr_assert_eq(statedb_create(&db, "victim", 7, 1, "ramfs", old, strlen(old)), STATEDB_OK);
	create_ok("right", "neighbour too");
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		update_at_every_step(lens[i]);
	assert_value("left", "neighbour", 9, 1, 1, "tester");
	assert_value("right", "neighbour too", 13, 1, 1, "tester");
	finish();
}

/* Fills the store with `count` records named fill.N. */
static void populate(int count)
{
	char name[32];

	for (int i = 0; i < count; i++) {
		snprintf(name, sizeof name, "fill.%d", i);
		create_ok(name, name);
	}
}

/* With `count` records present, stops a create at each step; `grows` says
 * whether that create must rebuild the index. */
static void create_at_every_step(int count, bool grows)
{
	static struct snap before;
	int last = grows ? STATEDB_STEP_INDEX : STATEDB_STEP_CHECKSUM;
	size_t slots;

	populate(count);
	slots = stats().index_slots;
	failer = (struct failer){ 0 };
	statedb_set_fail_point(&db, &fail_ref, FAILER);
	for (int step = STATEDB_STEP_ALLOC; step <= last; step++) {
		take_snap(&before);
		failer.fail_at = step;
		failer.seen = 0;
		cr_assert_eq(statedb_create(&db, "newbie", 5, 3, "cellx", "fresh", 5), STATEDB_E_ABORTED);
		cr_assert_eq(failer.seen, steps_mask(STATEDB_STEP_ALLOC, step));
		assert_unchanged(&before);
		cr_assert_eq(statedb_get(&db, "newbie", NULL, 0, NULL), STATEDB_E_NOT_FOUND);
	}
	failer.fail_at = 0;
	failer.seen = 0;
	cr_assert_eq(statedb_create(&db, "newbie", 5, 3, "cellx", "fresh", 5), STATEDB_OK);
	cr_assert_eq(failer.seen, steps_mask(STATEDB_STEP_ALLOC, last));
	cr_assert_eq(stats().index_slots != slots, grows);
	assert_value("newbie", "fresh", 5, 5, 3, "cellx");
	finish();
}

/* The root holds the fail point by name: a fail point whose cell is gone is
 * skipped, and the caller's cellref need not outlive the call. */
Test(state_db, fail_point_is_a_cellref)
{
	struct cellref gone = { "unloaded", "fail_cb" }, ref = fail_ref;

	cr_assert_eq(statedb_set_fail_point(&db, &gone, FAILER), STATEDB_OK);
	failer = (struct failer){ .fail_at = STATEDB_STEP_ALLOC };
	cr_assert_eq(statedb_create(&db, "a", 1, 1, "tester", "x", 1), STATEDB_OK,
		     "a fail point that does not resolve stopped a create");
	cr_assert_eq(failer.seen, 0);
	cr_assert_eq(statedb_set_fail_point(&db, &ref, FAILER), STATEDB_OK);
	memset(&ref, 0, sizeof(ref));
	cr_assert_eq(statedb_create(&db, "b", 1, 1, "tester", "y", 1), STATEDB_E_ABORTED);
	cr_assert_eq(failer.seen, 1u << STATEDB_STEP_ALLOC);
	cr_assert_eq(statedb_set_fail_point(&db, NULL, 0), STATEDB_OK);
	cr_assert_eq(statedb_create(&db, "b", 1, 1, "tester", "y", 1), STATEDB_OK);
	cr_assert_eq(statedb_set_fail_point(NULL, &ref, 0), STATEDB_E_ROOT);
	finish();
}

/* The first create makes the index; 12 records fill 16 slots to the limit. */
Test(state_db, create_fails_at_every_step_first) { create_at_every_step(0, true); }
Test(state_db, create_fails_at_every_step_plain) { create_at_every_step(5, false); }
Test(state_db, create_fails_at_every_step_grow)  { create_at_every_step(12, true); }

/* ---- the allocator refusing at every allocation ---- */

/* Runs op with the allocator refusing from its nth next call, for n = 0, 1,
 * ... until op succeeds; each refusal must change nothing. Returns how many
 * refusals there were. */
static int refuse_until_ok(int (*op)(void))
{
	static struct snap before;
	int n;

	for (n = 0; n < 10; n++) {
		int rc;

		take_snap(&before);
		ta.fail_from = ta.calls + n;
		rc = op();
		ta.fail_from = -1;
		if (rc == STATEDB_OK)
			return n;
		cr_assert_eq(rc, STATEDB_E_NOMEM, "refusing from call %d: rc %d", n, rc);
		assert_unchanged(&before);
	}
	cr_assert_fail("op never succeeded");
	return -1;
}

static int create_newbie(void)
{
	return statedb_create(&db, "newbie", 5, 3, "cellx", "fresh", 5);
}

static int create_other(void)
{
	return statedb_create(&db, "other", 6, 1, "cellx", "other", 5);
}

static int update_victim(void)
{
	return statedb_update(&db, "victim", STATEDB_TYPE_KEEP, 2, scratch, 3000);
}

Test(state_db, alloc_fails_in_create)
{
	cr_assert_eq(refuse_until_ok(create_newbie), 2, "first create: record and index");
	cr_assert_eq(statedb_delete(&db, "newbie"), STATEDB_OK);
	populate(5);
	cr_assert_eq(refuse_until_ok(create_other), 1, "plain create: the record");
	cr_assert_eq(stats().tombstones, 1);
	cr_assert_eq(refuse_until_ok(create_newbie), 1, "reusing newbie's tombstone: the record");
	cr_assert_eq(stats().tombstones, 0);
	assert_value("other", "other", 5, 6, 1, "cellx");
	assert_value("newbie", "fresh", 5, 5, 3, "cellx");
	finish();
}

Test(state_db, alloc_fails_in_growing_create)
{
	populate(12);
	cr_assert_eq(refuse_until_ok(create_newbie), 2, "growing create: record and index");
	cr_assert_eq(stats().index_slots, 32);
	for (int i = 0; i < 12; i++) {
		char name[32];

		snprintf(name, sizeof name, "fill.%d", i);
		assert_value(name, name, strlen(name), 1, 1, "tester");
	}
	finish();
}

Test(state_db, alloc_fails_in_update)
{
	memset(scratch, 'u', 3000);
	create_ok("victim", "old");
	cr_assert_eq(refuse_until_ok(update_victim), 1);
	assert_value("victim", scratch, 3000, 1, 2, "tester");
	finish();
}

/* ---- corruption ---- */

struct seen {
	int n;
	char names[8][STATEDB_NAME_MAX + 1];
	bool ok[8];
};

static bool record_seen(void *ctx, const struct statedb_meta *m)
{
	struct seen *s = ctx;

	cr_assert_lt(s->n, 8);
	strcpy(s->names[s->n], m->name);
	s->ok[s->n++] = m->checksum_ok;
	return true;
}

static struct sdb_rec *rec_of(const char *name)
{
	const void *p;

	cr_assert_geq(statedb_view(&db, name, &p, NULL), 0);
	return (struct sdb_rec *)((char *)p - offsetof(struct sdb_rec, data));
}

/* With one byte of b flipped: b is refused by name, everywhere, and a and c are fine. */
static void assert_only_b_corrupt(void)
{
	unsigned char buf[64];
	struct statedb_meta m;
	struct seen seen = { 0 };
	const void *p = (void *)1;
	char msg[128];

	memset(buf, 0x5a, sizeof buf);
	cr_assert_eq(statedb_get(&db, "b", buf, sizeof buf, &m), STATEDB_E_CORRUPT);
	cr_assert_str_eq(m.name, "b");
	cr_assert_not(m.checksum_ok);
	for (size_t i = 0; i < sizeof buf; i++)
		cr_assert_eq(buf[i], 0x5a, "corrupt data was handed out");
	cr_assert_eq(statedb_view(&db, "b", &p, NULL), STATEDB_E_CORRUPT);
	cr_assert_null(p);
	statedb_describe(msg, sizeof msg, STATEDB_E_CORRUPT, m.name);
	cr_assert_str_eq(msg, "state_db: record 'b': checksum mismatch: the record is corrupt and its data withheld");

	cr_assert_eq(statedb_list(&db, record_seen, &seen), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(seen.ok[i], strcmp(seen.names[i], "b") != 0, "list: '%s'", seen.names[i]);
	seen.n = 0;
	cr_assert_eq(statedb_verify_all(&db, record_seen, &seen), 1);
	cr_assert_str_eq(seen.names[0], "b");
	cr_assert_not(seen.ok[0]);
	cr_assert_eq(statedb_update(&db, "b", 1, 2, "new", 3), STATEDB_E_CORRUPT);

	assert_value("a", "alpha", 5, 1, 1, "tester");
	assert_value("c", "gamma", 5, 1, 1, "tester");
}

static void flip_and_check(unsigned char *byte)
{
	*byte ^= 0x40;
	assert_only_b_corrupt();
	*byte ^= 0x40;
	assert_value("b", "bravo-bravo", 11, 1, 1, "tester");
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
}

static void make_abc(void)
{
	create_ok("a", "alpha");
	create_ok("b", "bravo-bravo");
	create_ok("c", "gamma");
}

Test(state_db, corrupt_data_is_detected)
{
	const void *p;

	make_abc();
	cr_assert_eq(statedb_view(&db, "b", &p, NULL), 11);
	flip_and_check((unsigned char *)p);
	flip_and_check((unsigned char *)p + 10);
	cr_assert_gt(stats().corrupt_seen, 0);
	finish();
}

Test(state_db, corrupt_header_is_detected)
{
	struct sdb_rec *r;

	make_abc();
	r = rec_of("b");
	flip_and_check((unsigned char *)&r->crc);
	flip_and_check((unsigned char *)&r->type);
	flip_and_check((unsigned char *)&r->version + 3);
	flip_and_check((unsigned char *)&r->len);         /* shorter: lengths disagree */
	flip_and_check((unsigned char *)&r->len + 1);     /* 16 KiB longer: lengths disagree */
	flip_and_check((unsigned char *)&r->len + 2);     /* 4 MiB: above the limit */
	flip_and_check((unsigned char *)&r->owner[0]);
	flip_and_check((unsigned char *)&r->owner[STATEDB_OWNER_MAX]);
	flip_and_check((unsigned char *)&r->name[0]);
	flip_and_check((unsigned char *)&r->name[STATEDB_NAME_MAX]);
	finish();
}

/* A corrupt record can be deleted, and then recreated. */
Test(state_db, corrupt_record_can_be_deleted)
{
	const void *p;

	make_abc();
	cr_assert_eq(statedb_view(&db, "b", &p, NULL), 11);
	((unsigned char *)p)[3] ^= 1;
	cr_assert_eq(statedb_create(&db, "b", 1, 1, "tester", "x", 1), STATEDB_E_EXISTS);
	cr_assert_eq(statedb_delete(&db, "b"), STATEDB_OK);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
	cr_assert_eq(stats().data_bytes, 10);
	create_ok("b", "bravo-bravo");
	assert_value("b", "bravo-bravo", 11, 1, 1, "tester");
	finish();
}

/* ---- bad input ---- */

/* Each call is refused with its error and leaves the store as it was. */
Test(state_db, bad_input_changes_nothing)
{
	static struct snap before;
	char long_name[STATEDB_NAME_MAX + 2], long_owner[STATEDB_OWNER_MAX + 2];
	unsigned char buf[4];
	const void *p;

	make_abc();
	memset(long_name, 'n', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	memset(long_owner, 'o', sizeof long_owner - 1);
	long_owner[sizeof long_owner - 1] = '\0';
	take_snap(&before);

	const char *bad_names[] = { NULL, "", long_name, "a b", "tab\t", "nl\n", "\x01", "del\x7f", "caf\xc3\xa9" };
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		const char *n = bad_names[i];

		cr_assert_eq(statedb_create(&db, n, 1, 1, "o", "x", 1), STATEDB_E_NAME, "name %zu", i);
		cr_assert_eq(statedb_update(&db, n, 1, 1, "x", 1), STATEDB_E_NAME, "name %zu", i);
		cr_assert_eq(statedb_delete(&db, n), STATEDB_E_NAME, "name %zu", i);
		cr_assert_eq(statedb_get(&db, n, buf, sizeof buf, NULL), STATEDB_E_NAME, "name %zu", i);
		cr_assert_eq(statedb_view(&db, n, &p, NULL), STATEDB_E_NAME, "name %zu", i);
	}
	cr_assert_eq(statedb_create(&db, "d", 1, 1, long_owner, "x", 1), STATEDB_E_OWNER);
	cr_assert_eq(statedb_create(&db, "d", 1, 1, "", "x", 1), STATEDB_E_OWNER);
	cr_assert_eq(statedb_create(&db, "d", 1, 1, NULL, "x", 1), STATEDB_E_OWNER);
	cr_assert_eq(statedb_create(&db, "d", 1, 1, "my cell", "x", 1), STATEDB_E_OWNER);
	cr_assert_eq(statedb_create(&db, "d", 1, 1, "o", NULL, 5), STATEDB_E_INVAL);
	cr_assert_eq(statedb_update(&db, "a", 1, 1, NULL, 5), STATEDB_E_INVAL);
	cr_assert_eq(statedb_create(&db, "d", 1, 1, "o", scratch, STATEDB_DATA_MAX + 1), STATEDB_E_TOO_BIG);
	cr_assert_eq(statedb_update(&db, "a", 1, 1, scratch, STATEDB_DATA_MAX + 1), STATEDB_E_TOO_BIG);
	cr_assert_eq(statedb_update(&db, "a", 1, 1, scratch, SIZE_MAX), STATEDB_E_TOO_BIG);
	cr_assert_eq(statedb_create(&db, "a", 9, 9, "o", "dup", 3), STATEDB_E_EXISTS);
	cr_assert_eq(statedb_update(&db, "missing", 1, 1, "x", 1), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_delete(&db, "missing"), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_get(&db, "missing", buf, sizeof buf, NULL), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_view(&db, "missing", &p, NULL), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_get(&db, "a", NULL, 5, NULL), STATEDB_E_INVAL);
	cr_assert_eq(statedb_get(&db, "a", buf, sizeof buf, NULL), STATEDB_E_NOSPACE);
	cr_assert_eq(statedb_view(&db, "a", NULL, NULL), STATEDB_E_INVAL);
	cr_assert_eq(statedb_list(&db, NULL, NULL), STATEDB_E_INVAL);
	cr_assert_eq(statedb_stats(&db, NULL), STATEDB_E_INVAL);
	assert_unchanged(&before);
	assert_value("a", "alpha", 5, 1, 1, "tester");
	finish();
}

/* The limits themselves are accepted. */
Test(state_db, limits_are_accepted)
{
	char name[STATEDB_NAME_MAX + 1], owner[STATEDB_OWNER_MAX + 1];

	memset(name, '~', STATEDB_NAME_MAX);
	name[STATEDB_NAME_MAX] = '\0';
	memset(owner, '!', STATEDB_OWNER_MAX);
	owner[STATEDB_OWNER_MAX] = '\0';
	fill(&(uint64_t){ 5 }, scratch, STATEDB_DATA_MAX);
	cr_assert_eq(statedb_create(&db, name, 0, 0, owner, scratch, STATEDB_DATA_MAX), STATEDB_OK);
	assert_value(name, scratch, STATEDB_DATA_MAX, 0, 0, owner);
	cr_assert_eq(statedb_create(&db, "empty", 0, 0, owner, NULL, 0), STATEDB_OK);
	assert_value("empty", NULL, 0, 0, 0, owner);
	finish();
}

Test(state_db, uninitialized_root_is_refused)
{
	struct state_db raw;
	struct statedb_stats st;
	const void *p;

	memset(&raw, 0, sizeof raw);
	cr_assert_eq(statedb_create(&raw, "a", 1, 1, "o", "x", 1), STATEDB_E_ROOT);
	cr_assert_eq(statedb_update(&raw, "a", 1, 1, "x", 1), STATEDB_E_ROOT);
	cr_assert_eq(statedb_delete(&raw, "a"), STATEDB_E_ROOT);
	cr_assert_eq(statedb_get(&raw, "a", NULL, 0, NULL), STATEDB_E_ROOT);
	cr_assert_eq(statedb_view(&raw, "a", &p, NULL), STATEDB_E_ROOT);
	cr_assert_eq(statedb_list(&raw, collect, NULL), STATEDB_E_ROOT);
	cr_assert_eq(statedb_verify_all(&raw, NULL, NULL), STATEDB_E_ROOT);
	cr_assert_eq(statedb_stats(&raw, &st), STATEDB_E_ROOT);
	cr_assert_eq(statedb_reclaim(&raw), STATEDB_E_ROOT);
	cr_assert_eq(statedb_fini(&raw), STATEDB_E_ROOT);
	cr_assert_eq(statedb_get(NULL, "a", NULL, 0, NULL), STATEDB_E_ROOT);
	cr_assert_eq(statedb_init(&raw, NULL, t_free, NULL), STATEDB_E_INVAL);
	cr_assert_eq(statedb_init(NULL, t_alloc, t_free, NULL), STATEDB_E_INVAL);
	raw.magic = STATEDB_MAGIC;
	raw.layout = STATEDB_LAYOUT + 1;
	cr_assert_eq(statedb_get(&raw, "a", NULL, 0, NULL), STATEDB_E_ROOT, "a root of another layout");
}

/* ---- values, versions, readers ---- */

/* ramfs v1 -> v2: the layout version and length change, type and owner stay. */
Test(state_db, update_migrates_layout)
{
	cr_assert_eq(statedb_create(&db, "ramfs/root", 3, 1, "ramfs", "v1-inode-table", 14), STATEDB_OK);
	memset(scratch, 'v', 4000);
	cr_assert_eq(statedb_update(&db, "ramfs/root", STATEDB_TYPE_KEEP, 2, scratch, 4000), STATEDB_OK);
	assert_value("ramfs/root", scratch, 4000, 3, 2, "ramfs");
	cr_assert_eq(statedb_update(&db, "ramfs/root", 9, 3, NULL, 0), STATEDB_OK);
	assert_value("ramfs/root", NULL, 0, 9, 3, "ramfs");
	cr_assert_eq(stats().updates, 2);
	cr_assert_eq(stats().data_bytes, 0);
	finish();
}

/* A reader inside a read section keeps the value it saw across an update
 * and a delete; the buffers are freed once it leaves. */
Test(state_db, readers_keep_old_values)
{
	const void *p, *q;
	long live;

	create_ok("a", "first value");
	live = ta.live;
	statedb_read_begin(&db);
	cr_assert_eq(statedb_view(&db, "a", &p, NULL), 11);
	cr_assert_eq(statedb_update(&db, "a", 1, 2, "second", 6), STATEDB_OK);
	cr_assert_eq(statedb_view(&db, "a", &q, NULL), 6);
	cr_assert_eq(memcmp(q, "second", 6), 0);
	cr_assert_eq(memcmp(p, "first value", 11), 0, "the old value went away under a reader");
	cr_assert_eq(statedb_delete(&db, "a"), STATEDB_OK);
	cr_assert_eq(memcmp(q, "second", 6), 0);
	cr_assert_eq(stats().retired, 2);
	cr_assert_eq(statedb_reclaim(&db), 2, "nothing is freed while a reader is inside");
	statedb_read_end(&db);
	cr_assert_eq(statedb_reclaim(&db), 0);
	cr_assert_eq(ta.live, live - 1, "both values freed, the index kept");
	finish();
}

/* A list callback may delete and create; the walk finishes on its snapshot. */
static bool delete_each(void *ctx, const struct statedb_meta *m)
{
	int *n = ctx;
	char name[32];

	cr_assert_eq(statedb_delete(&db, m->name), STATEDB_OK);
	snprintf(name, sizeof name, "new.%d", (*n)++);
	cr_assert_eq(statedb_create(&db, name, 1, 1, "tester", name, strlen(name)), STATEDB_OK);
	return true;
}

Test(state_db, list_callback_may_write)
{
	int n = 0;

	populate(10);
	cr_assert_geq(statedb_list(&db, delete_each, &n), 10);
	cr_assert_geq(n, 10);
	for (int i = 0; i < 10; i++) {
		char name[32];

		snprintf(name, sizeof name, "fill.%d", i);
		cr_assert_eq(statedb_get(&db, name, NULL, 0, NULL), STATEDB_E_NOT_FOUND, "%s", name);
	}
	statedb_reclaim(&db);
	cr_assert_eq(stats().retired, 0);
	cr_assert_eq(stats().records, 10, "each call deleted one record and created one");
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
	finish();
}

static bool stop_at_first(void *ctx, const struct statedb_meta *m)
{
	(void)m;
	++*(int *)ctx;
	return false;
}

Test(state_db, list_stops_when_asked)
{
	int calls = 0;

	populate(5);
	cr_assert_eq(statedb_list(&db, stop_at_first, &calls), 1);
	cr_assert_eq(calls, 1);
	finish();
}

/* ---- the index: growth, tombstones, the record limit ---- */

Test(state_db, tombstones_do_not_pile_up)
{
	char name[32];

	for (int round = 0; round < 2000; round++) {
		for (int i = 0; i < 8; i++) {
			snprintf(name, sizeof name, "r%d.%d", round, i);
			create_ok(name, "x");
		}
		for (int i = 0; i < 8; i++) {
			snprintf(name, sizeof name, "r%d.%d", round, i);
			cr_assert_eq(statedb_delete(&db, name), STATEDB_OK);
		}
		cr_assert_leq(stats().index_slots, 32, "round %d", round);
		cr_assert_leq(stats().tombstones * 4, stats().index_slots * 3, "round %d", round);
	}
	cr_assert_eq(stats().records, 0);
	cr_assert_eq(ta.live, 1, "only the index is left");
	finish();
}

Test(state_db, holds_the_most_records, .timeout = 120)
{
	static struct snap before;
	char name[32];

	for (unsigned i = 0; i < STATEDB_RECORDS_MAX; i++) {
		snprintf(name, sizeof name, "n%u", i);
		cr_assert_eq(statedb_create(&db, name, i, 0, "t", &i, sizeof i), STATEDB_OK, "%s", name);
	}
	cr_assert_eq(stats().records, STATEDB_RECORDS_MAX);
	cr_assert_eq(stats().index_slots, 2 * STATEDB_RECORDS_MAX);
	before.st = stats();
	cr_assert_eq(statedb_create(&db, "one.more", 1, 1, "t", NULL, 0), STATEDB_E_FULL);
	cr_assert_eq(stats().records, before.st.records);
	cr_assert_eq(stats().blocks, before.st.blocks);
	for (unsigned i = 0; i < STATEDB_RECORDS_MAX; i += 997) {
		unsigned v;
		struct statedb_meta m;

		snprintf(name, sizeof name, "n%u", i);
		cr_assert_eq(statedb_get(&db, name, &v, sizeof v, &m), (int)sizeof v);
		cr_assert_eq(v, i);
		cr_assert_eq(m.type, i);
	}
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
	finish();
}

/* ---- messages and the CRC ---- */

Test(state_db, every_error_has_a_message)
{
	for (int e = STATEDB_E_RANGE; e <= STATEDB_OK; e++) {
		cr_assert_str_neq(statedb_strerror(e), "unknown error", "error %d", e);
		for (int f = e + 1; f <= STATEDB_OK; f++)
			cr_assert_str_neq(statedb_strerror(e), statedb_strerror(f));
	}
	cr_assert_str_eq(statedb_strerror(STATEDB_E_RANGE - 1), "unknown error");
	cr_assert_str_eq(statedb_strerror(1), "unknown error");
}

Test(state_db, describe_names_the_record)
{
	char msg[64];
	char tiny[12];

	cr_assert_str_eq(statedb_describe(msg, sizeof msg, STATEDB_E_NOT_FOUND, "irq/routes"),
			 "state_db: record 'irq/routes': no record of that name");
	cr_assert_str_eq(statedb_describe(msg, sizeof msg, STATEDB_E_NAME, "a b\x01\\"),
			 "state_db: record 'a\\x20b\\x01\\x5c': bad record name (1 to 47 ...");
	cr_assert_str_eq(statedb_describe(msg, sizeof msg, STATEDB_E_NOMEM, NULL),
			 "state_db: out of memory");
	cr_assert_str_eq(statedb_describe(tiny, sizeof tiny, STATEDB_E_NOMEM, NULL), "state_db...");
	cr_assert_eq(strlen(tiny), sizeof tiny - 1);
}

/* Bit by bit, straight from the definition. */
static uint32_t crc32c_ref(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

Test(state_db, crc32c_matches_the_definition)
{
	uint64_t s = 9;

	cr_assert_eq(statedb_crc32c(0, "123456789", 9), 0xe3069283u, "the CRC-32C check value");
	cr_assert_eq(statedb_crc32c(0, NULL, 0), 0);
	for (int i = 0; i < 200; i++) {
		size_t n = rnd(&s) % 3000, cut = n ? rnd(&s) % n : 0;

		fill(&s, scratch, n);
		cr_assert_eq(statedb_crc32c(0, scratch, n), crc32c_ref(scratch, n), "length %zu", n);
		cr_assert_eq(statedb_crc32c(statedb_crc32c(0, scratch, cut), scratch + cut, n - cut),
			     crc32c_ref(scratch, n), "continued at %zu of %zu", cut, n);
	}
}

/* A prefix walk reports only its records and does not even verify the others. */
Test(state_db, list_prefix_skips_other_records, .init = setup)
{
	struct seen s = { 0 };
	const void *p;

	cr_assert_eq(statedb_create(&db, "task/1", 1, 1, "tasks", "x", 1), STATEDB_OK);
	cr_assert_eq(statedb_create(&db, "task/2", 1, 1, "tasks", "y", 1), STATEDB_OK);
	cr_assert_eq(statedb_create(&db, "shell/line", 1, 1, "shell", "zz", 2), STATEDB_OK);
	cr_assert_eq(statedb_view(&db, "shell/line", &p, NULL), 2);
	((unsigned char *)p)[0] ^= 1;
	cr_assert_eq(statedb_list_prefix(&db, "task/", record_seen, &s), 2);
	cr_assert_eq(s.n, 2);
	cr_assert(s.ok[0] && s.ok[1]);
	cr_assert(strncmp(s.names[0], "task/", 5) == 0 && strncmp(s.names[1], "task/", 5) == 0);
	cr_assert_eq(stats().corrupt_seen, 0, "a record outside the prefix was verified");
	cr_assert_eq(statedb_list_prefix(&db, NULL, record_seen, &s), STATEDB_E_INVAL);
	((unsigned char *)p)[0] ^= 1;
}

/* ---- transactions ---- */

static struct statedb_txn *begin(uint64_t owner_id)
{
	struct statedb_txn *txn;

	cr_assert_eq(statedb_txn_begin(&db, owner_id, &txn), STATEDB_OK);
	cr_assert_not_null(txn);
	return txn;
}

Test(state_db, txn_reads_its_own_writes_others_see_the_committed_state)
{
	struct statedb_txn *txn;
	char buf[64];

	create_ok("a", "old a");
	create_ok("b", "old b");
	txn = begin(1);
	cr_assert_eq(statedb_txn_update(&db, txn, "a", STATEDB_TYPE_KEEP, 2, "new a", 5), STATEDB_OK);
	cr_assert_eq(statedb_txn_delete(&db, txn, "b"), STATEDB_OK);
	cr_assert_eq(statedb_txn_create(&db, txn, "c", 3, 1, "cellt", "new c", 5), STATEDB_OK);
	/* Inside: its own writes. */
	cr_assert_eq(statedb_txn_get(&db, txn, "a", buf, sizeof buf, NULL), 5);
	cr_assert_eq(memcmp(buf, "new a", 5), 0);
	cr_assert_eq(statedb_txn_get(&db, txn, "b", buf, sizeof buf, NULL), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_txn_get(&db, txn, "c", buf, sizeof buf, NULL), 5);
	cr_assert_eq(statedb_txn_create(&db, txn, "c", 3, 1, "cellt", "x", 1), STATEDB_E_EXISTS);
	cr_assert_eq(statedb_txn_update(&db, txn, "b", 1, 1, "x", 1), STATEDB_E_NOT_FOUND);
	/* Outside: the last committed state. */
	assert_value("a", "old a", 5, 1, 1, "tester");
	assert_value("b", "old b", 5, 1, 1, "tester");
	cr_assert_eq(statedb_get(&db, "c", NULL, 0, NULL), STATEDB_E_NOT_FOUND);
	cr_assert_eq(stats().open_txns, 1);
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_OK);
	assert_value("a", "new a", 5, 1, 2, "tester");
	cr_assert_eq(statedb_get(&db, "b", NULL, 0, NULL), STATEDB_E_NOT_FOUND);
	assert_value("c", "new c", 5, 3, 1, "cellt");
	cr_assert_eq(stats().open_txns, 0);
	cr_assert_eq(stats().commits, 1);
	/* The transaction is gone: its pointer is refused, not followed. */
	cr_assert_eq(statedb_txn_get(&db, txn, "a", buf, sizeof buf, NULL), STATEDB_E_TXN);
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_E_TXN);
	cr_assert_eq(statedb_txn_abort(&db, (struct statedb_txn *)buf), STATEDB_E_TXN);
	finish();
}

Test(state_db, txn_abort_and_task_end_leave_nothing)
{
	static struct snap before;
	struct statedb_txn *t1, *t2, *t3;

	populate(20);
	take_snap(&before);
	t1 = begin(7);
	t2 = begin(8);
	t3 = begin(7);
	for (int i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof name, "fill.%d", i);
		cr_assert_eq(statedb_txn_update(&db, t1, name, 9, 9, "t1", 2), STATEDB_OK);
		cr_assert_eq(statedb_txn_delete(&db, t2, name), STATEDB_OK);
		snprintf(name, sizeof name, "new.%d", i);
		cr_assert_eq(statedb_txn_create(&db, t3, name, 1, 1, "owner", name, strlen(name)),
			     STATEDB_OK);
	}
	cr_assert_eq(statedb_txn_of(&db, 8), t2);
	cr_assert_eq(statedb_txn_abort_owner(&db, 7), 2, "both of owner 7's transactions");
	cr_assert_eq(statedb_txn_of(&db, 7), NULL);
	cr_assert_eq(statedb_txn_commit(&db, t1), STATEDB_E_TXN);
	cr_assert_eq(statedb_txn_abort(&db, t2), STATEDB_OK);
	cr_assert_eq(stats().aborts, 3);
	before.st.aborts = 3;
	assert_unchanged(&before);
	finish();
}

Test(state_db, txn_conflict_commits_nothing)
{
	struct statedb_txn *txn;
	size_t blocks;

	create_ok("a", "old a");
	create_ok("b", "old b");
	blocks = stats().blocks;
	txn = begin(1);
	cr_assert_eq(statedb_txn_update(&db, txn, "a", 1, 2, "txn a", 5), STATEDB_OK);
	cr_assert_eq(statedb_txn_update(&db, txn, "b", 1, 2, "txn b", 5), STATEDB_OK);
	/* A plain writer changes b behind the transaction, with the same bytes. */
	cr_assert_eq(statedb_update(&db, "b", 1, 1, "old b", 5), STATEDB_OK);
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_E_CONFLICT);
	assert_value("a", "old a", 5, 1, 1, "tester");
	assert_value("b", "old b", 5, 1, 1, "tester");
	cr_assert_eq(stats().updates, 1, "only the plain update");
	cr_assert_eq(stats().aborts, 1);
	cr_assert_eq(stats().blocks, blocks, "the transaction's memory came back");
	/* A create conflicts with a plain create of the same name. */
	txn = begin(1);
	cr_assert_eq(statedb_txn_create(&db, txn, "c", 1, 1, "o", "txn c", 5), STATEDB_OK);
	create_ok("c", "plain c");
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_E_CONFLICT);
	assert_value("c", "plain c", 7, 1, 1, "tester");
	finish();
}

Test(state_db, txn_refuses_bad_input_and_changes_nothing)
{
	static struct snap before;
	struct statedb_txn *txn;
	char name[32];

	create_ok("a", "old a");
	txn = begin(1);
	take_snap(&before);
	cr_assert_eq(statedb_txn_begin(&db, 1, NULL), STATEDB_E_INVAL);
	cr_assert_eq(statedb_txn_create(&db, txn, "bad name", 1, 1, "o", "x", 1), STATEDB_E_NAME);
	cr_assert_eq(statedb_txn_create(&db, txn, "n", 1, 1, "bad owner", "x", 1), STATEDB_E_OWNER);
	cr_assert_eq(statedb_txn_create(&db, txn, "n", 1, 1, "o", NULL, 1), STATEDB_E_INVAL);
	cr_assert_eq(statedb_txn_create(&db, txn, "n", 1, 1, "o", scratch, STATEDB_DATA_MAX + 1),
		     STATEDB_E_TOO_BIG);
	cr_assert_eq(statedb_txn_create(&db, txn, "a", 1, 1, "o", "x", 1), STATEDB_E_EXISTS);
	cr_assert_eq(statedb_txn_update(&db, txn, "zz", 1, 1, "x", 1), STATEDB_E_NOT_FOUND);
	cr_assert_eq(statedb_txn_delete(&db, txn, "zz"), STATEDB_E_NOT_FOUND);
	ta.fail_from = ta.calls;   /* the allocator refuses from now on */
	cr_assert_eq(statedb_txn_update(&db, txn, "a", 1, 1, "x", 1), STATEDB_E_NOMEM);
	ta.fail_from = -1;
	assert_unchanged(&before);
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_OK, "an empty transaction commits");
	/* A transaction touches at most STATEDB_TXN_OPS_MAX records. */
	txn = begin(2);
	for (unsigned i = 0; i < STATEDB_TXN_OPS_MAX; i++) {
		snprintf(name, sizeof name, "many.%u", i);
		cr_assert_eq(statedb_txn_create(&db, txn, name, 1, 1, "o", NULL, 0), STATEDB_OK);
	}
	cr_assert_eq(statedb_txn_create(&db, txn, "one.more", 1, 1, "o", NULL, 0), STATEDB_E_TXN_FULL);
	cr_assert_eq(statedb_txn_update(&db, txn, "many.0", 1, 2, NULL, 0), STATEDB_OK,
		     "a record already touched can be written again");
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_OK);
	cr_assert_eq(stats().records, STATEDB_TXN_OPS_MAX + 1);
	finish();
}

/*
 * What a reader must see at every step of a commit: exactly the state before
 * it (old) or, once it returned OK, after it (new). Values are short strings.
 */
struct expect_rec {
	const char *name;
	const char *value;    /* NULL: no such record */
};

static const struct expect_rec commit_old[] = {
	{ "keep", "untouched" }, { "upd.1", "u1 old" }, { "upd.2", "u2 old" },
	{ "del.1", "d1 old" }, { "del.2", "d2 old" }, { "new.1", NULL }, { "new.2", NULL },
	{ "new.3", NULL }, { "churn", NULL },
};
static const struct expect_rec commit_new[] = {
	{ "keep", "untouched" }, { "upd.1", "u1 new, longer" }, { "upd.2", "" },
	{ "del.1", NULL }, { "del.2", NULL }, { "new.1", "n1" }, { "new.2", "n2 new" },
	{ "new.3", "n3" }, { "churn", NULL },
};
#define COMMIT_RECS (sizeof commit_old / sizeof commit_old[0])
#define COMMIT_FILL 6   /* fill.N records beside them: 5 + 6 = 11 live, so three creates
			   must grow the 16-slot index */

/* Checks every record by get and by the list walk: all as in `want`. */
static void assert_state(const struct expect_rec *want)
{
	static struct snap got;
	int live = 0;

	take_snap(&got);
	for (size_t i = 0; i < COMMIT_RECS; i++) {
		int rc = statedb_get(&db, want[i].name, readbuf, sizeof readbuf, NULL);

		if (!want[i].value) {
			cr_assert_eq(rc, STATEDB_E_NOT_FOUND, "'%s' exists", want[i].name);
			continue;
		}
		live++;
		cr_assert_eq(rc, (int)strlen(want[i].value), "'%s': %d", want[i].name, rc);
		cr_assert_eq(memcmp(readbuf, want[i].value, rc), 0, "'%s' differs", want[i].name);
	}
	cr_assert_eq(got.n, live + COMMIT_FILL, "the walk sees %d records, expected %d", got.n,
		     live + COMMIT_FILL);
	for (int i = 0; i < got.n; i++)
		cr_assert(got.meta[i].checksum_ok, "'%s' fails its checksum", got.meta[i].name);
}

struct commit_failer {
	int calls;            /* fail point calls during the commit so far */
	int fail_at;          /* stop at this call (1-based); 0: never */
	int steps[64];        /* the step of each call */
};

static struct commit_failer cfail;
static const struct cellref commit_ref = { "test", "commit_cb" };

/* Every internal write of the commit is followed by a call here: an
 * "interrupt" that reads the whole store, and maybe the stop. */
static bool commit_cb(uint64_t arg, int step)
{
	struct commit_failer *f = (struct commit_failer *)(uintptr_t)arg;

	cr_assert_lt(f->calls, 64);
	f->steps[f->calls++] = step;
	assert_state(commit_old);
	return f->calls == f->fail_at;
}

/* Builds the transaction of commit_old -> commit_new on a store in the old state. */
static struct statedb_txn *commit_setup(void)
{
	struct statedb_txn *txn;

	for (size_t i = 0; i < COMMIT_RECS; i++)
		if (commit_old[i].value)
			cr_assert_eq(statedb_create(&db, commit_old[i].name, 1, 1, "tester",
						    commit_old[i].value, strlen(commit_old[i].value)),
				     STATEDB_OK);
	populate(COMMIT_FILL);
	txn = begin(3);
	cr_assert_eq(statedb_txn_update(&db, txn, "upd.1", 1, 1, "u1 mid", 6), STATEDB_OK);
	cr_assert_eq(statedb_txn_update(&db, txn, "upd.1", 1, 1, "u1 new, longer", 14), STATEDB_OK);
	cr_assert_eq(statedb_txn_update(&db, txn, "upd.2", 1, 1, NULL, 0), STATEDB_OK);
	cr_assert_eq(statedb_txn_delete(&db, txn, "del.1"), STATEDB_OK);
	cr_assert_eq(statedb_txn_update(&db, txn, "del.2", 1, 1, "gone soon", 9), STATEDB_OK);
	cr_assert_eq(statedb_txn_delete(&db, txn, "del.2"), STATEDB_OK);
	cr_assert_eq(statedb_txn_create(&db, txn, "new.1", 1, 1, "tester", "n1", 2), STATEDB_OK);
	cr_assert_eq(statedb_txn_create(&db, txn, "new.2", 1, 1, "tester", "n2", 2), STATEDB_OK);
	cr_assert_eq(statedb_txn_update(&db, txn, "new.2", 1, 1, "n2 new", 6), STATEDB_OK);
	cr_assert_eq(statedb_txn_create(&db, txn, "new.3", 1, 1, "tester", "n3", 2), STATEDB_OK);
	cr_assert_eq(statedb_txn_create(&db, txn, "churn", 1, 1, "tester", "brief", 5), STATEDB_OK);
	cr_assert_eq(statedb_txn_delete(&db, txn, "churn"), STATEDB_OK);
	return txn;
}

/*
 * A fail point after every internal write of the commit (the index growth,
 * then each published record): stopped there, the store holds exactly the
 * old state, every checksum verifies and the transaction's memory is back;
 * a reader at every step sees the old state, and after the commit the new.
 */
Test(state_db, txn_commit_fails_at_every_step)
{
	static struct snap before;
	struct statedb_txn *txn;
	int total;

	/* A run with no stop counts the steps. */
	cfail = (struct commit_failer){ 0 };
	txn = commit_setup();
	statedb_set_fail_point(&db, &commit_ref, (uint64_t)(uintptr_t)&cfail);
	cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_OK);
	statedb_set_fail_point(&db, NULL, 0);
	assert_state(commit_new);
	total = cfail.calls;
	cr_assert_eq(cfail.steps[0], STATEDB_STEP_INDEX, "the index grows first");
	cr_assert_eq(total, 1 + 7, "the index, then 7 records published (churn is not)");
	for (int i = 1; i < total; i++)
		cr_assert_eq(cfail.steps[i], STATEDB_STEP_PUBLISH);
	cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
	finish();

	for (int at = 1; at <= total; at++) {
		setup();
		cfail = (struct commit_failer){ .fail_at = at };
		txn = commit_setup();
		take_snap(&before);
		statedb_set_fail_point(&db, &commit_ref, (uint64_t)(uintptr_t)&cfail);
		cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_E_ABORTED, "stop at %d", at);
		statedb_set_fail_point(&db, NULL, 0);
		cr_assert_eq(cfail.calls, at);
		assert_state(commit_old);
		cr_assert_eq(statedb_verify_all(&db, NULL, NULL), 0);
		cr_assert_eq(stats().records, before.st.records);
		cr_assert_eq(stats().data_bytes, before.st.data_bytes);
		cr_assert_eq(stats().creates, before.st.creates);
		cr_assert_eq(stats().updates, before.st.updates);
		cr_assert_eq(stats().deletes, before.st.deletes);
		cr_assert_lt(stats().blocks, before.st.blocks, "the transaction's blocks came back");
		cr_assert_eq(stats().open_txns, 0);
		/* The store still works: the same transaction again commits. */
		txn = begin(3);
		cr_assert_eq(statedb_txn_delete(&db, txn, "keep"), STATEDB_OK);
		cr_assert_eq(statedb_txn_commit(&db, txn), STATEDB_OK);
		cr_assert_eq(statedb_get(&db, "keep", NULL, 0, NULL), STATEDB_E_NOT_FOUND);
		finish();
	}
}

/*
 * Random sequences of plain and transactional operations with random commits
 * and aborts, against the model: the model of the committed store, and an
 * overlay of the open transaction's writes.
 */
static struct {
	bool open, doomed;           /* doomed: a plain write hit a record it touched */
	struct statedb_txn *txn;
	bool touched[NNAMES];
	struct mrec rec[NNAMES];     /* its view of each touched record */
	uint64_t creates, updates, deletes;
} tx;

static void tx_begin(void)
{
	memset(&tx, 0, sizeof tx);
	tx.txn = begin(42);
	tx.open = true;
}

/* The record as the transaction sees it. */
static struct mrec *tx_view(int k)
{
	return tx.touched[k] ? &tx.rec[k] : &model.rec[k];
}

static void tx_touch(int k)
{
	if (tx.touched[k])
		return;
	tx.touched[k] = true;
	tx.rec[k] = model.rec[k];
	tx.rec[k].data = NULL;
	if (model.rec[k].live) {
		tx.rec[k].data = malloc(model.rec[k].len ? model.rec[k].len : 1);
		memcpy(tx.rec[k].data, model.rec[k].data, model.rec[k].len);
	}
}

static void tx_op(uint64_t *s, int k)
{
	struct mrec *v = tx_view(k);
	unsigned op = rnd(s) % 4;
	size_t len = rnd(s) % 300;
	int rc;

	fill(s, scratch, len);
	if (op == 0) {
		rc = statedb_txn_create(&db, tx.txn, model.name[k], 5, 1, "txcell", scratch, len);
		cr_assert_eq(rc, v->live ? STATEDB_E_EXISTS : STATEDB_OK, "txn create '%s': %d",
			     model.name[k], rc);
		if (rc == STATEDB_OK) {
			tx_touch(k);
			model_set(&tx.rec[k], 5, 1, scratch, len);
			strcpy(tx.rec[k].owner, "txcell");
		}
	} else if (op == 1) {
		rc = statedb_txn_update(&db, tx.txn, model.name[k], STATEDB_TYPE_KEEP, 2, scratch, len);
		cr_assert_eq(rc, v->live ? STATEDB_OK : STATEDB_E_NOT_FOUND, "txn update: %d", rc);
		if (rc == STATEDB_OK) {
			tx_touch(k);
			model_set(&tx.rec[k], tx.rec[k].type, 2, scratch, len);
		}
	} else if (op == 2) {
		rc = statedb_txn_delete(&db, tx.txn, model.name[k]);
		cr_assert_eq(rc, v->live ? STATEDB_OK : STATEDB_E_NOT_FOUND, "txn delete: %d", rc);
		if (rc == STATEDB_OK) {
			tx_touch(k);
			tx.rec[k].live = false;
		}
	} else {
		rc = statedb_txn_get(&db, tx.txn, model.name[k], readbuf, sizeof readbuf, NULL);
		if (!v->live) {
			cr_assert_eq(rc, STATEDB_E_NOT_FOUND);
		} else {
			cr_assert_eq(rc, (int)v->len, "txn get '%s'", model.name[k]);
			cr_assert(v->len == 0 || memcmp(readbuf, v->data, v->len) == 0);
		}
	}
}

/* Ends the open transaction; a commit must conflict iff it is doomed. */
static void tx_end(bool commit)
{
	int rc = commit ? statedb_txn_commit(&db, tx.txn) : statedb_txn_abort(&db, tx.txn);

	if (commit)
		cr_assert_eq(rc, tx.doomed ? STATEDB_E_CONFLICT : STATEDB_OK, "commit: %d", rc);
	else
		cr_assert_eq(rc, STATEDB_OK);
	for (int k = 0; k < NNAMES; k++) {
		struct mrec *m = &model.rec[k], *t = &tx.rec[k];

		if (!tx.touched[k])
			continue;
		if (rc == STATEDB_OK && commit) {
			model.creates += !m->live && t->live;
			model.updates += m->live && t->live;
			model.deletes += m->live && !t->live;
			free(m->data);
			*m = *t;
		} else {
			free(t->data);
		}
	}
	tx.open = false;
}

static void run_random_txn(uint64_t seed, int nops, int nnames)
{
	uint64_t s = seed;
	int commits = 0, conflicts = 0;

	model_init();
	for (int i = 0; i < nops; i++) {
		int k = (int)(rnd(&s) % (uint64_t)nnames);
		unsigned op = rnd(&s) % 100;

		if (!tx.open && op < 10) {
			tx_begin();
		} else if (tx.open && op < 50) {
			tx_op(&s, k);
		} else if (tx.open && op < 54) {
			commits += !tx.doomed;
			conflicts += tx.doomed;
			tx_end(true);
		} else if (tx.open && op < 56) {
			tx_end(false);
		} else {
			/* A plain operation; one on a record the transaction touched dooms it. */
			bool was = model.rec[k].live;
			uint64_t writes = model.creates + model.updates + model.deletes;

			if (op % 4 == 0)
				op_create(&s, k);
			else if (op % 4 == 1)
				op_update(&s, k);
			else if (op % 4 == 2)
				op_delete(k);
			else
				op_get(k);
			if (tx.open && tx.touched[k] &&
			    (model.creates + model.updates + model.deletes != writes || was != model.rec[k].live))
				tx.doomed = true;
		}
		if (i % 250 == 0)
			check_list();
	}
	if (tx.open)
		tx_end(true);
	check_list();
	check_counts();
	cr_assert_gt(commits, 50, "only %d transactions committed", commits);
	cr_assert_gt(conflicts, 0, "no transaction conflicted");
	cr_assert_eq(stats().open_txns, 0);
	model_free();
	finish();
}

Test(state_db, txn_random_seed_1, .timeout = 300)
{
	run_random_txn(11, 30000, 60);
}

Test(state_db, txn_random_few_names, .timeout = 300)
{
	run_random_txn(0xfeed, 20000, 10);
}
