/*
 * The record store the ramfs logic runs on. The kernel cell implements it
 * with the state_db cell's sdb_* calls (store_sdb.c); host tests implement it
 * over a struct state_db of their own. The contracts are those of
 * include/delos/sdb.h; records are created with the owner RAMFS_OWNER.
 *
 * The ramfs logic calls these only between the caller's serialization points
 * (interrupts off in the kernel), so a view stays valid until the logic's own
 * next write.
 */
#ifndef CELLS_RAMFS_STORE_H
#define CELLS_RAMFS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <delos/state_db.h>

#pragma GCC visibility push(hidden)

int rfs_store_view(const char *name, const void **data, struct statedb_meta *meta);
int rfs_store_create(const char *name, uint32_t type, uint32_t version, const void *data,
		     size_t len);
/* Creates the record or replaces its value, type and version. */
int rfs_store_put(const char *name, uint32_t type, uint32_t version, const void *data,
		  size_t len);
int rfs_store_delete(const char *name);
/* Calls fn for every record whose name starts with prefix. */
int rfs_store_list(const char *prefix, statedb_list_fn *fn, void *ctx);

/* Scratch memory for one call; NULL when none is left. */
void *rfs_store_alloc(size_t bytes);
void rfs_store_free(void *p);

#pragma GCC visibility pop

#endif
