/*
 * state_db: the record store that holds the state no cell can own (run queue,
 * IRQ routes, device state, a ramfs being migrated from v1 to v2).
 *
 * A record has a name (1..STATEDB_NAME_MAX printable ASCII bytes, no space),
 * a type tag, a layout version, an owner (the cell that created it, 1..
 * STATEDB_OWNER_MAX printable bytes), 0..STATEDB_DATA_MAX bytes of data and a
 * CRC-32C over its header fields and data. Reads verify the checksum first
 * (records with a handle follow the rule of "The hot path" below): a corrupt
 * record is reported (STATEDB_E_CORRUPT, naming it) and its data is not
 * handed out.
 *
 * Ownership. The caller owns the struct state_db root and places it where no
 * cell's swap can take it (nano_core's data or heap); the store's memory comes
 * from the allocator in the root. The code of state_db keeps no writable
 * static data, so the cell holding it can be swapped while the root and every
 * record stay where they are.
 *
 * Atomicity. Each record's header and data live in one buffer that is never
 * changed once published (except for records with a handle, written in
 * place under a sequence counter: see "The hot path" below). An update builds the new value in a fresh buffer,
 * checksums it, and publishes it with one aligned pointer store (release);
 * readers load that pointer with acquire. A reader therefore sees the old
 * record or the new one, never a mix, and an update that fails (out of
 * memory, or stopped by the fail point) leaves the old value and frees what
 * it allocated.
 *
 * Concurrency. Writers (statedb_create, _update, _delete, _reclaim, _init,
 * _fini, _set_fail_point) must be serialized by the caller; in the kernel,
 * which has one CPU and preemption, they run with interrupts off. Readers
 * (statedb_get, _view, _list, _verify_all) take no lock and may run at any
 * time, also when preempted by a writer: each enters a read section (an
 * atomic count in the root), and a buffer a writer replaces while any read
 * section is open is kept on a retired list and freed by a later writer call
 * once no reader is inside. statedb_stats is a reader but gives a consistent
 * snapshot only when no writer is half way through.
 *
 * Errors are negative enum statedb_error values; statedb_strerror() names
 * them and statedb_describe() writes a message naming the record. A call that
 * fails changes no record and no index, though it may free retired buffers
 * and a failed checksum is counted in the stats.
 */
#ifndef DELOS_STATE_DB_H
#define DELOS_STATE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/cellref.h>

#define STATEDB_NAME_MAX    47            /* bytes in a record name, NUL excluded */
#define STATEDB_OWNER_MAX   31            /* bytes in an owner (cell) name */
#define STATEDB_DATA_MAX    (1u << 20)    /* bytes of data in one record: 1 MiB */
#define STATEDB_RECORDS_MAX (1u << 16)    /* live records in one store */

#define STATEDB_MAGIC  0x30424453u        /* "SDB0": root initialized */
#define STATEDB_LAYOUT 5u                 /* layout of struct state_db and its records */
#define STATEDB_TXN_OPS_MAX 4096u         /* records one transaction may touch */
#define STATEDB_HANDLE_PAGE 256u          /* handle entries per page of the handle table */
#define STATEDB_HANDLE_PAGES (STATEDB_RECORDS_MAX / STATEDB_HANDLE_PAGE)
#define STATEDB_READ_TRIES 64u            /* a handle read gives up (E_BUSY) after this many */
#define STATEDB_SPARE_CLASS 32u           /* bytes per size class of spare blocks */
#define STATEDB_SPARE_CLASSES 16u         /* classes: blocks of up to 512 bytes are kept */
#define STATEDB_SPARE_DEPTH 8u            /* spare blocks kept per class */

/* Passed as the type to statedb_update to keep the record's current type. */
#define STATEDB_TYPE_KEEP 0xffffffffu

enum statedb_error {
	STATEDB_OK = 0,
	STATEDB_E_ROOT = -1,      /* db is NULL, not initialized, or of another layout */
	STATEDB_E_INVAL = -2,     /* a required pointer is NULL, or data is NULL with len > 0 */
	STATEDB_E_NAME = -3,      /* name is NULL, empty, too long, or has a byte outside '!'..'~' */
	STATEDB_E_OWNER = -4,     /* owner is NULL, empty, too long, or has a byte outside '!'..'~' */
	STATEDB_E_TOO_BIG = -5,   /* len is above STATEDB_DATA_MAX */
	STATEDB_E_EXISTS = -6,    /* create: a record of that name exists */
	STATEDB_E_NOT_FOUND = -7, /* no record of that name */
	STATEDB_E_NOMEM = -8,     /* the allocator refused */
	STATEDB_E_FULL = -9,      /* create: STATEDB_RECORDS_MAX records exist */
	STATEDB_E_CORRUPT = -10,  /* the record's checksum or lengths do not match */
	STATEDB_E_NOSPACE = -11,  /* get: the caller's buffer is smaller than the data */
	STATEDB_E_ABORTED = -12,  /* the fail point stopped the operation */
	STATEDB_E_TXN = -13,      /* not an open transaction of this store */
	STATEDB_E_CONFLICT = -14, /* commit: a record the transaction read or wrote changed since */
	STATEDB_E_TXN_FULL = -15, /* the transaction touches STATEDB_TXN_OPS_MAX records already */
	STATEDB_E_STALE = -16,    /* the handle is 0, forged, or its record was deleted since */
	STATEDB_E_BUSY = -17,     /* a writer is half way through an in-place update: retry */
	STATEDB_E_RANGE = -18,    /* an in-place write reaches past the record's data */
};

/*
 * Points a writer passes, in this order, while building a new record; the
 * fail point is asked at each and a true answer abandons the operation there
 * (cleaning up, returning STATEDB_E_ABORTED). STATEDB_STEP_INDEX is reached
 * only by a create that must grow the index, after the new index is
 * allocated; the publishing store itself cannot be interrupted.
 */
enum statedb_step {
	STATEDB_STEP_ALLOC = 1,     /* new record buffer allocated */
	STATEDB_STEP_HEADER,        /* its header written */
	STATEDB_STEP_DATA_HALF,     /* half of its data copied */
	STATEDB_STEP_DATA,          /* all of its data copied */
	STATEDB_STEP_CHECKSUM,      /* checksum stored; next comes the index */
	STATEDB_STEP_INDEX,         /* create only: grown index allocated */
	STATEDB_STEP_PUBLISH,       /* commit: one record of the transaction published */
	STATEDB_STEP_END,
	/*
	 * In-place writes (statedb_hwrite, _hupdate) ask the fail point at these
	 * too, so that a test can read the record between the writer's steps;
	 * their answer is ignored: an in-place write is not stopped half way.
	 */
	STATEDB_STEP_INPLACE_BEGIN = 16, /* sequence counter odd, nothing written yet */
	STATEDB_STEP_INPLACE_HALF,       /* half of the new bytes written */
	STATEDB_STEP_INPLACE_DATA,       /* all written, checksum not yet */
	STATEDB_STEP_INPLACE_END,        /* checksum and seq stored, counter even again */
};

typedef void *statedb_alloc_fn(void *ctx, size_t bytes);
typedef void statedb_free_fn(void *ctx, void *p);
/* A fail point: returns true to stop the operation at step (enum
 * statedb_step); arg is what statedb_set_fail_point was given. */
typedef bool statedb_fail_fn(uint64_t arg, int step);

/* What readers learn about a record. */
struct statedb_meta {
	char name[STATEDB_NAME_MAX + 1];
	char owner[STATEDB_OWNER_MAX + 1];
	uint32_t type;
	uint32_t version;
	uint32_t size;          /* bytes of data */
	uint32_t checksum;      /* CRC-32C as stored in the record */
	bool checksum_ok;       /* false: every field but name is as stored, untrusted */
};

struct statedb_stats {
	size_t records;         /* live records */
	size_t data_bytes;      /* sum of their sizes */
	size_t mem_bytes;       /* bytes held from the allocator, retired buffers included */
	size_t blocks;          /* allocations held, retired buffers included */
	size_t index_slots;     /* capacity of the index (0 before the first create) */
	size_t tombstones;      /* index slots of deleted records, dropped when the index is rebuilt */
	size_t retired;         /* buffers waiting for readers to leave */
	uint64_t creates, updates, deletes;  /* successful ones */
	uint64_t corrupt_seen;  /* checksum failures found by any call */
	size_t open_txns;       /* transactions begun and not yet committed or aborted */
	uint64_t commits, aborts;
	size_t handles;         /* records with a handle */
	uint64_t inplace;       /* in-place writes */
	uint64_t scrubbed;      /* records the scrub verified */
	uint64_t scrub_rounds;  /* times the scrub went round the whole index */
	size_t scrub_cost;      /* bytes statedb_scrub_bytes counts for one round */
	bool hw_crc;            /* checksums use the crc32 instruction */
	size_t spares;          /* blocks kept for reuse (statedb_keep_spares), counted in blocks */
};

struct sdb_table;
struct sdb_block;
struct sdb_hent;
struct sdb_shift;
struct statedb_txn;

/* A record handle: 0 is none. Plain data: it may be kept in other records. */
typedef uint64_t statedb_handle;

/*
 * The root. The caller owns the storage; every field is private to
 * state_db/, grouped by who writes it.
 */
struct state_db {
	uint32_t magic;                 /* STATEDB_MAGIC while initialized */
	uint32_t layout;                /* STATEDB_LAYOUT */
	/* Set by statedb_init and statedb_set_fail_point; constant between. */
	statedb_alloc_fn *alloc;
	statedb_free_fn *free;
	void *alloc_ctx;
	struct cellref fail_point;      /* names a statedb_fail_fn; empty: none */
	uint64_t fail_arg;
	/* Written by writers, read by readers with acquire loads. */
	struct sdb_table *table;        /* the index, NULL until the first create */
	struct statedb_txn *committing; /* set while a commit publishes: readers see its pre-images */
	struct statedb_txn *ambient;    /* the kernel's open transaction (include/delos/sdb.h) */
	bool asking_task;               /* the kernel's cell layer is asking whose task runs */
	bool background;                /* the kernel's background transaction is open (in txns) */
	uint32_t outside;               /* the kernel's calls bypass its open transaction */
	/* Written by readers with atomic operations. */
	uint32_t readers;               /* open read sections */
	uint64_t corrupt_seen;
	/* Writer-only. */
	struct sdb_block *retired;      /* replaced buffers waiting for readers to leave */
	struct statedb_txn *txns;       /* open transactions, newest first */
	size_t live, tombs, data_bytes, mem_bytes, blocks, retired_count, open_txns;
	uint64_t creates, updates, deletes;
	uint64_t seq;                   /* last sequence number given to a record value */
	uint64_t commits, aborts;       /* transactions ended each way */
	/* Handles: pages allocated on demand and kept until statedb_fini. */
	struct sdb_hent *hpages[STATEDB_HANDLE_PAGES];
	uint32_t hfree;                 /* first free entry's index + 1; 0: none */
	uint32_t hused;                 /* entries handed out at least once */
	size_t handles;
	uint32_t hw_crc;                /* set by init and by statedb_takeover */
	uint32_t scrub_at;              /* index slot the scrub visits next */
	uint64_t inplace, scrubbed, scrub_rounds;
	/* statedb_scrub_bytes' place inside a record it has not finished. */
	const struct sdb_rec *scrub_rec;        /* NULL: none begun */
	uint64_t scrub_seq;             /* that record's seq when it was begun */
	uint32_t scrub_off;             /* data bytes of it checksummed so far */
	uint32_t scrub_crc;             /* the CRC-32C of its header and those bytes */
	/* Tables that advance a CRC over 16 << k zero bytes, built by the first statedb_hopen. */
	struct sdb_shift *shift;
	/*
	 * Spare blocks (statedb_keep_spares): freed small blocks kept for reuse,
	 * one list per STATEDB_SPARE_CLASS bytes of size, at most
	 * STATEDB_SPARE_DEPTH each. Writer-only.
	 */
	struct sdb_block *spare[STATEDB_SPARE_CLASSES];
	uint8_t spare_n[STATEDB_SPARE_CLASSES];
	bool spares_on;
	size_t spares;                  /* blocks on the lists, and txn_spare */
	struct statedb_txn *txn_spare;  /* an ended transaction's block, kept for the next (spares on) */
};

/* Called by statedb_list and statedb_verify_all for each record; returns
 * false to stop the walk. meta is valid only during the call. */
typedef bool statedb_list_fn(void *ctx, const struct statedb_meta *meta);

/*
 * Makes *db an empty store that takes memory from alloc(ctx, bytes) (16-byte
 * aligned or NULL) and gives it back with free(ctx, p). Allocates nothing.
 * Returns STATEDB_OK, or STATEDB_E_INVAL if db, alloc or free is NULL.
 */
int statedb_init(struct state_db *db, statedb_alloc_fn *alloc, statedb_free_fn *free, void *ctx);

/*
 * With on, freed blocks of up to STATEDB_SPARE_CLASS * STATEDB_SPARE_CLASSES
 * bytes are kept (at most STATEDB_SPARE_DEPTH per class of
 * STATEDB_SPARE_CLASS bytes, so at most 68 KiB) and handed out again
 * without asking the allocator: a write that replaces a small record, or a
 * transaction, then costs no allocator call. Small blocks are then taken
 * from the allocator rounded up to their class. Spare blocks stay counted
 * in mem_bytes and blocks (they are held from the allocator) and in
 * statedb_stats' spares. With off, the spare blocks are given back. Off
 * after statedb_init. Returns STATEDB_OK or STATEDB_E_ROOT. A writer.
 */
int statedb_keep_spares(struct state_db *db, bool on);

/*
 * Frees every record and the index and leaves *db uninitialized. No reader
 * may be inside and no view may be used afterwards. Returns STATEDB_OK or
 * STATEDB_E_ROOT.
 */
int statedb_fini(struct state_db *db);

/*
 * A test hook (in the kernel, only cells granted test_hooks may import it):
 * installs the fail point that fn names (NULL to remove), called as
 * fn(arg, step) at every step of create and update. The root keeps the
 * cellref, not an address: fn is resolved at every step, so it follows its
 * cell across swaps, and a fail point whose cell is gone is skipped.
 * Returns STATEDB_OK or STATEDB_E_ROOT.
 */
int statedb_set_fail_point(struct state_db *db, const struct cellref *fn, uint64_t arg);

/*
 * Creates the record name with the given type, layout version, owner and a
 * copy of the len bytes at data (data may be NULL when len is 0). Returns
 * STATEDB_OK, or, changing nothing: E_ROOT, E_NAME, E_OWNER, E_INVAL,
 * E_TOO_BIG, E_EXISTS (also when the existing record is corrupt), E_FULL,
 * E_NOMEM, E_ABORTED. Costs O(len) plus, when the index grows, O(records).
 */
int statedb_create(struct state_db *db, const char *name, uint32_t type, uint32_t version,
		   const char *owner, const void *data, size_t len);

/*
 * Replaces the value of record name with a copy of len bytes at data, with
 * layout version `version` and type `type` (STATEDB_TYPE_KEEP keeps the
 * current one); the owner stays. The length may change. The new value is
 * published with one pointer store, and the old buffer is freed (or retired
 * while readers are inside). Returns STATEDB_OK, or, changing nothing:
 * E_ROOT, E_NAME, E_INVAL, E_TOO_BIG, E_NOT_FOUND, E_CORRUPT (the current
 * value fails its checksum: delete and recreate it), E_NOMEM, E_ABORTED.
 */
int statedb_update(struct state_db *db, const char *name, uint32_t type, uint32_t version,
		   const void *data, size_t len);

/*
 * Deletes record name, also a corrupt one, and frees its buffer (or retires
 * it while readers are inside). Returns STATEDB_OK, or, changing nothing:
 * E_ROOT, E_NAME, E_NOT_FOUND.
 */
int statedb_delete(struct state_db *db, const char *name);

/*
 * Verifies record name and copies its data into buf (which may be NULL when
 * cap is 0). Fills *meta (if meta is not NULL) whenever the record exists.
 * Returns the number of bytes copied, or: E_ROOT, E_NAME, E_INVAL, E_NOT_FOUND,
 * E_CORRUPT (nothing copied; meta->name names the record, meta->checksum_ok is
 * false), E_NOSPACE (cap < meta->size; nothing copied). A reader.
 */
int statedb_get(struct state_db *db, const char *name, void *buf, size_t cap,
		struct statedb_meta *meta);

/*
 * Verifies record name and sets *data to its value in place, read-only, with
 * no copy (the checksum is still checked, in O(size)). The pointer is valid
 * until the next update or delete of that record (or statedb_fini); inside a
 * read section it stays valid until statedb_read_end. Fills *meta if not NULL.
 * Returns the size, or the errors of statedb_get except E_NOSPACE; *data is
 * NULL on error. A reader.
 */
int statedb_view(struct state_db *db, const char *name, const void **data,
		 struct statedb_meta *meta);

/*
 * Calls fn(ctx, meta) for every record, in no particular order, with
 * meta->checksum_ok telling whether it verifies (costs O(total data)).
 * fn may call writers: records created during the walk may or may not be
 * seen, records deleted during it may still be seen. Returns the number of
 * calls made, or E_ROOT / E_INVAL. A reader.
 */
int statedb_list(struct state_db *db, statedb_list_fn *fn, void *ctx);

/* statedb_list over the records whose name starts with prefix; the others are not verified. */
int statedb_list_prefix(struct state_db *db, const char *prefix, statedb_list_fn *fn, void *ctx);

/*
 * Verifies every record and calls fn(ctx, meta) (fn may be NULL) for each
 * corrupt one. Returns how many are corrupt, or E_ROOT. A reader.
 */
int statedb_verify_all(struct state_db *db, statedb_list_fn *fn, void *ctx);

/* Fills *st; see struct statedb_stats. Returns STATEDB_OK, E_ROOT or E_INVAL. */
int statedb_stats(struct state_db *db, struct statedb_stats *st);

/*
 * A number that moves at every change of the committed store: every write
 * gives a value a new seq (in place too), and so does a move of a record
 * to a bigger buffer (statedb_hopen); every delete and every commit is
 * counted. A commit of updates by handle only (statedb_txn_hupdate) checks
 * no record when it has not moved since the transaction began. What a reader saw at one value of it is still so while it holds
 * (for work done ahead of a swap's pause and only confirmed in it). It
 * does not see bytes changed behind state_db's back: the checksums do. A
 * reader; 0 for a root that is not a store.
 */
uint64_t statedb_changes(const struct state_db *db);

/*
 * Opens and closes a read section. Sections nest. Inside one, no buffer a
 * reader can reach is freed, so views taken inside stay valid until the end.
 * The readers above open their own; callers need these only to keep views.
 */
void statedb_read_begin(struct state_db *db);
void statedb_read_end(struct state_db *db);

/*
 * Frees the retired buffers if no read section is open. Writers do this on
 * every call; call it after a walk that deleted records to get the memory
 * back at once. Returns how many buffers are still retired, or E_ROOT.
 */
int statedb_reclaim(struct state_db *db);

/*
 * Transactions: several creates, updates and deletes that become visible
 * together at commit, or never.
 *
 * - statedb_txn_begin opens one, tagged with `owner_id` (the kernel uses the
 *   task id, so that the transactions a task leaves open can be aborted when
 *   it ends: statedb_txn_abort_owner). Many may be open at once.
 * - statedb_txn_create/_update/_delete check their arguments and the record
 *   as statedb_create/_update/_delete do, against the transaction's own view
 *   (the committed store overlaid with its earlier writes), and build the
 *   new value off to the side at once: a write that fails (E_NOMEM,
 *   E_ABORTED, E_EXISTS, ...) changes nothing, not even the transaction,
 *   which stays open. No reader outside sees any of it. An update that
 *   keeps the record's header (type, version and length) does not verify the
 *   committed value first: its new value's checksum is the old one patched
 *   over the data (see "The checksum rule"), so a corruption of the old
 *   value is carried into the new one and refused by every verifying reader,
 *   the scrub and takeover, never covered. Any other update verifies the
 *   committed value and refuses a corrupt one (E_CORRUPT).
 * - statedb_txn_get reads through the transaction's view: its own writes
 *   first, then the committed store.
 * - statedb_txn_commit validates first: every record the transaction touched
 *   must still be as it was when the transaction first touched it (each
 *   record value carries a store-wide sequence number, so an update in
 *   between is seen even if it wrote the same bytes), and the index is
 *   grown for its creates before anything is published. Then each record is
 *   published with one pointer store. While that runs, `committing` points at
 *   the transaction and readers take the values it replaces: a reader sees
 *   the old state until the last store, then the new one, never a mix. A
 *   failure at any step (conflict, out of memory, the fail point at
 *   STATEDB_STEP_INDEX or after any STATEDB_STEP_PUBLISH) puts back what was
 *   published and leaves the store exactly as before. Commit ends the
 *   transaction whatever it returns.
 * - statedb_txn_abort drops it; nothing it wrote is ever seen.
 *
 * Transactions are writers: the caller serializes them with every writer.
 * The transaction's memory comes from the root's allocator and is released
 * when it ends. A pointer to an ended transaction is refused (E_TXN), not
 * followed: the store checks it against its list of open ones.
 */
int statedb_txn_begin(struct state_db *db, uint64_t owner_id, struct statedb_txn **out);
int statedb_txn_create(struct state_db *db, struct statedb_txn *txn, const char *name,
		       uint32_t type, uint32_t version, const char *owner, const void *data,
		       size_t len);
int statedb_txn_update(struct state_db *db, struct statedb_txn *txn, const char *name,
		       uint32_t type, uint32_t version, const void *data, size_t len);
int statedb_txn_delete(struct state_db *db, struct statedb_txn *txn, const char *name);
/*
 * statedb_txn_update of the record h names, its type and version kept, with
 * no name lookup: a value of the record's length and at most 64 bytes is
 * kept in the transaction's op (one spare block: no heap allocation once
 * the store is warm) and written into the record's buffer in place by the
 * commit, under its
 * sequence counter (readers retry while the commit runs, then see the new
 * values of all its records), with the checksum patched as any update
 * that keeps the header. Every other case (another length, a bigger
 * value) is statedb_txn_update by the record's name. Reads
 * and by-name writes of the transaction see it as any of its writes, with
 * the record's header as it was at the write; once the record changed
 * outside the transaction (which its commit refuses), they return
 * E_CONFLICT, and once it was deleted, its name finds the committed store. A commit whose every write is one of these, with no fail
 * point set, keeps no copy of the old values (nothing can stop it).
 * Returns as statedb_txn_update, or E_STALE for a stale handle.
 */
int statedb_txn_hupdate(struct state_db *db, struct statedb_txn *txn, statedb_handle h,
			const void *data, size_t len);
int statedb_txn_get(struct state_db *db, struct statedb_txn *txn, const char *name, void *buf,
		    size_t cap, struct statedb_meta *meta);
/* statedb_view through the transaction's view: the pointer stays valid until
 * the transaction's next write of that record, or its end. */
int statedb_txn_view(struct state_db *db, struct statedb_txn *txn, const char *name,
		     const void **data, struct statedb_meta *meta);
/* statedb_list_prefix through the transaction's view: its deletes hidden, its
 * updates shown in place of the committed values, then its creates. */
int statedb_txn_list_prefix(struct state_db *db, struct statedb_txn *txn, const char *prefix,
			    statedb_list_fn *fn, void *ctx);
int statedb_txn_commit(struct state_db *db, struct statedb_txn *txn);
/*
 * Makes txn's commit free nothing itself: the values it replaces and the
 * transaction's own blocks go to the retired list, which the next writer
 * call (or statedb_reclaim) frees. For a commit that must be short (a
 * swap's, with the world stopped): the allocator's work waits until the
 * world runs. 0, or E_TXN if txn is not open.
 */
int statedb_txn_free_later(struct state_db *db, struct statedb_txn *txn);
int statedb_txn_abort(struct state_db *db, struct statedb_txn *txn);
/* Aborts every open transaction tagged owner_id; returns how many. */
int statedb_txn_abort_owner(struct state_db *db, uint64_t owner_id);
/* Returns the newest open transaction tagged owner_id, or NULL. */
struct statedb_txn *statedb_txn_of(struct state_db *db, uint64_t owner_id);

/*
 * The hot path: handles and in-place updates.
 *
 * A handle names one record by its slot in a handle table that belongs to
 * the root (nano_core's storage), with the slot's generation: {index,
 * generation} in one 64-bit word. It is resolved once, by name, with
 * statedb_hopen, and then costs no name lookup, no hash and no allocation.
 * It stays valid while the record lives, across updates of any kind and
 * across swaps of state_db's code (the table is not in the code); deleting
 * the record bumps the slot's generation, so a handle kept past a delete is
 * refused (E_STALE), also after a record of the same name is created again.
 * Cells keep handles, not pointers: they are plain data, and a cell that
 * keeps them in its records finds them again after its own swap.
 *
 * In place. A record that has a handle keeps its buffer: statedb_hwrite and
 * statedb_hupdate, and statedb_update of that record when the new value
 * fits, write the new bytes into it under the record's sequence counter
 * (odd while a write is in progress), with no allocation. Handle readers
 * (statedb_hget) and every other reader copy the bytes and retry if the
 * counter was odd or moved: they see whole values, never a torn one, and
 * give up with E_BUSY after STATEDB_READ_TRIES tries (which in the kernel,
 * where writers run with interrupts off, cannot happen). A value that no
 * longer fits the buffer (its capacity, set by statedb_hopen) is moved to a
 * new buffer as statedb_update does, and the handle follows it. Every
 * in-place write gives the record a new store-wide seq, as any write does,
 * so an open transaction that touched the record fails its commit with
 * E_CONFLICT. statedb_view of a record written in place points at bytes
 * that change under it: take such views with writers excluded.
 *
 * The checksum rule. Every record's CRC-32C is kept exact at every write,
 * computed with the crc32 instruction where the CPU has SSE4.2 and by
 * slicing by 8 elsewhere. Records without a handle are verified on every
 * read, as they always were. Records with a handle ("hot" records) are
 * verified when they are taken over and when they are written, not when they
 * are read:
 * - statedb_hopen verifies the record. Every cell that keeps hot records
 *   opens them in its cell_init before it reads them, so a new version of
 *   it, or a reload, refuses a record corrupted behind state_db's back
 *   (E_CORRUPT) before using it; statedb_takeover verifies every record when
 *   a new copy of state_db's code takes the store over;
 * - an in-place write that keeps the header patches the checksum over
 *   the bytes it changes (CRC-32C is linear: the patch is the CRC of
 *   old ^ new advanced over the bytes behind them, O(bytes written) plus a
 *   few table lookups per power of two of the distance to the end), so a
 *   mismatch found before the write is still there after it; one that
 *   changes the header (length, type, version) checks the old value first
 *   and refuses with E_CORRUPT, writing nothing: a write never covers a
 *   corruption with a fresh checksum;
 * - a transaction's update that keeps the header patches the checksum the
 *   same way (from the committed value's CRC and header CRC, over the data
 *   only), so it carries a corruption rather than checking for it; an update
 *   by handle (statedb_txn_hupdate) too, and its commit stores that
 *   checksum with the data it writes in place;
 * - statedb_list, _list_prefix, _verify_all (the console's `state`) and
 *   the transactions' other reads verify every record they read, hot or
 *   not, from the header itself (not from the kept header CRC);
 * - statedb_scrub verifies `slots` index slots per call, going round the
 *   index: every record is verified within ceil(index_slots / slots) calls
 *   (plus one round when the index is rebuilt in between);
 *   statedb_scrub_bytes does the same for a fixed number of bytes per call,
 *   resuming inside a record. The kernel calls the latter from the timer
 *   tick (include/delos/sdb.h gives the bound in ticks);
 * - statedb_get, _view and _hget of a hot record check its bounds only, so a
 *   value corrupted since its last check can be read (and written back by a
 *   caller that read it) until the next of the checks above finds it.
 * A corrupt record is counted (corrupt_seen) and reported; it stays as it
 * is (delete it to recover).
 */

/*
 * Verifies record name and returns its handle in *h, giving the record a
 * handle slot if it has none and a buffer of at least `capacity` data bytes
 * (0: its current size) for in-place growth. A writer (it may allocate).
 * Returns STATEDB_OK, or, changing nothing: E_ROOT, E_NAME, E_INVAL,
 * E_TOO_BIG, E_NOT_FOUND, E_CORRUPT, E_NOMEM.
 */
int statedb_hopen(struct state_db *db, const char *name, size_t capacity, statedb_handle *h);

/*
 * Copies the record's data into buf (cap bytes) without a name lookup or a
 * checksum; fills *meta (checksum_ok: as last verified, see the rule above)
 * if not NULL. Returns the size, or E_ROOT, E_INVAL, E_STALE, E_NOSPACE,
 * E_BUSY. A reader.
 */
int statedb_hget(struct state_db *db, statedb_handle h, void *buf, size_t cap,
		 struct statedb_meta *meta);

/*
 * statedb_hget without meta: the same results, in the fewest instructions
 * when the record is not being written (else it is statedb_hget). A reader.
 */
int statedb_hread(struct state_db *db, statedb_handle h, void *buf, size_t cap);

/*
 * Points *data at the record's data in place, read-only, with no copy, no
 * lookup and no checksum pass; returns its size and (if version is not
 * NULL) its layout version, or E_ROOT, E_INVAL, E_STALE. The pointer stays
 * valid until the record is deleted or moved (a write past its capacity):
 * take it with writers excluded (interrupts off, in the kernel) and keep it
 * only for the call that took it, never across a swap of state_db's code.
 */
int statedb_hview(struct state_db *db, statedb_handle h, const void **data, uint32_t *version);

/*
 * Writes n bytes at data into the record's data at offset `at`, in place;
 * at + n must not pass its size. A writer; allocates nothing. Returns
 * STATEDB_OK, or, changing nothing: E_ROOT, E_INVAL, E_STALE, E_RANGE,
 * E_CORRUPT (the old value fails its checksum).
 */
int statedb_hwrite(struct state_db *db, statedb_handle h, size_t at, const void *data, size_t n);

/*
 * Makes the first n bytes of the record's data those at data (n must not
 * pass its size), writing in place only the span that differs (nothing if
 * none does): a caller keeps a fixed-size record in step with its copy at
 * the cost of the bytes it changed. A writer. Returns what statedb_hwrite
 * does.
 */
int statedb_hstore(struct state_db *db, statedb_handle h, const void *data, size_t n);

/*
 * Replaces the record's whole value (type and version kept) with len bytes
 * at data: in place if len fits its buffer, else as statedb_update does,
 * moving the handle along. A writer. Returns STATEDB_OK, or, changing
 * nothing: E_ROOT, E_INVAL, E_TOO_BIG, E_STALE, E_NOMEM, E_CORRUPT.
 */
int statedb_hupdate(struct state_db *db, statedb_handle h, const void *data, size_t len);

/*
 * Verifies the records of the next `slots` index slots, going round the
 * index, and calls fn(ctx, meta) (fn may be NULL) for each corrupt one.
 * Returns how many were corrupt, or E_ROOT. It changes no record, but moves
 * the scrub's place in the root: serialize it with the writers.
 */
int statedb_scrub(struct state_db *db, size_t slots, statedb_list_fn *fn, void *ctx);

/*
 * The scrub with a fixed cost per call: checksums about `budget` bytes,
 * resuming inside a record where the last call stopped. A round costs
 * scrub_cost bytes (statedb_stats: STATEDB_SCRUB_SLOT_COST per index
 * slot, plus the header and data of every live record), so it takes at
 * most ceil(scrub_cost / budget) calls, and a record corrupted before a
 * call is reported within 2 * ceil(scrub_cost / budget) calls from it (the
 * round in progress may have passed it). A record written while half
 * checksummed is verified whole at the next call, so it cannot starve the
 * scrub; that call may exceed the budget by one record. Calls fn as
 * statedb_scrub does; returns how many were corrupt, or E_ROOT. A writer
 * of the root's scrub fields: serialize it with the writers.
 */
#define STATEDB_SCRUB_SLOT_COST 16u
int statedb_scrub_bytes(struct state_db *db, size_t budget, statedb_list_fn *fn, void *ctx);

/*
 * For a new copy of state_db's code taking over an initialized root: checks
 * the CPU's features again (the checksum's instruction) and verifies every
 * record, calling fn for each corrupt one. Returns how many are corrupt, or
 * E_ROOT.
 */
int statedb_takeover(struct state_db *db, statedb_list_fn *fn, void *ctx);

/* Returns a sentence naming err, or "unknown error". */
const char *statedb_strerror(int err);

/*
 * Writes "state_db: record 'NAME': <what err means>" into buf (cap bytes,
 * always NUL-terminated when cap > 0; a cut message ends in "..."). Bytes
 * of name outside '!'..'~' are shown as \xNN; name may be NULL. Returns buf.
 */
char *statedb_describe(char *buf, size_t cap, int err, const char *name);

/* CRC-32C (Castagnoli) of n bytes at p, continuing from crc (0 to start). */
uint32_t statedb_crc32c(uint32_t crc, const void *p, size_t n);

#endif
