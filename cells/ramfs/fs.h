/*
 * The ramfs logic: plain freestanding C over the record store of store.h,
 * built into the ramfs cells (which add the token key, the clock and the
 * interrupt lock: cell.c) and into the host tests. It keeps no state of its
 * own: each call gets a struct rfs saying which key and layout to use.
 *
 * The rfs_* calls below are the ramfs.h API with the context made explicit;
 * their contracts are those of the ramfs_* functions. They must be
 * serialized by the caller. The helpers after them are shared between the
 * files of this folder only.
 */
#ifndef CELLS_RAMFS_FS_H
#define CELLS_RAMFS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/state_db.h>
#include <delos/token.h>
#include <delos/ramfs.h>
#include "cells/ramfs/records.h"

#pragma GCC visibility push(hidden)

struct rfs {
	struct token_key key;   /* this boot's token key */
	uint32_t layout;        /* the layout this code writes: 1..RAMFS_LAYOUT_MAX */
	uint64_t now_ns;        /* stamped as the modification time (layout 2) */
};

int rfs_open(const struct rfs *fs, const char *name, unsigned flags, struct token *out);
int64_t rfs_read(const struct rfs *fs, struct token *t, void *buf, size_t n);
int64_t rfs_write(const struct rfs *fs, struct token *t, const void *buf, size_t n);
int64_t rfs_seek(const struct rfs *fs, struct token *t, int64_t off, int whence);
int rfs_close(const struct rfs *fs, struct token *t);
int rfs_stat(const struct rfs *fs, const char *name, struct ramfs_stat *st);
int rfs_fstat(const struct rfs *fs, const struct token *t, struct ramfs_stat *st);
int rfs_list(const struct rfs *fs, ramfs_list_fn *fn, void *ctx);
int rfs_remove(const struct rfs *fs, const char *name);
int rfs_rename(const struct rfs *fs, const char *from, const char *to);
int rfs_migrate(const struct rfs *fs);
/* ramfs@2 only. The ids of up to cap inodes rfs_migrate would rewrite, into ids: how many, or an error. */
int rfs_migrate_pending(const struct rfs *fs, uint32_t *ids, size_t cap);
/* Rewrites inode id in fs->layout: 1, 0 if it is damaged (left as it is), or an error. */
int rfs_migrate_inode(const struct rfs *fs, uint32_t id);

/* names.c: record names and errors. */
#define RFS_RECNAME_MAX (STATEDB_NAME_MAX + 1)
int rfs_name_check(const char *name);
void rfs_name_file(char out[RFS_RECNAME_MAX], const char *name);
void rfs_name_inode(char out[RFS_RECNAME_MAX], uint32_t id);
void rfs_name_data(char out[RFS_RECNAME_MAX], uint32_t id, uint64_t gen, uint32_t chunk);
uint32_t rfs_name_hash(const char *name);
/* The ramfs error for a state_db error (RAMFS_E_NOT_FOUND for a missing record). */
int rfs_store_error(int sdb_err);

/* inode.c: a file's metadata, in memory, whatever its layout in the store. */
struct rfs_inode {
	uint32_t id;
	uint32_t mode;
	uint32_t layout;        /* of the record it was read from (0: not stored yet) */
	uint64_t gen;
	uint64_t size;
	uint64_t mtime_ns;
	char name[RAMFS_NAME_MAX + 1];
};

/* Loads inode id; RAMFS_E_NOT_FOUND, _CORRUPT or _LAYOUT if it cannot. */
int rfs_inode_load(const struct rfs *fs, uint32_t id, struct rfs_inode *ino);
/* Stores *ino in fs->layout (and sets ino->layout). */
int rfs_inode_save(const struct rfs *fs, struct rfs_inode *ino);
/* Loads the file `name` (a valid name): its entry and its inode, which must agree. */
int rfs_lookup(const struct rfs *fs, const char *name, struct rfs_inode *ino);
/* Makes the empty file `name` (which must not exist) and fills *ino. */
int rfs_create(const struct rfs *fs, const char *name, struct rfs_inode *ino);
/* Whether a metadata record of this state_db version can be read by fs. */
int rfs_layout_check(const struct rfs *fs, uint32_t version);
void rfs_inode_stat(const struct rfs_inode *ino, struct ramfs_stat *st);

/* data.c: the file's bytes, in RAMFS_CHUNK records. */
int rfs_data_read(const struct rfs_inode *ino, uint64_t pos, void *buf, size_t n);
/* Writes n bytes at pos (pos + n <= RAMFS_FILE_MAX), growing ino's size as
 * it goes; returns the bytes written (short only if the store refused) or a
 * negative error when none were. */
int64_t rfs_data_write(const struct rfs *fs, struct rfs_inode *ino, uint64_t pos,
		       const void *buf, size_t n);
/* Deletes the chunk records of (id, gen) from chunk `first` up to the end of size. */
void rfs_data_drop(uint32_t id, uint64_t gen, uint64_t size, uint32_t first);

/* ticket.c: the token payload. */
int rfs_ticket_open(const struct rfs *fs, const struct token *t, struct ramfs_ticket *tk);
int rfs_ticket_seal(const struct rfs *fs, const struct ramfs_ticket *tk, struct token *out);
/* Whether fs's key is set: sealing cannot fail after this says yes. */
int rfs_key_check(const struct rfs *fs);

#pragma GCC visibility pop

#endif
