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
