/*
 * Physical frame allocator over three bitmaps (usable, reserved, used) with a
 * next-fit cursor for single frames. See delos/frame.h.
 *
 * Every function that reads or changes the bitmaps or counters after
 * frame_init does so inside an irq_save() section, so an interrupt handler
 * or a preempting task never sees, or makes, a half-done update.
 */
#include <delos/frame.h>
#include <delos/irqflags.h>

#define WORD_BITS 64u
#define MAX_FRAME (FRAME_MAX_PHYS / FRAME_SIZE)

/* Frame numbers below are absolute (physical address / FRAME_SIZE). */
struct frame_span {
	uint64_t lo, hi; /* [lo, hi) */
};

static struct {
	uint64_t *usable;   /* bit set: frame lies in available memory */
	uint64_t *reserved; /* bit set: usable frame that is never handed out */
	uint64_t *used;     /* bit set: frame is not free; tail bits past nframes are set */
	uint64_t first;     /* frame number of bit 0 */
	uint64_t nframes;   /* frames covered by the bitmaps */
	uint64_t nwords;    /* 64-bit words in each bitmap */
	uint64_t cursor;    /* word at which the next single-frame search starts */
	uint64_t total, free, reserved_count, allocated, bitmap_bytes;
} fa;

static bool bit_test(const uint64_t *map, uint64_t i)
{
	return (map[i / WORD_BITS] >> (i % WORD_BITS)) & 1;
}

/* Sets (val) or clears bits [from, to) of map, a word at a time where it can. */
static void bit_fill(uint64_t *map, uint64_t from, uint64_t to, bool val)
{
	while (from < to) {
		uint64_t bit = from % WORD_BITS;
		uint64_t n = WORD_BITS - bit < to - from ? WORD_BITS - bit : to - from;
		uint64_t mask = (n == WORD_BITS ? ~0ull : ((1ull << n) - 1)) << bit;

		if (val)
			map[from / WORD_BITS] |= mask;
		else
			map[from / WORD_BITS] &= ~mask;
		from += n;
	}
}

static uint64_t bit_count(const uint64_t *map)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < fa.nwords; w++)
		n += (uint64_t)__builtin_popcountll(map[w]);
	return n;
}

static uint64_t region_end(const struct mb2_region *r)
{
	return r->len > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->len;
}

/* The whole frames of an available entry below FRAME_MAX_PHYS; false if none. */
static bool inner_frames(const struct mb2_region *r, struct frame_span *s)
{
	uint64_t end = region_end(r) / FRAME_SIZE;

	if (r->type != MB2_MEM_AVAILABLE)
		return false;
	s->lo = r->base / FRAME_SIZE + (r->base % FRAME_SIZE != 0);
	s->hi = end < MAX_FRAME ? end : MAX_FRAME;
	return s->hi > s->lo;
}

/* Every frame that [base, end) touches. */
static struct frame_span outer_frames(uint64_t base, uint64_t end)
{
	return (struct frame_span){ base / FRAME_SIZE, end / FRAME_SIZE + (end % FRAME_SIZE != 0) };
}

struct layout {
	const struct mb2_region *map;
	size_t n;
	const struct frame_range *res;
	size_t nres;
};

/* Returns the end of something that forbids frames [lo, hi) to the bitmaps, or 0 if nothing does. */
static uint64_t obstacle_end(const struct layout *l, uint64_t lo, uint64_t hi)
{
	if (lo == 0)
		return 1;
	for (size_t i = 0; i < l->n; i++) {
		struct frame_span s = outer_frames(l->map[i].base, region_end(&l->map[i]));
		if (l->map[i].type != MB2_MEM_AVAILABLE && s.lo < hi && lo < s.hi)
			return s.hi;
	}
	for (size_t i = 0; i < l->nres; i++) {
		struct frame_span s = outer_frames(l->res[i].base, l->res[i].end);
		if (l->res[i].end > l->res[i].base && s.lo < hi && lo < s.hi)
			return s.hi;
	}
	return 0;
}

/* Finds the lowest run of count frames inside one available entry that nothing forbids. */
static bool place_bitmaps(const struct layout *l, uint64_t count, uint64_t *at)
{
	bool found = false;
	struct frame_span s;

	for (size_t i = 0; i < l->n; i++) {
		if (!inner_frames(&l->map[i], &s))
			continue;
		uint64_t c = s.lo, end;
		while (c + count <= s.hi && (end = obstacle_end(l, c, c + count)) != 0)
			c = end > c ? end : c + 1;
		if (c + count <= s.hi && (!found || c < *at)) {
			*at = c;
			found = true;
		}
	}
	return found;
}

/* Clips a frame span to the bitmaps' range and makes it relative to fa.first. */
static bool clip(struct frame_span *s)
{
	uint64_t end = fa.first + fa.nframes;

	s->lo = s->lo > fa.first ? s->lo - fa.first : 0;
	s->hi = (s->hi < end ? s->hi : end);
	s->hi = s->hi > fa.first ? s->hi - fa.first : 0;
	return s->hi > s->lo;
}

static void mark_usable(const struct layout *l)
{
	struct frame_span s;

	for (size_t i = 0; i < l->n; i++)
		if (inner_frames(&l->map[i], &s) && clip(&s))
			bit_fill(fa.usable, s.lo, s.hi, true);
	for (size_t i = 0; i < l->n; i++) {
		s = outer_frames(l->map[i].base, region_end(&l->map[i]));
		if (l->map[i].type != MB2_MEM_AVAILABLE && clip(&s))
			bit_fill(fa.usable, s.lo, s.hi, false);
	}
}

static void mark_reserved(const struct layout *l, uint64_t bitmap_frame, uint64_t bitmap_frames)
{
	struct frame_span s = { 0, 1 };

	if (clip(&s))
		bit_fill(fa.reserved, s.lo, s.hi, true);
	s = (struct frame_span){ bitmap_frame, bitmap_frame + bitmap_frames };
	if (clip(&s))
		bit_fill(fa.reserved, s.lo, s.hi, true);
	for (size_t i = 0; i < l->nres; i++) {
		s = outer_frames(l->res[i].base, l->res[i].end);
		if (l->res[i].end > l->res[i].base && clip(&s))
			bit_fill(fa.reserved, s.lo, s.hi, true);
	}
}

/* Fills the three bitmaps from the map and reserved ranges, then counts. */
static void build_bitmaps(const struct layout *l, uint64_t bitmap_frame, uint64_t bitmap_frames)
{
	for (uint64_t w = 0; w < fa.nwords; w++)
		fa.usable[w] = fa.reserved[w] = 0;
	mark_usable(l);
	mark_reserved(l, bitmap_frame, bitmap_frames);
	for (uint64_t w = 0; w < fa.nwords; w++) {
		fa.reserved[w] &= fa.usable[w];
		fa.used[w] = ~fa.usable[w] | fa.reserved[w];
	}
	fa.total = bit_count(fa.usable);
	fa.reserved_count = bit_count(fa.reserved);
	fa.free = fa.total - fa.reserved_count;
}

/* The lowest and highest whole available frames; false if there are none. */
static bool usable_span(const struct layout *l, struct frame_span *span)
{
	struct frame_span s;
	bool any = false;

	for (size_t i = 0; i < l->n; i++) {
		if (!inner_frames(&l->map[i], &s))
			continue;
		span->lo = any && span->lo < s.lo ? span->lo : s.lo;
		span->hi = any && span->hi > s.hi ? span->hi : s.hi;
		any = true;
	}
	return any;
}

int frame_init(const struct mb2_region *map, size_t n, const struct frame_range *reserved,
	       size_t nres, void *(*phys_to_virt)(uint64_t phys))
{
	struct layout l = { map, n, reserved, nres };
	struct frame_span span;
	uint64_t at;

	__builtin_memset(&fa, 0, sizeof fa);
	if (!map || n == 0 || !phys_to_virt || (nres && !reserved))
		return FRAME_E_ARG;
	if (!usable_span(&l, &span))
		return FRAME_E_NO_MEMORY;
	uint64_t nframes = span.hi - span.lo;
	uint64_t nwords = (nframes + WORD_BITS - 1) / WORD_BITS;
	uint64_t bytes = (3 * nwords * 8 + FRAME_SIZE - 1) & ~(FRAME_SIZE - 1);
	if (!place_bitmaps(&l, bytes / FRAME_SIZE, &at))
		return FRAME_E_NO_ROOM;
	uint64_t *words = phys_to_virt(at * FRAME_SIZE);
	if (!words)
		return FRAME_E_ARG;
	fa.usable = words;
	fa.reserved = words + nwords;
	fa.used = words + 2 * nwords;
	fa.first = span.lo;
	fa.nframes = nframes;
	fa.nwords = nwords;
	fa.bitmap_bytes = bytes;
	build_bitmaps(&l, at, bytes / FRAME_SIZE);
	return FRAME_OK;
}

uint64_t frame_alloc(void)
{
	uint64_t flags = irq_save(), w = fa.cursor, pa = 0;

	for (uint64_t k = 0; k < fa.nwords; k++, w = w + 1 == fa.nwords ? 0 : w + 1) {
		if (fa.used[w] == ~0ull)
			continue;
		uint64_t bit = (uint64_t)__builtin_ctzll(~fa.used[w]);
		fa.used[w] |= 1ull << bit;
		fa.cursor = w;
		fa.free--;
		fa.allocated++;
		pa = (fa.first + w * WORD_BITS + bit) * FRAME_SIZE;
		break;
	}
	irq_restore(flags);
	return pa;
}

/* Returns the index of the last used frame in [i, i + count), or UINT64_MAX if all are free. */
static uint64_t last_used(uint64_t i, uint64_t count)
{
	for (uint64_t j = i + count; j > i; j--)
		if (bit_test(fa.used, j - 1))
			return j - 1;
	return UINT64_MAX;
}

/* First-fit search for frame_alloc_contig; the caller holds the section. */
static uint64_t alloc_contig(uint64_t count, uint64_t a)
{
	uint64_t c = (fa.first + a - 1) & ~(a - 1);

	while (c + count <= fa.first + fa.nframes) {
		uint64_t busy = last_used(c - fa.first, count);
		if (busy == UINT64_MAX) {
			bit_fill(fa.used, c - fa.first, c - fa.first + count, true);
			fa.free -= count;
			fa.allocated += count;
			return c * FRAME_SIZE;
		}
		c = (fa.first + busy + 1 + a - 1) & ~(a - 1);
	}
	return 0;
}

uint64_t frame_alloc_contig(size_t count, size_t align_frames)
{
	uint64_t a = align_frames ? align_frames : 1, flags, pa;

	if (count == 0 || count > fa.nframes || (a & (a - 1)) || a > MAX_FRAME)
		return 0;
	flags = irq_save();
	pa = alloc_contig(count, a);
	irq_restore(flags);
	return pa;
}

/* Checks that phys is an allocated frame; sets *index to its bit. */
static int check_allocated(uint64_t phys, uint64_t *index)
{
	uint64_t f = phys / FRAME_SIZE;

	if (phys % FRAME_SIZE)
		return FRAME_E_ALIGN;
	if (f < fa.first || f - fa.first >= fa.nframes || !bit_test(fa.usable, f - fa.first))
		return FRAME_E_UNMANAGED;
	if (bit_test(fa.reserved, f - fa.first))
		return FRAME_E_RESERVED;
	if (!bit_test(fa.used, f - fa.first))
		return FRAME_E_NOT_ALLOCATED;
	*index = f - fa.first;
	return FRAME_OK;
}

int frame_free(uint64_t phys)
{
	return frame_free_contig(phys, 1);
}

/* frame_free_contig with the section held: checks every frame, then frees them all. */
static int free_contig(uint64_t phys, size_t count)
{
	uint64_t first, index;
	int err = check_allocated(phys, &first);

	if (err)
		return err;
	if (count > fa.nframes - first)
		return FRAME_E_UNMANAGED;
	for (uint64_t k = 1; k < count; k++)
		if ((err = check_allocated(phys + k * FRAME_SIZE, &index)) != FRAME_OK)
			return err;
	bit_fill(fa.used, first, first + count, false);
	fa.free += count;
	fa.allocated -= count;
	return FRAME_OK;
}

int frame_free_contig(uint64_t phys, size_t count)
{
	uint64_t flags;
	int err;

	if (count == 0)
		return FRAME_E_ARG;
	flags = irq_save();
	err = free_contig(phys, count);
	irq_restore(flags);
	return err;
}

bool frame_is_used(uint64_t phys)
{
	uint64_t f = phys / FRAME_SIZE;

	if (f < fa.first || f - fa.first >= fa.nframes)
		return true;
	return bit_test(fa.used, f - fa.first);
}

void frame_stats(struct frame_stats *s)
{
	uint64_t flags = irq_save();

	*s = (struct frame_stats){
		.total_frames = fa.total,
		.free_frames = fa.free,
		.reserved_frames = fa.reserved_count,
		.allocated_frames = fa.allocated,
		.bitmap_bytes = fa.bitmap_bytes,
		.base = fa.first * FRAME_SIZE,
		.limit = (fa.first + fa.nframes) * FRAME_SIZE,
	};
	irq_restore(flags);
}

void frame_get_view(struct frame_view *v)
{
	*v = (struct frame_view){ fa.usable, fa.reserved, fa.used, fa.first, fa.nframes, fa.nwords,
				  fa.total, fa.free, fa.reserved_count, fa.allocated };
}

const char *frame_strerror(int err)
{
	static const char *const msg[] = {
		[-FRAME_OK] = "success",
		[-FRAME_E_ARG] = "invalid argument: NULL map or mapping function, or a zero count",
		[-FRAME_E_NO_MEMORY] = "the memory map has no whole available frame below 64 GiB",
		[-FRAME_E_NO_ROOM] = "no free run of available memory can hold the frame bitmaps",
		[-FRAME_E_ALIGN] = "address is not aligned to a 4 KiB frame",
		[-FRAME_E_UNMANAGED] = "address is outside the available memory the allocator manages",
		[-FRAME_E_RESERVED] = "frame is reserved and was never handed out",
		[-FRAME_E_NOT_ALLOCATED] = "frame is already free (double free)",
	};

	if (err > 0 || err <= -(int)(sizeof msg / sizeof msg[0]))
		return "unknown error";
	return msg[-err];
}
