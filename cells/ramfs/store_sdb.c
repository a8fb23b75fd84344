/* The record store of store.h in the kernel: the state_db cell's sdb_* calls. */
#include <delos/mm.h>
#include <delos/sdb.h>
#include "cells/ramfs/records.h"
#include "cells/ramfs/store.h"

int rfs_store_view(const char *name, const void **data, struct statedb_meta *meta)
{
	return sdb_view(name, data, meta);
}

int rfs_store_create(const char *name, uint32_t type, uint32_t version, const void *data,
		     size_t len)
{
	return sdb_create(RAMFS_OWNER, name, type, version, data, len);
}

int rfs_store_put(const char *name, uint32_t type, uint32_t version, const void *data,
		  size_t len)
{
	return sdb_put(RAMFS_OWNER, name, type, version, data, len);
}

int rfs_store_delete(const char *name)
{
	return sdb_delete(name);
}

int rfs_store_list(const char *prefix, statedb_list_fn *fn, void *ctx)
{
	return sdb_list(prefix, fn, ctx);
}

void *rfs_store_alloc(size_t bytes)
{
	return kmalloc(bytes);
}

void rfs_store_free(void *p)
{
	kfree(p);
}
