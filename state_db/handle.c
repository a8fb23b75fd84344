/*
 * Handles and in-place writes of state_db; see "The hot path" in
 * include/delos/state_db.h for the contract.
 *
 * The handle table is two-level: the root holds STATEDB_HANDLE_PAGES page
 * pointers, each page STATEDB_HANDLE_PAGE entries, allocated when first
 * needed and kept until statedb_fini, so an entry never moves and a reader
 * can reach it with two loads. An entry names its record (rec) and the
 * record names its entry (hidx); every writer that replaces or deletes a
 * record with a handle keeps the two in step (sdb_handle_move, _drop), so
 * the entry always points at the record's published value. Freed entries
 * go on a free list with their generation bumped.
 *
 * In place: the record's sequence counter `wseq` is made odd, the bytes are
 * written, the checksum is continued from the header's CRC over the data,
 * seq is renewed, and the counter is made even again. Readers copy between
 * two loads of the counter and retry when it was odd or moved.
 */
#include "state_db/internal.h"

#define HDR_FROM offsetof(struct sdb_rec, type)
#define HDR_LEN  (offsetof(struct sdb_rec, name) + sizeof(((struct sdb_rec *)0)->name) - HDR_FROM)

static inline statedb_handle make_handle(uint32_t idx1, uint32_t gen)
{
	return (uint64_t)gen << 32 | idx1;
}

/* A free entry's index + 1, allocating a page if needed; 0 if out of memory. */
static uint32_t hent_alloc(struct state_db *db)
{
	uint32_t idx1 = db->hfree, i;
	struct sdb_hent *page;

	if (idx1) {
		db->hfree = hent_at(db, idx1)->link;
		return idx1;
	}
	if (db->hused >= STATEDB_RECORDS_MAX)
		return 0;
	i = db->hused;
	if (!db->hpages[i / STATEDB_HANDLE_PAGE]) {
		size_t size = STATEDB_HANDLE_PAGE * sizeof(struct sdb_hent);
		struct sdb_block *b = sdb_alloc(db, sizeof *b + size);

		if (!b)
			return 0;
		page = (struct sdb_hent *)(b + 1);
		memset(page, 0, size);
		__atomic_store_n(&db->hpages[i / STATEDB_HANDLE_PAGE], page, __ATOMIC_RELEASE);
	}
	db->hused++;
	return i + 1;
}

void sdb_handle_move(struct state_db *db, struct sdb_rec *from, struct sdb_rec *to)
{
	struct sdb_hent *e;

	if (!from || !from->hidx || !(e = hent_at(db, from->hidx)))
		return;
	to->hidx = from->hidx;
	__atomic_store_n(&e->rec, to, __ATOMIC_RELEASE);
}

void sdb_handle_drop(struct state_db *db, struct sdb_rec *rec)
{
	struct sdb_hent *e;

	if (!rec || !rec->hidx || !(e = hent_at(db, rec->hidx)))
		return;
	__atomic_store_n(&e->gen, e->gen + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&e->rec, NULL, __ATOMIC_RELEASE);
	e->link = db->hfree;
	db->hfree = rec->hidx;
	db->handles--;
}

void sdb_handles_free(struct state_db *db)
{
	for (uint32_t p = 0; p < STATEDB_HANDLE_PAGES; p++) {
		if (!db->hpages[p])
			continue;
		sdb_free(db, (struct sdb_block *)db->hpages[p] - 1);
		db->hpages[p] = NULL;
	}
	db->hfree = db->hused = 0;
	db->handles = 0;
}

/*
 * Writes n bytes at data over offset `at` of r's data, leaving its length
 * len (at + n <= len <= its capacity), type and version as given, under the
 * sequence counter. A writer. When the header stays as it is, the checksum
 * is patched over the changed bytes only (sdb_crc_patch), which keeps a
 * corruption found in r visible; a write that changes the header refuses
 * (STATEDB_E_CORRUPT, changing nothing) if the old value no longer matches
 * its checksum, and checksums the new one whole.
 */
static int inplace_header(struct state_db *db, struct sdb_rec *r, size_t at, const void *data,
			  size_t n, size_t len, uint32_t type, uint32_t version)
{
	uint32_t w = r->wseq;

	if (r->len > sdb_rec_cap(r) || sdb_crc(db, r->hcrc, r->data, r->len) != r->crc ||
	    sdb_crc(db, 0, (const char *)r + HDR_FROM, HDR_LEN) != r->hcrc) {
		__atomic_add_fetch(&db->corrupt_seen, 1, __ATOMIC_RELAXED);
		return STATEDB_E_CORRUPT;
	}
	__atomic_store_n(&r->wseq, w + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(r->data + at, data, n);
	db->data_bytes = db->data_bytes - r->len + len;
	r->len = (uint32_t)len;
	r->type = type;
	r->version = version;
	r->hcrc = sdb_crc(db, 0, (const char *)r + HDR_FROM, HDR_LEN);
	r->crc = sdb_crc(db, r->hcrc, r->data, len);
	r->seq = ++db->seq;
	__atomic_store_n(&r->wseq, w + 2, __ATOMIC_RELEASE);
	db->inplace++;
	return STATEDB_OK;
}

/* The same with the fail point asked at every in-place step (tests). */
static int inplace_watched(struct state_db *db, struct sdb_rec *r, size_t at, const void *data,
			   size_t n)
{
	uint32_t w = r->wseq;
	size_t half = n / 2;
	uint32_t crc = sdb_crc_patch(db, r->crc, r->data + at, data, n, r->len - at - n);

	__atomic_store_n(&r->wseq, w + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	sdb_fail(db, STATEDB_STEP_INPLACE_BEGIN);
	memcpy(r->data + at, data, half);
	sdb_fail(db, STATEDB_STEP_INPLACE_HALF);
	memcpy(r->data + at + half, (const unsigned char *)data + half, n - half);
	sdb_fail(db, STATEDB_STEP_INPLACE_DATA);
	r->crc = crc;
	r->seq = ++db->seq;
	__atomic_store_n(&r->wseq, w + 2, __ATOMIC_RELEASE);
	db->inplace++;
	sdb_fail(db, STATEDB_STEP_INPLACE_END);
	return STATEDB_OK;
}

int sdb_inplace(struct state_db *db, struct sdb_rec *r, size_t at, const void *data, size_t n,
		size_t len, uint32_t type, uint32_t version)
{
	if (len != r->len || type != r->type || version != r->version)
		return inplace_header(db, r, at, data, n, len, type, version);
	if (db->fail_point.cell[0] != '\0')
		return inplace_watched(db, r, at, data, n);
	return sdb_inplace_patch(db, r, at, data, n);
}

/* Copies rec into a fresh block with room for cap data bytes; NULL if out of memory. */
static struct sdb_rec *regrow(struct state_db *db, const struct sdb_rec *rec, size_t cap)
{
	struct sdb_rec *r = sdb_alloc(db, sizeof *r + cap);

	if (!r)
		return NULL;
	memcpy(&r->crc, &rec->crc, sizeof *r - offsetof(struct sdb_rec, crc) + rec->len);
	r->wseq = 0;
	r->seq = ++db->seq;	/* another buffer: statedb_changes and transactions see the move */
	return r;
}

/* Publishes `to` in place of `from` in its index slot and retires `from`. */
static void replace(struct state_db *db, struct sdb_slot *slot, struct sdb_rec *from,
		    struct sdb_rec *to)
{
	__atomic_store_n(&slot->rec, to, __ATOMIC_RELEASE);
	sdb_handle_move(db, from, to);
	sdb_retire(db, &from->block);
}

int statedb_hopen(struct state_db *db, const char *name, size_t capacity, statedb_handle *h)
{
	struct sdb_slot *slot;
	struct sdb_rec *rec, *grown;
	uint32_t idx1;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!h)
		return STATEDB_E_INVAL;
	*h = 0;
	if (sdb_text_len(name, STATEDB_NAME_MAX) < 0)
		return STATEDB_E_NAME;
	if (capacity > STATEDB_DATA_MAX)
		return STATEDB_E_TOO_BIG;
	sdb_reclaim(db);
	if (!(rec = sdb_writer_find(db, name, &slot)))
		return STATEDB_E_NOT_FOUND;
	if (!sdb_rec_verify(db, rec, slot->name)) {
		__atomic_add_fetch(&db->corrupt_seen, 1, __ATOMIC_RELAXED);
		return STATEDB_E_CORRUPT;
	}
	idx1 = rec->hidx;
	if (!idx1 && !(idx1 = hent_alloc(db)))
		return STATEDB_E_NOMEM;
	if (capacity > sdb_rec_cap(rec)) {
		if (!(grown = regrow(db, rec, capacity))) {
			if (!rec->hidx) {       /* give the fresh entry back */
				hent_at(db, idx1)->link = db->hfree;
				db->hfree = idx1;
			}
			return STATEDB_E_NOMEM;
		}
	} else {
		grown = NULL;
	}
	if (!rec->hidx) {
		rec->hidx = idx1;
		hent_at(db, idx1)->link = slot->hash;
		__atomic_store_n(&hent_at(db, idx1)->rec, rec, __ATOMIC_RELEASE);
		db->handles++;
	}
	if (grown) {
		grown->hidx = idx1;
		replace(db, slot, rec, grown);
	}
	*h = make_handle(idx1, hent_at(db, idx1)->gen);
	sdb_shift_build(db);	/* for the in-place writes to come */
	return STATEDB_OK;
}

/* Fills *meta from hot record r, whose data is len bytes. */
static void hot_meta(struct statedb_meta *meta, const struct sdb_rec *r, uint32_t len)
{
	memset(meta, 0, sizeof *meta);
	memcpy(meta->name, r->name, STATEDB_NAME_MAX);
	memcpy(meta->owner, r->owner, STATEDB_OWNER_MAX);
	meta->type = r->type;
	meta->version = r->version;
	meta->size = len;
	meta->checksum = r->crc;
	meta->checksum_ok = true;
}

/*
 * One try at copying the record entry e names (of generation gen) into buf:
 * returns its size, E_NOSPACE or E_STALE, and sets *again when an in-place
 * write was in progress, or began or ended under the copy (the result is
 * then not to be used).
 */
static int hget_try(const struct sdb_hent *e, uint32_t gen, void *buf, size_t cap,
		    struct statedb_meta *meta, bool *again)
{
	struct sdb_rec *r = __atomic_load_n(&e->rec, __ATOMIC_ACQUIRE);
	uint32_t w, len;
	int ret;

	*again = false;
	if (!r || __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen)
		return STATEDB_E_STALE;
	if ((w = __atomic_load_n(&r->wseq, __ATOMIC_ACQUIRE)) & 1) {
		*again = true;
		return STATEDB_E_BUSY;
	}
	len = r->len;
	if (len > sdb_rec_cap(r))
		len = 0;                /* corrupt: the scrub will say so; copy nothing */
	if (len > cap) {
		ret = STATEDB_E_NOSPACE;
	} else {
		memcpy(buf, r->data, len);
		ret = (int)len;
	}
	if (meta)
		hot_meta(meta, r, len);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	*again = __atomic_load_n(&r->wseq, __ATOMIC_RELAXED) != w;
	return ret;
}

int statedb_hget(struct state_db *db, statedb_handle h, void *buf, size_t cap,
		 struct statedb_meta *meta)
{
	struct sdb_hent *e;
	int ret = STATEDB_E_BUSY;
	bool again = true;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!buf && cap)
		return STATEDB_E_INVAL;
	if (!(e = hent_of(db, h)))
		return STATEDB_E_STALE;
	__atomic_add_fetch(&db->readers, 1, __ATOMIC_SEQ_CST);        /* a read section */
	for (uint32_t tries = 0; again && tries < STATEDB_READ_TRIES; tries++)
		ret = hget_try(e, (uint32_t)(h >> 32), buf, cap, meta, &again);
	__atomic_sub_fetch(&db->readers, 1, __ATOMIC_RELEASE);
	return again ? STATEDB_E_BUSY : ret;
}

int statedb_hread(struct state_db *db, statedb_handle h, void *buf, size_t cap)
{
	const struct sdb_hent *e;
	const struct sdb_rec *r;
	uint32_t w, len;

	if (!sdb_root_ok(db) || !buf || !(e = hent_of(db, h)))
		return statedb_hget(db, h, buf, cap, NULL);	/* it says what is wrong */
	__atomic_add_fetch(&db->readers, 1, __ATOMIC_SEQ_CST);
	r = __atomic_load_n(&e->rec, __ATOMIC_ACQUIRE);
	if (!r || __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != (uint32_t)(h >> 32) ||
	    ((w = __atomic_load_n(&r->wseq, __ATOMIC_ACQUIRE)) & 1) || (len = r->len) > cap ||
	    len > sdb_rec_cap(r))
		goto slow;
	sdb_copy_value(buf, r->data, len);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&r->wseq, __ATOMIC_RELAXED) != w)
		goto slow;
	__atomic_sub_fetch(&db->readers, 1, __ATOMIC_RELEASE);
	return (int)len;
slow:
	__atomic_sub_fetch(&db->readers, 1, __ATOMIC_RELEASE);
	return statedb_hget(db, h, buf, cap, NULL);
}

int statedb_hview(struct state_db *db, statedb_handle h, const void **data, uint32_t *version)
{
	return sdb_hview_inline(db, h, data, version);
}


/* The live record h names, for a writer; NULL if h is stale. */
static struct sdb_rec *writer_rec(struct state_db *db, statedb_handle h)
{
	struct sdb_hent *e = hent_of(db, h);

	return e ? e->rec : NULL;
}

int statedb_hwrite(struct state_db *db, statedb_handle h, size_t at, const void *data, size_t n)
{
	return sdb_hwrite_inline(db, h, at, data, n);
}

/* The span [*lo, *hi) of the n bytes where a and b differ, by 8-byte words; false if none. */
static bool diff_span(const unsigned char *a, const unsigned char *b, size_t n, size_t *lo,
		      size_t *hi)
{
	size_t i = 0, j = n;
	uint64_t x, y;

	for (; i + 8 <= n; i += 8) {
		__builtin_memcpy(&x, a + i, 8);
		__builtin_memcpy(&y, b + i, 8);
		if (x != y)
			break;
	}
	for (; i < n && a[i] == b[i]; i++)
		;
	if (i == n)
		return false;
	for (; j >= i + 8; j -= 8) {
		__builtin_memcpy(&x, a + j - 8, 8);
		__builtin_memcpy(&y, b + j - 8, 8);
		if (x != y)
			break;
	}
	for (; a[j - 1] == b[j - 1]; j--)
		;
	*lo = i, *hi = j;
	return true;
}

int statedb_hstore(struct state_db *db, statedb_handle h, const void *data, size_t n)
{
	struct sdb_rec *r;
	size_t lo, hi;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!data && n)
		return STATEDB_E_INVAL;
	if (!(r = writer_rec(db, h)))
		return STATEDB_E_STALE;
	if (n > r->len || r->len > sdb_rec_cap(r))
		return STATEDB_E_RANGE;
	if (!diff_span(r->data, data, n, &lo, &hi))
		return STATEDB_OK;
	return sdb_inplace(db, r, lo, (const unsigned char *)data + lo, hi - lo, r->len, r->type,
			   r->version);
}

/* statedb_hupdate's other cases: a new length, a fail point, or a move to a bigger buffer. */
static __attribute__((noinline)) int hupdate_slow(struct state_db *db, statedb_handle h,
						  const void *data, size_t len)
{
	char name[STATEDB_NAME_MAX + 1], owner[STATEDB_OWNER_MAX + 1];
	struct sdb_rec hdr, *r, *rec;
	struct sdb_slot *slot;
	int err;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!data && len)
		return STATEDB_E_INVAL;
	if (len > STATEDB_DATA_MAX)
		return STATEDB_E_TOO_BIG;
	if (!(r = writer_rec(db, h)))
		return STATEDB_E_STALE;
	if (len <= sdb_rec_cap(r)) {
		if ((err = sdb_inplace(db, r, 0, data, len, len, r->type, r->version)))
			return err;
		db->updates++;
		return STATEDB_OK;
	}
	sdb_reclaim(db);
	memcpy(name, r->name, STATEDB_NAME_MAX);
	name[STATEDB_NAME_MAX] = '\0';
	memcpy(owner, r->owner, STATEDB_OWNER_MAX);
	owner[STATEDB_OWNER_MAX] = '\0';
	if (sdb_writer_find(db, name, &slot) != r)
		return STATEDB_E_CORRUPT;       /* its name no longer leads to it */
	sdb_make_header(&hdr, name, r->type, r->version, owner, len);
	if ((err = sdb_rec_build(db, &hdr, data, &rec)))
		return err;
	db->data_bytes = db->data_bytes - sdb_rec_size(r) + len;
	db->updates++;
	replace(db, slot, r, rec);
	return STATEDB_OK;
}

int statedb_hupdate(struct state_db *db, statedb_handle h, const void *data, size_t len)
{
	struct sdb_rec *r;

	if (!sdb_root_ok(db) || (!data && len) || !(r = writer_rec(db, h)) || len != r->len ||
	    len > sdb_rec_cap(r) || db->fail_point.cell[0] != '\0')
		return hupdate_slow(db, h, data, len);
	/*
	 * The same length, so the same header: the common case, patched in place
	 * over the span of words that differ only (an update usually changes a
	 * few fields), so the checksum patch and the copy cost what changed.
	 */
	db->updates++;
	return sdb_inplace_span(db, r, data, len);
}

int statedb_scrub(struct state_db *db, size_t slots, statedb_list_fn *fn, void *ctx)
{
	struct statedb_meta m;
	struct sdb_table *t;
	int bad = 0;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	statedb_read_begin(db);
	t = __atomic_load_n(&db->table, __ATOMIC_ACQUIRE);
	for (size_t i = 0; t && i < slots && i < t->cap; i++) {
		uint32_t at = db->scrub_at % t->cap;
		const struct sdb_slot *s = &t->slots[at];
		struct sdb_rec *r = __atomic_load_n(&s->rec, __ATOMIC_ACQUIRE);

		if (at + 1 == t->cap)
			db->scrub_rounds++;
		db->scrub_at = at + 1 == t->cap ? 0 : at + 1;
		if (!sdb_live(r))
			continue;
		db->scrubbed++;
		if (sdb_rec_verify_read(db, r, s->name, &m) != STATEDB_E_CORRUPT)
			continue;
		bad++;
		if (fn && !fn(ctx, &m))
			break;
	}
	statedb_read_end(db);
	return bad;
}

/* Moves the scrub past index slot `at`, counting a round at the end of the index. */
static void scrub_next(struct state_db *db, const struct sdb_table *t, uint32_t at)
{
	if (at + 1 == t->cap)
		db->scrub_rounds++;
	db->scrub_at = at + 1 == t->cap ? 0 : at + 1;
	db->scrub_rec = NULL;
}

static size_t take(size_t *left, size_t n)
{
	n = n < *left ? n : *left;
	*left -= n;
	return n;
}

/*
 * Continues checksumming live record r (at index slot s) with at most *left
 * bytes, beginning it if it is not the one in progress. Returns 1 when r is
 * finished and intact, 0 when the budget ran out first, or
 * STATEDB_E_CORRUPT (counted, *m filled).
 */
static int scrub_some(struct state_db *db, const struct sdb_slot *s, const struct sdb_rec *r,
		      size_t *left, struct statedb_meta *m)
{
	bool whole = false;

	if (db->scrub_rec == r && db->scrub_seq != r->seq) {
		/* Written since it was begun: verified at once, charged what is left of it. */
		whole = true;
		take(left, sdb_rec_size(r) > db->scrub_off ? sdb_rec_size(r) - db->scrub_off : 0);
	} else if (db->scrub_rec != r) {
		take(left, STATEDB_SCRUB_SLOT_COST + HDR_LEN);
		if (r->len > STATEDB_DATA_MAX || r->block.size < sizeof *r || r->len > sdb_rec_cap(r)) {
			whole = true;   /* its length cannot be trusted: rec_check refuses it */
		} else {
			db->scrub_rec = r;
			db->scrub_seq = r->seq;
			db->scrub_off = 0;
			db->scrub_crc = sdb_crc(db, 0, (const char *)r + HDR_FROM, HDR_LEN);
		}
	}
	if (!whole) {
		size_t n = take(left, r->len - db->scrub_off);

		db->scrub_crc = sdb_crc(db, db->scrub_crc, r->data + db->scrub_off, n);
		db->scrub_off += (uint32_t)n;
		if (db->scrub_off < r->len)
			return 0;
		if (db->scrub_crc == r->crc && strncmp(r->name, s->name, sizeof r->name) == 0)
			return 1;
	}
	/* A failure is confirmed by a whole verification, which counts it and fills *m. */
	return sdb_rec_verify_read(db, r, s->name, m) == STATEDB_E_CORRUPT ? STATEDB_E_CORRUPT : 1;
}

int statedb_scrub_bytes(struct state_db *db, size_t budget, statedb_list_fn *fn, void *ctx)
{
	struct statedb_meta m;
	struct sdb_table *t;
	size_t left = budget;
	int bad = 0;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	statedb_read_begin(db);
	t = __atomic_load_n(&db->table, __ATOMIC_ACQUIRE);
	for (size_t seen = 0; t && left && seen < t->cap; seen++) {
		uint32_t at = db->scrub_at % t->cap;
		const struct sdb_slot *s = &t->slots[at];
		struct sdb_rec *r = __atomic_load_n(&s->rec, __ATOMIC_ACQUIRE);
		int got;

		if (!sdb_live(r)) {
			take(&left, STATEDB_SCRUB_SLOT_COST);
			scrub_next(db, t, at);
			continue;
		}
		if ((got = scrub_some(db, s, r, &left, &m)) == 0)
			break;          /* resumed at the next call */
		scrub_next(db, t, at);
		db->scrubbed++;
		if (got == 1)
			continue;
		bad++;
		if (fn && !fn(ctx, &m))
			break;
	}
	statedb_read_end(db);
	return bad;
}

int statedb_takeover(struct state_db *db, statedb_list_fn *fn, void *ctx)
{
	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	db->hw_crc = sdb_cpu_has_crc32();
	return statedb_verify_all(db, fn, ctx);
}
