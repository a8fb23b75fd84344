/*
 * The state_db cell's API (cell state_db@1): named, typed, versioned,
 * checksummed records whose storage belongs to nano_core, so that it
 * outlives the state_db cell itself. See include/delos/state_db.h for the
 * record semantics (atomic copy-on-write updates, checksums, errors); these
 * functions are the same operations on the one kernel store. Writers run
 * with interrupts off inside; readers are lock-free.
 *
 * Owners: `owner` is the calling cell's name; records keep it for `state`.
 */
#ifndef DELOS_SDB_H
#define DELOS_SDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/state_db.h>

/*
 * nano_core's side (grant `state`): the root and the allocator it uses.
 * statedb_store is the root itself, which statedb_root() returns: the
 * state_db cell's calls reach it as a data symbol, with no call.
 */
extern struct state_db statedb_store;
struct state_db *statedb_root(void);
void *sdb_kalloc(void *ctx, size_t bytes);
void sdb_kfree(void *ctx, void *p);

int sdb_create(const char *owner, const char *name, uint32_t type, uint32_t version,
	       const void *data, size_t len);
/* Creates the record or, when it exists, updates it (type and version replaced). */
int sdb_put(const char *owner, const char *name, uint32_t type, uint32_t version,
	    const void *data, size_t len);
int sdb_update(const char *name, uint32_t version, const void *data, size_t len);
int sdb_delete(const char *name);
/* Copies the record's data into buf; returns its size or a negative error. */
int sdb_get(const char *name, void *buf, size_t cap, struct statedb_meta *meta);
/* Points *data at the record's current value, read-only; see statedb_view. */
int sdb_view(const char *name, const void **data, struct statedb_meta *meta);
/* Calls fn for every record whose name starts with prefix ("" for all). */
int sdb_list(const char *prefix, statedb_list_fn *fn, void *ctx);
const char *sdb_strerror(int err);
/*
 * Test hook (guarded: only cells granted test_hooks may import it): points
 * *data at the record's current bytes, writable, so that a fault injector
 * can corrupt them behind state_db's back (its checksum then disagrees).
 * Returns the size or a negative error, as sdb_view.
 */
int sdb_test_record_bytes(const char *name, void **data);

/*
 * Transactions (include/delos/state_db.h has the store's contract). The
 * kernel has at most one open transaction, the calling task's, and it is
 * ambient: between sdb_txn_begin and its end, every sdb_* call of that task
 * (create, put, update, delete, get, view, list) goes through it, so code
 * that writes records (a swap-in hook, a ramfs migration) needs no change to
 * run inside one.
 *
 * A transaction is a critical section: sdb_txn_begin turns interrupts off
 * and the outermost end restores them, so no interrupt handler or other task
 * can write into it or see it half done, and it may not block. Begins nest:
 * an inner begin joins the open transaction; only the outermost commit
 * commits; an inner abort dooms the whole transaction, and the outermost end
 * then aborts it and returns STATEDB_E_ABORTED. Writes in a doomed
 * transaction are refused with STATEDB_E_ABORTED.
 *
 * A transaction abandoned by a fault or by the end of its task is aborted:
 * explicitly when the tasks cell ends a task (sdb_txn_abort_task), and by
 * the next sdb_* call that finds it open while interrupts are on or from
 * another task, which a live transaction never allows.
 */
int sdb_txn_begin(void);
/* Ends one level; the outermost commits. Returns 0 or a negative error, and
 * then nothing of the transaction was committed. */
int sdb_txn_commit(void);
/* Aborts the calling task's transaction (dooms it, when nested). */
int sdb_txn_abort(void);
/* Aborts the transaction a task left open; returns how many (0 or 1). */
int sdb_txn_abort_task(int64_t task_id);
/* True while a transaction is open (the kernel has at most one at a time, and a background one). */
bool sdb_txn_open(void);
/*
 * Between sdb_outside_begin and sdb_outside_end (which takes what begin
 * returned), with interrupts off, the calling task's sdb_* calls bypass its
 * open transaction and act on the committed store: for what must outlive
 * that transaction's abort, such as the record of a fault that aborts it and
 * the wake-up of the task that recovers from it.
 */
uint64_t sdb_outside_begin(void);
void sdb_outside_end(uint64_t flags);
/*
 * For the fault handler, in the faulting context, interrupts off: a fault was
 * contained, so whatever state_db was in the middle of asking the tasks cell
 * (whose task runs) was abandoned; state_db forgets it was asking.
 */
void sdb_fault_seen(void);
/* As sdb_txn_commit and sdb_txn_abort, for hooks that pass a flag. */
int sdb_txn_end(uint64_t commit);
/*
 * A swap's transaction, begun ahead of its pause (the ops slot state_begin;
 * include/delos/cell.h, cell_swap_prepare):
 * - SDB_TXN_BACKGROUND opens a background transaction for the calling task
 *   with interrupts left as they are. While it is active, that task's sdb_*
 *   calls outside interrupts go into it (nested begins join it and give the
 *   interrupt flag back at once); interrupt handlers and every other task
 *   act on the committed store, and do not see it. E_BUSY if a transaction
 *   is open.
 * - SDB_TXN_SUSPEND stops it taking the owner's calls (they act on the
 *   committed store, and make it stale) until it is adopted or ended.
 * - SDB_TXN_ADOPT (0, as sdb_txn_begin's unused argument) is sdb_txn_begin,
 *   except that it first takes over the caller's background transaction,
 *   returning 1, when nothing outside it changed the store since it began
 *   (statedb_changes, checked at each of its writes and here): everything
 *   it read is still so, and it is now an ordinary transaction. A stale one
 *   is aborted instead, and a fresh transaction begun (0).
 *   The transaction it gives frees nothing at its commit
 *   (statedb_txn_free_later): the pause commits it, and what it replaced
 *   waits for SDB_TXN_RESUMED.
 * - SDB_TXN_RESUMED, once the world runs again, frees what the swap's
 *   transaction left retired (its replaced values and its own blocks).
 * sdb_txn_end ends a background transaction as any other (it then restores
 * no interrupt flag); a stale one never commits (E_ABORTED).
 */
#define SDB_TXN_ADOPT      0u
#define SDB_TXN_BACKGROUND 1u
#define SDB_TXN_SUSPEND    2u
#define SDB_TXN_RESUMED    3u
int sdb_txn_begin_swap(uint64_t mode);

/*
 * The hot path (include/delos/state_db.h, "The hot path"): a handle is
 * opened once by name (verifying the record: this is how a new cell version
 * takes a record over) and then read and written in place with no lookup,
 * no allocation and no checksum pass on reads; a write patches the checksum
 * over the bytes it changes. Handles are plain data, kept in the caller's
 * records (or, for the first one a cell needs, in the data word of an ops
 * slot it holds: include/delos/ops.h), never in a cell. Writers turn
 * interrupts off inside. These calls act on the committed store: they do
 * not join a transaction the task has open.
 */
int sdb_hopen(const char *name, size_t capacity, statedb_handle *h);
/* Copies the record's data into buf; returns its size or a negative error. */
int sdb_hget(statedb_handle h, void *buf, size_t cap);
/* The record's data in place, read-only (statedb_hview): interrupts off, for one call only. */
int sdb_hview(statedb_handle h, const void **data, uint32_t *version);
int sdb_hwrite(statedb_handle h, size_t at, const void *data, size_t n);
int sdb_hupdate(statedb_handle h, const void *data, size_t len);
/* The first n bytes become data, only the span that differs written (statedb_hstore). */
int sdb_hstore(statedb_handle h, const void *data, size_t n);
/*
 * The background scrub (statedb_scrub_bytes): checksums about `bytes`
 * bytes, resuming inside a record where the last call stopped, and logs
 * each corrupt record. The timer calls it on every SDB_SCRUB_EVERY-th tick
 * with SDB_SCRUB_BYTES: the call's fixed cost (the calls down to the store,
 * a read section, the interrupt flag) is paid once for that many ticks'
 * bytes, and the other ticks do no scrub work. Its cost per scrubbing tick
 * is fixed whatever the records' sizes, and a round over the whole store
 * takes R = ceil(scrub_cost / SDB_SCRUB_BYTES) * SDB_SCRUB_EVERY ticks,
 * scrub_cost being 16 bytes per index slot plus every live record's header
 * (92 bytes) and data (statedb_stats). A record corrupted at some tick is
 * reported within 2R ticks. `state` prints R and 2R for the store as it
 * stands. Returns how many were corrupt.
 */
#define SDB_SCRUB_BYTES 512u
#define SDB_SCRUB_EVERY 8u
int sdb_scrub(size_t bytes);
/* The store's figures (statedb_stats); 0 or a negative error. */
int sdb_stats(struct statedb_stats *st);
/*
 * statedb_changes of the kernel store: unchanged between two calls, no
 * record was written, created or deleted in between. A swap-in hook
 * confirms with it, in the pause, what its cell_swap_prepare read and
 * verified before the world stopped (include/delos/cell.h).
 */
uint64_t sdb_changes(void);

#endif
