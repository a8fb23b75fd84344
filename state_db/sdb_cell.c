/*
 * The state_db cell (state_db@1): the record store's code, operating on the
 * root nano_core owns. Writers run with interrupts off (one CPU, preemptive
 * tasks and interrupt handlers are the only concurrency).
 */
#include <delos/cell.h>
#include <delos/cellref.h>
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/sdb.h>
#include <delos/trap.h>
#include "state_db/internal.h"

/* The root, as nano_core's data symbol: no call on the way (include/delos/sdb.h). */
static inline struct state_db *root(void)
{
	return &statedb_store;
}

static bool report_corrupt(void *ctx, const struct statedb_meta *m)
{
	(void)ctx;
	klog(LOG_ERR, "state_db: record '%s' (owner %s) fails its checksum", m->name, m->owner);
	return true;
}

static int store_init(void)
{
	struct state_db *db = root();
	int err;

	if (db->magic == STATEDB_MAGIC && db->layout != STATEDB_LAYOUT) {
		klog(LOG_ERR, "state_db: the store has root layout %u, this code knows %u; refusing",
		     db->layout, STATEDB_LAYOUT);
		return -1;
	}
	if (db->magic == STATEDB_MAGIC) {
		uint64_t flags = irq_save();
		int bad = statedb_takeover(db, report_corrupt, NULL);

		db->asking_task = false;	/* no code of the old copy is asking any more */

		statedb_keep_spares(db, true);
		irq_restore(flags);
		klog(LOG_INFO, "state_db: taking over the store (%zu records, %d corrupt)", db->live, bad);
		return 0;
	}
	err = statedb_init(db, sdb_kalloc, sdb_kfree, NULL);
	if (!err)
		statedb_keep_spares(db, true);	/* small writes and transactions skip the heap */
	if (err)
		klog(LOG_ERR, "state_db: cannot initialize the store: %s", statedb_strerror(err));
	else
		klog(LOG_INFO, "state_db: store initialized; its storage belongs to nano_core");
	return err;
}

/*
 * Takes the store over (or sets it up) and gives nano_core the transaction
 * a swap's hooks write into (ops slots state_begin and state_end; sdb_txn_begin
 * takes no argument, which the slot's int (uint64_t) calls safely).
 */
int cell_init(void)
{
	int err = store_init();

	if (!err && (ops_register(OPS_STATE_BEGIN, "state_db", "sdb_txn_begin_swap", OPS_TYPE_STATE_BEGIN) ||
		     ops_register(OPS_STATE_END, "state_db", "sdb_txn_end", OPS_TYPE_STATE_END)))
		klog(LOG_WARN, "state_db: a swap's hooks will run outside a transaction");
	return err;
}

/*
 * The running task's id, or -1 before the tasks cell runs (one context).
 * task_self reads the tasks cell's records through sdb_*: those reads must
 * not ask again, so they bypass the transaction while the root says so.
 */
static int64_t current_task(struct state_db *db)
{
	static const struct cellref self = { "tasks", "task_self" };
	uint64_t fn = cellref_resolve_fast(&self);
	int64_t id;

	db->asking_task = true;
	id = fn ? ((int64_t (*)(void))fn)() : -1;
	db->asking_task = false;
	return id;
}

/* Aborts the ambient transaction t, whose context is gone. */
static void abandon(struct state_db *db, struct statedb_txn *t, const char *why)
{
	klog(LOG_WARN, "state_db: task %ld left a transaction of %u records open (%s); aborted",
	     (int64_t)t->owner_id, t->nops, why);
	db->ambient = NULL;
	statedb_txn_abort(db, t);
}

/*
 * The background transaction (sdb_txn_begin_swap) is not the ambient one:
 * it stays open with interrupts on while other tasks begin and end theirs,
 * so it is kept in the root's list of open transactions, flagged, and
 * db->background says one is open. It is the calling task's when that task
 * owns it and the caller is not an interrupt handler. NULL otherwise.
 */
static struct statedb_txn *background_txn(struct state_db *db)
{
	if (!db->background)
		return NULL;
	for (struct statedb_txn *t = db->txns; t; t = t->next)
		if (t->background)
			return t;
	return NULL;
}

static struct statedb_txn *own_background(struct state_db *db)
{
	struct statedb_txn *t = background_txn(db);

	if (!t || db->asking_task || db->outside || trap_in_interrupt() ||
	    t->owner_id != (uint64_t)current_task(db))
		return NULL;
	return t;
}

static void background_end(struct state_db *db, struct statedb_txn *t, bool commit, int *err)
{
	db->background = false;
	t->background = false;
	if (commit)
		*err = statedb_txn_commit(db, t);
	else
		statedb_txn_abort(db, t);
}

/*
 * A write into background transaction t: stale once anything outside it
 * changed the store since its last write (a write of the owner's that
 * bypasses it included), so that adopting it later only needs the count.
 */
static void bg_write_begin(struct state_db *db, struct statedb_txn *t)
{
	if (t && t->background && statedb_changes(db) != t->bg_changes)
		t->bg_stale = true;
}

static void bg_write_end(struct state_db *db, struct statedb_txn *t)
{
	if (t && t->background)
		t->bg_changes = statedb_changes(db);
}

/*
 * With interrupts off (`flags` as they were at the call): the caller's open
 * transaction, or NULL. A live transaction keeps interrupts off and never
 * leaves its task, so one found otherwise was abandoned and is aborted.
 * An interrupt handler is never inside the interrupted task's transaction:
 * an interrupt lands in one only when the code there turned interrupts on (a
 * fault), and a handler's writes (the serial cell queueing a key for the
 * shell) joined to it would be lost with it when it is aborted; they go to
 * the committed store, and the transaction is left to its task.
 */
static struct statedb_txn *caller_txn(struct state_db *db, uint64_t flags)
{
	struct statedb_txn *t = db->ambient;

	if (db->asking_task || db->outside || trap_in_interrupt())
		return NULL;	/* the tasks cell reading its own records for task_self */
	if (!t) {		/* the owner's active background transaction, if any */
		t = own_background(db);
		return t && t->bg_active ? t : NULL;
	}
	if (flags & RFLAGS_IF) {
		abandon(db, t, "found with interrupts on");
		return NULL;
	}
	if (t->owner_id != (uint64_t)current_task(db)) {
		abandon(db, t, "found from another task");
		return NULL;
	}
	return t;
}

int sdb_create(const char *owner, const char *name, uint32_t type, uint32_t version,
	       const void *data, size_t len)
{
	struct state_db *db = root();
	uint64_t flags = irq_save();
	struct statedb_txn *t = caller_txn(db, flags);
	int err;

	bg_write_begin(db, t);
	if (t)
		err = t->doomed ? STATEDB_E_ABORTED
				: statedb_txn_create(db, t, name, type, version, owner, data, len);
	else
		err = statedb_create(db, name, type, version, owner, data, len);
	bg_write_end(db, t);
	irq_restore(flags);
	return err;
}

int sdb_update(const char *name, uint32_t version, const void *data, size_t len)
{
	struct state_db *db = root();
	uint64_t flags = irq_save();
	struct statedb_txn *t = caller_txn(db, flags);
	int err;

	bg_write_begin(db, t);
	if (t)
		err = t->doomed ? STATEDB_E_ABORTED
				: statedb_txn_update(db, t, name, STATEDB_TYPE_KEEP, version, data, len);
	else
		err = statedb_update(db, name, STATEDB_TYPE_KEEP, version, data, len);
	bg_write_end(db, t);
	irq_restore(flags);
	return err;
}

/* Creates or updates name in the committed store. */
static int put_committed(struct state_db *db, const char *owner, const char *name, uint32_t type,
			 uint32_t version, const void *data, size_t len)
{
	int err = statedb_update(db, name, type, version, data, len);

	if (err == STATEDB_E_NOT_FOUND)
		err = statedb_create(db, name, type, version, owner, data, len);
	return err;
}

/*
 * A fault was contained (the fault handler says so, in the faulting
 * context, interrupts off). current_task runs with interrupts off and makes
 * no contained call, so a fault while its window was open abandoned it
 * there: the window is closed, else every later call of every task would
 * bypass its transaction for good. Nothing on the hot path reads more.
 */
void sdb_fault_seen(void)
{
	root()->asking_task = false;
}

uint64_t sdb_outside_begin(void)
{
	uint64_t flags = irq_save();

	root()->outside++;
	return flags;
}

void sdb_outside_end(uint64_t flags)
{
	root()->outside--;
	irq_restore(flags);
}

int sdb_put(const char *owner, const char *name, uint32_t type, uint32_t version,
	    const void *data, size_t len)
{
	struct state_db *db = root();
	uint64_t flags = irq_save();
	struct statedb_txn *t = caller_txn(db, flags);
	int err;

	bg_write_begin(db, t);
	if (t && t->doomed) {
		err = STATEDB_E_ABORTED;
	} else if (t) {
		err = statedb_txn_update(db, t, name, type, version, data, len);
		if (err == STATEDB_E_NOT_FOUND)
			err = statedb_txn_create(db, t, name, type, version, owner, data, len);
	} else {
		err = put_committed(db, owner, name, type, version, data, len);
	}
	bg_write_end(db, t);
	irq_restore(flags);
	return err;
}

int sdb_delete(const char *name)
{
	struct state_db *db = root();
	uint64_t flags = irq_save();
	struct statedb_txn *t = caller_txn(db, flags);
	int err;

	bg_write_begin(db, t);
	if (t)
		err = t->doomed ? STATEDB_E_ABORTED : statedb_txn_delete(db, t, name);
	else
		err = statedb_delete(db, name);
	bg_write_end(db, t);
	irq_restore(flags);
	return err;
}

/* Readers take no lock unless a transaction is open somewhere. */
int sdb_get(const char *name, void *buf, size_t cap, struct statedb_meta *meta)
{
	struct state_db *db = root();
	struct statedb_txn *t;
	uint64_t flags;
	int ret;

	if (!__atomic_load_n(&db->ambient, __ATOMIC_ACQUIRE) && !db->background)
		return statedb_get(db, name, buf, cap, meta);
	flags = irq_save();
	t = caller_txn(db, flags);
	ret = t ? statedb_txn_get(db, t, name, buf, cap, meta) : statedb_get(db, name, buf, cap, meta);
	irq_restore(flags);
	return ret;
}

int sdb_view(const char *name, const void **data, struct statedb_meta *meta)
{
	struct state_db *db = root();
	struct statedb_txn *t;
	uint64_t flags;
	int ret;

	if (!__atomic_load_n(&db->ambient, __ATOMIC_ACQUIRE) && !db->background)
		return statedb_view(db, name, data, meta);
	flags = irq_save();
	t = caller_txn(db, flags);
	ret = t ? statedb_txn_view(db, t, name, data, meta) : statedb_view(db, name, data, meta);
	irq_restore(flags);
	return ret;
}

int sdb_test_record_bytes(const char *name, void **data)
{
	const void *p = NULL;
	int n = sdb_view(name, &p, NULL);

	*data = n >= 0 ? (void *)(uintptr_t)p : NULL;
	return n;
}

int sdb_list(const char *prefix, statedb_list_fn *fn, void *ctx)
{
	struct state_db *db = root();
	struct statedb_txn *t;
	uint64_t flags;
	int ret;

	if (!prefix)
		prefix = "";
	if (!__atomic_load_n(&db->ambient, __ATOMIC_ACQUIRE) && !db->background)
		return statedb_list_prefix(db, prefix, fn, ctx);
	flags = irq_save();
	t = caller_txn(db, flags);
	ret = t ? statedb_txn_list_prefix(db, t, prefix, fn, ctx)
		: statedb_list_prefix(db, prefix, fn, ctx);
	irq_restore(flags);
	return ret;
}

const char *sdb_strerror(int err)
{
	return statedb_strerror(err);
}

int sdb_txn_begin(void)
{
	struct state_db *db = root();
	uint64_t flags = irq_save();
	struct statedb_txn *t = caller_txn(db, flags);
	int err;

	if (t) {
		t->nest++;      /* interrupts were already off: nothing to restore */
		if (t->background)
			irq_restore(flags);	/* ...unless the transaction is a background one */
		return STATEDB_OK;
	}
	err = statedb_txn_begin(db, (uint64_t)current_task(db), &t);
	if (err) {
		irq_restore(flags);
		return err;
	}
	t->nest = 1;
	t->doomed = false;
	t->irq_flags = flags;
	t->background = t->bg_active = t->bg_stale = false;
	db->ambient = t;
	return STATEDB_OK;
}


int sdb_txn_begin_swap(uint64_t mode)
{
	struct state_db *db = root();
	uint64_t flags = irq_save();
	struct statedb_txn *t;
	int err;

	if (mode == SDB_TXN_BACKGROUND || mode == SDB_TXN_SUSPEND) {
		if (mode == SDB_TXN_SUSPEND) {
			err = (t = own_background(db)) ? STATEDB_OK : STATEDB_E_TXN;
			if (t)
				t->bg_active = false;
		} else if (caller_txn(db, flags) || db->ambient || db->background) {
			err = STATEDB_E_BUSY;	/* one at a time */
		} else if (!(err = statedb_txn_begin(db, (uint64_t)current_task(db), &t))) {
			t->nest = 1;
			t->doomed = false;
			t->irq_flags = flags;
			t->background = t->bg_active = true;
			t->bg_stale = false;
			t->bg_changes = statedb_changes(db);
			db->background = true;
		}
		irq_restore(flags);
		return err;
	}
	if (mode == SDB_TXN_RESUMED) {
		sdb_reclaim(db);
		irq_restore(flags);
		return STATEDB_OK;
	}
	if (mode != SDB_TXN_ADOPT) {
		irq_restore(flags);
		return STATEDB_E_INVAL;
	}
	if (!db->ambient && (t = own_background(db))) {
		if (!t->doomed && !t->bg_stale && statedb_changes(db) == t->bg_changes) {
			db->background = false;	/* now the caller's ambient one, as a begin's */
			t->background = t->bg_active = false;
			t->irq_flags = flags;
			t->free_later = true;
			db->ambient = t;
			return 1;
		}
		background_end(db, t, false, &err);
	}
	irq_restore(flags);
	if ((err = sdb_txn_begin()) == STATEDB_OK)
		db->ambient->free_later = true;
	return err;
}

int sdb_txn_end(uint64_t commit)
{
	struct state_db *db = root();
	uint64_t flags = irq_save();
	struct statedb_txn *t = caller_txn(db, flags);
	int err;

	if (!t)
		t = own_background(db);	/* a suspended one */
	if (!t) {
		irq_restore(flags);
		return STATEDB_E_TXN;
	}
	if (!commit)
		t->doomed = true;
	if (--t->nest) {
		if (t->background)
			irq_restore(flags);
		return commit && t->doomed ? STATEDB_E_ABORTED : STATEDB_OK;
	}
	if (t->background) {	/* ended before any pause adopted it; commits only if still current */
		bool ok = commit && !t->doomed && !t->bg_stale && statedb_changes(db) == t->bg_changes;

		err = STATEDB_OK;
		background_end(db, t, ok, &err);
		irq_restore(flags);
		return commit && !ok ? STATEDB_E_ABORTED : err;
	}
	db->ambient = NULL;
	flags = t->irq_flags;
	if (t->doomed) {
		statedb_txn_abort(db, t);
		err = commit ? STATEDB_E_ABORTED : STATEDB_OK;
	} else {
		err = statedb_txn_commit(db, t);
	}
	irq_restore(flags);
	return err;
}

bool sdb_txn_open(void)
{
	struct state_db *db = root();

	return __atomic_load_n(&db->ambient, __ATOMIC_ACQUIRE) != NULL || db->background;
}

int sdb_txn_commit(void)
{
	return sdb_txn_end(1);
}

int sdb_txn_abort(void)
{
	return sdb_txn_end(0);
}

int sdb_txn_abort_task(int64_t task_id)
{
	struct state_db *db = root();
	uint64_t flags = irq_save();
	struct statedb_txn *t = db->ambient;
	int n = 0;

	if (t && t->owner_id == (uint64_t)task_id) {
		abandon(db, t, "the task ended");
		n = 1;
	} else if ((t = background_txn(db)) && t->owner_id == (uint64_t)task_id) {
		klog(LOG_WARN, "state_db: task %ld left a background transaction of %u records open "
		     "(the task ended); aborted", task_id, t->nops);
		background_end(db, t, false, &n);
		n = 1;
	}
	irq_restore(flags);
	return n;
}

int sdb_hopen(const char *name, size_t capacity, statedb_handle *h)
{
	uint64_t flags = irq_save();
	int err = statedb_hopen(root(), name, capacity, h);

	irq_restore(flags);
	return err;
}

int sdb_hget(statedb_handle h, void *buf, size_t cap)
{
	return statedb_hread(root(), h, buf, cap);
}

int sdb_hview(statedb_handle h, const void **data, uint32_t *version)
{
	return sdb_hview_inline(root(), h, data, version);
}

int sdb_hwrite(statedb_handle h, size_t at, const void *data, size_t n)
{
	uint64_t flags = irq_save();
	int err = sdb_hwrite_inline(root(), h, at, data, n);

	irq_restore(flags);
	return err;
}

int sdb_hupdate(statedb_handle h, const void *data, size_t len)
{
	uint64_t flags = irq_save();
	int err = sdb_hupdate_inline(root(), h, data, len);

	irq_restore(flags);
	return err;
}

int sdb_hstore(statedb_handle h, const void *data, size_t n)
{
	uint64_t flags = irq_save();
	int err = statedb_hstore(root(), h, data, n);

	irq_restore(flags);
	return err;
}

int sdb_scrub(size_t bytes)
{
	uint64_t flags = irq_save();
	int bad = statedb_scrub_bytes(root(), bytes, report_corrupt, NULL);

	irq_restore(flags);
	return bad;
}

int sdb_stats(struct statedb_stats *st)
{
	return statedb_stats(root(), st);
}

uint64_t sdb_changes(void)
{
	return statedb_changes(root());
}
