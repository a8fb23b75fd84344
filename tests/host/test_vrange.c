/* Host tests for the virtual range allocator (nano_core/vrange.c). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nano_core/vrange.h"

#define PG 4096ull
#define BASE 0xffffffff90000000ull

static struct vrange v;
static struct vrange_span spans[64];

/* A window of `pages` pages with a one-page guard and every slot. */
static void window(uint64_t pages)
{
	cr_assert_eq(vrange_init(&v, BASE, pages * PG, PG, PG, spans, 64), VRANGE_OK);
}

static uint64_t alloc_ok(uint64_t pages)
{
	uint64_t a = 0;
	int err = vrange_alloc(&v, pages * PG, &a);

	cr_assert_eq(err, VRANGE_OK, "alloc of %lu pages: %s", pages, vrange_strerror(err));
	return a;
}

static void free_ok(uint64_t addr, uint64_t pages)
{
	int err = vrange_free(&v, addr, pages * PG);

	cr_assert_eq(err, VRANGE_OK, "free of %lx+%lu pages: %s", addr, pages, vrange_strerror(err));
}

/* The free list is sorted, disjoint, never adjacent, inside the window, page aligned. */
static void check_free_list(void)
{
	for (size_t i = 0; i < v.nfree; i++) {
		const struct vrange_span *s = &v.free[i];
		cr_assert(s->size > 0 && s->start % PG == 0 && s->size % PG == 0);
		cr_assert(s->start >= v.base && s->start + s->size <= v.end);
		if (i)
			cr_assert_gt(s->start, v.free[i - 1].start + v.free[i - 1].size,
				     "spans %zu and %zu touch or overlap", i - 1, i);
	}
	cr_assert_leq(v.nfree, v.live + 1);
}

Test(vrange, init_refuses_bad_windows)
{
	cr_assert_eq(vrange_init(&v, BASE, 16 * PG, 3000, PG, spans, 64), VRANGE_E_ARG);
	cr_assert_eq(vrange_init(&v, BASE + 1, 16 * PG, PG, PG, spans, 64), VRANGE_E_ARG);
	cr_assert_eq(vrange_init(&v, BASE, 16 * PG + 8, PG, PG, spans, 64), VRANGE_E_ARG);
	cr_assert_eq(vrange_init(&v, BASE, 16 * PG, PG, 0, spans, 64), VRANGE_E_ARG);
	cr_assert_eq(vrange_init(&v, BASE, 2 * PG, PG, PG, spans, 64), VRANGE_E_ARG);
	cr_assert_eq(vrange_init(&v, BASE, 16 * PG, PG, PG, spans, 1), VRANGE_E_ARG);
	cr_assert_eq(vrange_init(&v, BASE, 16 * PG, PG, PG, NULL, 64), VRANGE_E_ARG);
	cr_assert_eq(vrange_init(&v, ~0ull - PG + 1, 16 * PG, PG, PG, spans, 64), VRANGE_E_ARG);
	cr_assert_eq(vrange_init(&v, BASE, 3 * PG, PG, PG, spans, 64), VRANGE_OK);
}

Test(vrange, ranges_follow_each_other_with_a_guard)
{
	window(64);
	cr_assert_eq(alloc_ok(2), BASE + PG);
	cr_assert_eq(alloc_ok(3), BASE + 4 * PG);
	cr_assert_eq(alloc_ok(1), BASE + 8 * PG);
	cr_assert_eq(v.live, 3);
	cr_assert_eq(v.live_bytes, 9 * PG);
	check_free_list();
}

Test(vrange, refuses_bad_sizes)
{
	uint64_t a = 7;

	window(16);
	cr_assert_eq(vrange_alloc(&v, 0, &a), VRANGE_E_ARG);
	cr_assert_eq(vrange_alloc(&v, PG + 1, &a), VRANGE_E_ARG);
	cr_assert_eq(vrange_alloc(&v, 15 * PG, &a), VRANGE_E_ARG);
	cr_assert_eq(vrange_alloc(&v, ~0ull & ~(PG - 1), &a), VRANGE_E_ARG);
	cr_assert_eq(a, 7, "a refused alloc wrote its result");
	cr_assert_eq(v.live, 0);
	cr_assert_eq(alloc_ok(14), BASE + PG, "the whole window minus both guards");
}

Test(vrange, an_exact_fit_hole_is_reused)
{
	window(64);
	uint64_t a = alloc_ok(2), b = alloc_ok(3);
	alloc_ok(2);
	free_ok(b, 3);
	cr_assert_eq(v.nfree, 2);
	cr_assert_eq(alloc_ok(3), b, "the hole of the freed range is not reused");
	cr_assert_eq(v.nfree, 1, "an exactly filled hole is still listed");
	free_ok(a, 2);
	cr_assert_eq(alloc_ok(1), a, "first fit takes the lowest hole");
	cr_assert_eq(alloc_ok(1), BASE + 11 * PG, "a hole too small after the first fit");
	check_free_list();
}

Test(vrange, a_free_merges_with_both_neighbours)
{
	window(64);
	uint64_t a = alloc_ok(1), b = alloc_ok(2), c = alloc_ok(3);
	alloc_ok(1);
	free_ok(a, 1);
	free_ok(c, 3);
	cr_assert_eq(v.nfree, 3);
	free_ok(b, 2);
	cr_assert_eq(v.nfree, 2, "the three freed ranges are not one span");
	cr_assert_eq(v.free[0].start, BASE);
	cr_assert_eq(v.free[0].size, 9 * PG);
	check_free_list();
}

Test(vrange, a_free_merges_with_the_span_above_or_below)
{
	window(64);
	uint64_t a = alloc_ok(1), b = alloc_ok(1), c = alloc_ok(1);
	free_ok(c, 1);		/* joins the free tail above it */
	cr_assert_eq(v.nfree, 1);
	cr_assert_eq(v.free[0].start, c - PG);
	free_ok(a, 1);		/* alone: b separates it from the tail */
	cr_assert_eq(v.nfree, 2);
	free_ok(b, 1);		/* joins the span below and the tail above */
	cr_assert_eq(v.nfree, 1);
	cr_assert_eq(v.free[0].start, BASE);
	cr_assert_eq(v.free[0].size, 63 * PG, "all but the top guard");
	cr_assert_eq(v.live, 0);
	cr_assert_eq(v.live_bytes, 0);
}

Test(vrange, a_full_window_says_so_and_changes_nothing)
{
	struct vrange_stats before, after;
	uint64_t a = 1, r[3];

	window(16);		/* 15 pages to hand out: three ranges of 3 pages and their guards */
	for (int i = 0; i < 3; i++)
		r[i] = alloc_ok(3);
	vrange_stats(&v, &before);
	cr_assert_eq(before.free_bytes, 3 * PG);
	cr_assert_eq(vrange_alloc(&v, 3 * PG, &a), VRANGE_E_NO_SPACE);
	cr_assert_eq(a, 1);
	vrange_stats(&v, &after);
	cr_assert_eq(memcmp(&before, &after, sizeof(before)), 0, "a refused alloc changed the stats");
	free_ok(r[1], 3);
	cr_assert_eq(vrange_alloc(&v, 4 * PG, &a), VRANGE_E_NO_SPACE, "4 pages and a guard in 4");
	cr_assert_eq(alloc_ok(3), r[1]);
	cr_assert_str_eq(vrange_strerror(VRANGE_E_NO_SPACE), "no free span is large enough");
}

Test(vrange, live_ranges_are_bounded_by_the_slots)
{
	struct vrange_span three[3];
	uint64_t a, b, c;

	cr_assert_eq(vrange_init(&v, BASE, 64 * PG, PG, PG, three, 3), VRANGE_OK);
	a = alloc_ok(1);
	b = alloc_ok(1);
	cr_assert_eq(vrange_alloc(&v, PG, &c), VRANGE_E_TOO_MANY);
	free_ok(a, 1);		/* needs a second span: the bound keeps room for it */
	cr_assert_eq(v.nfree, 2);
	c = alloc_ok(1);
	cr_assert_eq(c, a);
	free_ok(b, 1);
	free_ok(c, 1);
	cr_assert_eq(v.nfree, 1);
}

Test(vrange, fragmented_space_does_not_add_up)
{
	uint64_t r[21], a;
	struct vrange_stats s;

	window(64);		/* 21 ranges of 2 pages and their guards fill 63 pages */
	for (int i = 0; i < 21; i++)
		r[i] = alloc_ok(2);
	cr_assert_eq(vrange_alloc(&v, PG, &a), VRANGE_E_NO_SPACE);
	for (int i = 0; i < 21; i += 2)
		free_ok(r[i], 2);
	cr_assert_eq(v.nfree, 11);
	vrange_stats(&v, &s);
	cr_assert_eq(s.free_bytes, 33 * PG);
	cr_assert_eq(s.largest_free, 3 * PG);
	cr_assert_eq(vrange_alloc(&v, 3 * PG, &a), VRANGE_E_NO_SPACE,
		     "33 free pages, but no 4 of them in a row");
	cr_assert_eq(alloc_ok(2), r[0]);
	free_ok(r[0], 2);
	for (int i = 1; i < 21; i += 2)
		free_ok(r[i], 2);
	cr_assert_eq(v.nfree, 1);
	cr_assert_eq(alloc_ok(62), BASE + PG);
}

Test(vrange, a_range_that_is_not_live_is_refused)
{
	window(64);
	uint64_t a = alloc_ok(2), b = alloc_ok(2);
	struct vrange_stats before, after;

	cr_assert_eq(vrange_free(&v, BASE + 40 * PG, PG), VRANGE_E_NOT_LIVE, "never handed out");
	free_ok(a, 2);
	vrange_stats(&v, &before);
	cr_assert_eq(vrange_free(&v, a, 2 * PG), VRANGE_E_NOT_LIVE, "double free");
	cr_assert_eq(vrange_free(&v, b, 3 * PG), VRANGE_E_NOT_LIVE, "runs into free space");
	cr_assert_eq(vrange_free(&v, b + 1, 2 * PG), VRANGE_E_NOT_LIVE, "unaligned");
	cr_assert_eq(vrange_free(&v, BASE, PG), VRANGE_E_NOT_LIVE, "its guard below the window");
	cr_assert_eq(vrange_free(&v, BASE + 63 * PG, PG), VRANGE_E_NOT_LIVE, "the top guard");
	cr_assert_eq(vrange_free(&v, BASE + 200 * PG, PG), VRANGE_E_NOT_LIVE, "above the window");
	cr_assert_eq(vrange_free(&v, b, 0), VRANGE_E_NOT_LIVE, "empty");
	vrange_stats(&v, &after);
	cr_assert_eq(memcmp(&before, &after, sizeof(before)), 0, "a refused free changed the stats");
	free_ok(b, 2);
}

/*
 * A long random run against a model: one flag per page of the window. The
 * model's first fit is the lowest run of free pages that holds the guard and
 * the range below the top guard; its free spans are the maximal free runs.
 */
#define MPAGES 512
#define MSLOTS 40

struct live {
	uint64_t addr, pages;
};

static bool used[MPAGES];

static int model_alloc(uint64_t pages, size_t live, uint64_t *addr)
{
	uint64_t need = pages + 1, run = 0;

	if (live >= MSLOTS - 1)
		return VRANGE_E_TOO_MANY;
	for (uint64_t i = 0; i < MPAGES - 1; i++) {
		run = used[i] ? 0 : run + 1;
		if (run == need) {
			uint64_t first = i + 1 - need;
			for (uint64_t k = first; k <= i; k++)
				used[k] = true;
			*addr = BASE + (first + 1) * PG;
			return VRANGE_OK;
		}
	}
	return VRANGE_E_NO_SPACE;
}

static void model_free(uint64_t addr, uint64_t pages)
{
	uint64_t first = (addr - BASE) / PG - 1;

	for (uint64_t k = first; k <= first + pages; k++) {
		cr_assert(used[k], "model: page %lu freed twice", k);
		used[k] = false;
	}
}

static void model_compare(void)
{
	size_t n = 0;

	for (uint64_t i = 0; i < MPAGES - 1;) {
		if (used[i]) {
			i++;
			continue;
		}
		uint64_t j = i;
		while (j < MPAGES - 1 && !used[j])
			j++;
		cr_assert_lt(n, v.nfree, "the model has more free spans");
		cr_assert_eq(v.free[n].start, BASE + i * PG, "span %zu starts elsewhere", n);
		cr_assert_eq(v.free[n].size, (j - i) * PG, "span %zu has another size", n);
		n++;
		i = j;
	}
	cr_assert_eq(n, v.nfree, "the allocator has more free spans");
	check_free_list();
}

/* Every live range has its guard below, and the next range starts after a gap. */
static void check_guards(const struct live *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert_geq(l[i].addr, BASE + PG);
		cr_assert_leq(l[i].addr + l[i].pages * PG, BASE + (MPAGES - 1) * PG);
		for (size_t j = 0; j < n; j++)
			if (i != j && l[j].addr >= l[i].addr)
				cr_assert_geq(l[j].addr, l[i].addr + (l[i].pages + 1) * PG,
					      "no guard page between %lx and %lx", l[i].addr, l[j].addr);
	}
}

Test(vrange, a_long_random_run_matches_the_model)
{
	static struct vrange_span slots[MSLOTS];
	struct live live[MSLOTS];
	size_t n = 0, refused = 0, too_many = 0;

	srand(9);
	memset(used, 0, sizeof(used));
	cr_assert_eq(vrange_init(&v, BASE, MPAGES * PG, PG, PG, slots, MSLOTS), VRANGE_OK);
	for (int step = 0; step < 100000; step++) {
		if (n && rand() % 100 < 45) {
			size_t k = (size_t)rand() % n;
			free_ok(live[k].addr, live[k].pages);
			model_free(live[k].addr, live[k].pages);
			live[k] = live[--n];
		} else {
			uint64_t pages = 1 + (uint64_t)(rand() % 4 ? rand() % 8 : rand() % 64);
			uint64_t got = 0, want = 0;
			int err = vrange_alloc(&v, pages * PG, &got);
			int model = model_alloc(pages, n, &want);
			cr_assert_eq(err, model, "step %d: %lu pages: %s, the model says %s", step,
				     pages, vrange_strerror(err), vrange_strerror(model));
			if (err == VRANGE_OK) {
				cr_assert_eq(got, want, "step %d: first fit is elsewhere", step);
				live[n++] = (struct live){ got, pages };
			}
			refused += err == VRANGE_E_NO_SPACE;
			too_many += err == VRANGE_E_TOO_MANY;
		}
		cr_assert_eq(v.live, n);
		if (step % 16 == 0) {
			model_compare();
			check_guards(live, n);
		}
	}
	cr_assert(refused > 100 && too_many > 100, "the run never filled the window (%zu, %zu)",
		  refused, too_many);
	while (n) {
		free_ok(live[n - 1].addr, live[n - 1].pages);
		model_free(live[n - 1].addr, live[n - 1].pages);
		n--;
	}
	model_compare();
	cr_assert_eq(v.nfree, 1);
	cr_assert_eq(v.live_bytes, 0);
}
