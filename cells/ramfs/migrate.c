/*
 * Migration: rewrites every inode record of a layout older than fs->layout in
 * fs->layout. Reading needs no migration (every layout up to fs->layout is
 * read as it is); migrating lets an older cell's records be dropped from the
 * code one day, and is what a swap to a newer ramfs does in its hook.
 */
#include "cells/ramfs/fs.h"
#include "cells/ramfs/store.h"

struct migration {
	const struct rfs *fs;
	int rewritten;
	int err;       /* the first refusal that is not about one damaged record */
};

/* The id in "ramfs/i/ID", or 0 if the name is not one this code makes. */
static uint32_t inode_id(const char *rec)
{
	uint64_t id = 0;
	const char *p = rec + sizeof(RAMFS_PFX_INODE) - 1;

	for (; *p && id <= RAMFS_FILES_MAX; p++) {
		if (*p >= '0' && *p <= '9')
			id = id * 16 + (uint64_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			id = id * 16 + (uint64_t)(*p - 'a' + 10);
		else
			return 0;
	}
	return id <= RAMFS_FILES_MAX ? (uint32_t)id : 0;
}

static bool migrate_one(void *ctx, const struct statedb_meta *meta)
{
	struct migration *m = ctx;
	struct rfs_inode ino;
	uint32_t id = inode_id(meta->name);
	int err;

	if (!meta->checksum_ok || !id || meta->version >= m->fs->layout)
		return true;
	err = rfs_inode_load(m->fs, id, &ino);
	if (!err)
		err = rfs_inode_save(m->fs, &ino);
	if (!err)
		m->rewritten++;
	else if (err != RAMFS_E_CORRUPT && !m->err)
		m->err = err;
	return true;
}

int rfs_migrate(const struct rfs *fs)
{
	struct migration m = { fs, 0, 0 };
	int n = rfs_store_list(RAMFS_PFX_INODE, migrate_one, &m);

	if (n < 0)
		return rfs_store_error(n);
	return m.err ? m.err : m.rewritten;
}

#if RAMFS_CELL_LAYOUT >= 2
/* ramfs@2 only (ramfs@1 has nothing older, and keeps its code as it was). */
struct pending {
	const struct rfs *fs;
	uint32_t *ids;
	size_t n, cap;
};

static bool pending_one(void *ctx, const struct statedb_meta *meta)
{
	struct pending *p = ctx;
	uint32_t id = inode_id(meta->name);

	if (meta->checksum_ok && id && meta->version < p->fs->layout && p->n < p->cap)
		p->ids[p->n++] = id;
	return p->n < p->cap;
}

int rfs_migrate_pending(const struct rfs *fs, uint32_t *ids, size_t cap)
{
	struct pending p = { fs, ids, 0, cap };
	int n = rfs_store_list(RAMFS_PFX_INODE, pending_one, &p);

	return n < 0 ? rfs_store_error(n) : (int)p.n;
}

/* Migrates one inode of rfs_migrate_pending's list; 0 if there is nothing
 * left to migrate: unreadable, or removed since the list was made (the
 * world runs between the two, and the removal needs no rewrite). */
int rfs_migrate_inode(const struct rfs *fs, uint32_t id)
{
	struct rfs_inode ino;
	int err = rfs_inode_load(fs, id, &ino);

	if (!err)
		err = rfs_inode_save(fs, &ino);
	return err == RAMFS_E_CORRUPT || err == RAMFS_E_NOT_FOUND ? 0 : err ? err : 1;
}
#endif
