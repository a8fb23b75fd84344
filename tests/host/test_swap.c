/*
 * Live swap (loader/swap.c) and cellrefs (metamodules/cellref.c) on the
 * host: real -fPIC cells in the host arena, swapped under test hooks.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

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
	int begins, commits, aborts, commit_result;
	int hooks_at_commit;         /* swap_in calls made when the transaction committed */
	int checks, check_result;
	bool unload_user_at_stop;    /* the world ran after the check: user went away */
	char old_version[16];
} hk;

static int t_stop(void *ctx, const struct swap_pair *p, size_t n, char *why, size_t cap,
		  uint64_t *stopped)
{
	(void)ctx, (void)p, (void)n;
	*stopped = 0;
	if (hk.unload_user_at_stop) {
		hk.unload_user_at_stop = false;
		cr_assert_eq(loader_unload(f.ld, loader_cell_find(f.ld, "user")), 0, "%s",
			     loader_error(f.ld));
	}
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

static int t_state_begin(void *ctx, char *why, size_t cap)
{
	(void)ctx, (void)why, (void)cap;
	cr_assert_eq(hk.swap_in_calls, 0, "the transaction opens before the first hook");
	hk.begins++;
	return 0;
}

static int t_state_end(void *ctx, bool commit, char *why, size_t cap)
{
	(void)ctx;
	cr_assert_eq(hk.begins, 1);
	cr_assert_eq(hk.commits + hk.aborts, 0, "the transaction ends once");
	if (!commit) {
		hk.aborts++;
		return 0;
	}
	hk.commits++;
	hk.hooks_at_commit = hk.swap_in_calls;
	if (hk.commit_result)
		snprintf(why, cap, "conflict");
	return hk.commit_result;
}

/* The host's own check (nano_core's: no required ops slot left empty); refuses when asked. */
static int t_check(void *ctx, const struct swap_pair *pairs, size_t n, char *why, size_t cap)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		cr_assert_not_null(pairs[i].new, "the check sees every new cell loaded");
	hk.checks++;
	if (hk.check_result)
		snprintf(why, cap, "the host says no");
	return hk.check_result;
}

static const struct swap_hooks hooks = { t_stop, t_resume, t_swap_in, t_now, t_committed, NULL,
					 t_state_begin, t_state_end, t_check };

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
	cr_assert_eq(hk.commits, 1, "the hooks' transaction committed");
	cr_assert_eq(hk.hooks_at_commit, 1, "after the last hook");
	cr_assert_eq(hk.aborts, 0);
}

/*
 * The relink is prepared at the check step; a user unloaded before the
 * world stops makes that plan stale, and nothing is written into the memory
 * it left (the arena unmaps it: a write would fault).
 */
Test(swap, a_user_gone_after_the_check_is_not_patched)
{
	struct swap_pair p = pair_to(&math2, "math");
	struct swap_result r;
	long pokes = f.env.pokes;

	hk.unload_user_at_stop = true;
	cr_assert_eq(loader_swap(f.ld, &p, 1, &hooks, &r), 0, "%s", r.message);
	cr_assert_null(loader_cell_find(f.ld, "user"));
	cr_assert_eq(loader_cell_find(f.ld, "math"), p.new);
	cr_assert_eq(r.imports_moved, 0, "the plan's import left with its cell");
	cr_assert_eq(r.relocs_rewritten, 0);
	cr_assert_eq(f.env.pokes, pokes, "a site of the unloaded user was written");
	cr_assert_null(loader_users_next(p.new, NULL));
}

/* With nothing changed after the check, the planned relink reaches the new cell. */
Test(swap, the_planned_relink_rewrites_every_site_once)
{
	struct swap_pair p = pair_to(&math2, "math");
	struct loader_import *im = loader_users_next(p.old, NULL);
	struct swap_result r;
	long pokes = f.env.pokes;
	struct loader_import_info ii;
	uint64_t addr;

	cr_assert_not_null(im);
	loader_import_info(im, &ii);
	cr_assert_eq(loader_swap(f.ld, &p, 1, &hooks, &r), 0, "%s", r.message);
	cr_assert_eq(r.relocs_rewritten, ii.nsites);
	cr_assert_eq(f.env.pokes - pokes, (long)ii.nsites, "one write a site, no rollback");
	cr_assert_eq(loader_users_next(p.new, NULL), im, "the import moved to the new math");
	loader_import_info(im, &ii);
	cr_assert_eq(loader_cell_lookup(p.new, "math_add", &addr), 0);
	cr_assert_eq(ii.addr, addr, "the import's target is the new math's export");
	cr_assert_eq(user_calc(), (4 + 1) * 2 + 5, "user_calc through the new math");
}

Test(swap, host_check_refuses_at_the_check_step_and_changes_nothing)
{
	struct swap_pair p = pair_to(&math2, "math");
	struct swap_result r;
	struct loader_cell *old = p.old;
	int before = user_calc();

	hk.check_result = -1;
	cr_assert_neq(loader_swap(f.ld, &p, 1, &hooks, &r), 0);
	cr_assert_eq(r.failed_step, SWAP_CHECK);
	cr_assert(strstr(r.message, "swap refused: the host says no"), "%s", r.message);
	cr_assert_eq(hk.checks, 1);
	cr_assert_eq(hk.swap_in_calls + hk.committed_calls + hk.begins, 0, "nothing ran past the check");
	cr_assert_eq(loader_cell_find(f.ld, "math"), old, "the old math stays");
	cr_assert_eq(user_calc(), before);
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

/* A call through a cellref a cell's bad pointer names is refused, not a fault of the caller. */
Test(swap, cellref_call_through_an_unmapped_cellref_is_refused)
{
	long page = sysconf(_SC_PAGESIZE);
	void *gone = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct cellref r;
	int result = 7;

	cr_assert_neq(gone, MAP_FAILED);
	cr_assert_eq(munmap(gone, (size_t)page), 0);
	cr_assert_eq(cellref_call(gone, 0, &result), -1);
	cr_assert_eq(cellref_call(NULL, 0, &result), -1);
	cr_assert_eq(result, 7, "nothing was called");
	cr_assert(cellref_make(&r, "user", "user_calc"));
	cr_assert_eq(cellref_call(&r, 0, &result), 0, "a good cellref still calls");
}

/* A cellref reaches only global functions, and a cell's name never leads into nano_core. */
Test(swap, cellref_resolves_only_to_global_functions)
{
	struct cellref r;

	cr_assert(cellref_make(&r, "math", "math_answer"));
	cr_assert_eq(cellref_resolve(&r), 0, "a cellref resolved to data");
	cr_assert(cellref_make(&r, "math", "math_ctor"));
	cr_assert_eq(cellref_resolve(&r), 0, "a cellref resolved to a local function");
	cr_assert(cellref_make(&r, "gone", "host_note"));
	cr_assert_eq(cellref_resolve(&r), 0, "a cellref of a missing cell landed in nano_core");
	cr_assert(cellref_make(&r, "gone", "math_add"));
	cr_assert_neq(cellref_resolve(&r), 0, "the namespace leads to the cell exporting it");
	cr_assert(cellref_make(&r, "nano_core", "host_note"));
	cr_assert_neq(cellref_resolve(&r), 0, "nano_core's functions by name");
	cr_assert(cellref_make(&r, "nano_core", "host_value"));
	cr_assert_eq(cellref_resolve(&r), 0, "nano_core's data");
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
	cr_assert_eq(hk.aborts, 1, "the hooks' transaction was aborted");
	cr_assert_eq(hk.commits, 0);
	struct loader_import_info ii;
	struct loader_import *im = loader_users_next(loader_cell_find(f.ld, "math"), NULL);
	cr_assert_not_null(im, "the user's import did not come back to the old math");
	loader_import_info(im, &ii);
	cr_assert_str_eq(ii.symbol, "math_add");
}

Test(swap, state_commit_failure_rolls_back)
{
	struct swap_pair p = pair_to(&math2, "math");

	hk.commit_result = -14;
	refused(&p, LOADER_EINVAL, SWAP_HANDOVER, "state transaction did not commit: conflict");
	cr_assert_eq(hk.swap_in_calls, 1);
	cr_assert_not_null(loader_users_next(loader_cell_find(f.ld, "math"), NULL),
			   "the user's import did not come back to the old math");
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

/* The cells loaded, as "name@version ..." in load order. */
static void cell_list(char *out, size_t cap)
{
	struct loader_cell_info ci;
	size_t len = 0;

	out[0] = '\0';
	for (struct loader_cell *c = NULL; (c = loader_cell_next(f.ld, c));) {
		loader_cell_info(c, &ci);
		len += (size_t)snprintf(out + len, cap - len, "%s@%s ", ci.name, ci.version);
	}
}

/* A swap pair replacing the loaded cell `old` by the object in o, named `name`. */
static struct swap_pair pair(const char *old, struct obj *o, const char *name, const char *version)
{
	return (struct swap_pair){
		.old = loader_cell_find(f.ld, old),
		.new_args = { .path = o->name, .name = name, .version = version, .obj = o->data,
			      .size = o->size, .grants = all_grants, .ngrants = all_ngrants },
	};
}

/* A swap that breaks the naming rule is refused before anything is loaded. */
static void names_refused(struct swap_pair *p, size_t n, const char *msg)
{
	char before[256], after[256];
	long maps = f.env.maps, live = host_env_live(&f.env);
	struct swap_result r;

	cell_list(before, sizeof(before));
	cr_assert_eq(loader_swap(f.ld, p, n, &hooks, &r), LOADER_EDUP, "%s", r.message);
	cr_assert_eq(r.failed_step, SWAP_CHECK);
	cr_assert_str_eq(r.message, msg);
	cr_assert_eq(f.env.maps, maps, "a refused swap loaded something");
	cr_assert_eq(host_env_live(&f.env), live);
	cell_list(after, sizeof(after));
	cr_assert_str_eq(after, before);
	cr_assert_eq(hk.swap_in_calls, 0);
}

Test(swap, new_cell_may_not_take_the_name_of_a_cell_that_stays)
{
	struct swap_pair p = pair("user", &math2, "math", "1");

	names_refused(&p, 1, "swap refused: math@1 is already loaded");
}

Test(swap, two_new_cells_may_not_share_a_name)
{
	struct obj u2 = { 0 };
	struct swap_pair p[2];

	obj_read(&u2, "h_user.o");
	p[0] = pair("math", &math2, "math", "2");
	p[1] = pair("user", &u2, "math", "3");
	names_refused(p, 2, "swap refused: two new cells are named math");
	obj_free(&u2);
}

/* Within one swap, the old cells are leaving: each name may move to a new version. */
Test(swap, multi_pair_swap_is_checked_against_the_state_after_it)
{
	struct obj u2 = { 0 };
	struct swap_pair p[2];
	struct swap_result r;
	char list[256];

	obj_read(&u2, "h_user.o");
	p[0] = pair("math", &math2, "math", "2");
	p[1] = pair("user", &u2, "user", "2");
	cr_assert_eq(loader_swap(f.ld, p, 2, &hooks, &r), 0, "%s", r.message);
	cell_list(list, sizeof(list));
	cr_assert_str_eq(list, "nano_core@ math@2 user@2 ");
	cr_assert_eq(user_calc(), 15);
	obj_free(&u2);
}

/* A new cell whose exports a staying cell already owns would never enter the namespace. */
Test(swap, new_cell_exports_must_be_free_after_the_swap)
{
	struct swap_pair p = pair("user", &math2, "math_copy", "1");
	long live = host_env_live(&f.env);
	struct loader_cell *user = p.old;
	struct swap_result r;

	cr_assert_eq(loader_swap(f.ld, &p, 1, &hooks, &r), LOADER_EDUP, "%s", r.message);
	cr_assert_eq(r.failed_step, SWAP_CHECK);
	cr_assert(strstr(r.message, "duplicate symbol 'math_add' (defined in math and math_copy)"),
		  "%s", r.message);
	cr_assert_eq(loader_cell_find(f.ld, "user"), user);
	cr_assert_null(loader_cell_find(f.ld, "math_copy"));
	cr_assert_eq(host_env_live(&f.env), live);
	cr_assert_eq(hk.committed_calls, 0);
}

Test(swap, load_of_a_loaded_name_is_refused)
{
	struct loader_load_args a = { .path = math2.name, .name = "math", .version = "2",
				      .obj = math2.data, .size = math2.size,
				      .grants = all_grants, .ngrants = all_ngrants };
	long maps = f.env.maps, live = host_env_live(&f.env);
	struct loader_cell *c = NULL;

	cr_assert_eq(loader_check(f.ld, &a), LOADER_EDUP);
	cr_assert_eq(loader_load(f.ld, &a, &c), LOADER_EDUP);
	cr_assert_null(c);
	cr_assert(strstr(loader_error(f.ld), "load refused: math@1 is already loaded"), "%s",
		  loader_error(f.ld));
	cr_assert_eq(f.env.maps, maps);
	cr_assert_eq(host_env_live(&f.env), live);
}

/* The two halves of an unload, as a swap's commit and its cleanup use them. */
Test(swap, detach_hides_the_cell_and_reap_frees_it)
{
	struct loader_cell *u = loader_cell_find(f.ld, "user");
	struct loader_cell *m = loader_cell_find(f.ld, "math");
	long live = host_env_live(&f.env);
	uint64_t addr;

	cr_assert_eq(loader_detach(f.ld, m), LOADER_EBUSY, "math is used by user");
	cr_assert_eq(loader_cell_find(f.ld, "math"), m, "a refused detach changed nothing");
	cr_assert_eq(loader_detach(f.ld, u), 0, "%s", loader_error(f.ld));
	cr_assert_null(loader_cell_find(f.ld, "user"));
	cr_assert_neq(loader_lookup(f.ld, "user_calc", &addr, NULL), 0, "a detached cell's symbol");
	cr_assert_null(loader_users_next(m, NULL), "the detached cell still uses math");
	cr_assert_eq(host_env_live(&f.env), live, "detach freed memory: it must wait for reap");
	loader_reap(f.ld, u);
	cr_assert_lt(host_env_live(&f.env), live, "reap freed nothing");
	cr_assert_eq(loader_unload(f.ld, m), 0, "math is free once user is gone: %s", loader_error(f.ld));
}
