/*
 * The readers of state_db: get, view, list, verify_all and stats. They take
 * no lock: each runs inside a read section, so nothing it can reach is freed
 * under it, and it sees each record either before or after any update.
 */
#include "state_db/internal.h"

void statedb_read_begin(struct state_db *db)
{
	if (sdb_root_ok(db))
		__atomic_add_fetch(&db->readers, 1, __ATOMIC_SEQ_CST);
}

void statedb_read_end(struct state_db *db)
{
	if (sdb_root_ok(db))
		__atomic_sub_fetch(&db->readers, 1, __ATOMIC_RELEASE);
}

/* Fills *m from r, filed under key (its slot name, which is intact). */
static void fill_meta(struct statedb_meta *m, const char *key, const struct sdb_rec *r, bool ok)
{
	memset(m, 0, sizeof *m);
	memcpy(m->name, key, STATEDB_NAME_MAX);
	memcpy(m->owner, r->owner, STATEDB_OWNER_MAX);
	m->type = r->type;
	m->version = r->version;
	m->size = r->len;
	m->checksum = r->crc;
	m->checksum_ok = ok;
}

static inline uint32_t wseq_begin(const struct sdb_rec *r)
{
	return __atomic_load_n(&r->wseq, __ATOMIC_ACQUIRE);
}

/* True if no in-place write began or ended since wseq_begin returned w. */
static inline bool wseq_same(const struct sdb_rec *r, uint32_t w)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return !(w & 1) && __atomic_load_n(&r->wseq, __ATOMIC_RELAXED) == w;
}

int sdb_rec_verify_read(struct state_db *db, const struct sdb_rec *r, const char *key,
			struct statedb_meta *m)
{
	for (uint32_t tries = 0; tries < STATEDB_READ_TRIES; tries++) {
		uint32_t w = wseq_begin(r);
		bool ok;

		if (w & 1)
			continue;
		ok = sdb_rec_verify(db, r, key);
		if (m)
			fill_meta(m, key, r, ok);
		if (!wseq_same(r, w))
			continue;
		if (!ok)
			__atomic_add_fetch(&db->corrupt_seen, 1, __ATOMIC_RELAXED);
		return ok ? STATEDB_OK : STATEDB_E_CORRUPT;
	}
	return STATEDB_E_BUSY;
}

/*
 * While a commit publishes, a reader takes the value the commit replaces
 * for every record the transaction touches (NULL if there was none live):
 * so it sees the old state until the commit ends. Returns r otherwise.
 */
static struct sdb_rec *committed(struct state_db *db, const char *name, uint32_t hash,
				 struct sdb_rec *r)
{
	struct statedb_txn *c = __atomic_load_n(&db->committing, __ATOMIC_ACQUIRE);
	const struct sdb_op *op = c ? sdb_txn_find(db, c, name, hash) : NULL;

	return op ? op->base : r;
}

/*
 * Inside a read section: finds name's live record and verifies it, filling
 * *meta if not NULL. Returns STATEDB_OK with *rec set, STATEDB_E_NOT_FOUND,
 * STATEDB_E_CORRUPT or STATEDB_E_BUSY.
 */
static int open_rec(struct state_db *db, const char *name, uint32_t hash, struct sdb_rec **rec,
		    struct statedb_meta *meta)
{
	struct sdb_table *t = __atomic_load_n(&db->table, __ATOMIC_ACQUIRE);
	struct sdb_slot *slot;

	*rec = NULL;
	slot = t ? sdb_find(t, name, hash, rec, NULL) : NULL;
	if (!slot)
		return STATEDB_E_NOT_FOUND;
	*rec = committed(db, slot->name, hash, *rec);
	if (!sdb_live(*rec))
		return STATEDB_E_NOT_FOUND;
	if ((*rec)->hidx && (*rec)->len <= sdb_rec_cap(*rec)) {
		/* A hot record: verified on takeover, on write and by the scrub, not here. */
		if (meta)
			fill_meta(meta, slot->name, *rec, true);
		return STATEDB_OK;
	}
	return sdb_rec_verify_read(db, *rec, slot->name, meta);
}

int statedb_get(struct state_db *db, const char *name, void *buf, size_t cap,
		struct statedb_meta *meta)
{
	struct sdb_rec *rec;
	int ret;

	uint32_t hash;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (sdb_name_hash(name, &hash) < 0)
		return STATEDB_E_NAME;
	if (!buf && cap)
		return STATEDB_E_INVAL;
	statedb_read_begin(db);
	for (uint32_t tries = 0; tries < STATEDB_READ_TRIES; tries++) {
		ret = open_rec(db, name, hash, &rec, meta);
		if (ret != STATEDB_OK)
			break;
		uint32_t w = wseq_begin(rec), len = rec->len;

		if (len > cap)
			ret = STATEDB_E_NOSPACE;
		else if (len)
			memcpy(buf, rec->data, len);
		if (wseq_same(rec, w) && (meta == NULL || meta->size == len)) {
			ret = ret == STATEDB_OK ? (int)len : ret;
			break;
		}
		ret = STATEDB_E_BUSY;   /* written in place while copied: again */
	}
	statedb_read_end(db);
	return ret;
}

int statedb_view(struct state_db *db, const char *name, const void **data,
		 struct statedb_meta *meta)
{
	struct sdb_rec *rec;
	uint32_t hash;
	int ret;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!data)
		return STATEDB_E_INVAL;
	*data = NULL;
	if (sdb_name_hash(name, &hash) < 0)
		return STATEDB_E_NAME;
	statedb_read_begin(db);
	ret = open_rec(db, name, hash, &rec, meta);
	if (ret == STATEDB_OK) {
		*data = rec->data;
		ret = (int)rec->len;
	}
	statedb_read_end(db);
	return ret;
}

static bool has_prefix(const char *name, const char *prefix)
{
	while (*prefix)
		if (*name++ != *prefix++)
			return false;
	return true;
}

/* Calls fn for every live record of the current index whose name starts with
 * prefix (only the corrupt ones if only_bad); records outside the prefix are
 * not even verified. Returns the number of records reported. */
static int walk(struct state_db *db, const char *prefix, statedb_list_fn *fn, void *ctx,
		bool only_bad)
{
	struct statedb_meta m;
	struct sdb_table *t;
	int n = 0;

	statedb_read_begin(db);
	t = __atomic_load_n(&db->table, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; t && i < t->cap; i++) {
		const struct sdb_slot *s = &t->slots[i];
		struct sdb_rec *r = __atomic_load_n(&s->rec, __ATOMIC_ACQUIRE);
		bool ok;

		if (!r || !has_prefix(s->name, prefix))
			continue;
		if (!sdb_live(r = committed(db, s->name, s->hash, r)))
			continue;
		ok = sdb_rec_verify_read(db, r, s->name, &m) != STATEDB_E_CORRUPT;
		if (only_bad && ok)
			continue;
		n++;
		if (fn && !fn(ctx, &m))
			break;
	}
	statedb_read_end(db);
	return n;
}

int statedb_list(struct state_db *db, statedb_list_fn *fn, void *ctx)
{
	return statedb_list_prefix(db, "", fn, ctx);
}

int statedb_list_prefix(struct state_db *db, const char *prefix, statedb_list_fn *fn, void *ctx)
{
	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!fn || !prefix)
		return STATEDB_E_INVAL;
	return walk(db, prefix, fn, ctx, false);
}

int statedb_verify_all(struct state_db *db, statedb_list_fn *fn, void *ctx)
{
	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	return walk(db, "", fn, ctx, true);
}

int statedb_stats(struct state_db *db, struct statedb_stats *st)
{
	struct sdb_table *t;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!st)
		return STATEDB_E_INVAL;
	t = __atomic_load_n(&db->table, __ATOMIC_ACQUIRE);
	*st = (struct statedb_stats){
		.records = db->live,
		.data_bytes = db->data_bytes,
		.mem_bytes = db->mem_bytes,
		.blocks = db->blocks,
		.index_slots = t ? t->cap : 0,
		.tombstones = db->tombs,
		.retired = db->retired_count,
		.creates = db->creates,
		.updates = db->updates,
		.deletes = db->deletes,
		.corrupt_seen = __atomic_load_n(&db->corrupt_seen, __ATOMIC_RELAXED),
		.open_txns = db->open_txns,
		.commits = db->commits,
		.aborts = db->aborts,
		.handles = db->handles,
		.inplace = db->inplace,
		.scrubbed = db->scrubbed,
		.scrub_rounds = db->scrub_rounds,
		.scrub_cost = (t ? t->cap : 0) * STATEDB_SCRUB_SLOT_COST +
			      db->live * sdb_rec_hdr_len() + db->data_bytes,
		.hw_crc = db->hw_crc != 0,
		.spares = db->spares,
	};
	return STATEDB_OK;
}

uint64_t statedb_changes(const struct state_db *db)
{
	if (!sdb_root_ok(db))
		return 0;
	return sdb_changes_of(db);
}
