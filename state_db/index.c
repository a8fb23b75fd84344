/*
 * The index of state_db: an open-addressing hash table with linear probing;
 * see internal.h for why lock-free readers can walk it while a writer runs.
 * The table is rebuilt into a fresh block (dropping tombstones, and sized
 * for twice the live records) when live records and tombstones would fill
 * more than three quarters of it; the old block is retired.
 */
#include "state_db/internal.h"

/* FNV-1a over the bytes of name. */
uint32_t sdb_hash(const char *name)
{
	uint32_t h = 2166136261u;

	while (*name) {
		h ^= (unsigned char)*name++;
		h *= 16777619u;
	}
	return h;
}

/*
 * sdb_text_len(name, STATEDB_NAME_MAX) and sdb_hash(name) in one pass. One
 * unsigned compare tells a byte in '!'..'~' from every other, NUL included,
 * so the loop body has a single exit test besides the length bound.
 */
int sdb_name_hash(const char *name, uint32_t *hash)
{
	const unsigned char *p = (const unsigned char *)name;
	uint32_t h = 2166136261u;
	size_t n = 0;

	if (!name)
		return -1;
	for (; n <= STATEDB_NAME_MAX; n++) {
		unsigned c = p[n];

		if (c - '!' > (unsigned)('~' - '!'))
			break;
		h = (h ^ c) * 16777619u;
	}
	if (n > STATEDB_NAME_MAX || p[n] != '\0' || n == 0)
		return -1;	/* a byte outside '!'..'~', empty, or too long */
	*hash = h;
	return (int)n;
}

/*
 * Walks name's probe chain in t. Returns the slot that holds name (live or
 * tombstone) with its rec pointer, as loaded once, in *rec; or NULL if the
 * chain ends first, leaving *rec alone and setting *empty (if not NULL) to
 * the empty slot that ended it (NULL if t has none, which the writers'
 * load limit rules out). Slot names are compared only after an
 * acquire load of a non-NULL rec, which orders them after their writing.
 */
struct sdb_slot *sdb_find(const struct sdb_table *t, const char *name, uint32_t hash,
			  struct sdb_rec **rec, struct sdb_slot **empty)
{
	uint32_t mask = t->cap - 1, at = hash & mask;

	for (uint32_t i = 0; i < t->cap; i++, at = (at + 1) & mask) {
		struct sdb_slot *s = (struct sdb_slot *)&t->slots[at];
		struct sdb_rec *r = __atomic_load_n(&s->rec, __ATOMIC_ACQUIRE);

		if (!r) {
			if (empty)
				*empty = s;
			return NULL;
		}
		if (s->hash == hash && strncmp(s->name, name, sizeof s->name) == 0) {
			*rec = r;
			return s;
		}
	}
	if (empty)
		*empty = NULL;
	return NULL;
}

/*
 * Publishes rec under name in t, which must not hold name live and must have
 * an empty slot. Reuses name's tombstone if it has one (returns true), else
 * writes name into the empty slot ending its chain before publishing. Sets
 * *slot (if not NULL) to the slot used.
 */
bool sdb_index_put(struct sdb_table *t, const char *name, uint32_t hash, struct sdb_rec *rec,
		   struct sdb_slot **slot)
{
	struct sdb_slot *empty = NULL, *s;
	struct sdb_rec *old;

	s = sdb_find(t, name, hash, &old, &empty);
	if (!s) {
		s = empty;
		memcpy(s->name, name, strlen(name) + 1);
		s->hash = hash;
	}
	__atomic_store_n(&s->rec, rec, __ATOMIC_RELEASE);
	if (slot)
		*slot = s;
	return s != empty;
}

/* True if t can take n more names and keep a quarter of its slots empty. */
static bool has_room(const struct state_db *db, const struct sdb_table *t, size_t n)
{
	return t && (db->live + db->tombs + n) * 4 <= (size_t)t->cap * 3;
}

/* The smallest table size that holds `records` records at most half full. */
static uint32_t slots_for(size_t records)
{
	uint32_t cap = SDB_MIN_SLOTS;

	while (cap < records * 2)
		cap *= 2;
	return cap;
}

static struct sdb_table *table_new(struct state_db *db, uint32_t cap)
{
	size_t size = sizeof(struct sdb_table) + (size_t)cap * sizeof(struct sdb_slot);
	struct sdb_table *t = sdb_alloc(db, size);

	if (!t)
		return NULL;
	memset((char *)t + sizeof t->block, 0, size - sizeof t->block);
	t->cap = cap;
	return t;
}

/* Copies the live slots of from into the fresh table to. */
static void table_fill(struct sdb_table *to, const struct sdb_table *from)
{
	for (uint32_t i = 0; i < from->cap; i++) {
		const struct sdb_slot *s = &from->slots[i];

		if (sdb_live(s->rec))
			sdb_index_put(to, s->name, s->hash, s->rec, NULL);
	}
}

/*
 * Makes room in the index for `creates` more names, rebuilding it into a
 * fresh table (without tombstones) if it is too full or absent. Readers see
 * the same records in either table. Returns STATEDB_OK, or, with the index
 * unchanged, STATEDB_E_NOMEM or STATEDB_E_ABORTED (fail point at
 * STATEDB_STEP_INDEX).
 */
int sdb_index_reserve(struct state_db *db, size_t creates)
{
	struct sdb_table *old = db->table, *t;

	if (has_room(db, old, creates))
		return STATEDB_OK;
	t = table_new(db, slots_for(db->live + creates));
	if (!t)
		return STATEDB_E_NOMEM;
	if (sdb_fail(db, STATEDB_STEP_INDEX)) {
		sdb_free(db, &t->block);
		return STATEDB_E_ABORTED;
	}
	if (old)
		table_fill(t, old);
	__atomic_store_n(&db->table, t, __ATOMIC_RELEASE);
	db->tombs = 0;
	if (old)
		sdb_retire(db, &old->block);
	return STATEDB_OK;
}

/*
 * Publishes rec under name, which the index does not hold live, rebuilding
 * the index first if it is too full (or absent). Returns STATEDB_OK, or, with
 * the index unchanged, STATEDB_E_NOMEM or STATEDB_E_ABORTED (fail point at
 * STATEDB_STEP_INDEX). The caller counts rec as live afterwards.
 */
int sdb_index_insert(struct state_db *db, const char *name, struct sdb_rec *rec)
{
	int err = sdb_index_reserve(db, 1);

	if (err)
		return err;
	if (sdb_index_put(db->table, name, sdb_hash(name), rec, NULL))
		db->tombs--;
	return STATEDB_OK;
}

/* Frees every live record and the index itself. No reader may be inside. */
void sdb_index_free(struct state_db *db)
{
	struct sdb_table *t = db->table;

	if (!t)
		return;
	for (uint32_t i = 0; i < t->cap; i++)
		if (sdb_live(t->slots[i].rec))
			sdb_free(db, &t->slots[i].rec->block);
	db->table = NULL;
	sdb_free(db, &t->block);
}
