/* Blocks, records and the retired list of state_db; see internal.h. */
#include "state_db/internal.h"

/* The spare class of a block of size bytes, or -1 for a block too big to keep. */
static int spare_class(size_t size)
{
	size_t c = (size + STATEDB_SPARE_CLASS - 1) / STATEDB_SPARE_CLASS;

	return c && c <= STATEDB_SPARE_CLASSES ? (int)c - 1 : -1;
}

/*
 * Returns size bytes with a block header filled in, or NULL: a spare block
 * of its class if there is one, else from the root's allocator. A small
 * block is always taken rounded up to its class, so that any block of a
 * class can serve any size of it.
 */
void *sdb_alloc(struct state_db *db, size_t size)
{
	int c = spare_class(size);
	struct sdb_block *b;

	if (c >= 0 && (b = db->spare[c])) {
		db->spare[c] = b->next;
		db->spare_n[c]--;
		db->spares--;
		db->mem_bytes = db->mem_bytes - b->size + size;
	} else {
		b = db->alloc(db->alloc_ctx, c >= 0 ? (size_t)(c + 1) * STATEDB_SPARE_CLASS : size);
		if (!b)
			return NULL;
		db->mem_bytes += size;
		db->blocks++;
	}
	b->next = NULL;
	b->size = size;
	return b;
}

/* Gives b back to the allocator, whatever the spare lists hold. */
static void free_block(struct state_db *db, struct sdb_block *b)
{
	db->mem_bytes -= b->size;
	db->blocks--;
	db->free(db->alloc_ctx, b);
}

void sdb_free(struct state_db *db, struct sdb_block *b)
{
	int c = spare_class(b->size);

	if (!db->spares_on || c < 0 || db->spare_n[c] >= STATEDB_SPARE_DEPTH) {
		free_block(db, b);
		return;
	}
	b->next = db->spare[c];
	db->spare[c] = b;
	db->spare_n[c]++;
	db->spares++;
}

/* Gives every spare block back to the allocator. */
void sdb_spares_free(struct state_db *db)
{
	for (uint32_t c = 0; c < STATEDB_SPARE_CLASSES; c++) {
		struct sdb_block *b;

		while ((b = db->spare[c])) {
			db->spare[c] = b->next;
			free_block(db, b);
		}
		db->spare_n[c] = 0;
	}
	if (db->txn_spare)
		free_block(db, &db->txn_spare->block);
	db->txn_spare = NULL;
	db->spares = 0;
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
void sdb_reclaim_retired(struct state_db *db)
{
	if (__atomic_load_n(&db->readers, __ATOMIC_SEQ_CST) == 0)
		sdb_free_retired(db);
}

/* Takes b, already unpublished, out of use: freed now or once readers leave. */
void sdb_retire(struct state_db *db, struct sdb_block *b)
{
	if (!db->retired && __atomic_load_n(&db->readers, __ATOMIC_SEQ_CST) == 0) {
		sdb_free(db, b);	/* what sdb_reclaim would do at once, without the list */
		return;
	}
	sdb_retire_later(db, b);
	sdb_reclaim(db);
}

bool sdb_fail_at(struct state_db *db, int step)
{
	uint64_t fn = cellref_resolve(&db->fail_point);

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
 * Builds a record in a fresh block: hdr's fields from crc on (seq is the
 * store's next, the in-place fields start afresh), then hdr->len bytes of
 * data, then the checksum, asking the fail point after each step. With
 * `from` (a record whose header hdr is, same length included), the header
 * CRC is from's and the checksum is from's patched over the data that
 * changes (sdb_crc_patch), so the cost is O(len) with no header pass, and a
 * corruption of from is carried into the new value, never hidden. Sets
 * *out and returns STATEDB_OK, or frees what it allocated and returns
 * STATEDB_E_NOMEM or STATEDB_E_ABORTED.
 */
static int build(struct state_db *db, const struct sdb_rec *hdr, const struct sdb_rec *from,
		 const void *data, struct sdb_rec **out)
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
	r->hcrc = from ? from->hcrc : sdb_crc(db, 0, (const char *)r + HDR_FROM, HDR_TO - HDR_FROM);
	if (sdb_fail(db, STATEDB_STEP_HEADER))
		goto abort;
	copy_part(r->data, data, 0, half);
	if (sdb_fail(db, STATEDB_STEP_DATA_HALF))
		goto abort;
	copy_part(r->data, data, half, hdr->len - half);
	if (sdb_fail(db, STATEDB_STEP_DATA))
		goto abort;
	r->crc = from ? sdb_crc_patch(db, from->crc, from->data, r->data, r->len, 0)
		      : sdb_crc(db, r->hcrc, r->data, r->len);
	if (sdb_fail(db, STATEDB_STEP_CHECKSUM))
		goto abort;
	*out = r;
	return STATEDB_OK;
abort:
	sdb_free(db, &r->block);
	return STATEDB_E_ABORTED;
}

int sdb_rec_build(struct state_db *db, const struct sdb_rec *hdr, const void *data,
		  struct sdb_rec **out)
{
	return build(db, hdr, NULL, data, out);
}

/* A new value of from with the same header (length included) and new data. */
int sdb_rec_rebuild(struct state_db *db, const struct sdb_rec *from, const void *data,
		    struct sdb_rec **out)
{
	return build(db, from, from, data, out);
}
