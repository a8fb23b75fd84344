/*
 * Kernel heap: boundary-tagged blocks, segregated free lists, immediate
 * coalescing. See delos/heap.h for the design and the contract.
 */
#include "nano_core/heap.h"

#define HDR_SIZE   16u
#define FTR_SIZE   8u
#define OVERHEAD   (HDR_SIZE + FTR_SIZE)
#define MIN_BLOCK  48u            /* header, two list links, footer, rounded to 16 */
#define FREE_BIT   1ull
#define SIZE_MASK  (~(uint64_t)(HEAP_ALIGN - 1))
#define MAGIC_USED 0xa110c8edu
#define MAGIC_FREE 0xf4eeb10cu
#define MIN_CLASS  5              /* log2 of the smallest class: [32, 64) */

struct block {
	uint64_t size_flags;      /* block size, a multiple of 16, | FREE_BIT */
	uint32_t magic;           /* MAGIC_USED or MAGIC_FREE, xor the address */
	uint32_t slack;           /* usable minus requested bytes; 0 when free */
};

struct heap_free {
	struct heap_free *next, *prev;
};

_Static_assert(sizeof(struct block) == HDR_SIZE, "block header must keep payloads 16-aligned");
_Static_assert(HDR_SIZE + sizeof(struct heap_free) + FTR_SIZE <= MIN_BLOCK, "MIN_BLOCK too small");

static uint64_t bsize(const struct block *b)
{
	return b->size_flags & SIZE_MASK;
}

static bool is_free(const struct block *b)
{
	return b->size_flags & FREE_BIT;
}

static uint32_t magic_for(const struct block *b, bool free)
{
	return (free ? MAGIC_FREE : MAGIC_USED) ^ (uint32_t)((uintptr_t)b >> 4);
}

static uint64_t *footer(const struct block *b)
{
	return (uint64_t *)((uintptr_t)b + bsize(b) - FTR_SIZE);
}

static struct heap_free *links(struct block *b)
{
	return (struct heap_free *)(b + 1);
}

static struct block *block_of(const void *payload)
{
	return (struct block *)((uintptr_t)payload - HDR_SIZE);
}

/* Writes header and footer; slack is kept only for used blocks. */
static void set_block(struct block *b, uint64_t size, bool free, uint32_t slack)
{
	b->size_flags = size | (free ? FREE_BIT : 0);
	b->magic = magic_for(b, free);
	b->slack = free ? 0 : slack;
	*footer(b) = b->size_flags;
}

static unsigned size_class(uint64_t size)
{
	unsigned c = 63u - (unsigned)__builtin_clzll(size) - MIN_CLASS;

	return c < HEAP_NBINS ? c : HEAP_NBINS - 1;
}

static void list_insert(struct heap *h, struct block *b)
{
	unsigned c = size_class(bsize(b));
	struct heap_free *f = links(b);

	f->prev = NULL;
	f->next = h->bins[c];
	if (f->next)
		f->next->prev = f;
	h->bins[c] = f;
	h->bin_mask |= 1ull << c;
	h->free_blocks++;
}

static void list_remove(struct heap *h, struct block *b)
{
	unsigned c = size_class(bsize(b));
	struct heap_free *f = links(b);

	if (f->prev)
		f->prev->next = f->next;
	else
		h->bins[c] = f->next;
	if (f->next)
		f->next->prev = f->prev;
	if (!h->bins[c])
		h->bin_mask &= ~(1ull << c);
	h->free_blocks--;
}

/* The block after b, or NULL if b is the last one. */
static struct block *next_block(const struct heap *h, const struct block *b)
{
	uintptr_t n = (uintptr_t)b + bsize(b);

	return n < h->end ? (struct block *)n : NULL;
}

/* The block before b, found through its footer, or NULL if b is the first. */
static struct block *prev_block(const struct heap *h, const struct block *b)
{
	if ((uintptr_t)b == h->start)
		return NULL;
	uint64_t size = *(const uint64_t *)((uintptr_t)b - FTR_SIZE) & SIZE_MASK;
	return (struct block *)((uintptr_t)b - size);
}

/* Checks that a block's header is one the heap wrote and its footer agrees. */
static int check_block(const struct heap *h, const struct block *b)
{
	uint64_t size = bsize(b);

	if (b->magic != magic_for(b, is_free(b)))
		return HEAP_E_BAD_HEADER;
	if (size < MIN_BLOCK || size > h->end - (uintptr_t)b ||
	    (!is_free(b) && b->slack > size - OVERHEAD))
		return HEAP_E_BAD_HEADER;
	if (*footer(b) != b->size_flags)
		return HEAP_E_BAD_FOOTER;
	return HEAP_OK;
}

/* True if f could be the list links of a block in h. */
static bool links_in_heap(const struct heap *h, const struct heap_free *f)
{
	uintptr_t a = (uintptr_t)f;

	return a % HEAP_ALIGN == 0 && a >= h->start + HDR_SIZE && a <= h->end - (MIN_BLOCK - HDR_SIZE);
}

/* Checks a block before it is merged: its header, and its list links if it is free. */
static bool mergeable(const struct heap *h, const struct block *b)
{
	const struct heap_free *f = (const struct heap_free *)(b + 1);

	if (check_block(h, b) != HEAP_OK)
		return false;
	if (!is_free(b))
		return true;
	if (f->next && (!links_in_heap(h, f->next) || f->next->prev != f))
		return false;
	if (f->prev)
		return links_in_heap(h, f->prev) && f->prev->next == f;
	return h->bins[size_class(bsize(b))] == f;
}

/* Checks the neighbours a free of b would merge with. */
static int check_neighbours(const struct heap *h, const struct block *b)
{
	struct block *n = next_block(h, b);

	if (n && !mergeable(h, n))
		return HEAP_E_NEIGHBOUR;
	if ((uintptr_t)b == h->start)
		return HEAP_OK;
	uint64_t psize = *(const uint64_t *)((uintptr_t)b - FTR_SIZE) & SIZE_MASK;
	if (psize < MIN_BLOCK || psize > (uintptr_t)b - h->start)
		return HEAP_E_NEIGHBOUR;
	return mergeable(h, prev_block(h, b)) ? HEAP_OK : HEAP_E_NEIGHBOUR;
}

/* Checks that p is a live allocation of h, without changing anything. */
static int check_live(const struct heap *h, const void *p, struct block **out)
{
	uintptr_t a = (uintptr_t)p;

	if (h->end - h->start < MIN_BLOCK || a % HEAP_ALIGN || a < h->start + HDR_SIZE ||
	    a > h->end - (MIN_BLOCK - HDR_SIZE))
		return HEAP_E_NOT_HEAP;
	struct block *b = block_of(p);
	if (b->magic == magic_for(b, true))
		return HEAP_E_DOUBLE_FREE;
	if (is_free(b))
		return HEAP_E_BAD_HEADER;
	int err = check_block(h, b);
	if (err == HEAP_OK)
		err = check_neighbours(h, b);
	*out = b;
	return err;
}

/* Marks b free, merges it with free neighbours and files the result. */
static void release(struct heap *h, struct block *b, uint64_t size)
{
	struct block *n = (uintptr_t)b + size < h->end ? (struct block *)((uintptr_t)b + size) : NULL;

	if (n && is_free(n)) {
		list_remove(h, n);
		size += bsize(n);
	}
	set_block(b, size, true, 0);
	struct block *p = prev_block(h, b);
	if (p && is_free(p)) {
		list_remove(h, p);
		set_block(p, bsize(p) + size, true, 0);
		b = p;
	}
	list_insert(h, b);
}

/* Gives back the tail of used block b beyond keep bytes, if it can be a block. */
static void trim(struct heap *h, struct block *b, uint64_t keep)
{
	uint64_t size = bsize(b);

	if (size - keep < MIN_BLOCK)
		return;
	set_block(b, keep, false, b->slack);
	release(h, (struct block *)((uintptr_t)b + keep), size - keep);
}

/* The whole block size serving a request of n bytes; 0 if n is too big. */
static uint64_t block_size_for(size_t n)
{
	if (n > HEAP_MAX_ALLOC)
		return 0;
	uint64_t size = ((uint64_t)n + OVERHEAD + HEAP_ALIGN - 1) & SIZE_MASK;
	return size < MIN_BLOCK ? MIN_BLOCK : size;
}

/* Finds a free block of at least need bytes and takes it off its list. */
static struct block *find_fit(struct heap *h, uint64_t need)
{
	unsigned c = size_class(need);

	for (struct heap_free *f = h->bins[c]; f; f = f->next) {
		struct block *b = block_of(f);
		if (bsize(b) >= need) {
			list_remove(h, b);
			return b;
		}
	}
	uint64_t larger = c + 1 < HEAP_NBINS ? h->bin_mask & ~((2ull << c) - 1) : 0;
	if (!larger)
		return NULL;
	struct block *b = block_of(h->bins[__builtin_ctzll(larger)]);
	list_remove(h, b);
	return b;
}

/* Grows the heap so that a free block of need bytes ends it; takes that block off its list. */
static struct block *grow_heap(struct heap *h, uint64_t need)
{
	struct block *last = h->end > h->start ? prev_block(h, (struct block *)h->end) : NULL;
	uint64_t have = last && is_free(last) ? bsize(last) : 0;
	uint64_t bytes = (need - have + HEAP_GROW_UNIT - 1) & ~(uint64_t)(HEAP_GROW_UNIT - 1);

	if (bytes > UINTPTR_MAX - h->end || !h->grow || !h->grow(h->grow_ctx, (void *)h->end, bytes))
		return NULL;
	struct block *b = (struct block *)h->end;
	h->end += bytes;
	if (have) {
		list_remove(h, last);
		b = last;
	}
	set_block(b, have + bytes, true, 0);
	return b;
}

/* Turns free block b (off its list) into a used block for a request of n bytes. */
static void *hand_out(struct heap *h, struct block *b, uint64_t need, size_t n)
{
	set_block(b, bsize(b), false, (uint32_t)(bsize(b) - OVERHEAD - n));
	trim(h, b, need);
	b->slack = (uint32_t)(bsize(b) - OVERHEAD - n);
	h->used_bytes += bsize(b);
	h->requested_bytes += n;
	h->live++;
	h->allocs++;
	return b + 1;
}

void heap_init(struct heap *h, void *start, heap_grow_fn *grow, void *ctx)
{
	uintptr_t s = ((uintptr_t)start + HEAP_ALIGN - 1) & ~(uintptr_t)(HEAP_ALIGN - 1);

	*h = (struct heap){ .start = s, .end = s, .grow = grow, .grow_ctx = ctx };
}

void *heap_alloc(struct heap *h, size_t size)
{
	uint64_t need = block_size_for(size);

	if (!need)
		return NULL;
	struct block *b = find_fit(h, need);
	if (!b)
		b = grow_heap(h, need);
	return b ? hand_out(h, b, need, size) : NULL;
}

/* Frees the part of used block b before the first 'align'-aligned payload that leaves room for a block. */
static struct block *align_block(struct heap *h, struct block *b, size_t align)
{
	uintptr_t p = (uintptr_t)(b + 1);
	uintptr_t q = (p + align - 1) & ~(uintptr_t)(align - 1);

	if (q == p)
		return b;
	if (q - p < MIN_BLOCK)
		q += align;
	struct block *a = block_of((void *)q);
	uint64_t front = q - p;
	set_block(a, bsize(b) - front, false, 0);
	h->used_bytes -= front;
	release(h, b, front);
	return a;
}

void *heap_alloc_aligned(struct heap *h, size_t size, size_t align)
{
	if (align & (align - 1) || align > HEAP_GROW_UNIT)
		return NULL;
	if (align <= HEAP_ALIGN)
		return heap_alloc(h, size);
	uint64_t need = block_size_for(size);
	if (!need)
		return NULL;
	void *p = heap_alloc(h, need - OVERHEAD + align + MIN_BLOCK);
	if (!p)
		return NULL;
	struct block *b = block_of(p);
	h->requested_bytes -= bsize(b) - OVERHEAD - b->slack;
	b = align_block(h, b, align);
	h->used_bytes -= bsize(b);
	trim(h, b, need);
	b->slack = (uint32_t)(bsize(b) - OVERHEAD - size);
	h->used_bytes += bsize(b);
	h->requested_bytes += size;
	return b + 1;
}

/* Resizes used block b in place to need bytes if it fits, merging a free successor. */
static bool resize_in_place(struct heap *h, struct block *b, uint64_t need, size_t size)
{
	struct block *n = next_block(h, b);
	uint64_t size0 = bsize(b), requested0 = size0 - OVERHEAD - b->slack;

	if (need > size0) {
		if (!n || !is_free(n) || size0 + bsize(n) < need)
			return false;
		list_remove(h, n);
		set_block(b, size0 + bsize(n), false, 0);
	}
	h->requested_bytes -= requested0;
	h->used_bytes -= size0;
	trim(h, b, need);
	b->slack = (uint32_t)(bsize(b) - OVERHEAD - size);
	h->used_bytes += bsize(b);
	h->requested_bytes += size;
	return true;
}

void *heap_realloc(struct heap *h, void *p, size_t size)
{
	struct block *b;

	if (!p)
		return heap_alloc(h, size);
	uint64_t need = block_size_for(size);
	if (!need || check_live(h, p, &b) != HEAP_OK)
		return NULL;
	if (resize_in_place(h, b, need, size))
		return p;
	void *q = heap_alloc(h, size);
	if (!q)
		return NULL;
	size_t old = bsize(b) - OVERHEAD - b->slack;
	__builtin_memcpy(q, p, old < size ? old : size);
	heap_free(h, p);
	return q;
}

int heap_free(struct heap *h, void *p)
{
	struct block *b;

	if (!p)
		return HEAP_OK;
	int err = check_live(h, p, &b);
	if (err)
		return err;
	h->used_bytes -= bsize(b);
	h->requested_bytes -= bsize(b) - OVERHEAD - b->slack;
	h->live--;
	h->frees++;
	release(h, b, bsize(b));
	return HEAP_OK;
}

size_t heap_usable_size(const struct heap *h, const void *p)
{
	struct block *b;

	if (!p || check_live(h, p, &b) != HEAP_OK)
		return 0;
	return bsize(b) - OVERHEAD;
}

void heap_stats(const struct heap *h, struct heap_stats *s)
{
	size_t largest = 0;

	if (h->bin_mask) {
		unsigned c = 63u - (unsigned)__builtin_clzll(h->bin_mask);
		for (const struct heap_free *f = h->bins[c]; f; f = f->next) {
			size_t size = bsize(block_of(f));
			largest = size > largest ? size : largest;
		}
	}
	*s = (struct heap_stats){
		.heap_bytes = h->end - h->start,
		.used_bytes = h->used_bytes,
		.requested_bytes = h->requested_bytes,
		.free_bytes = h->end - h->start - h->used_bytes,
		.free_blocks = h->free_blocks,
		.largest_free = largest,
		.live = h->live,
		.total_allocs = h->allocs,
		.total_frees = h->frees,
	};
}

struct walk_totals {
	size_t used, requested, live, free_blocks;
};

/* Walks the blocks in address order, checking each and adding up what it finds. */
static int check_blocks(const struct heap *h, struct walk_totals *t)
{
	bool prev_free = false;

	for (uintptr_t a = h->start; a < h->end;) {
		const struct block *b = (const struct block *)a;
		if (h->end - a < MIN_BLOCK)
			return HEAP_E_BAD_HEADER;
		int err = check_block(h, b);
		if (err)
			return err;
		if (is_free(b) && prev_free)
			return HEAP_E_ADJACENT_FREE;
		prev_free = is_free(b);
		t->free_blocks += prev_free;
		if (!prev_free) {
			t->used += bsize(b);
			t->requested += bsize(b) - OVERHEAD - b->slack;
			t->live++;
		}
		a += bsize(b);
	}
	return HEAP_OK;
}

/* Checks one free list: free blocks of the right class, consistent back links, bounded length. */
static int check_list(const struct heap *h, unsigned c, size_t *count, size_t limit)
{
	const struct heap_free *prev = NULL;

	for (const struct heap_free *f = h->bins[c]; f; prev = f, f = f->next) {
		uintptr_t a = (uintptr_t)f;
		if (++*count > limit || a % HEAP_ALIGN || a < h->start + HDR_SIZE || a >= h->end)
			return HEAP_E_FREE_LIST;
		const struct block *b = block_of(f);
		if (!is_free(b) || check_block(h, b) || size_class(bsize(b)) != c || f->prev != prev)
			return HEAP_E_FREE_LIST;
	}
	return !h->bins[c] == !(h->bin_mask & (1ull << c)) ? HEAP_OK : HEAP_E_FREE_LIST;
}

int heap_check(const struct heap *h)
{
	struct walk_totals t = { 0 };
	size_t listed = 0;

	if (h->start % HEAP_ALIGN || h->end < h->start || (h->end - h->start) % HEAP_GROW_UNIT)
		return HEAP_E_STATS;
	int err = check_blocks(h, &t);
	for (unsigned c = 0; !err && c < HEAP_NBINS; c++)
		err = check_list(h, c, &listed, t.free_blocks);
	if (!err && listed != t.free_blocks)
		err = HEAP_E_FREE_LIST;
	if (!err && (t.used != h->used_bytes || t.requested != h->requested_bytes ||
		     t.live != h->live || t.free_blocks != h->free_blocks ||
		     h->allocs - h->frees != h->live))
		err = HEAP_E_STATS;
	return err;
}

const char *heap_strerror(int err)
{
	static const char *const msg[] = {
		[-HEAP_OK] = "success",
		[-HEAP_E_NOT_HEAP] = "pointer is outside the heap or not 16-byte aligned",
		[-HEAP_E_BAD_HEADER] = "block header is corrupted or the pointer was never handed out",
		[-HEAP_E_BAD_FOOTER] = "block footer does not match its header",
		[-HEAP_E_DOUBLE_FREE] = "block is already free (double free)",
		[-HEAP_E_NEIGHBOUR] = "a neighbouring block's header or footer is corrupted",
		[-HEAP_E_ADJACENT_FREE] = "two free blocks are adjacent (missed coalescing)",
		[-HEAP_E_FREE_LIST] = "free lists do not match the free blocks",
		[-HEAP_E_STATS] = "heap counters do not match the blocks",
	};

	if (err > 0 || err <= -(int)(sizeof msg / sizeof msg[0]))
		return "unknown error";
	return msg[-err];
}
