/*
 * What a scheduling policy cell links against in the kernel, for host tests:
 * the state_db cell's sdb_* API over a store of the test's own (the real
 * state_db code, with malloc), klog into a buffer the test can read, and
 * the cellref resolution state_db asks nano_core for.
 * Included once by each test_sched_*.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/sdb.h>
#include <delos/state_db.h>
#include <delos/sched.h>

static struct state_db shim_db;
static char shim_log[512];

static void *shim_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return aligned_alloc(16, (n + 15) & ~(size_t)15);
}

static void shim_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

int sdb_create(const char *owner, const char *name, uint32_t type, uint32_t version,
	       const void *data, size_t len)
{
	return statedb_create(&shim_db, name, type, version, owner, data, len);
}

int sdb_put(const char *owner, const char *name, uint32_t type, uint32_t version,
	    const void *data, size_t len)
{
	int err = statedb_update(&shim_db, name, type, version, data, len);

	return err == STATEDB_E_NOT_FOUND ? sdb_create(owner, name, type, version, data, len) : err;
}

int sdb_update(const char *name, uint32_t version, const void *data, size_t len)
{
	return statedb_update(&shim_db, name, STATEDB_TYPE_KEEP, version, data, len);
}

int sdb_hopen(const char *name, size_t capacity, statedb_handle *h)
{
	return statedb_hopen(&shim_db, name, capacity, h);
}

int sdb_hview(statedb_handle h, const void **data, uint32_t *version)
{
	return statedb_hview(&shim_db, h, data, version);
}

int sdb_hwrite(statedb_handle h, size_t at, const void *data, size_t n)
{
	return statedb_hwrite(&shim_db, h, at, data, n);
}

int sdb_hupdate(statedb_handle h, const void *data, size_t len)
{
	return statedb_hupdate(&shim_db, h, data, len);
}

int sdb_hstore(statedb_handle h, const void *data, size_t n)
{
	return statedb_hstore(&shim_db, h, data, n);
}

int sdb_delete(const char *name)
{
	return statedb_delete(&shim_db, name);
}

int sdb_get(const char *name, void *buf, size_t cap, struct statedb_meta *meta)
{
	return statedb_get(&shim_db, name, buf, cap, meta);
}

int sdb_view(const char *name, const void **data, struct statedb_meta *meta)
{
	return statedb_view(&shim_db, name, data, meta);
}

const char *sdb_strerror(int err)
{
	return statedb_strerror(err);
}

void klog(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(shim_log, sizeof(shim_log), fmt, ap);
	va_end(ap);
}

/* state_db resolves its fail point through nano_core; these tests set none. */
uint64_t cellref_resolve(const struct cellref *r)
{
	(void)r;
	return 0;
}

/* The run queue's handle, as the tasks cell passes it (0 when there is no record). */
static statedb_handle rq(void)
{
	statedb_handle h = 0;

	statedb_hopen(&shim_db, SCHED_RQ_RECORD, 0, &h);
	return h;
}

static void shim_setup(void)
{
	shim_log[0] = '\0';
	statedb_init(&shim_db, shim_alloc, shim_free, NULL);
}

static void shim_teardown(void)
{
	statedb_fini(&shim_db);
}
