/*
 * A queue of bytes kept in one state_db record: the record's data is the
 * queued bytes, oldest first, so its size is the queue's length. Used by the
 * console cells (serial, kbd, shell) for everything that must survive a swap
 * of the cell that holds the code: received bytes not yet delivered, output
 * not yet sent, keystrokes not yet read.
 *
 * Header-only on purpose: a cell carries no code of another cell's, so each
 * cell that includes this gets its own private copy of these functions.
 *
 * Every function here reads a record and then writes it back, so the caller
 * must run with interrupts off (irq_save) around the call: interrupt handlers
 * are the only other writers. A queue that does not exist yet is empty.
 */
#ifndef CELLS_SERIAL_BYTEQ_H
#define CELLS_SERIAL_BYTEQ_H

#include <stddef.h>
#include <stdint.h>

#include <delos/sdb.h>
#include <delos/string.h>

/* The largest queue: the scratch copy of an append lives on the stack. */
#define BYTEQ_MAX 1024u
#define BYTEQ_TYPE 0x51455942u /* "BYEQ" */
#define BYTEQ_VERSION 1u

/* Returns the queue's length, or a negative sdb error (a corrupt record). */
static inline int byteq_len(const char *name)
{
	const void *data;
	int n = sdb_view(name, &data, NULL);

	return n == STATEDB_E_NOT_FOUND ? 0 : n;
}

/* Creates the queue empty if it does not exist; returns 0 or an sdb error. */
static inline int byteq_create(const char *owner, const char *name)
{
	int err = sdb_create(owner, name, BYTEQ_TYPE, BYTEQ_VERSION, NULL, 0);

	return err == STATEDB_E_EXISTS ? 0 : err;
}

/*
 * Appends up to len bytes, as many as fit below cap (at most BYTEQ_MAX).
 * Returns how many were appended (0 when the queue is full), or a negative
 * sdb error, in which case nothing changed.
 */
static inline int byteq_push(const char *owner, const char *name, const void *buf, size_t len,
			     size_t cap)
{
	char scratch[BYTEQ_MAX];
	const void *old;
	int have = sdb_view(name, &old, NULL);

	if (have == STATEDB_E_NOT_FOUND)
		have = 0;
	if (have < 0)
		return have;
	cap = cap < BYTEQ_MAX ? cap : BYTEQ_MAX;
	size_t n = (size_t)have >= cap ? 0 : cap - (size_t)have;
	n = n < len ? n : len;
	if (n == 0)
		return 0;
	memcpy(scratch, old, (size_t)have);
	memcpy(scratch + have, buf, n);
	int err = sdb_put(owner, name, BYTEQ_TYPE, BYTEQ_VERSION, scratch, (size_t)have + n);
	return err < 0 ? err : (int)n;
}

/*
 * Copies up to n bytes from the front into out (out may be NULL to just
 * look) without removing them. Returns how many, or a negative sdb error.
 */
static inline int byteq_peek(const char *name, void *out, size_t n)
{
	const void *data;
	int have = sdb_view(name, &data, NULL);

	if (have == STATEDB_E_NOT_FOUND)
		return 0;
	if (have < 0)
		return have;
	n = n < (size_t)have ? n : (size_t)have;
	if (out)
		memcpy(out, data, n);
	return (int)n;
}

/* Removes up to n bytes from the front; returns how many, or a negative sdb error. */
static inline int byteq_drop(const char *name, size_t n)
{
	const void *data;
	int have = sdb_view(name, &data, NULL);

	if (have == STATEDB_E_NOT_FOUND)
		return 0;
	if (have < 0)
		return have;
	n = n < (size_t)have ? n : (size_t)have;
	if (n == 0)
		return 0;
	/* The update copies the tail into a fresh buffer before retiring this one. */
	int err = sdb_update(name, BYTEQ_VERSION, (const char *)data + n, (size_t)have - n);
	return err < 0 ? err : (int)n;
}

/* byteq_peek then byteq_drop of what was copied. */
static inline int byteq_pop(const char *name, void *out, size_t n)
{
	int got = byteq_peek(name, out, n);

	return got <= 0 ? got : byteq_drop(name, (size_t)got);
}

#endif
