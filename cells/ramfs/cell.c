/*
 * The ramfs cell: the ramfs.h API over the logic of fs.h. Each call runs
 * with interrupts off (which serializes it against every other call on the
 * one CPU) and is one state_db transaction: the records one operation
 * writes (a file's inode and name, a chunk and the inode's size, every inode
 * of a migration) are committed together when it succeeds and not at all
 * when it fails. Inside a swap, the transaction joins the swap's. It runs
 * with this boot's token key from the tokens cell and the layout of this
 * cell's version. Reads and writes go one RAMFS_CHUNK piece at a
 * time, each piece a whole call of its own, so interrupts are never off for
 * more than one chunk's work.
 *
 * ramfs@2 compiles this file with RAMFS_CELL_LAYOUT 2 (cells/ramfs_v2).
 */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/ramfs/commands.h"
#include "cells/ramfs/fs.h"
#include <delos/tokens.h>

#ifndef RAMFS_CELL_LAYOUT
#define RAMFS_CELL_LAYOUT 1u
#endif

_Static_assert(RAMFS_CELL_LAYOUT >= 1 && RAMFS_CELL_LAYOUT <= RAMFS_LAYOUT_MAX, "a known layout");

/* One call's context; the key stays on this stack only for the call. */
struct call {
	struct rfs fs;
	uint64_t irq;
	int txn;	/* what sdb_txn_begin returned: 0 if the call is in a transaction */
};

/*
 * Without a key, fs.key stays zero and calls that need it say RAMFS_E_NO_KEY.
 * Returns 0, or RAMFS_E_NOMEM if no transaction could be opened (then the
 * call must do nothing but leave).
 */
static int enter(struct call *c)
{
	memset(&c->fs, 0, sizeof(c->fs));
	c->irq = irq_save();
	c->fs.layout = RAMFS_CELL_LAYOUT;
	c->fs.now_ns = time_ns();
	c->txn = sdb_txn_begin();
	tokens_key(&c->fs.key);
	return c->txn ? RAMFS_E_NOMEM : 0;
}

/*
 * Commits the call's records if result (a count or an error) says it
 * succeeded, else aborts them; returns result, or the error of a commit
 * that failed (then nothing of the call is stored).
 */
static int64_t leave(struct call *c, int64_t result)
{
	int err = c->txn;

	memset(&c->fs.key, 0, sizeof(c->fs.key));
	if (!c->txn)
		err = sdb_txn_end(result >= 0);
	irq_restore(c->irq);
	if (result >= 0 && err) {
		klog(LOG_ERR, "ramfs: the operation's records were not stored: %s", sdb_strerror(err));
		return RAMFS_E_STORE;
	}
	return result;
}

int ramfs_open(const char *name, unsigned flags, struct token *out)
{
	struct call c;

	int err = enter(&c) ?: rfs_open(&c.fs, name, flags, out);
	return (int)leave(&c, err);
}

static int64_t read_piece(struct token *t, void *buf, size_t n)
{
	struct call c;

	int64_t r = enter(&c) ?: rfs_read(&c.fs, t, buf, n);
	return leave(&c, r);
}

int64_t ramfs_read(struct token *t, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t done = 0;

	if (!buf || n <= RAMFS_CHUNK)
		return read_piece(t, buf, n);
	while (done < n) {
		size_t k = n - done < RAMFS_CHUNK ? n - done : RAMFS_CHUNK;
		int64_t r = read_piece(t, p + done, k);
		if (r < 0)
			return done ? (int64_t)done : r;
		done += (size_t)r;
		if ((size_t)r < k)
			break;
	}
	return (int64_t)done;
}

static int64_t write_piece(struct token *t, const void *buf, size_t n)
{
	struct call c;

	int64_t w = enter(&c) ?: rfs_write(&c.fs, t, buf, n);
	return leave(&c, w);
}

int64_t ramfs_write(struct token *t, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	size_t done = 0;

	if (!buf || n <= RAMFS_CHUNK)
		return write_piece(t, buf, n);
	while (done < n) {
		size_t k = n - done < RAMFS_CHUNK ? n - done : RAMFS_CHUNK;
		int64_t w = write_piece(t, p + done, k);
		if (w < 0)
			return done ? (int64_t)done : w;
		done += (size_t)w;
		if ((size_t)w < k)
			break;
	}
	return (int64_t)done;
}

int64_t ramfs_seek(struct token *t, int64_t off, int whence)
{
	struct call c;

	int64_t pos = enter(&c) ?: rfs_seek(&c.fs, t, off, whence);
	return leave(&c, pos);
}

int ramfs_close(struct token *t)
{
	struct call c;

	int err = enter(&c) ?: rfs_close(&c.fs, t);
	return (int)leave(&c, err);
}

int ramfs_stat(const char *name, struct ramfs_stat *st)
{
	struct call c;

	int err = enter(&c) ?: rfs_stat(&c.fs, name, st);
	return (int)leave(&c, err);
}

int ramfs_fstat(const struct token *t, struct ramfs_stat *st)
{
	struct call c;

	int err = enter(&c) ?: rfs_fstat(&c.fs, t, st);
	return (int)leave(&c, err);
}

int ramfs_list(ramfs_list_fn *fn, void *ctx)
{
	struct call c;

	int n = enter(&c) ?: rfs_list(&c.fs, fn, ctx);
	return (int)leave(&c, n);
}

int ramfs_remove(const char *name)
{
	struct call c;

	int err = enter(&c) ?: rfs_remove(&c.fs, name);
	return (int)leave(&c, err);
}

int ramfs_rename(const char *from, const char *to)
{
	struct call c;

	int err = enter(&c) ?: rfs_rename(&c.fs, from, to);
	return (int)leave(&c, err);
}

int ramfs_migrate(void)
{
	struct call c;

	int n = enter(&c) ?: rfs_migrate(&c.fs);
	return (int)leave(&c, n);
}

#if RAMFS_CELL_LAYOUT >= 2
int ramfs_migrate_stepwise(void)
{
	uint32_t *ids = kmalloc(RAMFS_FILES_MAX * sizeof(*ids));
	struct call c;
	int n, got = 0, done = 0;

	if (!ids)
		return RAMFS_E_NOMEM;
	n = enter(&c) ?: rfs_migrate_pending(&c.fs, ids, RAMFS_FILES_MAX);
	n = (int)leave(&c, n);
	for (int i = 0; i < n && got >= 0; i++) {	/* interrupts on between two */
		got = enter(&c) ?: rfs_migrate_inode(&c.fs, ids[i]);
		got = (int)leave(&c, got);
		done += got > 0;
	}
	kfree(ids);
	return n < 0 ? n : got < 0 ? got : done;
}
#endif

uint32_t ramfs_layout(void)
{
	return RAMFS_CELL_LAYOUT;
}

int cell_init(void)
{
	struct token_key k;
	int err = tokens_key(&k);

	memset(&k, 0, sizeof(k));
	if (err)
		klog(LOG_WARN, "ramfs: no token key yet (tokens_key said %d); opens will fail", err);
	err = ramfs_commands_register();
	klog(LOG_INFO, "ramfs: layout %u, files in state_db under %s", ramfs_layout(), RAMFS_PFX_FILE);
	return err;
}

void cell_exit(void)
{
	ramfs_commands_unregister();
}
