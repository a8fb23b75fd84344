/* Host tests for the kernel heap (nano_core/heap.c). */
#include <criterion/criterion.h>
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nano_core/heap.h"

/*
 * The heap grows into a 64 MiB arena. Memory it has not been given stays
 * poisoned, so ASan catches any touch past the heap's end. The grow function
 * checks that growth is contiguous and in whole pages, and can be told to
 * refuse, or to stop at a limit.
 */
#define ARENA_SIZE (64u << 20)

struct arena {
	uint8_t *mem;
	size_t given;
	size_t limit;
	bool refuse;
	int calls;
};

static struct arena arena;
static struct heap heap;

static bool grow(void *ctx, void *end, size_t bytes)
{
	struct arena *a = ctx;

	cr_assert_eq(a, &arena);
	cr_assert_eq(end, a->mem + a->given, "growth is not contiguous");
	cr_assert(bytes > 0 && bytes % HEAP_GROW_UNIT == 0, "grow by %zu bytes", bytes);
	a->calls++;
	if (a->refuse || bytes > a->limit - a->given)
		return false;
	ASAN_UNPOISON_MEMORY_REGION(a->mem + a->given, bytes);
	a->given += bytes;
	return true;
}

static void setup(void)
{
	arena = (struct arena){ .mem = aligned_alloc(4096, ARENA_SIZE), .limit = ARENA_SIZE };
	cr_assert_not_null(arena.mem);
	ASAN_POISON_MEMORY_REGION(arena.mem, ARENA_SIZE);
	heap_init(&heap, arena.mem, grow, &arena);
}

static void teardown(void)
{
	ASAN_UNPOISON_MEMORY_REGION(arena.mem, ARENA_SIZE);
	free(arena.mem);
}

TestSuite(heap, .init = setup, .fini = teardown);

static struct heap_stats stats(void)
{
	struct heap_stats s;

	heap_stats(&heap, &s);
	cr_assert_eq(s.heap_bytes, arena.given);
	cr_assert_eq(s.heap_bytes, s.used_bytes + s.free_bytes);
	cr_assert_eq(s.total_allocs - s.total_frees, s.live);
	cr_assert_leq(s.largest_free, s.free_bytes);
	return s;
}

static void assert_same_stats(struct heap_stats a, struct heap_stats b)
{
	cr_assert(memcmp(&a, &b, sizeof a) == 0, "stats changed: live %zu -> %zu, used %zu -> %zu",
		  a.live, b.live, a.used_bytes, b.used_bytes);
}

static void assert_check(void)
{
	int err = heap_check(&heap);
	cr_assert_eq(err, HEAP_OK, "heap_check: %s", heap_strerror(err));
}

/* After everything is freed: nothing in use, one free block spanning the heap. */
static void assert_all_free(void)
{
	assert_check();
	struct heap_stats s = stats();
	cr_assert_eq(s.live, 0);
	cr_assert_eq(s.used_bytes, 0);
	cr_assert_eq(s.requested_bytes, 0);
	cr_assert_eq(s.free_blocks, s.heap_bytes ? 1 : 0, "%zu free blocks did not coalesce", s.free_blocks);
	cr_assert_eq(s.largest_free, s.heap_bytes);
}

/* Block contents: block k holds pattern + k % 251, so neighbours differ. */
static uint8_t pattern[(64 << 10) + 256];

static void init_pattern(void)
{
	for (size_t i = 0; i < sizeof pattern; i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 8) + 3);
}

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* 1 byte to 64 KiB, spread evenly over the powers of two. */
static size_t rnd_size(void)
{
	return 1 + rnd() % ((size_t)1 << (rnd() % 17));
}

struct live {
	uint8_t *p;
	size_t size, align;
	unsigned tag;
};

#define MAX_LIVE 1500

static struct live live[MAX_LIVE];
static size_t nlive, live_bytes;

static void check_new_block(const struct live *l, int op)
{
	uintptr_t a = (uintptr_t)l->p;

	cr_assert_not_null(l->p, "op %d: allocation of %zu failed", op, l->size);
	cr_assert_eq(a % (l->align > 16 ? l->align : 16), 0, "op %d: %p not aligned to %zu", op, l->p, l->align);
	cr_assert(l->p >= arena.mem && l->p + l->size <= arena.mem + arena.given, "op %d: outside the heap", op);
	cr_assert_geq(heap_usable_size(&heap, l->p), l->size);
	for (size_t i = 0; i < nlive; i++) {
		const struct live *o = &live[i];
		if (o != l)
			cr_assert(l->p + l->size <= o->p || o->p + o->size <= l->p,
				  "op %d: [%p, +%zu) overlaps [%p, +%zu)", op, l->p, l->size, o->p, o->size);
	}
}

static void verify(const struct live *l, size_t n, int op)
{
	cr_assert(memcmp(l->p, pattern + l->tag % 251, n) == 0,
		  "op %d: block %p (%zu bytes) was overwritten", op, l->p, l->size);
}

static void do_alloc(int op)
{
	struct live *l = &live[nlive];

	l->size = rnd_size();
	l->align = rnd() % 8 == 0 ? (size_t)32 << (rnd() % 8) : 0;
	l->tag = (unsigned)rnd();
	l->p = l->align ? heap_alloc_aligned(&heap, l->size, l->align) : heap_alloc(&heap, l->size);
	nlive++;
	check_new_block(l, op);
	memcpy(l->p, pattern + l->tag % 251, l->size);
	live_bytes += l->size;
}

static void do_free(size_t k, int op)
{
	verify(&live[k], live[k].size, op);
	cr_assert_eq(heap_free(&heap, live[k].p), HEAP_OK, "op %d", op);
	live_bytes -= live[k].size;
	live[k] = live[--nlive];
}

static void do_realloc(size_t k, int op)
{
	struct live *l = &live[k];
	size_t size = rnd_size(), keep = size < l->size ? size : l->size;
	uint8_t *p = heap_realloc(&heap, l->p, size);

	if (l->align && p == l->p)
		cr_assert_eq((uintptr_t)p % l->align, 0, "in-place realloc lost alignment");
	l->align = p == l->p ? l->align : 0;
	l->p = p;
	live_bytes += size - l->size;
	l->size = size;
	check_new_block(l, op);
	verify(l, keep, op);
	memcpy(l->p, pattern + l->tag % 251, size);
}

static void check_model(int op)
{
	struct heap_stats s = stats();
	int err = heap_check(&heap);

	cr_assert_eq(err, HEAP_OK, "op %d: heap_check: %s", op, heap_strerror(err));
	cr_assert_eq(s.live, nlive, "op %d", op);
	cr_assert_eq(s.requested_bytes, live_bytes, "op %d", op);
	for (size_t i = 0; i < nlive; i++)
		verify(&live[i], live[i].size, op);
}

static void random_run(uint64_t seed, int ops)
{
	init_pattern();
	rng = seed;
	nlive = live_bytes = 0;
	for (int op = 0; op < ops; op++) {
		unsigned r = rnd() % 100;
		if (nlive && (r < 40 || nlive == MAX_LIVE || live_bytes > (24u << 20)))
			do_free(rnd() % nlive, op);
		else if (nlive && r < 55)
			do_realloc(rnd() % nlive, op);
		else
			do_alloc(op);
		if (op % 2000 == 0)
			check_model(op);
	}
	check_model(ops);
	while (nlive)
		do_free(rnd() % nlive, ops);
	assert_all_free();
	struct heap_stats s = stats();
	cr_assert_gt(s.total_frees, (size_t)ops / 3);
}

Test(heap, random_seed_1) { random_run(0x9e3779b97f4a7c15ull, 100000); }
Test(heap, random_seed_2) { random_run(0xd1b54a32d192ed03ull, 100000); }
Test(heap, random_seed_3) { random_run(0x0123456789abcdefull, 100000); }

Test(heap, empty_heap)
{
	assert_all_free();
	cr_assert_eq(stats().heap_bytes, 0);
	cr_assert_eq(heap_free(&heap, NULL), HEAP_OK);
	cr_assert_eq(heap_usable_size(&heap, NULL), 0);
}

Test(heap, grows_in_pages_and_reuses_memory)
{
	void *a = heap_alloc(&heap, 100);
	cr_assert_not_null(a);
	cr_assert_eq(arena.given, 4096);
	cr_assert_eq(a, arena.mem + 16, "the first block starts the heap");
	void *b = heap_alloc(&heap, 5000);
	cr_assert_eq(arena.given, 8192, "the free tail is used before growing");
	cr_assert_eq(heap_free(&heap, b), HEAP_OK);
	void *c = heap_alloc(&heap, 5000);
	cr_assert_eq(c, b, "freed memory is reused");
	cr_assert_eq(arena.calls, 2);
	heap_free(&heap, a);
	heap_free(&heap, c);
	assert_all_free();
}

Test(heap, zero_size_gives_unique_pointers)
{
	void *a = heap_alloc(&heap, 0), *b = heap_alloc(&heap, 0);
	cr_assert(a && b && a != b);
	cr_assert_eq(stats().live, 2);
	cr_assert_eq(stats().requested_bytes, 0);
	cr_assert_eq(heap_free(&heap, a), HEAP_OK);
	cr_assert_eq(heap_free(&heap, b), HEAP_OK);
	assert_all_free();
}

Test(heap, coalesces_both_neighbours)
{
	void *p[4];
	for (int i = 0; i < 4; i++)
		p[i] = heap_alloc(&heap, 200);
	cr_assert_eq(stats().free_blocks, 1, "the tail of the first page");
	heap_free(&heap, p[1]);
	cr_assert_eq(stats().free_blocks, 2);
	heap_free(&heap, p[0]);
	cr_assert_eq(stats().free_blocks, 2, "p0 merged with p1");
	heap_free(&heap, p[2]);
	cr_assert_eq(stats().free_blocks, 2, "p2 merged with p0+p1");
	assert_check();
	heap_free(&heap, p[3]);
	assert_all_free();
}

Test(heap, huge_sizes_return_null)
{
	struct heap_stats before = stats();
	size_t huge[] = { HEAP_MAX_ALLOC + 1, SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2 };
	for (size_t i = 0; i < 4; i++) {
		cr_assert_null(heap_alloc(&heap, huge[i]));
		cr_assert_null(heap_alloc_aligned(&heap, huge[i], 4096));
	}
	cr_assert_eq(arena.calls, 0, "grow must not be asked for an absurd size");
	cr_assert_null(heap_alloc(&heap, HEAP_MAX_ALLOC), "the arena cannot hold 1 TiB");
	assert_same_stats(before, stats());
	void *p = heap_alloc(&heap, 10);
	memset(p, 0x5a, 10);
	cr_assert_null(heap_realloc(&heap, p, SIZE_MAX));
	cr_assert_eq(((uint8_t *)p)[9], 0x5a, "a failed realloc keeps the block");
	cr_assert_eq(heap_free(&heap, p), HEAP_OK);
	assert_all_free();
}

Test(heap, grow_refusal_keeps_heap_consistent)
{
	void *a = heap_alloc(&heap, 1000);
	cr_assert_not_null(a);
	arena.refuse = true;
	struct heap_stats before = stats();
	cr_assert_null(heap_alloc(&heap, 8000));
	cr_assert_null(heap_alloc_aligned(&heap, 3000, 4096));
	cr_assert_null(heap_realloc(&heap, a, 10000));
	assert_same_stats(before, stats());
	assert_check();
	void *b = heap_alloc(&heap, 1000);
	cr_assert_not_null(b, "free space already held must still be used");
	arena.refuse = false;
	void *c = heap_alloc(&heap, 8000);
	cr_assert_not_null(c);
	heap_free(&heap, a);
	heap_free(&heap, b);
	heap_free(&heap, c);
	assert_all_free();
}

Test(heap, exhaustion_at_a_limit)
{
	static void *p[4096];
	size_t n = 0;
	arena.limit = 1u << 20;
	init_pattern();
	while (n < 4096 && (p[n] = heap_alloc(&heap, 1 + n % 3000)) != NULL) {
		memcpy(p[n], pattern + n % 251, 1 + n % 3000);
		n++;
	}
	cr_assert(n > 100 && n < 4096, "n = %zu", n);
	cr_assert_eq(arena.given, 1u << 20);
	assert_check();
	cr_assert_null(heap_alloc_aligned(&heap, 4000, 4096));
	for (size_t i = 0; i < n; i += 2)
		cr_assert_eq(heap_free(&heap, p[i]), HEAP_OK);
	assert_check();
	for (size_t i = 1; i < n; i += 2) {
		cr_assert(memcmp(p[i], pattern + i % 251, 1 + i % 3000) == 0, "block %zu overwritten", i);
		cr_assert_eq(heap_free(&heap, p[i]), HEAP_OK);
	}
	assert_all_free();
	cr_assert_not_null(heap_alloc(&heap, (1u << 20) - 64), "one block spans the whole heap again");
}

Test(heap, aligned_allocations)
{
	static void *p[13][5];
	static const size_t sizes[] = { 0, 1, 100, 4096, 10000 };
	for (int s = 0; s < 13; s++)
		for (int k = 0; k < 5; k++) {
			size_t align = (size_t)1 << s;
			p[s][k] = heap_alloc_aligned(&heap, sizes[k], align);
			cr_assert_not_null(p[s][k]);
			cr_assert_eq((uintptr_t)p[s][k] % (align < 16 ? 16 : align), 0, "align %zu", align);
			cr_assert_geq(heap_usable_size(&heap, p[s][k]), sizes[k]);
			memset(p[s][k], s * 5 + k, sizes[k]);
		}
	assert_check();
	cr_assert_eq(stats().live, 65);
	cr_assert_null(heap_alloc_aligned(&heap, 10, 3));
	cr_assert_null(heap_alloc_aligned(&heap, 10, 48));
	cr_assert_null(heap_alloc_aligned(&heap, 10, 8192));
	for (int s = 0; s < 13; s++)
		for (int k = 0; k < 5; k++) {
			for (size_t i = 0; i < sizes[k]; i++)
				cr_assert_eq(((uint8_t *)p[s][k])[i], s * 5 + k);
			cr_assert_eq(heap_free(&heap, p[s][k]), HEAP_OK);
		}
	assert_all_free();
}

Test(heap, realloc_in_place_and_moving)
{
	cr_assert_eq(heap_realloc(&heap, NULL, 0) != NULL, true, "realloc(NULL) allocates");
	uint8_t *a = heap_alloc_aligned(&heap, 64, 256);
	memset(a, 0xa1, 64);
	uint8_t *b = heap_realloc(&heap, a, 1000);
	cr_assert_eq(b, a, "the free tail after a lets it grow in place");
	cr_assert_eq(b[63], 0xa1);
	uint8_t *fence = heap_alloc(&heap, 300); /* too big for the gap before a */
	cr_assert_eq(fence, b + heap_usable_size(&heap, b) + 8 + 16, "the fence follows b");
	memset(b, 0xb2, 1000);
	uint8_t *c = heap_realloc(&heap, b, 3000);
	cr_assert_neq(c, b, "the fence forces a move");
	cr_assert_eq((uintptr_t)c % 16, 0);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(c[i], 0xb2);
	cr_assert_eq(heap_free(&heap, b), HEAP_E_DOUBLE_FREE, "the old block was freed by the move");
	uint8_t *d = heap_realloc(&heap, c, 10);
	cr_assert_eq(d, c, "shrinking stays in place");
	cr_assert_eq(d[9], 0xb2);
	cr_assert_lt(heap_usable_size(&heap, d), 64, "the tail was given back");
	d = heap_realloc(&heap, d, 0);
	cr_assert_not_null(d);
	int local;
	cr_assert_null(heap_realloc(&heap, &local, 10), "foreign pointer");
	assert_check();
	struct heap_stats s = stats();
	cr_assert_eq(s.live, 3);
	cr_assert_eq(s.requested_bytes, 300);
	cr_assert_eq(s.total_frees, 1);
}

Test(heap, bad_frees_refused_without_change)
{
	uint8_t *a = heap_alloc(&heap, 100), *b = heap_alloc(&heap, 100), *c = heap_alloc(&heap, 100);
	memset(b, 0, 100);
	cr_assert_eq(heap_free(&heap, a), HEAP_OK);
	struct heap_stats before = stats();
	int local;
	void *outside = malloc(64);

	struct { void *p; int want; const char *what; } bad[] = {
		{ a, HEAP_E_DOUBLE_FREE, "double free" },
		{ &local, HEAP_E_NOT_HEAP, "stack pointer" },
		{ outside, HEAP_E_NOT_HEAP, "host malloc pointer" },
		{ b + 8, HEAP_E_NOT_HEAP, "misaligned" },
		{ b + 32, HEAP_E_BAD_HEADER, "inside a block" },
		{ arena.mem, HEAP_E_NOT_HEAP, "the heap's first byte" },
		{ arena.mem + arena.given, HEAP_E_NOT_HEAP, "the heap's end" },
		{ arena.mem + arena.given - 16, HEAP_E_NOT_HEAP, "the last 16 bytes" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int err = heap_free(&heap, bad[i].p);
		cr_assert_eq(err, bad[i].want, "%s: got %s", bad[i].what, heap_strerror(err));
		cr_assert_eq(heap_usable_size(&heap, bad[i].p), 0, "%s has no usable size", bad[i].what);
		assert_same_stats(before, stats());
		assert_check();
	}
	free(outside);
	cr_assert_eq(heap_free(&heap, b), HEAP_OK);
	cr_assert_eq(heap_free(&heap, b), HEAP_E_DOUBLE_FREE, "double free after coalescing");
	cr_assert_eq(heap_free(&heap, c), HEAP_OK);
	assert_all_free();
}

/* Sets len bytes at 'at' to val, checks what free and heap_check say, restores them. */
static void smash_with(int val, uint8_t *at, size_t len, void *victim, int want_free, int want_check)
{
	uint8_t saved[32];
	struct heap_stats before = stats();

	memcpy(saved, at, len);
	memset(at, val, len);
	int err = heap_free(&heap, victim);
	cr_assert_eq(err, want_free, "free got %s, want %s", heap_strerror(err), heap_strerror(want_free));
	err = heap_check(&heap);
	cr_assert_eq(err, want_check, "check got %s, want %s", heap_strerror(err), heap_strerror(want_check));
	memcpy(at, saved, len);
	assert_same_stats(before, stats());
	assert_check();
}

static void smash(uint8_t *at, size_t len, void *victim, int want_free, int want_check)
{
	smash_with(0x41, at, len, victim, want_free, want_check);
}

Test(heap, corruption_detected)
{
	uint8_t *a = heap_alloc(&heap, 100), *b = heap_alloc(&heap, 100), *c = heap_alloc(&heap, 100);
	uint8_t *d = heap_alloc(&heap, 100), *e = heap_alloc(&heap, 100);
	size_t ua = heap_usable_size(&heap, a);

	smash(b - 16, 16, b, HEAP_E_BAD_HEADER, HEAP_E_BAD_HEADER);    /* underflow into b's header */
	smash(b - 8, 4, b, HEAP_E_BAD_HEADER, HEAP_E_BAD_HEADER);      /* b's magic only */
	smash(b - 16, 1, b, HEAP_E_BAD_HEADER, HEAP_E_BAD_HEADER);     /* b's size only */
	smash(b + heap_usable_size(&heap, b), 8, b, HEAP_E_BAD_FOOTER, HEAP_E_BAD_FOOTER); /* overflow */
	smash(b - 16, 8, a, HEAP_E_NEIGHBOUR, HEAP_E_BAD_HEADER);      /* a's successor is smashed */
	smash(a + ua, 8, b, HEAP_E_NEIGHBOUR, HEAP_E_BAD_FOOTER);      /* b's predecessor footer */

	/*
	 * A free block's list links (next, prev) live where its payload was.
	 * With b then d freed, b's class list is d -> b.
	 */
	cr_assert_eq(heap_free(&heap, b), HEAP_OK);
	cr_assert_eq(heap_free(&heap, d), HEAP_OK);
	smash(b, 8, c, HEAP_E_NEIGHBOUR, HEAP_E_FREE_LIST);
	smash(b + 8, 8, a, HEAP_E_NEIGHBOUR, HEAP_E_FREE_LIST);
	smash_with(0, b + 8, 8, a, HEAP_E_NEIGHBOUR, HEAP_E_FREE_LIST);
	smash(d + 8, 8, e, HEAP_E_NEIGHBOUR, HEAP_E_FREE_LIST);
	void *next;
	memcpy(&next, d, sizeof next);
	memset(d, 0, sizeof next); /* cuts the list after d: only heap_check can tell */
	cr_assert_eq(heap_check(&heap), HEAP_E_FREE_LIST);
	memcpy(d, &next, sizeof next);
	cr_assert_eq(heap_free(&heap, a), HEAP_OK);
	cr_assert_eq(heap_free(&heap, c), HEAP_OK);
	cr_assert_eq(heap_free(&heap, e), HEAP_OK);
	assert_all_free();
}

/*
 * White-box: forges a free block next to a free block, which the heap never
 * makes. The header layout and magic mirror nano_core/heap.c.
 */
Test(heap, check_catches_adjacent_free_blocks)
{
	uint8_t *a = heap_alloc(&heap, 100), *b = heap_alloc(&heap, 100), *c = heap_alloc(&heap, 100);
	uint8_t *hdr = b - 16, saved_hdr[16], saved_ftr[8];
	uint64_t size_flags;

	cr_assert_eq(heap_free(&heap, a), HEAP_OK);
	memcpy(&size_flags, hdr, 8);
	uint8_t *ftr = hdr + (size_flags & ~15ull) - 8;
	memcpy(saved_hdr, hdr, 16);
	memcpy(saved_ftr, ftr, 8);

	uint32_t magic = 0xf4eeb10cu ^ (uint32_t)((uintptr_t)hdr >> 4), slack = 0;
	size_flags |= 1;
	memcpy(hdr, &size_flags, 8);
	memcpy(hdr + 8, &magic, 4);
	memcpy(hdr + 12, &slack, 4);
	memcpy(ftr, &size_flags, 8);
	cr_assert_eq(heap_check(&heap), HEAP_E_ADJACENT_FREE);

	memcpy(hdr, saved_hdr, 16);
	memcpy(ftr, saved_ftr, 8);
	assert_check();
	heap_free(&heap, b);
	heap_free(&heap, c);
	assert_all_free();
}

Test(heap, check_catches_bad_counters)
{
	void *a = heap_alloc(&heap, 10);
	heap.live++;
	cr_assert_eq(heap_check(&heap), HEAP_E_STATS);
	heap.live--;
	heap.requested_bytes++;
	cr_assert_eq(heap_check(&heap), HEAP_E_STATS);
	heap.requested_bytes--;
	heap.bin_mask |= 1ull << 30;
	cr_assert_eq(heap_check(&heap), HEAP_E_FREE_LIST);
	heap.bin_mask &= ~(1ull << 30);
	assert_check();
	heap_free(&heap, a);
}

Test(heap, strerror_names_every_error)
{
	for (int e = 0; e >= HEAP_E_STATS; e--) {
		cr_assert_str_neq(heap_strerror(e), "unknown error", "code %d", e);
		for (int e2 = 0; e2 > e; e2--)
			cr_assert_str_neq(heap_strerror(e), heap_strerror(e2));
	}
	cr_assert_str_eq(heap_strerror(HEAP_E_STATS - 1), "unknown error");
	cr_assert_str_eq(heap_strerror(1), "unknown error");
	cr_assert(strstr(heap_strerror(HEAP_E_DOUBLE_FREE), "double free"));
}
