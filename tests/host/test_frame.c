/* Host tests for the physical frame allocator (nano_core/frame.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <delos/frame.h>
#include "tests/host/irq_host.h"

#define KiB 1024ull
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define F   FRAME_SIZE

/*
 * Fake physical memory: two windows, one at physical 0 and one at 4 GiB,
 * each backed by a malloc'd buffer. phys_to_virt fails the test for any
 * address outside them, and remembers what it was asked for.
 */
struct window {
	uint64_t base, size;
	uint8_t *mem;
};

static struct window windows[2] = {
	{ 0, 32 * MiB, NULL },
	{ 4 * GiB, 8 * MiB, NULL },
};
static uint64_t bitmap_phys;

static void setup(void)
{
	for (int i = 0; i < 2; i++) {
		windows[i].mem = aligned_alloc(F, windows[i].size);
		cr_assert_not_null(windows[i].mem);
	}
	bitmap_phys = UINT64_MAX;
}

static void teardown(void)
{
	for (int i = 0; i < 2; i++)
		free(windows[i].mem);
}

static void *fake_phys_to_virt(uint64_t phys)
{
	for (int i = 0; i < 2; i++)
		if (phys >= windows[i].base && phys - windows[i].base < windows[i].size) {
			bitmap_phys = phys;
			return windows[i].mem + (phys - windows[i].base);
		}
	cr_assert_fail("phys_to_virt(0x%lx) outside fake physical memory", phys);
	return NULL;
}

static struct frame_stats stats(void)
{
	struct frame_stats s;
	frame_stats(&s);
	cr_assert_eq(s.total_frames, s.free_frames + s.reserved_frames + s.allocated_frames,
		     "total %lu != free %lu + reserved %lu + allocated %lu", s.total_frames,
		     s.free_frames, s.reserved_frames, s.allocated_frames);
	return s;
}

static void assert_same_stats(struct frame_stats a, struct frame_stats b)
{
	cr_assert(memcmp(&a, &b, sizeof a) == 0, "stats changed: free %lu -> %lu, allocated %lu -> %lu",
		  a.free_frames, b.free_frames, a.allocated_frames, b.allocated_frames);
}

/* Checks that the bitmaps lie inside fake memory and outside every reserved range. */
static void assert_bitmap_placed(const struct frame_range *res, size_t nres)
{
	struct frame_stats s = stats();
	uint64_t end = bitmap_phys + s.bitmap_bytes;
	bool inside = false;

	cr_assert_eq(bitmap_phys % F, 0);
	for (int i = 0; i < 2; i++)
		inside |= bitmap_phys >= windows[i].base && end <= windows[i].base + windows[i].size;
	cr_assert(inside, "bitmaps [0x%lx, 0x%lx) leave fake memory", bitmap_phys, end);
	for (size_t i = 0; i < nres; i++)
		cr_assert(end <= (res[i].base & ~(F - 1)) || bitmap_phys >= res[i].end,
			  "bitmaps overlap reserved range %zu", i);
	for (uint64_t p = bitmap_phys; p < end; p += F)
		cr_assert(frame_is_used(p), "bitmap frame 0x%lx is free", p);
	cr_assert_neq(bitmap_phys, 0);
}

static const struct mb2_region pc_map[] = {
	{ 0x0, 0x9fc00, MB2_MEM_AVAILABLE },
	{ 0x9fc00, 0x400, MB2_MEM_RESERVED },
	{ 0xf0000, 0x10000, MB2_MEM_RESERVED },
	{ 0x100000, 0x1f00000, MB2_MEM_AVAILABLE },
	{ 0xfffc0000, 0x40000, MB2_MEM_RESERVED },
};

static const struct frame_range pc_res[] = {
	{ 0x0, 0x100000 },      /* the first MiB */
	{ 0x100000, 0x300000 }, /* kernel image */
	{ 0x300100, 0x300200 }, /* multiboot info: touches frame 0x300 only */
	{ 0x400000, 0x401800 }, /* a module: frames 0x400 and 0x401 */
};

static bool in_pc_res(uint64_t p)
{
	for (size_t i = 0; i < 4; i++)
		if (p + F > pc_res[i].base && p < pc_res[i].end)
			return true;
	return false;
}

static void init_pc(void)
{
	int err = frame_init(pc_map, 5, pc_res, 4, fake_phys_to_virt);
	cr_assert_eq(err, FRAME_OK, "%s", frame_strerror(err));
}

TestSuite(frame, .init = setup, .fini = teardown);

Test(frame, pc_layout_counts)
{
	init_pc();
	struct frame_stats s = stats();
	uint64_t usable = 0x9f + 0x1f00;
	uint64_t reserved = 0x9f + 0x200 + 1 + 2 + s.bitmap_bytes / F;

	cr_assert_eq(s.total_frames, usable);
	cr_assert_eq(s.reserved_frames, reserved);
	cr_assert_eq(s.free_frames, usable - reserved);
	cr_assert_eq(s.allocated_frames, 0);
	cr_assert_eq(s.base, 0);
	cr_assert_eq(s.limit, 0x2000000);
	cr_assert_eq(s.bitmap_bytes, F, "3 bitmaps of 0x2000 frames fit in one frame");
	cr_assert_eq(bitmap_phys, 0x301000, "bitmaps not at the lowest free frame");
	assert_bitmap_placed(pc_res, 4);
}

Test(frame, alloc_until_exhausted_never_returns_reserved)
{
	init_pc();
	struct frame_stats before = stats();
	static bool seen[0x2000];
	uint64_t n = 0, p, prev = 0;

	while ((p = frame_alloc()) != 0) {
		cr_assert_eq(p % F, 0);
		cr_assert(p >= 0x100000 && p < 0x2000000, "0x%lx outside usable memory", p);
		cr_assert(!in_pc_res(p), "reserved frame 0x%lx handed out", p);
		cr_assert(p < bitmap_phys || p >= bitmap_phys + before.bitmap_bytes, "bitmap frame handed out");
		cr_assert(!seen[p / F], "frame 0x%lx handed out twice", p);
		cr_assert_gt(p, prev, "a fresh allocator hands frames out in address order");
		cr_assert(frame_is_used(p));
		seen[p / F] = true;
		prev = p;
		n++;
	}
	cr_assert_eq(n, before.free_frames);
	struct frame_stats s = stats();
	cr_assert_eq(s.free_frames, 0);
	cr_assert_eq(s.allocated_frames, n);
	cr_assert_eq(frame_alloc(), 0, "exhausted allocator must keep returning 0");
	cr_assert_eq(frame_alloc_contig(1, 1), 0);

	for (uint64_t f = 0; f < 0x2000; f++)
		if (seen[f])
			cr_assert_eq(frame_free(f * F), FRAME_OK);
	assert_same_stats(before, stats());
}

/* Builds a map with overlaps, holes and unaligned edges; order must not matter. */
static const struct mb2_region messy_map[] = {
	{ 0x500000, 0x100000, MB2_MEM_RESERVED },      /* inside the next entry, listed first */
	{ 0x100000, 0xf00000, MB2_MEM_AVAILABLE },     /* 1..16 MiB */
	{ 0x800000, 0x10000, MB2_MEM_ACPI_RECLAIMABLE },
	{ 0xc00000, 0x400000, MB2_MEM_AVAILABLE },     /* overlaps 12..16 MiB, adds nothing */
	{ 0x1000000, 0x400000, MB2_MEM_AVAILABLE },    /* 16..20 MiB, adjacent */
	{ 0x1300800, 0x800, MB2_MEM_BADRAM },          /* half a frame of bad RAM */
	{ 0x1800123, 0xffedd, MB2_MEM_AVAILABLE },     /* unaligned: frames 0x1801..0x18ff */
	{ 0x1a00000, 0x200000, MB2_MEM_AVAILABLE },
	{ 0x1b00000, 0x1000, MB2_MEM_NVS },            /* listed after the entry it overlaps */
};
#define MESSY_N (sizeof messy_map / sizeof messy_map[0])

static bool messy_usable(uint64_t f)
{
	if (f >= 0x100 && f < 0x1400)
		return !(f >= 0x500 && f < 0x600) && !(f >= 0x800 && f < 0x810) && f != 0x1300;
	if (f >= 0x1801 && f < 0x1900)
		return true;
	return f >= 0x1a00 && f < 0x1c00 && f != 0x1b00;
}

Test(frame, overlaps_holes_and_order)
{
	static const struct frame_range res[] = { { 0x100000, 0x180000 } };
	uint64_t expect = 0;
	for (uint64_t f = 0; f < 0x2000; f++)
		expect += messy_usable(f);

	static bool used_first[0x2000];
	struct mb2_region map[MESSY_N];
	memcpy(map, messy_map, sizeof map);
	for (int round = 0; round < 20; round++) {
		cr_assert_eq(frame_init(map, MESSY_N, res, 1, fake_phys_to_virt), FRAME_OK);
		struct frame_stats s = stats();
		cr_assert_eq(s.total_frames, expect, "round %d: total %lu, want %lu", round, s.total_frames, expect);
		cr_assert_eq(s.base, 0x100000);
		cr_assert_eq(s.limit, 0x1c00000);
		assert_bitmap_placed(res, 1);
		for (uint64_t f = 0; f < 0x2000; f++) {
			if (!messy_usable(f))
				cr_assert(frame_is_used(f * F), "round %d: frame 0x%lx outside usable memory is free", round, f);
			if (round == 0)
				used_first[f] = frame_is_used(f * F);
			else
				cr_assert_eq(frame_is_used(f * F), used_first[f], "round %d: order changed frame 0x%lx", round, f);
		}
		uint64_t p;
		while ((p = frame_alloc()) != 0)
			cr_assert(messy_usable(p / F) && p >= 0x180000, "frame 0x%lx should not be handed out", p);
		/* a fixed shuffle of the entries for the next round */
		for (size_t i = MESSY_N - 1; i > 0; i--) {
			size_t j = (i * 7 + round * 13) % (i + 1);
			struct mb2_region t = map[i];
			map[i] = map[j];
			map[j] = t;
		}
	}
}

Test(frame, frame_zero_never_handed_out)
{
	static const struct mb2_region map[] = { { 0, 0x40000, MB2_MEM_AVAILABLE } };
	cr_assert_eq(frame_init(map, 1, NULL, 0, fake_phys_to_virt), FRAME_OK);
	struct frame_stats s = stats();
	cr_assert_eq(s.total_frames, 0x40);
	cr_assert_eq(s.reserved_frames, 2, "frame 0 and the bitmap frame");
	cr_assert_eq(bitmap_phys, F);
	uint64_t p, n = 0;
	while ((p = frame_alloc()) != 0) {
		cr_assert_geq(p, 2 * F);
		n++;
	}
	cr_assert_eq(n, 0x3e);
	cr_assert(frame_is_used(0));
	cr_assert_eq(frame_free(0), FRAME_E_RESERVED);
}

Test(frame, high_memory_and_64_gib_cap)
{
	static const struct mb2_region map[] = {
		{ 0x100000, 0x100000, MB2_MEM_AVAILABLE },   /* all kernel */
		{ 4 * GiB, 8 * MiB, MB2_MEM_AVAILABLE },
		{ 60 * GiB, 10 * GiB, MB2_MEM_AVAILABLE },   /* cut at 64 GiB */
		{ 80 * GiB, 1 * GiB, MB2_MEM_AVAILABLE },    /* ignored */
	};
	static const struct frame_range res[] = { { 0x100000, 0x200000 } };
	cr_assert_eq(frame_init(map, 4, res, 1, fake_phys_to_virt), FRAME_OK);
	struct frame_stats s = stats();
	cr_assert_eq(s.total_frames, 0x100 + 8 * MiB / F + 4 * GiB / F);
	cr_assert_eq(s.limit, 64 * GiB);
	cr_assert_eq(s.bitmap_bytes, (3 * ((64 * GiB - 0x100000) / F / 8) + F - 1) & ~(F - 1),
		     "bitmaps sized from the span");
	cr_assert_eq(bitmap_phys, 4 * GiB, "low memory is all reserved");
	assert_bitmap_placed(res, 1);
	cr_assert_eq(frame_alloc(), 4 * GiB + s.bitmap_bytes);
	cr_assert(frame_is_used(64 * GiB));
	cr_assert(frame_is_used(80 * GiB));
	cr_assert_eq(frame_free(80 * GiB), FRAME_E_UNMANAGED);
	cr_assert_eq(frame_alloc_contig(1, 1u << 24), 0, "64 GiB alignment can only mean frame 0");
}

Test(frame, init_errors_leave_allocator_empty)
{
	static const struct mb2_region reserved_only[] = { { 0x100000, 0x100000, MB2_MEM_RESERVED } };
	static const struct mb2_region tiny[] = { { 0x100800, 0x1000, MB2_MEM_AVAILABLE } };
	static const struct mb2_region above[] = { { 64 * GiB, GiB, MB2_MEM_AVAILABLE } };
	static const struct mb2_region full[] = { { 0, 0x200000, MB2_MEM_AVAILABLE } };
	static const struct frame_range all[] = { { 0, 0x200000 } };

	cr_assert_eq(frame_init(NULL, 1, NULL, 0, fake_phys_to_virt), FRAME_E_ARG);
	cr_assert_eq(frame_init(full, 0, NULL, 0, fake_phys_to_virt), FRAME_E_ARG);
	cr_assert_eq(frame_init(full, 1, NULL, 0, NULL), FRAME_E_ARG);
	cr_assert_eq(frame_init(full, 1, NULL, 1, fake_phys_to_virt), FRAME_E_ARG);
	cr_assert_eq(frame_init(reserved_only, 1, NULL, 0, fake_phys_to_virt), FRAME_E_NO_MEMORY);
	cr_assert_eq(frame_init(tiny, 1, NULL, 0, fake_phys_to_virt), FRAME_E_NO_MEMORY);
	cr_assert_eq(frame_init(above, 1, NULL, 0, fake_phys_to_virt), FRAME_E_NO_MEMORY);
	cr_assert_eq(frame_init(full, 1, all, 1, fake_phys_to_virt), FRAME_E_NO_ROOM);
	cr_assert_eq(bitmap_phys, UINT64_MAX, "nothing may be written on failure");
	struct frame_stats s = stats();
	cr_assert_eq(s.total_frames, 0);
	cr_assert_eq(frame_alloc(), 0);
	cr_assert_eq(frame_alloc_contig(1, 1), 0);
	cr_assert_eq(frame_free(0x100000), FRAME_E_UNMANAGED);
	cr_assert(frame_is_used(0x100000));
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

Test(frame, random_alloc_free_against_model)
{
	init_pc();
	struct frame_stats base = stats();
	static bool model[0x2000];
	static uint64_t live[0x2000];
	size_t nlive = 0;

	for (int op = 0; op < 200000; op++) {
		if (nlive > 0 && (rnd() % 100 < 45 || nlive == base.free_frames)) {
			size_t k = rnd() % nlive;
			uint64_t p = live[k];
			cr_assert_eq(frame_free(p), FRAME_OK, "op %d: free 0x%lx", op, p);
			cr_assert(!frame_is_used(p));
			model[p / F] = false;
			live[k] = live[--nlive];
		} else {
			uint64_t p = frame_alloc();
			cr_assert_neq(p, 0, "op %d: exhausted with %zu of %lu live", op, nlive, base.free_frames);
			cr_assert(!in_pc_res(p) && p < 0x2000000 && p != bitmap_phys);
			cr_assert(!model[p / F], "op %d: frame 0x%lx handed out twice", op, p);
			model[p / F] = true;
			live[nlive++] = p;
		}
		if (op % 1000 == 0) {
			struct frame_stats s = stats();
			cr_assert_eq(s.allocated_frames, nlive);
			cr_assert_eq(s.free_frames + nlive, base.free_frames);
			for (uint64_t f = 0x300; f < 0x2000; f++)
				if (f != bitmap_phys / F && !in_pc_res(f * F))
					cr_assert_eq(frame_is_used(f * F), model[f], "op %d: frame 0x%lx", op, f);
		}
	}
	while (nlive)
		cr_assert_eq(frame_free(live[--nlive]), FRAME_OK);
	assert_same_stats(base, stats());
}

Test(frame, contiguous_allocations)
{
	init_pc();
	struct frame_stats base = stats();
	static const size_t counts[] = { 1, 2, 3, 16, 100, 256, 257 };
	static const size_t aligns[] = { 0, 1, 2, 8, 16, 512 };
	uint64_t got[7][6];

	for (size_t i = 0; i < 7; i++)
		for (size_t j = 0; j < 6; j++) {
			size_t a = aligns[j] ? aligns[j] : 1;
			uint64_t p = frame_alloc_contig(counts[i], aligns[j]);
			cr_assert_neq(p, 0, "count %zu align %zu", counts[i], a);
			cr_assert_eq(p % (a * F), 0, "0x%lx not aligned to %zu frames", p, a);
			for (size_t k = 0; k < counts[i]; k++) {
				cr_assert(!in_pc_res(p + k * F), "reserved frame in run");
				cr_assert(frame_is_used(p + k * F));
			}
			for (size_t i2 = 0; i2 <= i; i2++)
				for (size_t j2 = 0; j2 < (i2 < i ? 6 : j); j2++)
					cr_assert(p + counts[i] * F <= got[i2][j2] || p >= got[i2][j2] + counts[i2] * F,
						  "runs overlap");
			got[i][j] = p;
		}
	cr_assert_eq(frame_alloc_contig(0, 1), 0);
	cr_assert_eq(frame_alloc_contig(4, 3), 0, "alignment must be a power of two");
	cr_assert_eq(frame_alloc_contig(0x2000, 1), 0, "more than exists");
	cr_assert_eq(frame_alloc_contig(1, (size_t)1 << 40), 0);
	for (size_t i = 0; i < 7; i++)
		for (size_t j = 0; j < 6; j++)
			cr_assert_eq(frame_free_contig(got[i][j], counts[i]), FRAME_OK);
	assert_same_stats(base, stats());
}

Test(frame, contiguous_needs_a_free_run)
{
	init_pc();
	static uint64_t all[0x2000];
	size_t n = 0;
	uint64_t p;
	while ((p = frame_alloc()) != 0)
		all[n++] = p;
	for (size_t i = 0; i < n; i += 2)
		cr_assert_eq(frame_free(all[i]), FRAME_OK);
	cr_assert_eq(frame_alloc_contig(2, 1), 0, "every other frame is used");
	cr_assert_eq(frame_free(all[1]), FRAME_OK);
	p = frame_alloc_contig(3, 1);
	cr_assert_eq(p, all[0], "the only run of three starts at the first frame");
	cr_assert_eq(frame_alloc_contig(1, 1), all[4]);
}

Test(frame, bad_frees_refused_without_change)
{
	init_pc();
	uint64_t a = frame_alloc(), b = frame_alloc();
	uint64_t run = frame_alloc_contig(4, 4);
	cr_assert(a && b && run);
	cr_assert_eq(frame_free(b), FRAME_OK);
	struct frame_stats before = stats();
	static bool used_before[0x2000];
	for (uint64_t f = 0; f < 0x2000; f++)
		used_before[f] = frame_is_used(f * F);

	struct { uint64_t phys; size_t count; int want; } bad[] = {
		{ a + 1, 1, FRAME_E_ALIGN },
		{ a + F / 2, 1, FRAME_E_ALIGN },
		{ 0x2000000, 1, FRAME_E_UNMANAGED },   /* just past the end */
		{ 0xfffc0000, 1, FRAME_E_UNMANAGED },
		{ 0xa0000, 1, FRAME_E_UNMANAGED },     /* hole below 1 MiB */
		{ UINT64_MAX & ~(F - 1), 1, FRAME_E_UNMANAGED },
		{ 0, 1, FRAME_E_RESERVED },            /* frame 0 */
		{ 0x5000, 1, FRAME_E_RESERVED },       /* first MiB */
		{ 0x200000, 1, FRAME_E_RESERVED },     /* kernel */
		{ 0x300000, 1, FRAME_E_RESERVED },     /* multiboot info */
		{ 0x401000, 1, FRAME_E_RESERVED },     /* module */
		{ bitmap_phys, 1, FRAME_E_RESERVED },
		{ b, 1, FRAME_E_NOT_ALLOCATED },       /* double free */
		{ 0x1000000, 1, FRAME_E_NOT_ALLOCATED }, /* never allocated */
		{ run, 5, FRAME_E_NOT_ALLOCATED },     /* one past the run */
		{ run, 0, FRAME_E_ARG },
		{ run, 0x2000, FRAME_E_UNMANAGED },    /* runs off the end */
		{ a, 2, FRAME_E_NOT_ALLOCATED },       /* a then b, which is free */
		{ 0x1fff000, 2, FRAME_E_NOT_ALLOCATED },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int err = bad[i].count == 1 && i % 2 ? frame_free(bad[i].phys)
						     : frame_free_contig(bad[i].phys, bad[i].count);
		cr_assert_eq(err, bad[i].want, "case %zu (0x%lx x%zu): got %d (%s), want %d", i,
			     bad[i].phys, bad[i].count, err, frame_strerror(err), bad[i].want);
		assert_same_stats(before, stats());
	}
	for (uint64_t f = 0; f < 0x2000; f++)
		cr_assert_eq(frame_is_used(f * F), used_before[f], "frame 0x%lx changed", f);
	cr_assert_eq(frame_free(a), FRAME_OK);
	cr_assert_eq(frame_free(a), FRAME_E_NOT_ALLOCATED);
	cr_assert_eq(frame_free_contig(run, 4), FRAME_OK);
}

Test(frame, strerror_names_every_error)
{
	for (int e = 0; e >= FRAME_E_NOT_ALLOCATED; e--) {
		cr_assert_str_neq(frame_strerror(e), "unknown error", "code %d", e);
		for (int e2 = 0; e2 > e; e2--)
			cr_assert_str_neq(frame_strerror(e), frame_strerror(e2));
	}
	cr_assert_str_eq(frame_strerror(FRAME_E_NOT_ALLOCATED - 1), "unknown error");
	cr_assert_str_eq(frame_strerror(3), "unknown error");
	cr_assert(strstr(frame_strerror(FRAME_E_NOT_ALLOCATED), "double free"));
}

/* Runs op with the simulated interrupt flag at `on`; it must take a section and give the flag back. */
static void assert_in_section(void (*op)(void), bool on, const char *what)
{
	irq_host = (struct irq_host){ .flag = on };
	op();
	cr_assert_geq(irq_host.saves, 1, "%s took no irq_save section", what);
	cr_assert_eq(irq_host.saves, irq_host.restores, "%s: %lu saves, %lu restores", what,
		     irq_host.saves, irq_host.restores);
	cr_assert_eq(irq_host.depth, 0, "%s left a section open", what);
	cr_assert_eq(irq_host.flag, on, "%s did not give the interrupt flag back", what);
}

static uint64_t section_frame;
static void op_alloc(void) { section_frame = frame_alloc(); }
static void op_free(void) { cr_assert_eq(frame_free(section_frame), FRAME_OK); }
static void op_alloc_contig(void) { section_frame = frame_alloc_contig(4, 4); }
static void op_free_contig(void) { cr_assert_eq(frame_free_contig(section_frame, 4), FRAME_OK); }
static void op_stats(void) { struct frame_stats s; frame_stats(&s); }

/* Interrupt handlers allocate too: every call that touches the bitmaps runs with interrupts off. */
Test(frame, every_call_runs_in_an_irq_section)
{
	init_pc();
	for (int on = 1; on >= 0; on--) {
		assert_in_section(op_alloc, on, "frame_alloc");
		cr_assert_neq(section_frame, 0);
		assert_in_section(op_free, on, "frame_free");
		assert_in_section(op_alloc_contig, on, "frame_alloc_contig");
		cr_assert_neq(section_frame, 0);
		assert_in_section(op_free_contig, on, "frame_free_contig");
		assert_in_section(op_stats, on, "frame_stats");
	}
}

static uint64_t *audit_scratch(void)
{
	uint64_t *scratch = malloc(frame_audit_bytes());

	cr_assert_not_null(scratch);
	memset(scratch, 0xa5, frame_audit_bytes());	/* the audit must clear it itself */
	return scratch;
}

/* Allocates n frames into got[] and starts an audit that claims each once. */
static void audit_held(struct frame_audit *a, uint64_t *scratch, uint64_t *got, int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_neq(got[i] = frame_alloc(), 0);
	frame_audit_start(a, scratch);
	for (int i = 0; i < n; i++)
		frame_audit_claim(a, got[i]);
}

Test(frame, audit_passes_when_each_frame_is_owned_once)
{
	struct frame_audit a;
	uint64_t got[64], *scratch;

	init_pc();
	scratch = audit_scratch();
	audit_held(&a, scratch, got, 64);
	frame_audit_claim(&a, 0x100000);	/* the kernel image: reserved, owned once */
	frame_audit_claim(&a, 0xfffc0000);	/* outside the bitmaps: counted, not judged */
	cr_assert_eq(frame_audit_finish(&a), 0, "twice %lu free %lu leaked %lu counters %d", a.twice,
		     a.free_claimed, a.leaked, a.counters_ok);
	cr_assert_eq(a.claims, 66);
	cr_assert_eq(a.unmanaged, 1);
	free(scratch);
}

Test(frame, audit_names_a_frame_owned_twice)
{
	struct frame_audit a;
	uint64_t got[8], *scratch;

	init_pc();
	scratch = audit_scratch();
	audit_held(&a, scratch, got, 8);
	frame_audit_claim(&a, got[5]);
	cr_assert_eq(frame_audit_finish(&a), -1);
	cr_assert_eq(a.twice, 1);
	cr_assert_eq(a.first_twice, got[5]);
	cr_assert_eq(a.free_claimed + a.leaked, 0);
	free(scratch);
}

Test(frame, audit_names_a_free_frame_that_is_owned)
{
	struct frame_audit a;
	uint64_t got[8], *scratch;

	init_pc();
	scratch = audit_scratch();
	for (int i = 0; i < 8; i++)
		cr_assert_neq(got[i] = frame_alloc(), 0);
	cr_assert_eq(frame_free(got[2]), FRAME_OK);	/* freed while its owner still holds it */
	frame_audit_start(&a, scratch);
	for (int i = 0; i < 8; i++)
		frame_audit_claim(&a, got[i]);
	cr_assert_eq(frame_audit_finish(&a), -1);
	cr_assert_eq(a.free_claimed, 1);
	cr_assert_eq(a.first_free_claimed, got[2]);
	cr_assert_eq(a.twice + a.leaked, 0);
	cr_assert(a.counters_ok);
	free(scratch);
}

Test(frame, audit_names_an_allocated_frame_nobody_owns)
{
	struct frame_audit a;
	uint64_t got[8], *scratch, lost;

	init_pc();
	scratch = audit_scratch();
	audit_held(&a, scratch, got, 8);
	cr_assert_neq(lost = frame_alloc(), 0);
	cr_assert_eq(frame_audit_finish(&a), -1);
	cr_assert_eq(a.leaked, 1);
	cr_assert_eq(a.first_leaked, lost);
	cr_assert_eq(a.twice + a.free_claimed, 0);
	free(scratch);
}
