/*
 * File data: chunk records "ramfs/d/ID.GEN/N" of up to RAMFS_CHUNK bytes.
 *
 * A write stores a chunk, then the inode's new size. If the second step
 * fails, a chunk it created is deleted again, but one it extended keeps
 * bytes past the file's size. Those are never read: reads stop at the size,
 * and a write that extends the file first trims the chunk that holds the
 * end of the file, so a later size never covers them.
 */
#include "cells/ramfs/fs.h"
#include "cells/ramfs/store.h"

#ifdef DELOS_HOST
#include <string.h>
#else
#include <delos/string.h>
#endif

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Views chunk idx; *len is 0 (and *data NULL) when the record does not exist. */
static int chunk_view(const struct rfs_inode *ino, uint32_t idx, const uint8_t **data,
		      size_t *len)
{
	char rec[RFS_RECNAME_MAX];
	struct statedb_meta meta;
	const void *p = NULL;
	int n;

	rfs_name_data(rec, ino->id, ino->gen, idx);
	n = rfs_store_view(rec, &p, &meta);
	*data = p;
	*len = 0;
	if (n == STATEDB_E_NOT_FOUND)
		return 0;
	if (n < 0)
		return rfs_store_error(n);
	if (meta.type != RAMFS_TYPE_DATA || (size_t)n > RAMFS_CHUNK)
		return RAMFS_E_CORRUPT;
	*len = (size_t)n;
	return 0;
}

/* Bytes [off, off + k) of chunk idx into buf, zeros where it holds none. */
static int chunk_read(const struct rfs_inode *ino, uint32_t idx, size_t off, uint8_t *buf,
		      size_t k)
{
	const uint8_t *data;
	size_t len, have;
	int err = chunk_view(ino, idx, &data, &len);

	if (err)
		return err;
	have = len > off ? min_size(k, len - off) : 0;
	if (have)
		memcpy(buf, data + off, have);
	memset(buf + have, 0, k - have);
	return 0;
}

int rfs_data_read(const struct rfs_inode *ino, uint64_t pos, void *buf, size_t n)
{
	uint8_t *out = buf;

	while (n) {
		size_t off = pos % RAMFS_CHUNK, k = min_size(n, RAMFS_CHUNK - off);
		int err = chunk_read(ino, (uint32_t)(pos / RAMFS_CHUNK), off, out, k);
		if (err)
			return err;
		pos += k;
		out += k;
		n -= k;
	}
	return 0;
}

/*
 * Writes src[0..k) at off in chunk idx, keeping the chunk's other bytes and
 * zeroing any gap before off. Sets *created when the record did not exist.
 */
static int chunk_write(const struct rfs_inode *ino, uint32_t idx, size_t off, const uint8_t *src,
		       size_t k, bool *created)
{
	char rec[RFS_RECNAME_MAX];
	const uint8_t *old;
	size_t keep, new_len;
	uint8_t *buf;
	int err = chunk_view(ino, idx, &old, &keep);

	if (err)
		return err;
	*created = old == NULL;
	new_len = keep > off + k ? keep : off + k;
	rfs_name_data(rec, ino->id, ino->gen, idx);
	if (off == 0 && k == new_len)
		return rfs_store_error(rfs_store_put(rec, RAMFS_TYPE_DATA, 1, src, k));
	buf = rfs_store_alloc(new_len);
	if (!buf)
		return RAMFS_E_NOMEM;
	if (old)
		memcpy(buf, old, min_size(keep, off));
	if (keep < off)
		memset(buf + keep, 0, off - keep);
	memcpy(buf + off, src, k);
	if (keep > off + k)
		memcpy(buf + off + k, old + off + k, keep - off - k);
	err = rfs_store_put(rec, RAMFS_TYPE_DATA, 1, buf, new_len);
	rfs_store_free(buf);
	return rfs_store_error(err);
}

/* Records that the file now reaches `end` (and, in layout 2, was written now). */
static int grow(const struct rfs *fs, struct rfs_inode *ino, uint64_t end)
{
	struct rfs_inode next = *ino;

	if (next.size < end)
		next.size = end;
	if (fs->layout >= 2)
		next.mtime_ns = fs->now_ns;
	if (next.size == ino->size && next.mtime_ns == ino->mtime_ns && next.layout == fs->layout)
		return 0;
	int err = rfs_inode_save(fs, &next);
	if (!err)
		*ino = next;
	return err;
}

static void chunk_delete(uint32_t id, uint64_t gen, uint32_t idx)
{
	char rec[RFS_RECNAME_MAX];

	rfs_name_data(rec, id, gen, idx);
	rfs_store_delete(rec);
}

/* Cuts the chunk holding the end of the file back to the file's size. */
static int trim_tail(const struct rfs_inode *ino)
{
	char rec[RFS_RECNAME_MAX];
	uint32_t idx = (uint32_t)(ino->size / RAMFS_CHUNK);
	size_t valid = ino->size % RAMFS_CHUNK, len;
	const uint8_t *data;
	int err = chunk_view(ino, idx, &data, &len);

	if (err || len <= valid)
		return err;
	rfs_name_data(rec, ino->id, ino->gen, idx);
	if (!valid)
		return rfs_store_error(rfs_store_delete(rec));
	return rfs_store_error(rfs_store_put(rec, RAMFS_TYPE_DATA, 1, data, valid));
}

int64_t rfs_data_write(const struct rfs *fs, struct rfs_inode *ino, uint64_t pos,
		       const void *buf, size_t n)
{
	const uint8_t *src = buf;
	size_t done = 0;
	int err = n && pos + n > ino->size ? trim_tail(ino) : 0;

	while (!err && done < n) {
		uint64_t at = pos + done;
		uint32_t idx = (uint32_t)(at / RAMFS_CHUNK);
		size_t off = at % RAMFS_CHUNK, k = min_size(n - done, RAMFS_CHUNK - off);
		bool created;

		err = chunk_write(ino, idx, off, src + done, k, &created);
		if (err)
			break;
		err = grow(fs, ino, at + k);
		if (err) {
			if (created)
				chunk_delete(ino->id, ino->gen, idx);
			break;
		}
		done += k;
	}
	return done ? (int64_t)done : err;
}

void rfs_data_drop(uint32_t id, uint64_t gen, uint64_t size, uint32_t first)
{
	uint64_t chunks = (size + RAMFS_CHUNK - 1) / RAMFS_CHUNK;

	for (uint64_t i = first; i < chunks; i++)
		chunk_delete(id, gen, (uint32_t)i);
}
