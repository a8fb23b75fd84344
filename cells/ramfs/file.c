/*
 * Open files: everything the ramfs knows about an open file is in the
 * client's token; each call opens the token, checks that its file still
 * exists, acts, and seals the token again with the new position.
 */
#include "cells/ramfs/fs.h"

#ifdef DELOS_HOST
#include <string.h>
#else
#include <delos/string.h>
#endif

#define MODE_BITS (RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_APPEND)
#define ALL_FLAGS (MODE_BITS | RAMFS_O_CREATE | RAMFS_O_EXCL | RAMFS_O_TRUNC)

static bool flags_ok(unsigned f)
{
	if ((f & ~ALL_FLAGS) || !(f & (RAMFS_O_READ | RAMFS_O_WRITE)))
		return false;
	if ((f & (RAMFS_O_APPEND | RAMFS_O_TRUNC)) && !(f & RAMFS_O_WRITE))
		return false;
	return !(f & RAMFS_O_EXCL) || (f & RAMFS_O_CREATE);
}

/* Empties the file: the inode first (which may fail), then its chunks. */
static int truncate_all(const struct rfs *fs, struct rfs_inode *ino)
{
	struct rfs_inode next = *ino;
	int err;

	next.size = 0;
	if (fs->layout >= 2)
		next.mtime_ns = fs->now_ns;
	err = rfs_inode_save(fs, &next);
	if (err)
		return err;
	rfs_data_drop(ino->id, ino->gen, ino->size, 0);
	*ino = next;
	return 0;
}

int rfs_open(const struct rfs *fs, const char *name, unsigned flags, struct token *out)
{
	struct rfs_inode ino;
	int err;

	if (!out || !flags_ok(flags))
		return RAMFS_E_INVAL;
	err = rfs_name_check(name);
	if (!err)
		err = rfs_key_check(fs);
	if (!err)
		err = rfs_lookup(fs, name, &ino);
	if (err == RAMFS_E_NOT_FOUND && (flags & RAMFS_O_CREATE))
		err = rfs_create(fs, name, &ino);
	else if (!err && (flags & RAMFS_O_EXCL))
		err = RAMFS_E_EXISTS;
	else if (!err && (flags & RAMFS_O_TRUNC))
		err = truncate_all(fs, &ino);
	if (err)
		return err;
	struct ramfs_ticket tk = { .format = RAMFS_TICKET_FORMAT, .mode = flags & MODE_BITS,
				   .id = ino.id, .gen = ino.gen };
	return rfs_ticket_seal(fs, &tk, out);
}

/* Opens the token and loads its file, which must be the one it was made for. */
static int file_get(const struct rfs *fs, const struct token *t, struct ramfs_ticket *tk,
		    struct rfs_inode *ino)
{
	int err = rfs_ticket_open(fs, t, tk);

	if (!err)
		err = rfs_inode_load(fs, tk->id, ino);
	if (err == RAMFS_E_NOT_FOUND || (!err && ino->gen != tk->gen))
		return RAMFS_E_STALE;
	return err;
}

int64_t rfs_read(const struct rfs *fs, struct token *t, void *buf, size_t n)
{
	struct ramfs_ticket tk;
	struct rfs_inode ino;
	size_t k;
	int err;

	if (!buf && n)
		return RAMFS_E_INVAL;
	err = file_get(fs, t, &tk, &ino);
	if (!err && !(tk.mode & RAMFS_O_READ))
		err = RAMFS_E_MODE;
	if (err)
		return err;
	k = tk.pos >= ino.size ? 0 : (size_t)(ino.size - tk.pos);
	if (k > n)
		k = n;
	err = rfs_data_read(&ino, tk.pos, buf, k);
	if (err)
		return err;
	tk.pos += k;
	err = rfs_ticket_seal(fs, &tk, t);
	return err ? err : (int64_t)k;
}

int64_t rfs_write(const struct rfs *fs, struct token *t, const void *buf, size_t n)
{
	struct ramfs_ticket tk;
	struct rfs_inode ino;
	uint64_t pos;
	int64_t done;
	int err;

	if (!buf && n)
		return RAMFS_E_INVAL;
	err = file_get(fs, t, &tk, &ino);
	if (!err && !(tk.mode & RAMFS_O_WRITE))
		err = RAMFS_E_MODE;
	if (err)
		return err;
	pos = (tk.mode & RAMFS_O_APPEND) ? ino.size : tk.pos;
	if (n > RAMFS_FILE_MAX - pos)
		return RAMFS_E_TOO_BIG;
	done = rfs_data_write(fs, &ino, pos, buf, n);
	if (done < 0)
		return done;
	tk.pos = pos + (uint64_t)done;
	err = rfs_ticket_seal(fs, &tk, t);
	return err ? err : done;
}

int64_t rfs_seek(const struct rfs *fs, struct token *t, int64_t off, int whence)
{
	struct ramfs_ticket tk;
	struct rfs_inode ino;
	int64_t base;
	int err;

	if (whence != RAMFS_SEEK_SET && whence != RAMFS_SEEK_CUR && whence != RAMFS_SEEK_END)
		return RAMFS_E_INVAL;
	err = file_get(fs, t, &tk, &ino);
	if (err)
		return err;
	base = whence == RAMFS_SEEK_SET ? 0 : whence == RAMFS_SEEK_CUR ? (int64_t)tk.pos
								      : (int64_t)ino.size;
	if (off < -base || off > (int64_t)RAMFS_FILE_MAX - base)
		return RAMFS_E_SEEK;
	tk.pos = (uint64_t)(base + off);
	err = rfs_ticket_seal(fs, &tk, t);
	return err ? err : (int64_t)tk.pos;
}

int rfs_close(const struct rfs *fs, struct token *t)
{
	struct ramfs_ticket tk;
	int err = rfs_ticket_open(fs, t, &tk);

	if (!err)
		memset(t, 0, sizeof(*t));
	return err;
}

int rfs_fstat(const struct rfs *fs, const struct token *t, struct ramfs_stat *st)
{
	struct ramfs_ticket tk;
	struct rfs_inode ino;
	int err;

	if (!st)
		return RAMFS_E_INVAL;
	err = file_get(fs, t, &tk, &ino);
	if (!err)
		rfs_inode_stat(&ino, st);
	return err;
}
