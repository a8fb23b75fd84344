/*
 * File metadata: the inode records of every layout (records.h), the name
 * entries that point at them, the generation counter, and file creation.
 */
#include "cells/ramfs/fs.h"
#include "cells/ramfs/store.h"

#ifdef DELOS_HOST
#include <string.h>
#else
#include <delos/string.h>
#endif

int rfs_layout_check(const struct rfs *fs, uint32_t version)
{
	if (version == 0)
		return RAMFS_E_CORRUPT;
	return version > fs->layout ? RAMFS_E_LAYOUT : 0;
}

/* A stored name field: NUL-terminated inside the field, and a valid name. */
static bool name_field_ok(const char field[RAMFS_NAME_MAX + 1])
{
	size_t n = 0;

	while (n <= RAMFS_NAME_MAX && field[n])
		n++;
	return n <= RAMFS_NAME_MAX && rfs_name_check(field) == 0;
}

static int decode_v1(const void *data, size_t size, struct rfs_inode *ino)
{
	struct ramfs_inode_v1 r;

	if (size != sizeof(r))
		return RAMFS_E_CORRUPT;
	memcpy(&r, data, sizeof(r));
	if (!name_field_ok(r.name))
		return RAMFS_E_CORRUPT;
	*ino = (struct rfs_inode){ .id = r.id, .mode = r.mode, .layout = 1, .gen = r.gen,
				   .size = r.size };
	memcpy(ino->name, r.name, sizeof(ino->name));
	return 0;
}

static int decode_v2(const void *data, size_t size, struct rfs_inode *ino)
{
	struct ramfs_inode_v2 r;

	if (size != sizeof(r))
		return RAMFS_E_CORRUPT;
	memcpy(&r, data, sizeof(r));
	if (r.layout != 2 || !name_field_ok(r.name))
		return RAMFS_E_CORRUPT;
	*ino = (struct rfs_inode){ .id = r.id, .mode = r.mode, .layout = 2, .gen = r.gen,
				   .size = r.size, .mtime_ns = r.mtime_ns };
	memcpy(ino->name, r.name, sizeof(ino->name));
	return 0;
}

int rfs_inode_load(const struct rfs *fs, uint32_t id, struct rfs_inode *ino)
{
	char rec[RFS_RECNAME_MAX];
	struct statedb_meta meta;
	const void *data;
	int n, err;

	rfs_name_inode(rec, id);
	n = rfs_store_view(rec, &data, &meta);
	if (n < 0)
		return rfs_store_error(n);
	if (meta.type != RAMFS_TYPE_INODE)
		return RAMFS_E_CORRUPT;
	err = rfs_layout_check(fs, meta.version);
	if (err)
		return err;
	err = meta.version == 1 ? decode_v1(data, (size_t)n, ino) : decode_v2(data, (size_t)n, ino);
	if (!err && (ino->id != id || ino->size > RAMFS_FILE_MAX))
		err = RAMFS_E_CORRUPT;
	return err;
}

int rfs_inode_save(const struct rfs *fs, struct rfs_inode *ino)
{
	char rec[RFS_RECNAME_MAX];
	union { struct ramfs_inode_v1 v1; struct ramfs_inode_v2 v2; } r;
	size_t len;
	int err;

	memset(&r, 0, sizeof(r));
	if (fs->layout == 1) {
		r.v1 = (struct ramfs_inode_v1){ .id = ino->id, .mode = ino->mode, .gen = ino->gen,
						.size = ino->size };
		memcpy(r.v1.name, ino->name, sizeof(r.v1.name));
		len = sizeof(r.v1);
		ino->mtime_ns = 0;
	} else {
		r.v2 = (struct ramfs_inode_v2){ .layout = 2, .id = ino->id, .gen = ino->gen,
						.size = ino->size, .mtime_ns = ino->mtime_ns,
						.mode = ino->mode };
		memcpy(r.v2.name, ino->name, sizeof(r.v2.name));
		len = sizeof(r.v2);
	}
	rfs_name_inode(rec, ino->id);
	err = rfs_store_put(rec, RAMFS_TYPE_INODE, fs->layout, &r, len);
	if (!err)
		ino->layout = fs->layout;
	return rfs_store_error(err);
}

static int dirent_load(const char *name, struct ramfs_dirent *d)
{
	char rec[RFS_RECNAME_MAX];
	struct statedb_meta meta;
	const void *data;
	int n;

	rfs_name_file(rec, name);
	n = rfs_store_view(rec, &data, &meta);
	if (n < 0)
		return rfs_store_error(n);
	if (meta.type != RAMFS_TYPE_DIRENT || meta.version != 1 || n != sizeof(*d))
		return RAMFS_E_CORRUPT;
	memcpy(d, data, sizeof(*d));
	return 0;
}

int rfs_lookup(const struct rfs *fs, const char *name, struct rfs_inode *ino)
{
	struct ramfs_dirent d;
	int err = dirent_load(name, &d);

	if (err)
		return err;
	err = rfs_inode_load(fs, d.id, ino);
	if (err == RAMFS_E_NOT_FOUND)
		return RAMFS_E_CORRUPT;
	if (!err && (ino->gen != d.gen || strcmp(ino->name, name) != 0))
		return RAMFS_E_CORRUPT;
	return err;
}

/* The first free id, searching from the name's hash. */
static int free_id(const char *name, uint32_t *id)
{
	uint32_t start = rfs_name_hash(name);
	char rec[RFS_RECNAME_MAX];
	const void *data;

	for (uint32_t i = 0; i < RAMFS_FILES_MAX; i++) {
		*id = (start + i) % RAMFS_FILES_MAX + 1;
		rfs_name_inode(rec, *id);
		if (rfs_store_view(rec, &data, NULL) == STATEDB_E_NOT_FOUND)
			return 0;
	}
	return RAMFS_E_FULL;
}

/* Takes the next generation from "ramfs/super" (made on first use). */
static int next_gen(uint64_t *gen)
{
	struct ramfs_super s = { .next_gen = 1 };
	struct statedb_meta meta;
	const void *data;
	int n = rfs_store_view(RAMFS_REC_SUPER, &data, &meta);

	if (n >= 0 && (meta.type != RAMFS_TYPE_SUPER || n != sizeof(s)))
		return RAMFS_E_CORRUPT;
	if (n >= 0)
		memcpy(&s, data, sizeof(s));
	else if (n != STATEDB_E_NOT_FOUND)
		return rfs_store_error(n);
	*gen = s.next_gen++;
	return rfs_store_error(rfs_store_put(RAMFS_REC_SUPER, RAMFS_TYPE_SUPER, 1, &s, sizeof(s)));
}

int rfs_create(const struct rfs *fs, const char *name, struct rfs_inode *ino)
{
	char rec[RFS_RECNAME_MAX];
	struct ramfs_dirent d = { 0 };
	int err = free_id(name, &d.id);

	if (!err)
		err = next_gen(&d.gen);
	if (err)
		return err;
	*ino = (struct rfs_inode){ .id = d.id, .gen = d.gen, .mode = RAMFS_MODE_DEFAULT,
				   .mtime_ns = fs->now_ns };
	memcpy(ino->name, name, strlen(name) + 1);
	err = rfs_inode_save(fs, ino);
	if (err)
		return err;
	rfs_name_file(rec, name);
	err = rfs_store_error(rfs_store_create(rec, RAMFS_TYPE_DIRENT, 1, &d, sizeof(d)));
	if (err) {
		rfs_name_inode(rec, d.id);
		rfs_store_delete(rec);
	}
	return err;
}

void rfs_inode_stat(const struct rfs_inode *ino, struct ramfs_stat *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->name, ino->name, sizeof(st->name));
	st->size = ino->size;
	st->gen = ino->gen;
	st->mtime_ns = ino->mtime_ns;
	st->id = ino->id;
	st->mode = ino->mode;
	st->layout = ino->layout;
}
