/*
 * The frame half of the ownership audit (delos/frame.h): which frames were
 * claimed, against the allocator's bitmaps as frame_get_view shows them.
 * Not part of nano_core: compiled into kcmds@1 and nano_core's test build
 * with metamodules/mm_audit.c, and into the frame allocator's host tests.
 */
#include <delos/frame.h>

#define WORD_BITS 64u

size_t frame_audit_bytes(void)
{
	struct frame_view v;

	frame_get_view(&v);
	return v.nwords * sizeof(uint64_t);
}

void frame_audit_start(struct frame_audit *a, uint64_t *scratch)
{
	*a = (struct frame_audit){ .seen = scratch };
	frame_get_view(&a->view);
	for (uint64_t w = 0; w < a->view.nwords; w++)
		scratch[w] = 0;
}

static bool bit_test(const uint64_t *map, uint64_t i)
{
	return (map[i / WORD_BITS] >> (i % WORD_BITS)) & 1;
}

/* Remembers the first physical address of each kind of fault, for the report. */
static void note(uint64_t *count, uint64_t *first, uint64_t phys)
{
	if ((*count)++ == 0)
		*first = phys;
}

void frame_audit_claim(struct frame_audit *a, uint64_t phys)
{
	uint64_t f = phys / FRAME_SIZE;

	a->claims++;
	if (f < a->view.first || f - a->view.first >= a->view.nframes) {
		a->unmanaged++;
		return;
	}
	f -= a->view.first;
	if (bit_test(a->seen, f))
		note(&a->twice, &a->first_twice, phys);
	a->seen[f / WORD_BITS] |= 1ull << (f % WORD_BITS);
	if (!bit_test(a->view.used, f))
		note(&a->free_claimed, &a->first_free_claimed, phys);
}

static uint64_t popcount(uint64_t w)
{
	return (uint64_t)__builtin_popcountll(w);
}

int frame_audit_finish(struct frame_audit *a)
{
	const struct frame_view *v = &a->view;
	uint64_t free = 0, allocated = 0, usable = 0, reserved = 0, bad_bits = 0;

	for (uint64_t w = 0; w < v->nwords; w++) {
		uint64_t held = v->used[w] & v->usable[w] & ~v->reserved[w];
		uint64_t lost = held & ~a->seen[w];

		if (lost && a->leaked == 0)
			a->first_leaked = (v->first + w * WORD_BITS + (uint64_t)__builtin_ctzll(lost)) *
					  FRAME_SIZE;
		a->leaked += popcount(lost);
		free += popcount(v->usable[w] & ~v->used[w]);
		allocated += popcount(held);
		usable += popcount(v->usable[w]);
		reserved += popcount(v->reserved[w]);
		/* Reserved frames and holes are never free. */
		bad_bits |= (v->reserved[w] | ~v->usable[w]) & ~v->used[w];
	}
	a->counters_ok = free == v->free && allocated == v->allocated && usable == v->total &&
			 reserved == v->reserved_count && bad_bits == 0;
	return a->twice || a->free_claimed || a->leaked || !a->counters_ok ? -1 : 0;
}
