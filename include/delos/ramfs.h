/*
 * ramfs (cells ramfs@1 and ramfs@2): a flat file system in state_db that
 * keeps no state per client. Opening a file hands the client an opaque token
 * (include/delos/token.h, sealed for the server "ramfs") that carries the
 * file's identity (id and generation), the position and the open mode; every
 * call takes the token back, checks it, and returns it updated (the position
 * advanced). There is no table of open files, so the ramfs cell can be
 * swapped or reloaded between any two calls, and a client's token still works
 * with the new cell.
 *
 * Files. A name is 1..RAMFS_NAME_MAX bytes of '!'..'~' (no space); the
 * namespace is flat ('/' is an ordinary byte). A file holds up to
 * RAMFS_FILE_MAX bytes, stored in state_db records of RAMFS_CHUNK bytes, so
 * a file is not bounded by the size of one record. Bytes never written
 * inside a file (after a seek past its end) read as zero. The record layouts
 * are in cells/ramfs/records.h.
 *
 * Tokens. A token opens only with this boot's token key (cell tokens@1), only
 * for "ramfs", and only unchanged: a forged or altered token gets
 * RAMFS_E_FORGED, a token sealed for another server RAMFS_E_WRONG_SERVER, and
 * a token for a file that was removed (even if a file of that name was made
 * again) RAMFS_E_STALE. A token is the client's to keep or drop: closing it
 * only checks and wipes it. Tokens can be replayed (an older token for the
 * same file still works, at its older position).
 *
 * Errors are negative enum ramfs_error values; ramfs_strerror names them. A
 * call that fails changes no file and no token, with one exception: a write
 * that the store refuses half way (out of memory) returns the count written
 * so far, the file's size and the token's position cover exactly that count,
 * and only the bytes after it up to the end of that RAMFS_CHUNK piece may
 * have been written too.
 *
 * Concurrency. Each call runs with interrupts off, so calls do not interleave
 * on the one CPU; reads and writes longer than RAMFS_CHUNK are done as one
 * such call per piece, so interrupts are never off for long, and two writers
 * of one file may interleave at piece boundaries. Call from tasks or from
 * cell_init, never from inside a ramfs_list callback.
 */
#ifndef CELLS_RAMFS_H
#define CELLS_RAMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/token.h>

#define RAMFS_SERVER    "ramfs"          /* the server name tokens are sealed for */
#define RAMFS_NAME_MAX  39               /* bytes in a file name: 47 minus "ramfs/f/" */
#define RAMFS_CHUNK     4096u            /* bytes of file data per state_db record */
#define RAMFS_FILE_MAX  (16u << 20)      /* bytes in one file: 16 MiB */
#define RAMFS_FILES_MAX 4096u            /* files at once (file ids 1..RAMFS_FILES_MAX) */

/* ramfs_open flags. At least one of READ and WRITE; APPEND and TRUNC need
 * WRITE; EXCL needs CREATE. */
enum ramfs_open_flags {
	RAMFS_O_READ   = 1u << 0,   /* the token may read */
	RAMFS_O_WRITE  = 1u << 1,   /* the token may write */
	RAMFS_O_APPEND = 1u << 2,   /* every write goes to the end of the file */
	RAMFS_O_CREATE = 1u << 3,   /* make the file if it does not exist */
	RAMFS_O_EXCL   = 1u << 4,   /* with CREATE: refuse if it exists */
	RAMFS_O_TRUNC  = 1u << 5,   /* empty the file first */
};

enum ramfs_whence { RAMFS_SEEK_SET = 0, RAMFS_SEEK_CUR = 1, RAMFS_SEEK_END = 2 };

enum ramfs_error {
	RAMFS_E_INVAL        = -1,   /* NULL pointer, bad flags or whence */
	RAMFS_E_NAME         = -2,   /* name empty, longer than RAMFS_NAME_MAX, or with a byte outside '!'..'~' */
	RAMFS_E_NOT_FOUND    = -3,   /* no file of that name */
	RAMFS_E_EXISTS       = -4,   /* open with CREATE|EXCL, or rename onto, an existing file */
	RAMFS_E_FULL         = -5,   /* RAMFS_FILES_MAX files exist */
	RAMFS_E_TOO_BIG      = -6,   /* the write would pass RAMFS_FILE_MAX */
	RAMFS_E_SEEK         = -7,   /* the new position would be negative or past RAMFS_FILE_MAX */
	RAMFS_E_MODE         = -8,   /* the token was not opened for reading (or writing) */
	RAMFS_E_STALE        = -9,   /* the token's file has been removed */
	RAMFS_E_FORGED       = -10,  /* the token was forged or altered */
	RAMFS_E_WRONG_SERVER = -11,  /* a genuine token, sealed for another server */
	RAMFS_E_NOT_TOKEN    = -12,  /* not a token, or not a ramfs token of a known format */
	RAMFS_E_NO_KEY       = -13,  /* no token key (is the tokens cell loaded?) */
	RAMFS_E_NOMEM        = -14,  /* state_db or the heap is out of memory */
	RAMFS_E_CORRUPT      = -15,  /* a ramfs record fails its checksum or is malformed */
	RAMFS_E_LAYOUT       = -16,  /* a record of a newer layout than this cell knows */
	RAMFS_E_STORE        = -17,  /* state_db refused for another reason */
};

/* What ramfs_stat and ramfs_fstat report. */
struct ramfs_stat {
	char name[RAMFS_NAME_MAX + 1];
	uint64_t size;         /* bytes */
	uint64_t gen;          /* generation: differs for every file ever created */
	uint64_t mtime_ns;     /* last write, time_ns(); 0 if unknown (layout 1 keeps none) */
	uint32_t id;           /* 1..RAMFS_FILES_MAX, reused after a remove */
	uint32_t mode;         /* permission bits, 0644 (kept, not enforced) */
	uint32_t layout;       /* the layout of the file's metadata record, 1 or 2 */
};

/*
 * Opens (with RAMFS_O_CREATE, possibly creates) the file `name` and seals a
 * token for it at position 0 into *out. Returns 0, or RAMFS_E_INVAL, _NAME,
 * _NOT_FOUND, _EXISTS, _FULL, _NO_KEY, _NOMEM, _CORRUPT, _LAYOUT, _STORE.
 */
int ramfs_open(const char *name, unsigned flags, struct token *out);

/*
 * Reads up to n bytes at the token's position into buf and advances the
 * token. Returns the count (0 at the end of the file) or a negative error:
 * the token errors (RAMFS_E_FORGED, _WRONG_SERVER, _NOT_TOKEN, _NO_KEY,
 * _STALE), RAMFS_E_MODE, _INVAL, _CORRUPT, _LAYOUT.
 */
int64_t ramfs_read(struct token *t, void *buf, size_t n);

/*
 * Writes n bytes from buf at the token's position (at the end, for a token
 * opened with RAMFS_O_APPEND), grows the file as needed and advances the
 * token. Returns n, a short count if the store ran out of memory part way,
 * or a negative error (those of ramfs_read, and RAMFS_E_TOO_BIG, _NOMEM).
 */
int64_t ramfs_write(struct token *t, const void *buf, size_t n);

/* Moves the token's position (may pass the end of the file); returns the
 * new position, or a token error, RAMFS_E_INVAL or RAMFS_E_SEEK. */
int64_t ramfs_seek(struct token *t, int64_t off, int whence);

/* Checks the token and wipes it (all zero). Returns 0 or a token error. */
int ramfs_close(struct token *t);

/* Fills *st for the file `name`. Returns 0, or RAMFS_E_INVAL, _NAME,
 * _NOT_FOUND, _CORRUPT, _LAYOUT. */
int ramfs_stat(const char *name, struct ramfs_stat *st);
/* The same for the token's file: 0, a token error, _INVAL, _CORRUPT, _LAYOUT. */
int ramfs_fstat(const struct token *t, struct ramfs_stat *st);

/* Called for each file by ramfs_list: st is NULL when the file's records
 * cannot be read (err says why). Returns false to stop the walk. */
typedef bool ramfs_list_fn(void *ctx, const char *name, const struct ramfs_stat *st, int err);

/* Calls fn for every file, in no particular order, while interrupts are off
 * (fn must be short and must not call ramfs). Returns the number of calls. */
int ramfs_list(ramfs_list_fn *fn, void *ctx);

/* Removes the file: its name, metadata and data records go, and tokens for
 * it become stale. A file whose records are damaged (RAMFS_E_CORRUPT) can be
 * removed too. Returns 0, RAMFS_E_INVAL, _NAME, _NOT_FOUND or _LAYOUT. */
int ramfs_remove(const char *name);

/* Renames `from` to `to` (refused with RAMFS_E_EXISTS if `to` exists;
 * renaming a file to its own name does nothing). Open tokens keep working. */
int ramfs_rename(const char *from, const char *to);

/* Rewrites every metadata record of an older layout in this cell's layout
 * (ramfs@2: layout 2; ramfs@1 has nothing older). Damaged records are left
 * as they are (they stay RAMFS_E_CORRUPT). Returns how many records it
 * rewrote, or the first error other than a damaged record (out of memory). */
int ramfs_migrate(void);
/*
 * ramfs_migrate with one inode to each critical section (every ramfs call
 * runs with interrupts off): the same records rewritten, with interrupts on
 * between two, for a migration run ahead of a swap's pause inside its
 * background transaction (cells/ramfs_v2/swap.c). ramfs@2 only.
 */
int ramfs_migrate_stepwise(void);

/* The layout this cell writes: 1 for ramfs@1, 2 for ramfs@2. */
uint32_t ramfs_layout(void);

/* A sentence naming err, e.g. "no such file". Never NULL. */
const char *ramfs_strerror(int err);

#endif
