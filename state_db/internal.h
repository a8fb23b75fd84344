/*
 * Private layouts of state_db, shared by its .c files and its host test.
 *
 * Everything the store allocates starts with a struct sdb_block: its whole
 * size, written once at allocation, and a link used only once the block is
 * retired (readers never read the link, so retiring a block a reader is still
 * looking at disturbs nothing).
 *
 * A record is one block: header then data. The checksum covers the header
 * from `type` to the end of `name`, then the data; `seq`, which only
 * transactions read (to tell that a value changed), is outside it, and so
 * are the in-place fields: `wseq` (the sequence counter of in-place writes),
 * `hidx` (the record's handle slot) and `hcrc` (the CRC of the header alone,
 * from which an in-place write continues over the new data). The block size
 * bounds the length outside the checksum: a reader checks that len fits the
 * block before it reads any data, so a corrupted length never makes it read
 * past the buffer. A record's buffer may be larger than its data (its
 * capacity, for in-place growth; only records with a handle have spare room).
 *
 * The index is an open-addressing hash table with linear probing, in one
 * block. A slot is empty (rec NULL), a tombstone (SDB_TOMB) or live. A slot's
 * name is written before its first rec pointer is published and never
 * changes for the life of that table, except that a tombstone is reused only
 * by a record of the same name: so a lock-free reader that loads rec
 * (acquire) and then compares the name always compares a stable name.
 * Tombstones are dropped when the index is rebuilt into a fresh block.
 */
#ifndef STATE_DB_INTERNAL_H
#define STATE_DB_INTERNAL_H

#include <delos/state_db.h>

#ifdef DELOS_HOST
#include <string.h>
#else
#include <delos/string.h>
#endif

struct sdb_block {
	struct sdb_block *next;     /* retired list; unused while live */
	size_t size;                /* bytes of the whole allocation */
};

struct sdb_rec {
	struct sdb_block block;
	uint32_t crc;               /* CRC-32C of type..name, then of data */
	uint32_t type;
	uint32_t version;
	uint32_t len;               /* bytes of data */
	char owner[STATEDB_OWNER_MAX + 1];
	char name[STATEDB_NAME_MAX + 1];
	uint64_t seq;               /* store-wide number of this value, new at every write */
	uint32_t wseq;              /* odd while an in-place write is in progress */
	uint32_t hidx;              /* handle slot index + 1; 0: none */
	uint32_t hcrc;              /* CRC-32C of type..name, as last written */
	uint32_t reserved[3];
	unsigned char data[];
};

/*
 * A slot of the handle table: the record it names (NULL: free) and its
 * generation. While free, `link` is the free list's next index + 1; while
 * in use, the hash of its record's name (sdb_hash), for transactions by
 * handle, which then hash nothing.
 */
struct sdb_hent {
	struct sdb_rec *rec;
	uint32_t gen;               /* bumped when its record is deleted */
	uint32_t link;              /* free: next free index + 1; in use: the name's hash */
};

/*
 * t[k] advances a raw CRC-32C register over 16 << k zero bytes, one table
 * per byte of the register: patching a checksum far from the end of a
 * record costs a few lookups per power of two, not four per eight bytes.
 */
#define SDB_SHIFT_LEVELS 7u
struct sdb_shift {
	struct sdb_block block;
	uint32_t t[SDB_SHIFT_LEVELS][4][256];
	/*
	 * w16[j][b]: the raw register from 0 over 16 bytes, byte j of the first
	 * 8 being b and the rest zero. A 16-byte value's first word then costs
	 * a lookup per byte that changed in it, with no pass over the second.
	 */
	uint32_t w16[8][256];
};

struct sdb_slot {
	char name[STATEDB_NAME_MAX + 1];
	uint32_t hash;
	uint32_t reserved;
	struct sdb_rec *rec;        /* NULL: never used; SDB_TOMB: deleted; else live */
};

struct sdb_table {
	struct sdb_block block;
	uint32_t cap;               /* slots, a power of two */
	uint32_t reserved[3];
	struct sdb_slot slots[];
};

/*
 * One record a transaction touched: the committed value it found when it
 * first touched it (base, with its sequence number, or NULL if there was no
 * live record) and the value the record takes at commit (rec, built and
 * checksummed at the write; NULL: deleted). Published by the commit only.
 */
struct sdb_op {
	struct sdb_block block;
	struct sdb_op *next;
	struct sdb_rec *base;
	struct sdb_rec *rec;
	struct sdb_slot *slot;      /* name's slot in `table` when first touched (NULL: none), then
				     * where the commit published rec, for undo */
	struct sdb_table *table;    /* the index that slot belongs to */
	uint64_t base_seq;
	uint32_t hash;
	bool published;             /* commit only */
	bool reused_tomb;           /* commit only: a create that took a tombstone slot */
	bool inplace;               /* an sdb_inline_op whose rec is its own value: the commit
				     * writes it into base */
	bool embedded;              /* part of its transaction's block (statedb_txn.inl): not freed alone */
	char name[STATEDB_NAME_MAX + 1];
};

/*
 * An update by handle of a small value (statedb_txn_hupdate): one block
 * small enough for the spare lists (no heap allocation once the store is
 * warm), op and value together. `op` is an ordinary op on the ops list (so
 * every by-name read and write of the transaction finds it) whose rec is
 * `value`: the new data, its length and its patched checksum from the
 * write on, and the rest of the base's header (`whole`) from the first
 * by-name call of the transaction that needs it (txn.c, inline_whole); the
 * commit copies data and checksum into the base record in place, keeping
 * the old ones in `old` for an undo when a fail point could stop it.
 */
#define SDB_TXN_INLINE_BYTES 64u
#define SDB_TXN_INLINE_OPS   4u
struct sdb_inline_op {
	struct sdb_op op;
	_Alignas(16) unsigned char value[sizeof(struct sdb_rec) + SDB_TXN_INLINE_BYTES];
	unsigned char old[SDB_TXN_INLINE_BYTES];
	statedb_handle h;           /* the handle it was written through: base while it is current */
	uint32_t old_crc;
	uint32_t old_wseq;
	bool whole;                 /* value's header filled in from the base */
};
_Static_assert(sizeof(struct sdb_inline_op) <= STATEDB_SPARE_CLASS * STATEDB_SPARE_CLASSES,
	       "an inline op is a spare block");

/* The record an inline op's value buffer holds. */
static inline struct sdb_rec *sdb_inline_value(struct sdb_inline_op *in)
{
	return (struct sdb_rec *)(void *)in->value;
}

struct statedb_txn {
	struct sdb_block block;
	struct statedb_txn *next;   /* the root's open transactions */
	struct sdb_op *ops;         /* newest first */
	uint64_t owner_id;
	uint32_t nops;
	/* Kept for the kernel's cell layer (state_db/sdb_cell.c), unused by the store. */
	uint32_t nest;              /* sdb_txn_begin calls not yet ended */
	bool doomed;                /* a nested level aborted: the outermost end aborts */
	bool free_later;            /* its commit frees nothing itself (statedb_txn_free_later) */
	uint64_t irq_flags;         /* the interrupt flag to restore at the end */
	/* A background transaction (sdb_txn_begin_swap): interrupts stay on while it is open. */
	bool background, bg_active; /* active: the owner task's calls go into it */
	bool bg_stale;              /* the store changed outside it since it began */
	uint64_t bg_changes;        /* statedb_changes after its last write */
	/*
	 * The first SDB_TXN_INLINE_OPS updates by handle use these, in the
	 * transaction's own block: no allocation and no free per record.
	 */
	uint32_t ninline;
	uint32_t ninplace;          /* ops that are inline updates by handle (op.inplace) */
	uint64_t changes;           /* sdb_changes_of the store at the begin */
	struct sdb_inline_op inl[SDB_TXN_INLINE_OPS];
};

_Static_assert(offsetof(struct state_db, layout) == offsetof(struct state_db, magic) + 4,
	       "sdb_root_ok reads magic and layout as one word");

#define SDB_TOMB      ((struct sdb_rec *)(uintptr_t)1)
#define SDB_MIN_SLOTS 16u

_Static_assert(sizeof(struct sdb_rec) % 16 == 0, "record data must stay 16-byte aligned");
_Static_assert(sizeof(struct sdb_slot) == 64, "one slot per cache line");
_Static_assert(sizeof(struct sdb_table) % 16 == 0, "slots must stay aligned");

/* record.c: blocks, records and the retired list. */
void *sdb_alloc(struct state_db *db, size_t size);
void sdb_free(struct state_db *db, struct sdb_block *b);
void sdb_spares_free(struct state_db *db);
void sdb_retire(struct state_db *db, struct sdb_block *b);
void sdb_free_retired(struct state_db *db);
void sdb_reclaim_retired(struct state_db *db);
/* Frees the retired blocks if no read section is open (nothing to do, no call, if none is retired). */
static inline void sdb_reclaim(struct state_db *db)
{
	if (db->retired)
		sdb_reclaim_retired(db);
}
/* Asks the fail point, if one is set (the check is inline: writers ask at every step). */
bool sdb_fail_at(struct state_db *db, int step);
static inline bool sdb_fail(struct state_db *db, int step)
{
	return db->fail_point.cell[0] != '\0' && sdb_fail_at(db, step);
}
int sdb_text_len(const char *s, size_t max);
uint32_t sdb_rec_crc(const struct sdb_rec *r);
bool sdb_rec_ok(const struct sdb_rec *r, const char *name);
bool sdb_rec_verify(const struct state_db *db, const struct sdb_rec *r, const char *name);
/* read.c: verifies r between two loads of its wseq (fills *m if not NULL);
 * STATEDB_OK, STATEDB_E_CORRUPT (counted) or STATEDB_E_BUSY. */
int sdb_rec_verify_read(struct state_db *db, const struct sdb_rec *r, const char *key,
			struct statedb_meta *m);
size_t sdb_rec_size(const struct sdb_rec *r);

/* crc32c.c */
/* Slicing-by-8 tables (crc32c_table.h), in .rodata; hidden: state_db's own. */
extern const uint32_t sdb_crc32c_table[8][256] __attribute__((visibility("hidden")));

/* One slicing-by-8 step of the raw register crc over the word x (little-endian bytes). */
static inline uint32_t sdb_crc_word_sw(uint32_t crc, uint64_t x)
{
	const uint32_t (*t)[256] = sdb_crc32c_table;
	uint64_t v = x ^ crc;

	crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff];
	if (v >> 32)	/* a change in the low bytes only (a counter, a pointer): half the lookups */
		crc ^= t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^
		       t[0][v >> 56];
	return crc;
}

uint32_t sdb_crc(const struct state_db *db, uint32_t crc, const void *p, size_t n);
uint32_t sdb_crc32c_hw(uint32_t crc, const void *p, size_t n);
bool sdb_cpu_has_crc32(void);
void sdb_shift_build(struct state_db *db);
void sdb_shift_free(struct state_db *db);
uint32_t sdb_crc_patch(const struct state_db *db, uint32_t crc, const void *old, const void *new,
		       size_t n, size_t after);
/* sdb_crc_patch of a whole value of len bytes (old to new) over the 8-byte words that differ only. */
uint32_t sdb_crc_patch_words(const struct state_db *db, uint32_t crc, const void *old,
			     const void *new, size_t len);

/*
 * The checksum crc of a 16-byte message patched for its change from old to
 * new, in software (CRC-32C is linear: see sdb_crc_patch): a word that did
 * not change costs nothing, and in the first word, a lookup per byte in
 * its low half and, if its high half changed too, per byte in that
 * (shift's w16); the second word is one slicing step.
 */
static inline __attribute__((always_inline)) uint32_t
sdb_crc_patch16_sw(const struct sdb_shift *s, uint32_t crc, const void *old, const void *new)
{
	const uint32_t (*w)[256] = s->w16;
	uint64_t a0, a1, b0, b1, d0, d1;

	__builtin_memcpy(&a0, old, 8);
	__builtin_memcpy(&a1, (const unsigned char *)old + 8, 8);
	__builtin_memcpy(&b0, new, 8);
	__builtin_memcpy(&b1, (const unsigned char *)new + 8, 8);
	d0 = a0 ^ b0;
	d1 = a1 ^ b1;
	if (d0) {
		crc ^= w[0][d0 & 0xff] ^ w[1][(d0 >> 8) & 0xff] ^ w[2][(d0 >> 16) & 0xff] ^
		       w[3][(d0 >> 24) & 0xff];
		if (d0 >> 32)
			crc ^= w[4][(d0 >> 32) & 0xff] ^ w[5][(d0 >> 40) & 0xff] ^
			       w[6][(d0 >> 48) & 0xff] ^ w[7][d0 >> 56];
	}
	return d1 ? crc ^ sdb_crc_word_sw(0, d1) : crc;
}

/*
 * sdb_crc_patch_words, inline for the hot path's usual size, 16 bytes, with
 * the software CRC and the shift tables built (the crc32 instruction's path
 * is a call, and as cheap).
 */
static inline __attribute__((always_inline)) uint32_t
sdb_crc_patch_value(const struct state_db *db, uint32_t crc, const void *old, const void *new,
		    size_t len)
{
	if (len != 16 || db->hw_crc || !db->shift)
		return sdb_crc_patch_words(db, crc, old, new, len);
	return sdb_crc_patch16_sw(db->shift, crc, old, new);
}

/* handle.c: keeping the handle table in step with the writers. */
void sdb_handle_move(struct state_db *db, struct sdb_rec *from, struct sdb_rec *to);
void sdb_handle_drop(struct state_db *db, struct sdb_rec *rec);
void sdb_handles_free(struct state_db *db);
int sdb_inplace(struct state_db *db, struct sdb_rec *r, size_t at, const void *data, size_t n,
		size_t len, uint32_t type, uint32_t version);
int sdb_rec_build(struct state_db *db, const struct sdb_rec *hdr, const void *data,
		  struct sdb_rec **out);
int sdb_rec_rebuild(struct state_db *db, const struct sdb_rec *from, const void *data,
		    struct sdb_rec **out);

/* store.c: shared by the plain writers and transactions. */
int sdb_check_value(const char *name, const void *data, size_t len);
struct sdb_rec *sdb_writer_find(struct state_db *db, const char *name, struct sdb_slot **slot);
struct sdb_rec *sdb_writer_find_h(struct state_db *db, const char *name, uint32_t hash,
				  struct sdb_slot **slot);
int sdb_check_named_value(const char *name, const void *data, size_t len, uint32_t *hash);
void sdb_make_header(struct sdb_rec *h, const char *name, uint32_t type, uint32_t version,
		     const char *owner, size_t len);

/* index.c: the hash table. */
uint32_t sdb_hash(const char *name);
int sdb_name_hash(const char *name, uint32_t *hash);
struct sdb_slot *sdb_find(const struct sdb_table *t, const char *name, uint32_t hash,
			  struct sdb_rec **rec, struct sdb_slot **empty);
int sdb_index_insert(struct state_db *db, const char *name, struct sdb_rec *rec);
int sdb_index_reserve(struct state_db *db, size_t creates);
bool sdb_index_put(struct sdb_table *t, const char *name, uint32_t hash, struct sdb_rec *rec,
		   struct sdb_slot **slot);

/* txn.c: what a reader sees of name while a commit publishes. */
const struct sdb_op *sdb_txn_find(const struct state_db *db, const struct statedb_txn *txn,
				  const char *name, uint32_t hash);
void sdb_txn_free_all(struct state_db *db);
void sdb_index_free(struct state_db *db);

/*
 * statedb_changes: grows at every write, create, delete and commit, and at
 * every move of a record to another buffer (each gives a new seq).
 */
static inline uint64_t sdb_changes_of(const struct state_db *db)
{
	return __atomic_load_n(&db->seq, __ATOMIC_ACQUIRE) + db->deletes + db->commits;
}

static inline bool sdb_root_ok(const struct state_db *db)
{
	uint64_t id;

	if (!db)
		return false;
	__builtin_memcpy(&id, &db->magic, sizeof id);	/* magic and layout: one load */
	return id == ((uint64_t)STATEDB_LAYOUT << 32 | STATEDB_MAGIC);
}

/* Data bytes the record's block has room for (0 if its size is too small to be a record). */
/* Copies len bytes inline; 8 to 16 (the hot path's usual size) as two words that may overlap. */
static inline void sdb_copy_value(unsigned char *dst, const unsigned char *src, size_t len)
{
	uint64_t head, tail;

	if (len < 8 || len > 16) {
		size_t q = len / 8, r = len % 8;

		/* Inline, not a call: the caller then needs no registers saved. */
		__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
		__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(r) : : "memory");
		return;
	}
	__builtin_memcpy(&head, src, 8);
	__builtin_memcpy(&tail, src + len - 8, 8);
	__builtin_memcpy(dst, &head, 8);
	__builtin_memcpy(dst + len - 8, &tail, 8);
}

static inline size_t sdb_rec_cap(const struct sdb_rec *r)
{
	return r->block.size < sizeof *r ? 0 : r->block.size - sizeof *r;
}

/* Bytes of a record's header that its checksum covers. */
static inline size_t sdb_rec_hdr_len(void)
{
	return offsetof(struct sdb_rec, name) + sizeof(((struct sdb_rec *)0)->name) -
	       offsetof(struct sdb_rec, type);
}

static inline bool sdb_live(const struct sdb_rec *r)
{
	return r && r != SDB_TOMB;
}

/* Takes b, already unpublished, out of use, to be freed by the next sdb_reclaim. */
static inline void sdb_retire_later(struct state_db *db, struct sdb_block *b)
{
	b->next = db->retired;
	db->retired = b;
	db->retired_count++;
}

/* handle.c's entries, inline for the hot readers (sdb_cell.c's sdb_hview too). */
static inline struct sdb_hent *hent_at(const struct state_db *db, uint32_t idx1)
{
	uint32_t i = idx1 - 1;
	struct sdb_hent *page;

	if (idx1 == 0 || i >= STATEDB_RECORDS_MAX)
		return NULL;
	page = __atomic_load_n(&db->hpages[i / STATEDB_HANDLE_PAGE], __ATOMIC_ACQUIRE);
	return page ? &page[i % STATEDB_HANDLE_PAGE] : NULL;
}

/* The entry h names if it is current, else NULL. */
static inline struct sdb_hent *hent_of(const struct state_db *db, statedb_handle h)
{
	struct sdb_hent *e = hent_at(db, (uint32_t)h);

	return e && __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) == (uint32_t)(h >> 32) ? e : NULL;
}

/* The live record h names and its name's hash; NULL if h is stale. */
static inline struct sdb_rec *sdb_handle_rec(const struct state_db *db, statedb_handle h,
					     uint32_t *hash)
{
	struct sdb_hent *e = hent_of(db, h);

	if (!e || !e->rec)
		return NULL;
	*hash = e->link;
	return e->rec;
}

/* statedb_hview's body (include/delos/state_db.h), inline where the cell layer calls it. */
static inline __attribute__((always_inline)) int sdb_hview_inline(struct state_db *db, statedb_handle h,
								  const void **data, uint32_t *version)
{
	struct sdb_hent *e;
	struct sdb_rec *r;

	if (!sdb_root_ok(db) || !data)
		return !data ? STATEDB_E_INVAL : STATEDB_E_ROOT;
	*data = NULL;
	if (!(e = hent_of(db, h)) || !(r = __atomic_load_n(&e->rec, __ATOMIC_ACQUIRE)))
		return STATEDB_E_STALE;
	if (version)
		*version = r->version;
	*data = r->data;
	return r->len <= sdb_rec_cap(r) ? (int)r->len : 0;
}

/* The in-place write of n bytes at `at` that keeps r's header, with its new checksum crc. */
static inline __attribute__((always_inline)) int sdb_inplace_store(struct state_db *db, struct sdb_rec *r,
								   size_t at, const void *data, size_t n,
								   uint32_t crc)
{
	uint32_t w = r->wseq;

	__atomic_store_n(&r->wseq, w + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	sdb_copy_value(r->data + at, data, n);
	r->crc = crc;
	r->seq = ++db->seq;
	__atomic_store_n(&r->wseq, w + 2, __ATOMIC_RELEASE);
	db->inplace++;
	return STATEDB_OK;
}

/* The in-place write of n bytes at `at` that keeps r's header: the checksum patched. */
static inline __attribute__((always_inline)) int sdb_inplace_patch(struct state_db *db, struct sdb_rec *r,
								   size_t at, const void *data, size_t n)
{
	return sdb_inplace_store(db, r, at, data, n,
				 sdb_crc_patch(db, r->crc, r->data + at, data, n, r->len - at - n));
}

/* statedb_hwrite's body (include/delos/state_db.h), inline where the cell layer calls it. */
static inline __attribute__((always_inline)) int sdb_hwrite_inline(struct state_db *db, statedb_handle h,
								   size_t at, const void *data, size_t n)
{
	struct sdb_hent *e;
	struct sdb_rec *r;

	if (!sdb_root_ok(db))
		return STATEDB_E_ROOT;
	if (!data && n)
		return STATEDB_E_INVAL;
	if (!(e = hent_of(db, h)) || !(r = e->rec))
		return STATEDB_E_STALE;
	if (at > r->len || n > r->len - at || r->len > sdb_rec_cap(r))
		return STATEDB_E_RANGE;
	if (db->fail_point.cell[0] != '\0')
		return sdb_inplace(db, r, at, data, n, r->len, r->type, r->version);
	return sdb_inplace_patch(db, r, at, data, n);	/* the header stays: patched, no checks to repeat */
}
/*
 * sdb_inplace_patch of a whole value of r's length (len bytes), writing only the
 * 8-byte words of the data where it differs from the record (the last one
 * cut at len), so that the copy and the checksum patch cost what changed;
 * a value equal to the record's is still a write (a new seq), of no bytes.
 * Values of up to SDB_SPAN_MIN bytes are patched whole: the zeros behind a
 * span would cost more than the bytes saved.
 */
#define SDB_SPAN_MIN 64u
static inline __attribute__((always_inline)) int sdb_inplace_span(struct state_db *db, struct sdb_rec *r,
								  const void *data, size_t len)
{
	const unsigned char *a = r->data, *b = data;
	size_t lo = 0, hi = (len + 7) & ~(size_t)7;
	uint64_t x, y;

	if (len == 16)	/* the hot path's usual size: sdb_crc_patch_value */
		return sdb_inplace_store(db, r, 0, data, len,
					 sdb_crc_patch_value(db, r->crc, r->data, data, len));
	if (len % 8 || len <= SDB_SPAN_MIN)
		return sdb_inplace_patch(db, r, 0, data, len);	/* a short value: patched whole, cheaper */
	while (lo < hi && (__builtin_memcpy(&x, a + lo, 8), __builtin_memcpy(&y, b + lo, 8), x == y))
		lo += 8;
	while (hi > lo &&
	       (__builtin_memcpy(&x, a + hi - 8, 8), __builtin_memcpy(&y, b + hi - 8, 8), x == y))
		hi -= 8;
	return sdb_inplace_patch(db, r, lo, b + lo, hi - lo);
}

/*
 * statedb_hupdate's common case (the same length, no fail point), inline
 * where the cell layer calls it; every other case goes to statedb_hupdate.
 */
static inline __attribute__((always_inline)) int sdb_hupdate_inline(struct state_db *db, statedb_handle h,
								    const void *data, size_t len)
{
	struct sdb_hent *e;
	struct sdb_rec *r;

	if (!sdb_root_ok(db) || !data || !(e = hent_of(db, h)) || !(r = e->rec) || len != r->len ||
	    len > sdb_rec_cap(r) || db->fail_point.cell[0] != '\0')
		return statedb_hupdate(db, h, data, len);
	db->updates++;
	return sdb_inplace_span(db, r, data, len);
}

#endif
