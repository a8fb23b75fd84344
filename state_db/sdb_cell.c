/*
 * The state_db cell (state_db@1): the record store's code, operating on the
 * root nano_core owns. Writers run with interrupts off (one CPU, preemptive
 * tasks and interrupt handlers are the only concurrency).
 */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/sdb.h>

static bool report_corrupt(void *ctx, const struct statedb_meta *m)
{
	(void)ctx;
	klog(LOG_ERR, "state_db: record '%s' (owner %s) fails its checksum", m->name, m->owner);
	return true;
}

int cell_init(void)
{
	struct state_db *db = statedb_root();
	int err;

	if (db->magic == STATEDB_MAGIC && db->layout != STATEDB_LAYOUT) {
		klog(LOG_ERR, "state_db: the store has root layout %u, this code knows %u; refusing",
		     db->layout, STATEDB_LAYOUT);
		return -1;
	}
	if (db->magic == STATEDB_MAGIC) {
		uint64_t flags = irq_save();
		int bad = statedb_takeover(db, report_corrupt, NULL);

		irq_restore(flags);
		klog(LOG_INFO, "state_db: taking over the store (%zu records, %d corrupt)", db->live, bad);
		return 0;
	}
	err = statedb_init(db, sdb_kalloc, sdb_kfree, NULL);
	if (err)
		klog(LOG_ERR, "state_db: cannot initialize the store: %s", statedb_strerror(err));
	else
		klog(LOG_INFO, "state_db: store initialized; its storage belongs to nano_core");
	return err;
}

int sdb_create(const char *owner, const char *name, uint32_t type, uint32_t version,
	       const void *data, size_t len)
{
	uint64_t flags = irq_save();
	int err = statedb_create(statedb_root(), name, type, version, owner, data, len);

	irq_restore(flags);
	return err;
}

int sdb_update(const char *name, uint32_t version, const void *data, size_t len)
{
	uint64_t flags = irq_save();
	int err = statedb_update(statedb_root(), name, STATEDB_TYPE_KEEP, version, data, len);

	irq_restore(flags);
	return err;
}

int sdb_put(const char *owner, const char *name, uint32_t type, uint32_t version,
	    const void *data, size_t len)
{
	uint64_t flags = irq_save();
	int err = statedb_update(statedb_root(), name, type, version, data, len);

	if (err == STATEDB_E_NOT_FOUND)
		err = statedb_create(statedb_root(), name, type, version, owner, data, len);
	irq_restore(flags);
	return err;
}

int sdb_delete(const char *name)
{
	uint64_t flags = irq_save();
	int err = statedb_delete(statedb_root(), name);

	irq_restore(flags);
	return err;
}

int sdb_get(const char *name, void *buf, size_t cap, struct statedb_meta *meta)
{
	return statedb_get(statedb_root(), name, buf, cap, meta);
}

int sdb_view(const char *name, const void **data, struct statedb_meta *meta)
{
	return statedb_view(statedb_root(), name, data, meta);
}

int sdb_list(const char *prefix, statedb_list_fn *fn, void *ctx)
{
	return statedb_list_prefix(statedb_root(), prefix ? prefix : "", fn, ctx);
}

const char *sdb_strerror(int err)
{
	return statedb_strerror(err);
}

int sdb_hopen(const char *name, size_t capacity, statedb_handle *h)
{
	uint64_t flags = irq_save();
	int err = statedb_hopen(statedb_root(), name, capacity, h);

	irq_restore(flags);
	return err;
}

int sdb_hget(statedb_handle h, void *buf, size_t cap)
{
	return statedb_hget(statedb_root(), h, buf, cap, NULL);
}

int sdb_hwrite(statedb_handle h, size_t at, const void *data, size_t n)
{
	uint64_t flags = irq_save();
	int err = statedb_hwrite(statedb_root(), h, at, data, n);

	irq_restore(flags);
	return err;
}

int sdb_hupdate(statedb_handle h, const void *data, size_t len)
{
	uint64_t flags = irq_save();
	int err = statedb_hupdate(statedb_root(), h, data, len);

	irq_restore(flags);
	return err;
}

int sdb_scrub(size_t slots)
{
	uint64_t flags = irq_save();
	int bad = statedb_scrub(statedb_root(), slots, report_corrupt, NULL);

	irq_restore(flags);
	return bad;
}

int sdb_stats(struct statedb_stats *st)
{
	return statedb_stats(statedb_root(), st);
}
