/*
 * Transactions of state_db: writes kept off to the side and published
 * together at commit; see include/delos/state_db.h for the contract.
 *
 * A transaction is a list of ops, one per record it touched. Each write
 * builds its new value at once (so the commit cannot run out of memory
 * building values) and remembers which committed value it saw first (so the
 * commit can tell whether the record changed since). The commit checks every
 * op, reserves the index for its creates, then publishes: `committing`
 * points at the transaction while the slot pointers change, so readers keep
 * the old values until the last store, and a failure in the middle puts
 * back what was stored.
 */
#include "state_db/internal.h"

/* Returns txn if it is one of db's open transactions, else NULL. */
static struct statedb_txn *open_txn(struct state_db *db, struct statedb_txn *txn)
{
	for (struct statedb_txn *t = db->txns; t; t = t->next)
		if (t == txn)
			return t;
	return NULL;
}

static inline int check_txn(struct state_db *db, struct statedb_txn *txn)
{
	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	/* The newest, the one in use, first: no walk. */
	return txn && (db->txns == txn || open_txn(db, txn)) ? STATEDB_OK : STATEDB_E_TXN;
}

/*
 * The name op is for: its own copy, or for an inline op, which keeps none,
 * its value's (once whole) or its record's, through its handle (a move to
 * a bigger buffer keeps the name). NULL when that record was deleted since
 * the write (the op's commit conflicts): then no name finds the op.
 */
static const char *op_name(const struct state_db *db, const struct sdb_op *op)
{
	const struct sdb_inline_op *in = (const struct sdb_inline_op *)op;
	const struct sdb_rec *r;
	uint32_t unused;

	if (!op->inplace)
		return op->name;
	if (in->whole)
		return op->rec->name;
	r = sdb_handle_rec(db, in->h, &unused);
	return r ? r->name : NULL;
}

const struct sdb_op *sdb_txn_find(const struct state_db *db, const struct statedb_txn *txn,
				  const char *name, uint32_t hash)
{
	const char *key;

	for (const struct sdb_op *op = txn->ops; op; op = op->next)
		if (op->hash == hash && (key = op_name(db, op)) &&
		    strncmp(key, name, sizeof op->name) == 0)
			return op;
	return NULL;
}

static struct sdb_op *find_op(const struct state_db *db, struct statedb_txn *txn, const char *name,
			      uint32_t hash)
{
	return (struct sdb_op *)sdb_txn_find(db, txn, name, hash);
}

/* Makes txn, a fresh or kept block, an open transaction of db's, in *out. */
static inline __attribute__((always_inline)) int txn_open(struct state_db *db,
							  struct statedb_txn *txn, uint64_t owner_id,
							  struct statedb_txn **out)
{
	txn->ops = NULL;
	txn->ninline = txn->ninplace = 0;
	txn->nest = 0;
	txn->doomed = txn->background = txn->bg_active = txn->bg_stale = txn->free_later = false;
	txn->owner_id = owner_id;
	txn->nops = 0;
	txn->changes = sdb_changes_of(db);
	txn->next = db->txns;
	db->txns = txn;
	db->open_txns++;
	*out = txn;
	return STATEDB_OK;
}

/* statedb_txn_begin with retired blocks to free first, or no kept block. */
static __attribute__((noinline)) int txn_open_new(struct state_db *db, uint64_t owner_id,
						  struct statedb_txn **out)
{
	struct statedb_txn *txn;

	sdb_reclaim(db);
	if ((txn = db->txn_spare)) {
		db->txn_spare = NULL;
		db->spares--;
	} else if (!(txn = sdb_alloc(db, sizeof *txn))) {
		return STATEDB_E_NOMEM;
	}
	return txn_open(db, txn, owner_id, out);
}

int statedb_txn_begin(struct state_db *db, uint64_t owner_id, struct statedb_txn **out)
{
	struct statedb_txn *txn;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!out)
		return STATEDB_E_INVAL;
	*out = NULL;
	if (db->retired || !(txn = db->txn_spare))
		return txn_open_new(db, owner_id, out);
	db->txn_spare = NULL;	/* the last one's block, kept (txn_close) */
	db->spares--;
	return txn_open(db, txn, owner_id, out);
}

/* Takes b out of use: at once, or at the next reclaim for a free_later commit. */
static void txn_retire(struct state_db *db, const struct statedb_txn *txn, struct sdb_block *b)
{
	if (txn->free_later)
		sdb_retire_later(db, b);
	else
		sdb_retire(db, b);
}

/* Unlinks txn (its ops freed) and frees it, or keeps it for the next. */
static inline __attribute__((always_inline)) void txn_close(struct state_db *db,
							    struct statedb_txn *txn, bool committed)
{
	struct statedb_txn **pp = &db->txns;

	while (*pp != txn)	/* the newest first: usually no step */
		pp = &(*pp)->next;
	*pp = txn->next;
	db->open_txns--;
	if (committed)
		db->commits++;
	else
		db->aborts++;
	/*
	 * Kept for the next transaction while no reader is inside (one that
	 * looked at `committing` may still be reading the ops), else retired.
	 */
	if (db->spares_on && !db->txn_spare && __atomic_load_n(&db->readers, __ATOMIC_ACQUIRE) == 0) {
		db->txn_spare = txn;
		db->spares++;
		return;
	}
	sdb_retire(db, &txn->block);
}

/* True if every op of txn is an inline op in its own block: nothing of them to free. */
static inline bool all_embedded(const struct statedb_txn *txn)
{
	return txn->ninplace == txn->nops && txn->nops <= SDB_TXN_INLINE_OPS;
}

/* Frees txn's ops and unpublished values, unlinks and frees txn itself. */
static void txn_end(struct state_db *db, struct statedb_txn *txn, bool committed)
{
	struct sdb_op *op, *next;

	for (op = all_embedded(txn) ? NULL : txn->ops; op; op = next) {
		next = op->next;
		if (!committed && op->rec && !op->inplace)
			sdb_free(db, &op->rec->block);
		if (!op->embedded)
			txn_retire(db, txn, &op->block);
	}
	txn_close(db, txn, committed);
}

int statedb_txn_free_later(struct state_db *db, struct statedb_txn *txn)
{
	int err = check_txn(db, txn);

	if (!err)
		txn->free_later = true;
	return err;
}

int statedb_txn_abort(struct state_db *db, struct statedb_txn *txn)
{
	int err = check_txn(db, txn);

	if (!err)
		txn_end(db, txn, false);
	return err;
}

int statedb_txn_abort_owner(struct state_db *db, uint64_t owner_id)
{
	struct statedb_txn *txn;
	int n = 0;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	while ((txn = statedb_txn_of(db, owner_id))) {
		txn_end(db, txn, false);
		n++;
	}
	return n;
}

struct statedb_txn *statedb_txn_of(struct state_db *db, uint64_t owner_id)
{
	if (!sdb_root_ok(db))
		return NULL;
	for (struct statedb_txn *t = db->txns; t; t = t->next)
		if (t->owner_id == owner_id)
			return t;
	return NULL;
}

void sdb_txn_free_all(struct state_db *db)
{
	while (db->txns)
		txn_end(db, db->txns, false);
}

/*
 * True if the record an inline op updates is still the value it saw first:
 * its handle still names that buffer (not moved or deleted) and its value
 * is the same (the handle entry is read first, so a freed base is never
 * looked at).
 */
static bool unchanged_inline(const struct state_db *db, const struct sdb_op *op)
{
	uint32_t unused;

	return sdb_handle_rec(db, ((const struct sdb_inline_op *)op)->h, &unused) == op->base &&
	       op->base->seq == op->base_seq && !(op->base->wseq & 1);
}

/*
 * Fills in the header of an inline op's value from its base, the first time
 * a by-name call of the transaction needs it (statedb_txn_hupdate writes
 * the data, length and checksum only). The base is then still the value the
 * op first saw, or the record changed outside the transaction since, which
 * its commit would refuse: STATEDB_E_CONFLICT at once.
 */
static int inline_whole(const struct state_db *db, struct sdb_op *op)
{
	struct sdb_inline_op *in = (struct sdb_inline_op *)op;
	struct sdb_rec *v;
	uint32_t crc;

	if (!op->inplace || in->whole)
		return STATEDB_OK;
	if (!unchanged_inline(db, op))
		return STATEDB_E_CONFLICT;
	v = sdb_inline_value(in);
	crc = v->crc;
	memcpy(&v->crc, &op->base->crc, offsetof(struct sdb_rec, data) - offsetof(struct sdb_rec, crc));
	v->crc = crc;
	v->wseq = 0;
	v->hidx = 0;
	in->whole = true;
	return STATEDB_OK;
}

/*
 * The value of name as the transaction sees it, in *cur: its own op's if it
 * has one (*op set; the value may be NULL, deleted), else the committed
 * live record or NULL. Returns STATEDB_OK or what inline_whole does.
 */
static int txn_view(struct state_db *db, struct statedb_txn *txn, const char *name,
		    uint32_t hash, struct sdb_op **op, struct sdb_slot **slot, struct sdb_rec **cur)
{
	int err;

	*slot = NULL;
	*op = find_op(db, txn, name, hash);
	if (*op) {
		*cur = (err = inline_whole(db, *op)) ? NULL : (*op)->rec;
		return err;
	}
	*cur = sdb_writer_find_h(db, name, hash, slot);
	return STATEDB_OK;
}

/* A committed value the transaction reads must verify; its own values do. */
static int check_seen(struct state_db *db, const struct sdb_op *op, const struct sdb_rec *r,
		      const char *name)
{
	if (op || sdb_rec_ok(r, name))
		return STATEDB_OK;
	__atomic_add_fetch(&db->corrupt_seen, 1, __ATOMIC_RELAXED);
	return STATEDB_E_CORRUPT;
}

/*
 * Sets name's value in the transaction to rec (NULL: deleted), creating its
 * op if this is the first touch, with base the committed value `seen` and
 * slot where the index holds name (NULL: nowhere). Takes rec; on failure
 * frees it and changes nothing.
 */
static int txn_set(struct state_db *db, struct statedb_txn *txn, struct sdb_op *op,
		   const char *name, uint32_t hash, struct sdb_rec *seen, struct sdb_slot *slot,
		   struct sdb_rec *rec)
{
	if (op) {
		if (op->rec && !op->inplace)
			sdb_free(db, &op->rec->block);
		if (op->inplace) {	/* an inline op, now published by its slot as any other */
			memcpy(op->name, op->rec->name, sizeof op->name);	/* whole: txn_view */
			txn->ninplace--;
			op->slot = NULL;
			op->table = NULL;
			op->reused_tomb = false;
		}
		op->rec = rec;
		op->inplace = false;    /* a by-name write: published as any other */
		return STATEDB_OK;
	}
	if (txn->nops >= STATEDB_TXN_OPS_MAX || !(op = sdb_alloc(db, sizeof *op))) {
		if (rec)
			sdb_free(db, &rec->block);
		return txn->nops >= STATEDB_TXN_OPS_MAX ? STATEDB_E_TXN_FULL : STATEDB_E_NOMEM;
	}
	op->published = op->reused_tomb = op->inplace = op->embedded = false;
	memcpy(op->name, name, strlen(name) + 1);	/* the bytes past the NUL are never read */
	op->hash = hash;
	op->slot = slot;
	op->table = db->table;
	op->base = seen;
	op->base_seq = seen ? seen->seq : 0;
	op->rec = rec;
	op->next = txn->ops;
	txn->ops = op;
	txn->nops++;
	return STATEDB_OK;
}

/* Fails before building anything if a new op would not fit. */
static int room_for(const struct statedb_txn *txn, const struct sdb_op *op)
{
	return op || txn->nops < STATEDB_TXN_OPS_MAX ? STATEDB_OK : STATEDB_E_TXN_FULL;
}

int statedb_txn_create(struct state_db *db, struct statedb_txn *txn, const char *name,
		       uint32_t type, uint32_t version, const char *owner, const void *data,
		       size_t len)
{
	struct sdb_rec hdr, *cur, *rec;
	struct sdb_slot *slot;
	struct sdb_op *op;
	uint32_t hash;
	int err;

	if ((err = check_txn(db, txn)) || (err = sdb_check_named_value(name, data, len, &hash)))
		return err;
	if (sdb_text_len(owner, STATEDB_OWNER_MAX) < 0)
		return STATEDB_E_OWNER;
	if ((err = txn_view(db, txn, name, hash, &op, &slot, &cur)))
		return err;
	if (cur)
		return STATEDB_E_EXISTS;
	if (!op && db->live >= STATEDB_RECORDS_MAX)
		return STATEDB_E_FULL;
	if ((err = room_for(txn, op)))
		return err;
	sdb_make_header(&hdr, name, type, version, owner, len);
	if ((err = sdb_rec_build(db, &hdr, data, &rec)))
		return err;
	return txn_set(db, txn, op, name, hash, NULL, slot, rec);
}

int statedb_txn_update(struct state_db *db, struct statedb_txn *txn, const char *name,
		       uint32_t type, uint32_t version, const void *data, size_t len)
{
	struct sdb_rec hdr, *cur, *rec;
	struct sdb_slot *slot;
	struct sdb_op *op;
	uint32_t hash;
	int err;

	if ((err = check_txn(db, txn)) || (err = sdb_check_named_value(name, data, len, &hash)))
		return err;
	if ((err = txn_view(db, txn, name, hash, &op, &slot, &cur)))
		return err;
	if (!cur)
		return STATEDB_E_NOT_FOUND;
	if ((err = room_for(txn, op)))
		return err;
	if (type == STATEDB_TYPE_KEEP)
		type = cur->type;
	if (type == cur->type && version == cur->version && len == cur->len &&
	    len <= sdb_rec_cap(cur)) {
		/* The same header: the checksum is patched, carrying any corruption of cur. */
		err = sdb_rec_rebuild(db, cur, data, &rec);
	} else if (!(err = check_seen(db, op, cur, name))) {
		sdb_make_header(&hdr, name, type, version, cur->owner, len);
		err = sdb_rec_build(db, &hdr, data, &rec);
	}
	if (err)
		return err;
	return txn_set(db, txn, op, name, hash, cur, slot, rec);
}

int statedb_txn_delete(struct state_db *db, struct statedb_txn *txn, const char *name)
{
	struct sdb_slot *slot;
	struct sdb_rec *cur;
	struct sdb_op *op;
	uint32_t hash;
	int err;

	if ((err = check_txn(db, txn)))
		return err;
	if (sdb_name_hash(name, &hash) < 0)
		return STATEDB_E_NAME;
	if ((err = txn_view(db, txn, name, hash, &op, &slot, &cur)))
		return err;
	if (!cur)
		return STATEDB_E_NOT_FOUND;
	if ((err = room_for(txn, op)))
		return err;
	return txn_set(db, txn, op, name, hash, cur, slot, NULL);
}

/*
 * The transaction's own value of a record it updated by handle, rewritten:
 * the checksum patched from the value it had (a corruption of the
 * committed value stays carried).
 */
static int inline_rewrite(struct state_db *db, struct sdb_inline_op *in, const void *data,
			  size_t len)
{
	struct sdb_rec *v = sdb_inline_value(in);

	v->crc = sdb_crc_patch_value(db, v->crc, v->data, data, len);
	memcpy(v->data, data, len);
	return STATEDB_OK;
}

/*
 * Puts `in` (txn's next embedded op, or a block of its own) on the ops list
 * as the inline op for committed record cur (h's, name hash `hash`): its
 * value's data, length and checksum; the rest of the value's header waits
 * for a by-name call that needs it (inline_whole).
 */
static inline __attribute__((always_inline)) int inline_new(struct state_db *db,
							    struct statedb_txn *txn,
							    struct sdb_inline_op *in, bool embedded,
							    statedb_handle h, struct sdb_rec *cur,
							    uint32_t hash, const void *data, size_t len)
{
	struct sdb_rec *v = sdb_inline_value(in);
	struct sdb_op *op = &in->op;

	txn->ninline += embedded;
	txn->ninplace++;
	v->block.size = sizeof in->value;
	v->len = (uint32_t)len;
	v->crc = sdb_crc_patch_value(db, cur->crc, cur->data, data, len);
	/* Inline copies (sdb_copy_value), not memcpy calls: this runs for every op. */
	sdb_copy_value(v->data, data, len);
	in->whole = false;
	/* slot, table and reused_tomb are for ops published by their slot (txn_set sets them). */
	op->published = false;
	op->inplace = true;
	op->embedded = embedded;
	op->hash = hash;	/* and no copy of the name: op_name */
	op->base = cur;
	op->base_seq = cur->seq;
	op->rec = v;
	in->h = h;
	op->next = txn->ops;
	txn->ops = op;
	txn->nops++;
	return STATEDB_OK;
}

/* True if a new value of len bytes for cur can be an inline op. */
static inline bool inline_fits(const struct statedb_txn *txn, const struct sdb_rec *cur, size_t len)
{
	return len == cur->len && len <= SDB_TXN_INLINE_BYTES && len <= sdb_rec_cap(cur) &&
	       txn->nops < STATEDB_TXN_OPS_MAX;
}

/*
 * statedb_txn_hupdate's other cases, out of its way: a record the
 * transaction touched already (op), an inline op past the embedded ones,
 * and anything else, statedb_txn_update of the record's name, header kept.
 */
static __attribute__((noinline)) int hupdate_other(struct state_db *db, struct statedb_txn *txn,
						   statedb_handle h, struct sdb_rec *cur,
						   struct sdb_op *op, uint32_t hash, const void *data,
						   size_t len)
{
	char name[STATEDB_NAME_MAX + 1];
	struct sdb_inline_op *in;
	int err;

	if (op && op->inplace && len == op->rec->len)
		return inline_rewrite(db, (struct sdb_inline_op *)op, data, len);
	if (op && (err = inline_whole(db, op)))
		return err;
	if (!op && inline_fits(txn, cur, len)) {
		if (!(in = sdb_alloc(db, sizeof *in)))
			return STATEDB_E_NOMEM;
		return inline_new(db, txn, in, false, h, cur, hash, data, len);
	}
	memcpy(name, cur->name, STATEDB_NAME_MAX);
	name[STATEDB_NAME_MAX] = '\0';
	return statedb_txn_update(db, txn, name, STATEDB_TYPE_KEEP,
				  op && op->rec ? op->rec->version : cur->version, data, len);
}

int statedb_txn_hupdate(struct state_db *db, struct statedb_txn *txn, statedb_handle h,
			const void *data, size_t len)
{
	struct sdb_rec *cur;
	struct sdb_op *op;
	uint32_t hash;
	int err;

	if ((err = check_txn(db, txn)))
		return err;
	if (!data && len)
		return STATEDB_E_INVAL;
	if (!(cur = sdb_handle_rec(db, h, &hash)))
		return STATEDB_E_STALE;
	op = find_op(db, txn, cur->name, hash);
	if (op || txn->ninline >= SDB_TXN_INLINE_OPS || !inline_fits(txn, cur, len))
		return hupdate_other(db, txn, h, cur, op, hash, data, len);
	return inline_new(db, txn, &txn->inl[txn->ninline], true, h, cur, hash, data, len);
}

/* Fills *m from the transaction's own value r of name. */
static void own_meta(struct statedb_meta *m, const char *name, const struct sdb_rec *r)
{
	memset(m, 0, sizeof *m);
	memcpy(m->name, name, strlen(name));
	memcpy(m->owner, r->owner, STATEDB_OWNER_MAX);
	m->type = r->type;
	m->version = r->version;
	m->size = r->len;
	m->checksum = r->crc;
	m->checksum_ok = true;
}

int statedb_txn_view(struct state_db *db, struct statedb_txn *txn, const char *name,
		     const void **data, struct statedb_meta *meta)
{
	struct sdb_op *op;
	int err;

	if ((err = check_txn(db, txn)))
		return err;
	if (!data)
		return STATEDB_E_INVAL;
	*data = NULL;
	if (sdb_text_len(name, STATEDB_NAME_MAX) < 0)
		return STATEDB_E_NAME;
	if (!(op = find_op(db, txn, name, sdb_hash(name))))
		return statedb_view(db, name, data, meta);
	if ((err = inline_whole(db, op)))
		return err;
	if (!op->rec)
		return STATEDB_E_NOT_FOUND;
	if (meta)
		own_meta(meta, name, op->rec);
	*data = op->rec->data;
	return (int)op->rec->len;
}

int statedb_txn_get(struct state_db *db, struct statedb_txn *txn, const char *name, void *buf,
		    size_t cap, struct statedb_meta *meta)
{
	struct statedb_meta m;
	const void *data;
	int len;

	if (!buf && cap)
		return check_txn(db, txn) ? check_txn(db, txn) : STATEDB_E_INVAL;
	len = statedb_txn_view(db, txn, name, &data, &m);
	if (meta && len >= 0)
		*meta = m;
	if (len < 0)
		return len;
	if ((size_t)len > cap)
		return STATEDB_E_NOSPACE;
	if (len)
		memcpy(buf, data, (size_t)len);
	return len;
}

struct txn_walk {
	struct state_db *db;
	struct statedb_txn *txn;
	statedb_list_fn *fn;
	void *ctx;
	bool stopped;
	int err;                    /* an inline op's base changed outside (inline_whole) */
};

/* A committed record, as the transaction sees it. */
static bool overlay(void *ctx, const struct statedb_meta *meta)
{
	struct txn_walk *w = ctx;
	struct sdb_op *op = find_op(w->db, w->txn, meta->name, sdb_hash(meta->name));
	struct statedb_meta own;

	if (!op)
		return (w->stopped = !w->fn(w->ctx, meta)) == false;
	if ((w->err = inline_whole(w->db, op)))
		return !(w->stopped = true);
	if (!op->rec)
		return true;
	own_meta(&own, meta->name, op->rec);
	return (w->stopped = !w->fn(w->ctx, &own)) == false;
}

static bool starts_with(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

int statedb_txn_list_prefix(struct state_db *db, struct statedb_txn *txn, const char *prefix,
			    statedb_list_fn *fn, void *ctx)
{
	struct txn_walk w = { db, txn, fn, ctx, false, STATEDB_OK };
	struct statedb_meta own;
	int err, n;

	if ((err = check_txn(db, txn)))
		return err;
	if (!fn || !prefix)
		return STATEDB_E_INVAL;
	n = statedb_list_prefix(db, prefix, overlay, &w);
	if (n < 0 || w.err)
		return n < 0 ? n : w.err;
	for (const struct sdb_op *op = txn->ops; op && !w.stopped; op = op->next) {
		if (op->base || !op->rec || !starts_with(op->name, prefix))
			continue;
		own_meta(&own, op->name, op->rec);
		n++;
		w.stopped = !fn(ctx, &own);
	}
	return n;
}

/*
 * The slot of op's name in the current index, or NULL: the one found at the
 * first touch while the index is the same table (a slot keeps its name for
 * the life of a table), else looked up again.
 */
static struct sdb_slot *op_slot(struct state_db *db, const struct sdb_op *op)
{
	struct sdb_rec *unused;

	if (op->slot && op->table == db->table)
		return op->slot;
	return db->table ? sdb_find(db->table, op->name, op->hash, &unused, NULL) : NULL;
}

/*
 * True if the committed value of op's record is still the one it saw first.
 * Keeps the slot it found in op (op_slot: valid while the table is).
 */
static bool unchanged(struct state_db *db, struct sdb_op *op)
{
	if (op->inplace)
		return unchanged_inline(db, op);
	struct sdb_slot *slot = op_slot(db, op);
	struct sdb_rec *now = slot ? __atomic_load_n(&slot->rec, __ATOMIC_ACQUIRE) : NULL;

	op->slot = slot;
	op->table = db->table;
	if (!sdb_live(now))
		now = NULL;

	if (!op->base)
		return now == NULL;
	return now == op->base && now->seq == op->base_seq;
}

/* Checks every op; returns STATEDB_E_CONFLICT or the number of creates. */
static int validate(struct state_db *db, const struct statedb_txn *txn)
{
	int creates = 0;

	for (struct sdb_op *op = txn->ops; op; op = op->next) {
		if (!unchanged(db, op))
			return STATEDB_E_CONFLICT;
		creates += !op->base && op->rec;
	}
	if (db->live + (size_t)creates > STATEDB_RECORDS_MAX)
		return STATEDB_E_FULL;
	return creates;
}

/*
 * An inline op's value written into its base record in place, the old data
 * and checksum kept for unpublish; the base's sequence counter is odd from
 * here until settle (readers retry, never seeing it half written).
 */
static void publish_inplace(struct sdb_op *op)
{
	struct sdb_inline_op *in = (struct sdb_inline_op *)op;
	struct sdb_rec *r = op->base;

	in->old_wseq = r->wseq;
	__atomic_store_n(&r->wseq, r->wseq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	in->old_crc = r->crc;
	sdb_copy_value(in->old, r->data, r->len);
	sdb_copy_value(r->data, sdb_inline_value(in)->data, r->len);
	r->crc = sdb_inline_value(in)->crc;
}

/* Publishes op's value; the index has room for it if it is a create. */
static void publish(struct state_db *db, struct sdb_op *op)
{
	if (op->inplace) {
		publish_inplace(op);
	} else if (op->base) {	/* the slot validate found, unless the index grew since */
		op->slot = op_slot(db, op);
		__atomic_store_n(&op->slot->rec, op->rec ? op->rec : SDB_TOMB, __ATOMIC_RELEASE);
	} else {
		op->reused_tomb = sdb_index_put(db->table, op->name, op->hash, op->rec, &op->slot);
	}
	op->published = true;
}

/* Puts back the committed values of every published op. */
static void unpublish(struct state_db *db, struct statedb_txn *txn)
{
	for (struct sdb_op *op = txn->ops; op; op = op->next) {
		if (!op->published)
			continue;
		if (op->inplace) {
			struct sdb_inline_op *in = (struct sdb_inline_op *)op;

			memcpy(op->base->data, in->old, op->base->len);
			op->base->crc = in->old_crc;
			__atomic_store_n(&op->base->wseq, in->old_wseq, __ATOMIC_RELEASE);
			op->published = false;
			continue;
		}
		__atomic_store_n(&op->slot->rec, op->base ? op->base : SDB_TOMB, __ATOMIC_RELEASE);
		if (!op->base && !op->reused_tomb)
			db->tombs++;        /* the create took an empty slot, now a tombstone */
		op->published = false;
	}
}

/* After the last store: the counts, and the replaced values retired. */
static void settle(struct state_db *db, struct statedb_txn *txn)
{
	for (struct sdb_op *op = txn->ops; op; op = op->next) {
		if (!op->published)
			continue;
		if (op->inplace) {	/* a new value in the same buffer: a new seq, the counter even */
			struct sdb_inline_op *in = (struct sdb_inline_op *)op;

			op->base->seq = ++db->seq;
			__atomic_store_n(&op->base->wseq, in->old_wseq + 2, __ATOMIC_RELEASE);
			db->updates++;
			db->inplace++;
			op->rec = NULL;
			continue;
		}
		if (op->base && op->base->hidx && op->rec)
			sdb_handle_move(db, op->base, op->rec);    /* handles follow the record */
		else if (op->base && op->base->hidx)
			sdb_handle_drop(db, op->base);
		if (op->base) {
			db->data_bytes -= sdb_rec_size(op->base);
			txn_retire(db, txn, &op->base->block);
		}
		if (op->rec)
			db->data_bytes += op->rec->len;
		if (op->base && op->rec) {
			db->updates++;
		} else if (op->rec) {
			db->live++;
			db->creates++;
			if (op->reused_tomb)
				db->tombs--;
		} else {
			db->live--;
			db->tombs++;
			db->deletes++;
		}
		op->rec = NULL;             /* now the store's */
	}
}

/*
 * The commit of a transaction whose every op is an inline update by handle,
 * with no fail point set (so nothing can stop it half way, and no old value
 * is kept for an undo): each op validated (unless nothing changed since
 * the begin), then each value written into its
 * record, whose counter is odd from its write until all are written (as
 * publish and settle do), then each given its new seq and an even counter.
 */
static __attribute__((noinline)) int commit_inline(struct state_db *db, struct statedb_txn *txn)
{
	struct sdb_op *op;
	uint64_t seq;

	/*
	 * Each op saw its record's current value when it was made; if the store
	 * has not changed since the begin, they all still hold (no record moved,
	 * was written or deleted), with nothing to look at.
	 */
	for (op = sdb_changes_of(db) == txn->changes ? NULL : txn->ops; op; op = op->next) {
		if (!unchanged_inline(db, op)) {
			txn_end(db, txn, false);
			return STATEDB_E_CONFLICT;
		}
	}
	/*
	 * No `committing` for readers: each op writes its record's own buffer,
	 * which a reader by name finds in its slot anyway, and whose counter
	 * makes it retry until the last value is in.
	 */
	for (op = txn->ops; op; op = op->next) {
		struct sdb_rec *r = op->base;

		__atomic_store_n(&r->wseq, r->wseq + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		sdb_copy_value(r->data, op->rec->data, r->len);
		r->crc = op->rec->crc;
	}
	seq = db->seq;
	for (op = txn->ops; op; op = op->next) {
		op->base->seq = ++seq;
		__atomic_store_n(&op->base->wseq, op->base->wseq + 1, __ATOMIC_RELEASE);
	}
	db->seq = seq;
	db->updates += txn->nops;
	db->inplace += txn->nops;
	if (all_embedded(txn))
		txn_close(db, txn, true);
	else
		txn_end(db, txn, true);
	return STATEDB_OK;
}

/* Any other commit: validated, the index grown for its creates, published under `committing`. */
static __attribute__((noinline)) int commit_ops(struct state_db *db, struct statedb_txn *txn)
{
	int err, creates = validate(db, txn);

	err = creates < 0 ? creates : creates ? sdb_index_reserve(db, (size_t)creates) : 0;
	if (err) {
		txn_end(db, txn, false);
		return err;
	}
	__atomic_store_n(&db->committing, txn, __ATOMIC_RELEASE);
	for (struct sdb_op *op = txn->ops; op; op = op->next) {
		if (!op->base && !op->rec)
			continue;               /* created and deleted again: nothing to publish */
		publish(db, op);
		if (sdb_fail(db, STATEDB_STEP_PUBLISH)) {
			unpublish(db, txn);
			__atomic_store_n(&db->committing, NULL, __ATOMIC_RELEASE);
			txn_end(db, txn, false);
			return STATEDB_E_ABORTED;
		}
	}
	__atomic_store_n(&db->committing, NULL, __ATOMIC_RELEASE);
	settle(db, txn);
	txn_end(db, txn, true);
	return STATEDB_OK;
}

int statedb_txn_commit(struct state_db *db, struct statedb_txn *txn)
{
	int err = check_txn(db, txn);

	if (err)
		return err;
	sdb_reclaim(db);
	if (txn->ninplace == txn->nops && db->fail_point.cell[0] == '\0')
		return commit_inline(db, txn);
	return commit_ops(db, txn);
}
