/* Blocks, records and the retired list of state_db; see internal.h. */
#include "state_db/internal.h"

/* Returns size bytes from the root's allocator with a block header filled
 * in, or NULL. */
void *sdb_alloc(struct state_db *db, size_t size)
{
	struct sdb_block *b = db->alloc(db->alloc_ctx, size);

	if (!b)
		return NULL;
	b->next = NULL;
	b->size = size;
	db->mem_bytes += size;
	db->blocks++;
	return b;
}

void sdb_free(struct state_db *db, struct sdb_block *b)
{
	db->mem_bytes -= b->size;
	db->blocks--;
	db->free(db->alloc_ctx, b);
}

/* Frees every retired block, whether or not a reader is inside. */
void sdb_free_retired(struct state_db *db)
{
	struct sdb_block *b;

	while ((b = db->retired)) {
		db->retired = b->next;
		db->retired_count--;
		sdb_free(db, b);
	}
}

/*
 * Frees the retired blocks if no read section is open. The sequentially
 * consistent load pairs with the increment in statedb_read_begin: a reader
 * that enters after this load also sees every store that unpublished these
 * blocks, so it cannot reach them.
 */
void sdb_reclaim(struct state_db *db)
{
	if (__atomic_load_n(&db->readers, __ATOMIC_SEQ_CST) == 0)
		sdb_free_retired(db);
}

/* Takes b, already unpublished, out of use: freed now or once readers leave. */
void sdb_retire(struct state_db *db, struct sdb_block *b)
{
	b->next = db->retired;
	db->retired = b;
	db->retired_count++;
	sdb_reclaim(db);
}

bool sdb_fail(struct state_db *db, int step)
{
	uint64_t fn;

	if (!db->fail_point.cell[0])
		return false;
	fn = cellref_resolve(&db->fail_point);
	return fn && ((statedb_fail_fn *)(uintptr_t)fn)(db->fail_arg, step);
}

/* Returns the length of s if it is 1..max bytes, each in '!'..'~'; else -1. */
int sdb_text_len(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return -1;
	for (n = 0; s[n]; n++)
		if (n == max || s[n] < '!' || s[n] > '~')
			return -1;
	return n ? (int)n : -1;
}

#define HDR_FROM offsetof(struct sdb_rec, type)
#define HDR_TO   (offsetof(struct sdb_rec, name) + sizeof(((struct sdb_rec *)0)->name))

/* The data size as far as the block bounds it: len, unless len is corrupt. */
size_t sdb_rec_size(const struct sdb_rec *r)
{
	size_t cap = sdb_rec_cap(r);

	return r->len < cap ? r->len : cap;
}

/* CRC-32C of the header from `type` to the end of `name`, then of r->len
 * bytes of data: the caller has checked that len fits the block. */
uint32_t sdb_rec_crc(const struct sdb_rec *r)
{
	uint32_t crc = statedb_crc32c(0, (const char *)r + HDR_FROM, HDR_TO - HDR_FROM);

	return statedb_crc32c(crc, r->data, r->len);
}

static bool rec_check(const struct state_db *db, const struct sdb_rec *r, const char *name)
{
	uint32_t crc;

	if (r->len > STATEDB_DATA_MAX || r->block.size < sizeof *r || r->len > sdb_rec_cap(r))
		return false;
	crc = db ? sdb_crc(db, 0, (const char *)r + HDR_FROM, HDR_TO - HDR_FROM)
		 : statedb_crc32c(0, (const char *)r + HDR_FROM, HDR_TO - HDR_FROM);
	crc = db ? sdb_crc(db, crc, r->data, r->len) : statedb_crc32c(crc, r->data, r->len);
	if (crc != r->crc)
		return false;
	return strncmp(r->name, name, sizeof r->name) == 0;
}

/*
 * Returns true if r is intact: its length fits its block (checked first, so
 * no read leaves the block), its checksum matches (computed from the header
 * itself, not from hcrc), and it carries the name its index slot gives it.
 * The caller excludes in-place writers of r (or checks wseq around it).
 */
bool sdb_rec_ok(const struct sdb_rec *r, const char *name)
{
	return rec_check(NULL, r, name);
}

/* sdb_rec_ok with the root's choice of CRC code. */
bool sdb_rec_verify(const struct state_db *db, const struct sdb_rec *r, const char *name)
{
	return rec_check(db, r, name);
}

/* Copies n bytes at offset `at` of src into dst; nothing when n is 0 (src
 * may then be NULL). */
static void copy_part(unsigned char *dst, const void *src, size_t at, size_t n)
{
	if (n)
		memcpy(dst + at, (const unsigned char *)src + at, n);
}

/*
 * Builds a record in a fresh block: hdr's fields from crc on (crc itself is
 * recomputed, seq is the store's next, the in-place fields start afresh), then
 * hdr->len bytes of data, then the checksum, asking the
 * fail point after each step. Sets *out and returns STATEDB_OK, or frees what
 * it allocated and returns STATEDB_E_NOMEM or STATEDB_E_ABORTED.
 */
int sdb_rec_build(struct state_db *db, const struct sdb_rec *hdr, const void *data,
		  struct sdb_rec **out)
{
	const size_t fields = sizeof *hdr - offsetof(struct sdb_rec, crc);
	size_t half = hdr->len / 2;
	struct sdb_rec *r = sdb_alloc(db, sizeof *r + hdr->len);

	*out = NULL;
	if (!r)
		return STATEDB_E_NOMEM;
	if (sdb_fail(db, STATEDB_STEP_ALLOC))
		goto abort;
	memcpy(&r->crc, &hdr->crc, fields);
	r->seq = ++db->seq;
	r->wseq = 0;
	r->hidx = 0;
	r->hcrc = sdb_crc(db, 0, (const char *)r + HDR_FROM, HDR_TO - HDR_FROM);
	if (sdb_fail(db, STATEDB_STEP_HEADER))
		goto abort;
	copy_part(r->data, data, 0, half);
	if (sdb_fail(db, STATEDB_STEP_DATA_HALF))
		goto abort;
	copy_part(r->data, data, half, hdr->len - half);
	if (sdb_fail(db, STATEDB_STEP_DATA))
		goto abort;
	r->crc = sdb_crc(db, r->hcrc, r->data, r->len);
	if (sdb_fail(db, STATEDB_STEP_CHECKSUM))
		goto abort;
	*out = r;
	return STATEDB_OK;
abort:
	sdb_free(db, &r->block);
	return STATEDB_E_ABORTED;
}
