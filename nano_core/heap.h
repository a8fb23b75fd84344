/*
 * Kernel heap: a general-purpose allocator over one region that grows
 * contiguously upward, a page multiple at a time, by asking its owner.
 *
 * Every block carries a 16-byte header (size, free bit, a magic word mixed
 * with the block's address, and the slack between the usable and the
 * requested size) and an 8-byte footer repeating the size, so both neighbours
 * of a block are found in constant time and freed blocks are merged with free
 * neighbours at once: two free blocks are never adjacent. Free blocks sit on
 * doubly linked lists segregated by power-of-two size class; an allocation
 * takes the first fitting block of its own class, else the head of the next
 * non-empty larger class (found from a bitmap of classes), else grows the
 * heap. This approximates best fit at the cost of a few list steps, and keeps
 * alloc and free O(1) apart from the walk of one class. Free blocks are split
 * when the rest is large enough to be a block of its own.
 *
 * Every returned pointer is 16-byte aligned. A request of 0 bytes returns a
 * unique pointer (to a block with no usable bytes promised) that must be freed
 * like any other. Requests above HEAP_MAX_ALLOC return NULL. The heap never
 * shrinks. Nothing here takes a lock: the owner serializes calls.
 */
#ifndef DELOS_HEAP_H
#define DELOS_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_ALIGN     16
#define HEAP_GROW_UNIT 4096
#define HEAP_MAX_ALLOC ((size_t)1 << 40)
#define HEAP_NBINS     40

/*
 * Asked to make [end, end + bytes) usable read-write memory, where end is
 * the current end of the heap and bytes a multiple of HEAP_GROW_UNIT. Returns
 * false if it cannot; the heap then stays as it was.
 */
typedef bool heap_grow_fn(void *ctx, void *end, size_t bytes);

enum heap_error {
	HEAP_OK = 0,
	HEAP_E_NOT_HEAP = -1,      /* pointer is outside the heap or misaligned */
	HEAP_E_BAD_HEADER = -2,    /* block header is not one the heap wrote */
	HEAP_E_BAD_FOOTER = -3,    /* block footer disagrees with its header */
	HEAP_E_DOUBLE_FREE = -4,   /* block is already free */
	HEAP_E_NEIGHBOUR = -5,     /* a neighbouring block's header or footer is corrupted */
	HEAP_E_ADJACENT_FREE = -6, /* two free blocks are adjacent (heap_check) */
	HEAP_E_FREE_LIST = -7,     /* free lists disagree with the blocks (heap_check) */
	HEAP_E_STATS = -8          /* counters disagree with the blocks (heap_check) */
};

struct heap_free;

/* The caller owns the storage; every field is private to heap.c. */
struct heap {
	uintptr_t start, end;              /* the heap is [start, end) */
	heap_grow_fn *grow;
	void *grow_ctx;
	struct heap_free *bins[HEAP_NBINS];
	uint64_t bin_mask;                 /* bit i set: bins[i] is not empty */
	size_t used_bytes;                 /* whole blocks of live allocations */
	size_t requested_bytes;            /* sizes asked for by live allocations */
	size_t free_blocks;
	size_t live, allocs, frees;
};

struct heap_stats {
	size_t heap_bytes;       /* obtained from grow: used_bytes + free_bytes */
	size_t used_bytes;       /* whole blocks of live allocations, headers and padding included */
	size_t requested_bytes;  /* sum of the sizes asked for by live allocations */
	size_t free_bytes;       /* whole free blocks */
	size_t free_blocks;
	size_t largest_free;     /* largest free block, header included; 0 if none */
	size_t live;             /* allocations not yet freed */
	size_t total_allocs;     /* successful allocations; a moving realloc counts one */
	size_t total_frees;      /* successful frees; a moving realloc counts one */
};

/*
 * Makes *h an empty heap starting at start (rounded up to HEAP_ALIGN; the
 * kernel passes a page boundary). The heap calls grow(ctx, end, bytes) when
 * it needs more room.
 */
void heap_init(struct heap *h, void *start, heap_grow_fn *grow, void *ctx);

/* Returns size bytes aligned to 16, or NULL if size is too big or grow refuses. */
void *heap_alloc(struct heap *h, size_t size);

/*
 * Returns size bytes aligned to align, a power of two up to 4096 (smaller
 * values mean 16). Returns NULL if align is not such a power of two, size is
 * too big, or grow refuses.
 */
void *heap_alloc_aligned(struct heap *h, size_t size, size_t align);

/*
 * Resizes the allocation p to size bytes, keeping its contents up to the
 * smaller of the old and new sizes, in place when it can (which keeps any
 * alignment p had), else by moving it to a 16-byte aligned block. A NULL p
 * behaves as heap_alloc. Returns the new pointer, or NULL leaving p valid and
 * unchanged if memory cannot be had or p is not a live allocation.
 */
void *heap_realloc(struct heap *h, void *p, size_t size);

/*
 * Frees p, which must be a live allocation from this heap. Returns HEAP_OK
 * (also for NULL), or, changing nothing, a negative enum heap_error if p is
 * outside the heap, was never handed out, is already free, or its header,
 * footer or a neighbour's is corrupted.
 */
int heap_free(struct heap *h, void *p);

/* Returns how many bytes p may use (at least what was asked), or 0 if p is not live. */
size_t heap_usable_size(const struct heap *h, const void *p);

/* Fills *s. Costs a walk of the largest non-empty size class. */
void heap_stats(const struct heap *h, struct heap_stats *s);

/*
 * Walks every block and every free list and checks headers, footers, that no
 * two free blocks are adjacent, that the free lists hold exactly the free
 * blocks in their right classes, and the counters. Returns HEAP_OK or the
 * first problem found as a negative enum heap_error. Costs O(heap blocks).
 */
int heap_check(const struct heap *h);

/* Returns a sentence naming the cause of err, or "unknown error". */
const char *heap_strerror(int err);

#endif
