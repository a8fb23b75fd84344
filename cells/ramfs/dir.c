/* The namespace: stat, list, remove and rename by name. */
#include "cells/ramfs/fs.h"
#include "cells/ramfs/store.h"

#ifdef DELOS_HOST
#include <string.h>
#else
#include <delos/string.h>
#endif

int rfs_stat(const struct rfs *fs, const char *name, struct ramfs_stat *st)
{
	struct rfs_inode ino;
	int err;

	if (!st)
		return RAMFS_E_INVAL;
	err = rfs_name_check(name);
	if (!err)
		err = rfs_lookup(fs, name, &ino);
	if (!err)
		rfs_inode_stat(&ino, st);
	return err;
}

struct list_walk {
	const struct rfs *fs;
	ramfs_list_fn *fn;
	void *ctx;
	int calls;
};

static bool list_one(void *ctx, const struct statedb_meta *meta)
{
	struct list_walk *w = ctx;
	const char *name = meta->name + sizeof(RAMFS_PFX_FILE) - 1;
	struct rfs_inode ino;
	struct ramfs_stat st;
	int err = rfs_lookup(w->fs, name, &ino);

	if (!err)
		rfs_inode_stat(&ino, &st);
	w->calls++;
	return w->fn(w->ctx, name, err ? NULL : &st, err);
}

int rfs_list(const struct rfs *fs, ramfs_list_fn *fn, void *ctx)
{
	struct list_walk w = { fs, fn, ctx, 0 };
	int n;

	if (!fn)
		return RAMFS_E_INVAL;
	n = rfs_store_list(RAMFS_PFX_FILE, list_one, &w);
	return n < 0 ? rfs_store_error(n) : w.calls;
}

/* Deletes one chunk of a file whose inode is lost (the walk is by prefix). */
static bool drop_one(void *ctx, const struct statedb_meta *meta)
{
	(void)ctx;
	rfs_store_delete(meta->name);
	return true;
}

/* Removes what is left of a file whose records do not agree or fail their checksums. */
static int remove_damaged(const struct rfs *fs, const char *name)
{
	char rec[RFS_RECNAME_MAX];
	struct ramfs_dirent d;
	struct statedb_meta meta;
	struct rfs_inode ino;
	const void *data;
	int n;

	rfs_name_file(rec, name);
	n = rfs_store_view(rec, &data, &meta);
	if (n == (int)sizeof(d) && meta.type == RAMFS_TYPE_DIRENT) {
		memcpy(&d, data, sizeof(d));
		int err = rfs_inode_load(fs, d.id, &ino);
		if (err == RAMFS_E_CORRUPT || (!err && ino.gen == d.gen)) {
			rfs_name_inode(rec, d.id);
			rfs_store_delete(rec);
		}
		rfs_name_data(rec, d.id, d.gen, 0);
		rec[strlen(rec) - 1] = '\0';  /* "ramfs/d/ID.GEN/": every chunk */
		rfs_store_list(rec, drop_one, NULL);
	}
	rfs_name_file(rec, name);
	return rfs_store_error(rfs_store_delete(rec));
}

int rfs_remove(const struct rfs *fs, const char *name)
{
	char rec[RFS_RECNAME_MAX];
	struct rfs_inode ino;
	int err = rfs_name_check(name);

	if (!err)
		err = rfs_lookup(fs, name, &ino);
	if (err == RAMFS_E_CORRUPT)
		return remove_damaged(fs, name);
	if (err)
		return err;
	rfs_name_file(rec, name);
	rfs_store_delete(rec);
	rfs_name_inode(rec, ino.id);
	rfs_store_delete(rec);
	rfs_data_drop(ino.id, ino.gen, ino.size, 0);
	return 0;
}

int rfs_rename(const struct rfs *fs, const char *from, const char *to)
{
	char rec[RFS_RECNAME_MAX];
	struct rfs_inode ino, other;
	int err = rfs_name_check(from);

	if (!err)
		err = rfs_name_check(to);
	if (!err)
		err = rfs_lookup(fs, from, &ino);
	if (err || strcmp(from, to) == 0)
		return err;
	err = rfs_lookup(fs, to, &other);
	if (err != RAMFS_E_NOT_FOUND)
		return err ? err : RAMFS_E_EXISTS;
	struct ramfs_dirent d = { .id = ino.id, .gen = ino.gen };
	rfs_name_file(rec, to);
	err = rfs_store_error(rfs_store_create(rec, RAMFS_TYPE_DIRENT, 1, &d, sizeof(d)));
	if (err)
		return err;
	memset(ino.name, 0, sizeof(ino.name));
	memcpy(ino.name, to, strlen(to));
	err = rfs_inode_save(fs, &ino);
	if (err) {
		rfs_store_delete(rec);
		return err;
	}
	rfs_name_file(rec, from);
	rfs_store_delete(rec);
	return 0;
}
