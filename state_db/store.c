/*
 * The writers of state_db: init, create, update, delete and teardown. The
 * caller serializes them (interrupts off in the kernel). Each checks all of
 * its input first, then builds the new record off to the side, then changes
 * the store with one pointer store; see include/delos/state_db.h.
 */
#include "state_db/internal.h"

int statedb_init(struct state_db *db, statedb_alloc_fn *alloc, statedb_free_fn *free, void *ctx)
{
	if (!db || !alloc || !free)
		return STATEDB_E_INVAL;
	memset(db, 0, sizeof *db);
	db->alloc = alloc;
	db->free = free;
	db->alloc_ctx = ctx;
	db->layout = STATEDB_LAYOUT;
	db->hw_crc = sdb_cpu_has_crc32();
	__atomic_store_n(&db->magic, STATEDB_MAGIC, __ATOMIC_RELEASE);
	return STATEDB_OK;
}

int statedb_fini(struct state_db *db)
{
	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	sdb_txn_free_all(db);
	sdb_index_free(db);
	sdb_handles_free(db);
	sdb_shift_free(db);
	sdb_free_retired(db);
	sdb_spares_free(db);
	db->magic = 0;
	return STATEDB_OK;
}

int statedb_set_fail_point(struct state_db *db, const struct cellref *fn, uint64_t arg)
{
	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (fn)
		db->fail_point = *fn;
	else
		memset(&db->fail_point, 0, sizeof(db->fail_point));
	db->fail_arg = arg;
	return STATEDB_OK;
}

int statedb_keep_spares(struct state_db *db, bool on)
{
	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	db->spares_on = on;
	if (!on)
		sdb_spares_free(db);
	return STATEDB_OK;
}

int statedb_reclaim(struct state_db *db)
{
	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	sdb_reclaim(db);
	return (int)db->retired_count;
}

/* Checks the value arguments shared by create and update. */
static int check_data(const void *data, size_t len)
{
	if (len > STATEDB_DATA_MAX)
		return STATEDB_E_TOO_BIG;
	if (!data && len)
		return STATEDB_E_INVAL;
	return STATEDB_OK;
}

/* Checks the name and value arguments shared by create and update. */
int sdb_check_value(const char *name, const void *data, size_t len)
{
	if (sdb_text_len(name, STATEDB_NAME_MAX) < 0)
		return STATEDB_E_NAME;
	return check_data(data, len);
}

/* sdb_check_value, with the name checked and hashed in one pass into *hash. */
int sdb_check_named_value(const char *name, const void *data, size_t len, uint32_t *hash)
{
	if (sdb_name_hash(name, hash) < 0)
		return STATEDB_E_NAME;
	return check_data(data, len);
}

/* Returns name (of that hash)'s live record, or NULL; *slot is its slot (or NULL). */
struct sdb_rec *sdb_writer_find_h(struct state_db *db, const char *name, uint32_t hash,
				  struct sdb_slot **slot)
{
	struct sdb_rec *rec = NULL;

	*slot = db->table ? sdb_find(db->table, name, hash, &rec, NULL) : NULL;
	return sdb_live(rec) ? rec : NULL;
}

struct sdb_rec *sdb_writer_find(struct state_db *db, const char *name, struct sdb_slot **slot)
{
	return sdb_writer_find_h(db, name, sdb_hash(name), slot);
}

/* Fills the header template h; name and owner are valid, so they fit. */
void sdb_make_header(struct sdb_rec *h, const char *name, uint32_t type, uint32_t version,
			const char *owner, size_t len)
{
	memset(h, 0, sizeof *h);
	h->type = type;
	h->version = version;
	h->len = (uint32_t)len;
	memcpy(h->owner, owner, strlen(owner));
	memcpy(h->name, name, strlen(name));
}

int statedb_create(struct state_db *db, const char *name, uint32_t type, uint32_t version,
		   const char *owner, const void *data, size_t len)
{
	struct sdb_slot *slot;
	struct sdb_rec hdr, *rec;
	int err;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if ((err = sdb_check_value(name, data, len)))
		return err;
	if (sdb_text_len(owner, STATEDB_OWNER_MAX) < 0)
		return STATEDB_E_OWNER;
	sdb_reclaim(db);
	if (sdb_writer_find(db, name, &slot))
		return STATEDB_E_EXISTS;
	if (db->live >= STATEDB_RECORDS_MAX)
		return STATEDB_E_FULL;
	sdb_make_header(&hdr, name, type, version, owner, len);
	if ((err = sdb_rec_build(db, &hdr, data, &rec)))
		return err;
	if ((err = sdb_index_insert(db, name, rec))) {
		sdb_free(db, &rec->block);
		return err;
	}
	db->live++;
	db->data_bytes += len;
	db->creates++;
	return STATEDB_OK;
}

int statedb_update(struct state_db *db, const char *name, uint32_t type, uint32_t version,
		   const void *data, size_t len)
{
	struct sdb_slot *slot;
	struct sdb_rec hdr, *old, *rec;
	int err;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if ((err = sdb_check_value(name, data, len)))
		return err;
	sdb_reclaim(db);
	if (!(old = sdb_writer_find(db, name, &slot)))
		return STATEDB_E_NOT_FOUND;
	if (type == STATEDB_TYPE_KEEP)
		type = old->type;
	if (old->hidx && len <= sdb_rec_cap(old)) {
		/* It has a handle: it keeps its buffer, and its data is checked there
		 * (see "The hot path"). */
		if ((err = sdb_inplace(db, old, 0, data, len, len, type, version)))
			return err;
		db->updates++;
		return STATEDB_OK;
	}
	if (!sdb_rec_ok(old, slot->name)) {
		__atomic_add_fetch(&db->corrupt_seen, 1, __ATOMIC_RELAXED);
		return STATEDB_E_CORRUPT;
	}
	sdb_make_header(&hdr, name, type, version, old->owner, len);
	if ((err = sdb_rec_build(db, &hdr, data, &rec)))
		return err;
	__atomic_store_n(&slot->rec, rec, __ATOMIC_RELEASE);
	sdb_handle_move(db, old, rec);
	db->data_bytes = db->data_bytes - old->len + len;
	db->updates++;
	sdb_retire(db, &old->block);
	return STATEDB_OK;
}

int statedb_delete(struct state_db *db, const char *name)
{
	struct sdb_slot *slot;
	struct sdb_rec *old;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (sdb_text_len(name, STATEDB_NAME_MAX) < 0)
		return STATEDB_E_NAME;
	sdb_reclaim(db);
	if (!(old = sdb_writer_find(db, name, &slot)))
		return STATEDB_E_NOT_FOUND;
	__atomic_store_n(&slot->rec, SDB_TOMB, __ATOMIC_RELEASE);
	sdb_handle_drop(db, old);
	/* Bounded by the block size: the record may be corrupt. */
	db->data_bytes -= sdb_rec_size(old);
	db->live--;
	db->tombs++;
	db->deletes++;
	sdb_retire(db, &old->block);
	return STATEDB_OK;
}
