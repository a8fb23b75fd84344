/*
 * Live swap (loader/swap.c) and cellrefs (metamodules/cellref.c) on the
 * host: real -fPIC cells in the host arena, swapped under test hooks.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <delos/cellref.h>
#include <delos/swap.h>
#include "tests/loader/testlib.h"

/* Let a stale call die of SIGSEGV for Criterion, not in ASan's handler. */
const char *__asan_default_options(void)
{
	return "handle_segv=0";
}

static struct fixture f;
static struct obj math, user, math2;

/* What cellref.c asks nano_core for. */
struct loader *cells_loader(void)
{
	return f.ld;
}

/* No cached resolutions here: the tests resolve through the loader each time. */
uint64_t loader_generation(void)
{
	return 0;
}

/* The hooks' behaviour, set by each test. */
static struct {
	int quiesce_result, swap_in_result, swap_in_calls, committed_calls;
	char old_version[16];
} hk;

static int t_stop(void *ctx, const struct swap_pair *p, size_t n, char *why, size_t cap,
		  uint64_t *stopped)
{
	(void)ctx, (void)p, (void)n;
	*stopped = 0;
	if (hk.quiesce_result)
		snprintf(why, cap, "task 'busy' is in math");
	return hk.quiesce_result;
}

static void t_resume(void *ctx)
{
	(void)ctx;
}

static int t_swap_in(void *ctx, struct loader_cell *new, const char *old_version, char *why,
		     size_t cap)
{
	(void)ctx, (void)new;
	hk.swap_in_calls++;
	snprintf(hk.old_version, sizeof(hk.old_version), "%s", old_version);
	if (hk.swap_in_result)
		snprintf(why, cap, "returned %d", hk.swap_in_result);
	return hk.swap_in_result;
}

static uint64_t t_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void t_committed(void *ctx)
{
	(void)ctx;
	hk.committed_calls++;
}

static const struct swap_hooks hooks = { t_stop, t_resume, t_swap_in, t_now, t_committed, NULL };

static struct loader_cell *load(struct obj *o, const char *file, const char *name)
{
	struct loader_cell *c;

	obj_read(o, file);
	cr_assert_eq(load_named(&f, o, name, all_grants, all_ngrants, 0, &c), 0, "%s",
		     loader_error(f.ld));
	return c;
}

static int user_calc(void)
{
	uint64_t addr;

	cr_assert_eq(loader_lookup(f.ld, "user_calc", &addr, NULL), 0);
	return ((int (*)(int))(uintptr_t)addr)(4);
}

static void setup(void)
{
	memset(&hk, 0, sizeof(hk));
	fixture_arena(&f, host_exports, host_nexports);
	load(&math, "h_math.o", "math");
	load(&user, "h_user.o", "user");
	obj_read(&math2, "h_math.o");
}

static void teardown(void)
{
	obj_free(&math);
	obj_free(&user);
	obj_free(&math2);
	fixture_fini(&f);
}

TestSuite(swap, .init = setup, .fini = teardown);

/* The new version of `math`, from the object in o, under cell name `name`. */
static struct swap_pair pair_to(struct obj *o, const char *name)
{
	return (struct swap_pair){
		.old = loader_cell_find(f.ld, "math"),
		.new_args = { .path = o->name, .name = name, .version = "2", .obj = o->data,
			      .size = o->size, .grants = all_grants, .ngrants = all_ngrants },
	};
}

Test(swap, fresh_copy_relinks_users_and_unmaps_the_old)
{
	struct swap_pair p = pair_to(&math2, "math");
	struct swap_result r;
	struct loader_cell *old = p.old;
	int before = user_calc();
	struct loader_cell_info ci;
	char old_version[16];

	loader_cell_info(old, &ci);
	snprintf(old_version, sizeof(old_version), "%s", ci.version);
	cr_assert_eq(loader_swap(f.ld, &p, 1, &hooks, &r), 0, "%s", r.message);
	cr_assert_neq(loader_cell_find(f.ld, "math"), old);
	cr_assert_eq(loader_cell_find(f.ld, "math"), p.new);
	loader_cell_info(p.new, &ci);
	cr_assert(ci.published);
	cr_assert_eq(user_calc(), before, "the user reaches the new math");
	cr_assert_gt(r.relocs_rewritten, 0);
	cr_assert_eq(r.imports_moved, 1);
	cr_assert_str_eq(hk.old_version, old_version, "the hook learns the old version");
	cr_assert_eq(hk.swap_in_calls, 1);
	cr_assert_eq(hk.committed_calls, 1);
}

Test(swap, cellref_follows_the_swap)
{
	struct cellref r;
	struct swap_pair p = pair_to(&math2, "math");
	struct swap_result res;
	uint64_t before, after;

	cr_assert(cellref_make(&r, "math", "math_add"));
	before = cellref_resolve(&r);
	cr_assert_neq(before, 0);
	cr_assert_eq(loader_swap(f.ld, &p, 1, &hooks, &res), 0, "%s", res.message);
	after = cellref_resolve(&r);
	cr_assert(after != 0 && after != before, "the cellref still points at the old code");
	cr_assert_eq(((int (*)(int, int))(uintptr_t)after)(2, 3), 5);
}

Test(swap, cellref_follows_a_renamed_replacement)
{
	struct cellref r;
	struct swap_pair p = pair_to(&math2, "math_v2");
	struct swap_result res;
	uint64_t want;

	cr_assert(cellref_make(&r, "math", "math_add"));
	cr_assert_eq(loader_swap(f.ld, &p, 1, &hooks, &res), 0, "%s", res.message);

	cr_assert_null(loader_cell_find(f.ld, "math"));
	cr_assert_eq(loader_cell_lookup(p.new, "math_add", &want), 0);
	cr_assert_eq(cellref_resolve(&r), want);
}

Test(swap, cellref_of_an_unloaded_cell_resolves_to_nothing)
{
	struct cellref r;

	cr_assert(cellref_make(&r, "user", "user_calc"));
	cr_assert_neq(cellref_resolve(&r), 0);
	cr_assert_eq(loader_unload(f.ld, loader_cell_find(f.ld, "user")), 0);
	cr_assert_eq(cellref_resolve(&r), 0);
	cr_assert(!cellref_make(&r, "", "x"));
	cr_assert(!cellref_make(&r, "a_cell_name_that_is_far_too_long_x", "x"));
}

/* A refused swap leaves the same cells, the same links and the same memory. */
static void refused(struct swap_pair *p, int code, enum swap_step step, const char *msg)
{
	struct loader_cell *old = p->old;
	long live = host_env_live(&f.env);
	int before = user_calc();
	struct swap_result r;

	cr_assert_eq(loader_swap(f.ld, p, 1, &hooks, &r), code, "%s", r.message);
	cr_assert_eq(r.failed_step, step);
	cr_assert(strstr(r.message, msg), "message '%s' lacks '%s'", r.message, msg);
	cr_assert_eq(loader_cell_find(f.ld, "math"), old);
	cr_assert_eq(user_calc(), before);
	cr_assert_eq(host_env_live(&f.env), live, "memory held after a refused swap");
	cr_assert_eq(hk.committed_calls, 0);
}

Test(swap, hook_failure_rolls_back)
{
	struct swap_pair p = pair_to(&math2, "math");

	hk.swap_in_result = -22;
	refused(&p, LOADER_EINVAL, SWAP_HANDOVER, "swap-in hook failed: returned -22");
	struct loader_import_info ii;
	struct loader_import *im = loader_users_next(loader_cell_find(f.ld, "math"), NULL);
	cr_assert_not_null(im, "the user's import did not come back to the old math");
	loader_import_info(im, &ii);
	cr_assert_str_eq(ii.symbol, "math_add");
}

Test(swap, quiescence_failure_changes_nothing)
{
	struct swap_pair p = pair_to(&math2, "math");

	hk.quiesce_result = -1;
	refused(&p, LOADER_EBUSY, SWAP_QUIESCE, "not quiescent: task 'busy' is in math");
	cr_assert_eq(hk.swap_in_calls, 0);
}

Test(swap, missing_export_is_named_with_its_user)
{
	struct obj other = { 0 };
	struct swap_pair p;

	obj_read(&other, "h_user.o");
	p = pair_to(&other, "math");
	p.new_args.name = "math_x";
	refused(&p, LOADER_ENOENT, SWAP_CHECK, "does not export 'math_add' (used by user)");
	obj_free(&other);
}

Test(swap, bad_requests_are_refused)
{
	struct swap_pair p[2] = { pair_to(&math2, "math"), pair_to(&math2, "math") };
	struct swap_result r;

	cr_assert_eq(loader_swap(f.ld, p, 2, &hooks, &r), LOADER_EINVAL, "the same cell twice");
	cr_assert_eq(loader_swap(f.ld, p, 0, &hooks, &r), LOADER_EINVAL, "no pair");
	p[0].old = loader_cell_next(f.ld, NULL);	/* nano_core */
	cr_assert_eq(loader_swap(f.ld, p, 1, &hooks, &r), LOADER_EINVAL);
	cr_assert(strstr(r.message, "nano_core"), "%s", r.message);
}
