/*
 * Linking cells into one namespace and running them: cells load into an
 * arena near this program (so they reach its functions, which play
 * nano_core's exports), are called, unloaded and loaded again; duplicates,
 * weak symbols, grants, spills and undefined symbols are refused or resolved
 * by the documented rules; dependencies are recorded both ways and can be
 * retargeted; every test ends with every allocation and mapping given back.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/loader/testlib.h"

/* Let a stale call die of SIGSEGV for Criterion, not in ASan's handler. */
const char *__asan_default_options(void)
{
	return "handle_segv=0";
}

#define HIGH 0xffffffff80400000ull

static struct fixture f;
static struct obj a, b, c3;

static void setup_arena(void)
{
	fixture_arena(&f, host_exports, host_nexports);
}

static void teardown(void)
{
	obj_free(&a);
	obj_free(&b);
	obj_free(&c3);
	fixture_fini(&f);
}

/* nano_core at made-up addresses in the top 2 GiB. */
static const struct loader_export high_exports[] = {
	{ "kprintf", "core", 0xffffffff80100000ull, true },
	{ "memset", "core", 0xffffffff80100100ull, true },
	{ "hal_outb", "port_io", 0xffffffff80100200ull, true },
};

static void setup_buffer(void)
{
	fixture_buffer(&f, HIGH, high_exports, 3);
}

TestSuite(loader_link, .init = setup_arena, .fini = teardown);

/* Kernel-model cells only reach each other in the top 2 GiB: these tests
 * link them in a buffer env there and do not run them. */
TestSuite(loader_ns, .init = setup_buffer, .fini = teardown);

static void *fn(struct loader_cell *c, const char *name)
{
	uint64_t addr;

	cr_assert_eq(loader_cell_lookup(c, name, &addr), 0, "no %s", name);
	return (void *)(uintptr_t)addr;
}

static struct loader_cell *must_load(struct obj *o, const char *file, const char *name,
				     unsigned flags)
{
	struct loader_cell *c;

	if (!o->data)
		obj_read(o, file);
	cr_assert_eq(load_named(&f, o, name, all_grants, all_ngrants, flags, &c), 0, "%s",
		     loader_error(f.ld));
	return c;
}

static void expect_refusal(struct obj *o, const char *file, int code, const char *msg)
{
	long live = host_env_live(&f.env);

	obj_read(o, file);
	cr_assert_eq(load_obj(&f, o, all_grants, all_ngrants, 0, NULL), code, "%s",
		     loader_error(f.ld));
	cr_assert_str_eq(loader_error(f.ld), msg);
	cr_assert_eq(host_env_live(&f.env), live, "a refused load kept memory");
}

Test(loader_link, load_call_unload_load_again)
{
	int notes = host_notes;

	for (int round = 0; round < 2; round++) {
		struct loader_cell *c = must_load(&a, "h_math.o", NULL, 0);
		int (*add)(int, int) = fn(c, "math_add");
		int (*fib)(int) = fn(c, "math_fib");
		int (*sw)(int) = fn(c, "math_switch");
		const char *(*word)(unsigned) = fn(c, "math_word");

		cr_assert_eq(host_notes, notes + 1000 * (round + 1), "the constructor ran");
		cr_assert_eq(add(2, 3), 5);
		cr_assert_eq(fib(10), 55);
		cr_assert_eq(sw(3), 92, "jump table");
		cr_assert_eq(sw(9), -1);
		cr_assert_str_eq(word(2), "dos", "relocated pointer table");
		cr_assert_eq(loader_unload(f.ld, c), 0);
		cr_assert_eq(host_env_live(&f.env), f.live0, "round %d leaked", round);
	}
}

Test(loader_link, stale_call_faults, .signal = SIGSEGV)
{
	struct loader_cell *c = must_load(&a, "h_math.o", NULL, 0);
	int (*add)(int, int) = fn(c, "math_add");

	cr_assert_eq(loader_unload(f.ld, c), 0);
	add(1, 2);
}

Test(loader_link, pages_have_final_permissions)
{
	struct loader_cell *c = must_load(&a, "h_math.o", NULL, 0);
	struct loader_section s;

	for (size_t i = 0; i < loader_cell_nsections(c); i++) {
		loader_cell_section(c, i, &s);
		cr_assert_eq(host_env_perm(&f.env, s.addr), s.perm, "%s", s.name);
		cr_assert_eq(s.perm & LOADER_PERM_W, 0, "%s is writable", s.name);
	}
	cr_assert_eq(host_env_perm(&f.env, (uint64_t)(uintptr_t)fn(c, "math_add")),
		     LOADER_PERM_R | LOADER_PERM_X);
}

/* Text is not writable once placed: only env->poke (the host's text_poke) writes it. */
Test(loader_link, text_write_faults, .signal = SIGSEGV)
{
	struct loader_cell *c = must_load(&a, "h_math.o", NULL, 0);
	volatile unsigned char *code = fn(c, "math_add");

	*code = *code;
}

Test(loader_link, poke_writes_text_and_refuses_unmapped_pages)
{
	struct loader_cell *c = must_load(&a, "h_math.o", NULL, 0);
	unsigned char *code = fn(c, "math_add"), was = *code, flipped = was ^ 0xff;
	const struct loader_env *env = &f.env.env;
	struct loader_cell_info info;

	loader_cell_info(c, &info);
	unsigned char *start = (unsigned char *)(uintptr_t)info.start, *end = (unsigned char *)(uintptr_t)info.end;

	cr_assert_eq(env->poke(env->ctx, code, &flipped, 1), 0);
	cr_assert_eq(*code, flipped);
	cr_assert_eq(env->poke(env->ctx, code, &was, 1), 0);
	cr_assert_eq(host_env_perm(&f.env, (uint64_t)(uintptr_t)code), LOADER_PERM_R | LOADER_PERM_X,
		     "a poke left text with other permissions");
	cr_assert_eq(((int (*)(int, int))(void *)code)(2, 3), 5, "text broken by the pokes");
	cr_assert_eq(env->poke(env->ctx, start - 1, &was, 1), -1, "a poke into the guard page");
	cr_assert_eq(env->poke(env->ctx, start - 1, &was, 2), -1, "a poke across the guard page");
	cr_assert_eq(env->poke(env->ctx, end, &was, 1), -1, "a poke past the mapping");
	cr_assert_eq(f.env.pokes, 2);
}

Test(loader_link, cross_cell_call_and_dependencies)
{
	struct loader_cell *math = must_load(&a, "h_math.o", NULL, 0);
	struct loader_cell *user = must_load(&b, "h_user.o", NULL, 0);
	int (*calc)(int) = fn(user, "user_calc");
	int (*has_maybe)(void) = fn(user, "user_has_maybe");
	struct loader_import_info info;
	struct loader_import *im = loader_uses_next(user, NULL);

	cr_assert_eq(calc(4), (4 + 1) * 2 + 5);
	cr_assert_eq(has_maybe(), 0, "unresolved weak reference is 0");
	cr_assert_not_null(im);
	loader_import_info(im, &info);
	cr_assert_str_eq(info.symbol, "math_add");
	cr_assert(info.owner == math && info.user == user);
	cr_assert_gt(info.nsites, 0);
	cr_assert_null(loader_uses_next(user, im), "only math_add is imported");
	cr_assert(loader_users_next(math, NULL) == im, "math knows its user");
	cr_assert_null(loader_users_next(math, im));
}

Test(loader_link, unload_refused_while_used)
{
	struct loader_cell *math = must_load(&a, "h_math.o", NULL, 0);
	struct loader_cell *u1 = must_load(&b, "h_user.o", "user1", 0);
	struct loader_cell *u2 = must_load(&b, "h_user.o", "user2", LOADER_UNPUBLISHED);
	long live = host_env_live(&f.env);

	cr_assert_eq(loader_unload(f.ld, math), LOADER_EBUSY);
	cr_assert_str_eq(loader_error(f.ld), "loader: h_math: cannot unload: used by user2, user1");
	cr_assert_eq(host_env_live(&f.env), live);
	cr_assert_eq(((int (*)(int))fn(u1, "user_calc"))(1), 9, "math still works");
	cr_assert_eq(loader_unload(f.ld, u1), 0);
	cr_assert_eq(loader_unload(f.ld, math), LOADER_EBUSY);
	cr_assert_eq(loader_unload(f.ld, u2), 0);
	cr_assert_eq(loader_unload(f.ld, math), 0);
	cr_assert_eq(loader_unload(f.ld, loader_cell_next(f.ld, NULL)), LOADER_EINVAL,
		     "nano_core stays");
}

Test(loader_link, duplicate_global_names_both_owners)
{
	must_load(&a, "k_dup_a.o", NULL, LOADER_NO_CTORS);
	expect_refusal(&b, "k_dup_b.o", LOADER_EDUP,
		       "loader: k_dup_b.o: duplicate symbol 'dup_fn' (defined in k_dup_a and k_dup_b)");
}

Test(loader_link, duplicate_of_a_nano_core_export)
{
	Elf64_Sym *sym;

	obj_read(&a, "h_math.o");
	sym = obj_symbol(&a, "math_add", NULL);
	/* Rename math_add to memset, which nano_core exports. */
	memcpy(a.data + obj_shdr(&a, obj_section(&a, ".strtab"))->sh_offset + sym->st_name,
	       "memset", 7);
	cr_assert_eq(load_obj(&f, &a, all_grants, all_ngrants, 0, NULL), LOADER_EDUP);
	cr_assert_str_eq(loader_error(f.ld),
			 "loader: h_math.o: duplicate symbol 'memset' (defined in nano_core and h_math)");
	cr_assert_eq(host_env_live(&f.env), f.live0);
}

Test(loader_ns, weak_definition_yields_to_a_loaded_strong_one)
{
	struct loader_cell *strong = must_load(&a, "k_strong.o", NULL, LOADER_NO_CTORS);
	struct loader_cell *weak = must_load(&b, "k_weak.o", NULL, LOADER_NO_CTORS);
	struct loader_import_info info;
	struct loader_cell *owner;
	uint64_t addr, mine;

	cr_assert_eq(loader_lookup(f.ld, "weak_hook", &addr, &owner), 0);
	cr_assert(owner == strong);
	cr_assert_eq(loader_cell_lookup(weak, "weak_hook", &mine), 0);
	cr_assert_neq(mine, addr, "k_weak still has its own copy, unexported");
	loader_import_info(loader_uses_next(weak, NULL), &info);
	cr_assert_str_eq(info.symbol, "weak_hook", "k_weak's calls bind to k_strong");
	cr_assert(info.owner == strong);
	cr_assert_null(loader_uses_next(weak, loader_uses_next(weak, NULL)),
		       "weak_missing stays 0 and is not an import");
}

Test(loader_ns, strong_definition_does_not_override_a_loaded_weak_one)
{
	must_load(&a, "k_weak.o", NULL, LOADER_NO_CTORS);
	expect_refusal(&b, "k_strong.o", LOADER_EDUP,
		       "loader: k_strong.o: 'weak_hook' is weak in k_weak; "
		       "the loader does not let k_strong override it");
}

/*
 * With eight published owners the namespace is a table (symbols.c): names
 * resolve, duplicates are refused, weak definitions yield, and a cell's
 * names leave with it and come back with it, as with the walk.
 */
Test(loader_ns, many_owners_resolve_through_the_namespace_table)
{
	static const char *const files[] = { "k_hello.o", "k_multi.o", "k_ports.o", "k_strong.o",
					     "k_dup_a.o", "a_comdat_a.o", "k_weak.o" };
	struct obj o[7] = { 0 };
	struct loader_cell *c[7], *owner;
	uint64_t addr;

	for (int i = 0; i < 7; i++)
		c[i] = must_load(&o[i], files[i], NULL, LOADER_NO_CTORS);
	cr_assert_eq(loader_lookup(f.ld, "multi_a", &addr, &owner), 0);
	cr_assert(owner == c[1]);
	cr_assert_eq(loader_lookup(f.ld, "kprintf", &addr, &owner), 0);
	cr_assert(owner == loader_cell_next(f.ld, NULL), "nano_core's export");
	cr_assert_eq(loader_lookup(f.ld, "weak_hook", &addr, &owner), 0);
	cr_assert(owner == c[3], "k_weak's weak_hook yielded to k_strong's");
	expect_refusal(&b, "k_dup_b.o", LOADER_EDUP,
		       "loader: k_dup_b.o: duplicate symbol 'dup_fn' (defined in k_dup_a and k_dup_b)");
	cr_assert_eq(loader_unload(f.ld, c[1]), 0);
	cr_assert_neq(loader_lookup(f.ld, "multi_a", &addr, &owner), 0, "gone with k_multi");
	cr_assert_eq(loader_lookup(f.ld, "hello_name", &addr, &owner), 0);
	cr_assert(owner == c[0], "the others stay");
	c[1] = must_load(&o[1], files[1], NULL, LOADER_NO_CTORS);
	cr_assert_eq(loader_lookup(f.ld, "multi_b", &addr, &owner), 0);
	cr_assert(owner == c[1], "back with it");
	for (int i = 0; i < 7; i++)
		obj_free(&o[i]);
}

/*
 * A namespace with fewer names than the object has globals is matched from
 * its side (symbols.c: match_from_namespace): nano_core exports kprintf
 * only here. Duplicates, weak definitions, undefined names and grants come
 * out as when each global probes the namespace.
 */
static void setup_small_ns(void)
{
	fixture_buffer(&f, HIGH, high_exports, 1);
}

TestSuite(loader_small_ns, .init = setup_small_ns, .fini = teardown);

/* Renames symbol `from` of o to `to` (no longer than it) in its string table. */
static void rename_symbol(struct obj *o, const char *from, const char *to)
{
	Elf64_Sym *sym = obj_symbol(o, from, NULL);

	cr_assert_not_null(sym, "no %s", from);
	cr_assert_leq(strlen(to), strlen(from));
	memcpy(o->data + obj_shdr(o, obj_section(o, ".strtab"))->sh_offset + sym->st_name, to,
	       strlen(to) + 1);
}

Test(loader_small_ns, weak_definition_yields_to_a_loaded_strong_one)
{
	struct loader_cell *strong = must_load(&a, "k_strong.o", NULL, LOADER_NO_CTORS);
	struct loader_cell *weak = must_load(&b, "k_weak.o", NULL, LOADER_NO_CTORS);
	struct loader_import_info info;
	struct loader_cell *owner;
	uint64_t addr;

	cr_assert_eq(loader_lookup(f.ld, "weak_hook", &addr, &owner), 0);
	cr_assert(owner == strong);
	loader_import_info(loader_uses_next(weak, NULL), &info);
	cr_assert_str_eq(info.symbol, "weak_hook", "k_weak's calls bind to k_strong");
	cr_assert(info.owner == strong);
	cr_assert_null(loader_uses_next(weak, loader_uses_next(weak, NULL)));
}

Test(loader_small_ns, duplicate_undefined_and_grant_refusals)
{
	static const char *const port_io_only[] = { "port_io" };
	struct loader_import_info info;
	struct loader_cell *c;

	expect_refusal(&a, "h_math.o", LOADER_EUNDEF, "loader: h_math.o: undefined symbol 'host_note'");
	obj_free(&a);
	obj_read(&a, "h_math.o");
	rename_symbol(&a, "math_add", "kprintf");
	cr_assert_eq(load_obj(&f, &a, all_grants, all_ngrants, LOADER_NO_CTORS, NULL), LOADER_EDUP);
	cr_assert_str_eq(loader_error(f.ld),
			 "loader: h_math.o: duplicate symbol 'kprintf' (defined in nano_core and h_math)");
	obj_free(&a);
	obj_read(&a, "h_math.o");
	rename_symbol(&a, "host_note", "kprintf");
	cr_assert_eq(load_obj(&f, &a, port_io_only, 1, LOADER_NO_CTORS, NULL), LOADER_EGRANT);
	cr_assert_str_eq(loader_error(f.ld), "loader: h_math.o: symbol 'kprintf' needs grant "
			 "'core', which h_math was not given");
	cr_assert_eq(host_env_live(&f.env), f.live0, "the refusals kept nothing");
	cr_assert_eq(load_obj(&f, &a, all_grants, all_ngrants, LOADER_NO_CTORS, &c), 0, "%s",
		     loader_error(f.ld));
	loader_import_info(loader_uses_next(c, NULL), &info);
	cr_assert_str_eq(info.symbol, "kprintf");
	cr_assert(info.owner == loader_cell_next(f.ld, NULL), "bound to nano_core's");
}

Test(loader_link, grant_violation)
{
	static const char *const core_only[] = { "core" };
	struct loader_cell *c;

	obj_read(&a, "k_ports.o");
	cr_assert_eq(load_obj(&f, &a, core_only, 1, LOADER_NO_CTORS, NULL), LOADER_EGRANT);
	cr_assert_str_eq(loader_error(f.ld),
			 "loader: k_ports.o: symbol 'hal_outb' needs grant 'port_io', "
			 "which k_ports was not given");
	cr_assert_eq(host_env_live(&f.env), f.live0);
	cr_assert_eq(load_obj(&f, &a, all_grants, 2, LOADER_NO_CTORS, &c), 0);
}

/* Loads h_math with its exports guarded as given. */
static int load_guarded_math(const struct loader_guard *guards, size_t n,
			     struct loader_cell **out)
{
	struct loader_load_args args;

	if (!a.data)
		obj_read(&a, "h_math.o");
	args = (struct loader_load_args){
		.path = "h_math.o", .name = "h_math", .version = "1", .obj = a.data,
		.size = a.size, .grants = all_grants, .ngrants = all_ngrants,
		.guards = guards, .nguards = n,
	};
	return loader_load(f.ld, &args, out);
}

/* The grant of symbol name in cell c, as loader_cell_sym reports it. */
/* A cell export guarded with a grant links only into cells given it; the
 * guard's strings are the loader's own copies. */
Test(loader_link, guarded_export_needs_its_grant)
{
	static const char *const core_only[] = { "core" };
	static const char *const with_hooks[] = { "core", "test_hooks" };
	char symbol[] = "math_add", grant[] = "test_hooks";
	struct loader_guard guard = { symbol, grant };
	struct loader_cell *math, *user;

	cr_assert_eq(load_guarded_math(&guard, 1, &math), 0, "%s", loader_error(f.ld));
	memset(symbol, 'x', sizeof(symbol) - 1);
	memset(grant, 'y', sizeof(grant) - 1);
	cr_assert_str_eq(cell_sym_grant(math, "math_add"), "test_hooks");
	cr_assert_null(cell_sym_grant(math, "math_fib"), "an unguarded export needs no grant");

	long live = host_env_live(&f.env);
	obj_read(&b, "h_user.o");
	cr_assert_eq(load_obj(&f, &b, core_only, 1, 0, NULL), LOADER_EGRANT);
	cr_assert_str_eq(loader_error(f.ld),
			 "loader: h_user.o: symbol 'math_add' needs grant 'test_hooks', "
			 "which h_user was not given");
	cr_assert_eq(host_env_live(&f.env), live, "a refused load kept memory");
	cr_assert_eq(load_obj(&f, &b, with_hooks, 2, 0, &user), 0, "%s", loader_error(f.ld));
	cr_assert_eq(((int (*)(int))fn(user, "user_calc"))(4), (4 + 1) * 2 + 5);
}

Test(loader_link, guard_must_name_an_export)
{
	struct loader_guard guards[] = { { "math_add", "test_hooks" }, { "no_such", "test_hooks" } };
	struct loader_guard local = { "words", "test_hooks" };

	cr_assert_eq(load_guarded_math(guards, 2, NULL), LOADER_ENOENT);
	cr_assert_str_eq(loader_error(f.ld),
			 "loader: h_math.o: guard 'no_such' (grant 'test_hooks') names no "
			 "symbol that h_math exports");
	cr_assert_eq(host_env_live(&f.env), f.live0, "a refused load kept memory");
	cr_assert_eq(load_guarded_math(&local, 1, NULL), LOADER_ENOENT, "a local symbol");
	guards[1].grant = "";
	cr_assert_eq(load_guarded_math(guards, 2, NULL), LOADER_EINVAL);
	cr_assert_str_eq(loader_error(f.ld), "loader: h_math.o: guard 1 has no symbol or no grant");
	cr_assert_eq(host_env_live(&f.env), f.live0);
}

Test(loader_link, state_spill_names_each_symbol)
{
	expect_refusal(&a, "k_spill.o", LOADER_ESPILL,
		       "loader: k_spill.o: state spill: 'table' (.data), 'counter' (.bss); "
		       "cells may not keep writable static data, COMMON or TLS");
}

Test(loader_link, state_allowed_when_asked)
{
	struct loader_cell *c = must_load(&a, "k_spill.o", NULL, LOADER_NO_CTORS | LOADER_ALLOW_STATE);
	struct loader_cell_info info;

	loader_cell_info(c, &info);
	cr_assert_gt(info.data_size, 0);
	cr_assert_eq(host_env_perm(&f.env, info.end - 1), LOADER_PERM_R | LOADER_PERM_W);
}

Test(loader_link, common_symbol_is_a_spill)
{
	expect_refusal(&a, "k_common.o", LOADER_ESPILL,
		       "loader: k_common.o: state spill: 'shared_common' (COMMON); "
		       "cells may not keep writable static data, COMMON or TLS");
}

Test(loader_link, tls_is_a_spill)
{
	expect_refusal(&a, "k_tls.o", LOADER_ESPILL,
		       "loader: k_tls.o: state spill: 'tls_var' (.tbss); "
		       "cells may not keep writable static data, COMMON or TLS");
}

Test(loader_link, undefined_symbols_are_all_named)
{
	expect_refusal(&a, "k_undef.o", LOADER_EUNDEF,
		       "loader: k_undef.o: undefined symbols 'no_such_symbol', 'also_missing'");
}

Test(loader_link, check_changes_nothing)
{
	struct loader_load_args args = { .path = "k_undef.o" };

	obj_read(&a, "k_undef.o");
	args.obj = a.data;
	args.size = a.size;
	cr_assert_eq(loader_check(f.ld, &args), LOADER_EUNDEF);
	obj_read(&b, "h_math.o");
	args = (struct loader_load_args){ .path = "h_math.o", .obj = b.data, .size = b.size,
					  .grants = all_grants, .ngrants = 1 };
	cr_assert_eq(loader_check(f.ld, &args), 0, "%s", loader_error(f.ld));
	cr_assert_eq(host_env_live(&f.env), f.live0);
	cr_assert_eq(f.env.maps, 0, "check never maps");
	cr_assert_null(loader_cell_next(f.ld, loader_cell_next(f.ld, NULL)));
}

Test(loader_link, stack_protector_uses_nano_core_guard)
{
	struct loader_cell *c = must_load(&a, "h_stack.o", NULL, 0);
	int (*fill)(int) = fn(c, "stack_fill");
	struct loader_import_info info;
	bool guard = false, fail = false;

	cr_assert_eq(fill(7), 7);
	for (struct loader_import *im = loader_uses_next(c, NULL); im;
	     im = loader_uses_next(c, im)) {
		loader_import_info(im, &info);
		guard |= strcmp(info.symbol, "__stack_chk_guard") == 0;
		fail |= strcmp(info.symbol, "__stack_chk_fail") == 0;
	}
	cr_assert(guard && fail);
}

Test(loader_link, pie_cell_runs)
{
	struct loader_cell *c = must_load(&a, "h_pie.o", NULL, 0);

	cr_assert_eq(((int (*)(int))fn(c, "pie_get"))(1), 2 * 20 + host_value);
}

Test(loader_ns, comdat_copies_stay_in_their_cell)
{
	struct loader_cell *ca = must_load(&a, "a_comdat_a.o", NULL, LOADER_NO_CTORS);
	struct loader_cell *cb = must_load(&b, "a_comdat_b.o", NULL, LOADER_NO_CTORS);
	struct loader_cell_info ia, ib;
	uint64_t ha, hb;

	loader_cell_info(ca, &ia);
	loader_cell_info(cb, &ib);
	cr_assert_eq(loader_lookup(f.ld, "shared_helper", NULL, NULL), LOADER_ENOENT);
	cr_assert_eq(loader_cell_lookup(ca, "shared_helper", &ha), 0);
	cr_assert_eq(loader_cell_lookup(cb, "shared_helper", &hb), 0);
	cr_assert(ha >= ia.start && ha < ia.end && hb >= ib.start && hb < ib.end);
	cr_assert_null(loader_uses_next(cb, NULL), "b uses its own copy");
}

Test(loader_ns, private_names_stay_in_their_cell)
{
	struct loader_cell *h = must_load(&a, "k_hello.o", NULL, LOADER_NO_CTORS);
	uint64_t addr;

	cr_assert_eq(loader_lookup(f.ld, "cell_init", &addr, NULL), LOADER_ENOENT);
	cr_assert_eq(loader_cell_lookup(h, "cell_init", &addr), 0);
	cr_assert_eq(loader_lookup(f.ld, "hello_switch", &addr, NULL), 0);
}

/* Only global functions are found by name: locals and data are refused, saying which. */
Test(loader_link, cell_lookup_finds_only_global_functions)
{
	struct loader_cell *c = must_load(&a, "h_math.o", NULL, 0);
	struct loader_sym s;
	uint64_t addr = 0;

	cr_assert_eq(loader_cell_lookup(c, "math_add", &addr), 0);
	cr_assert_eq(((int (*)(int, int))(uintptr_t)addr)(2, 3), 5);
	cr_assert_eq(loader_cell_lookup(c, "math_ctor", &addr), LOADER_EINVAL, "a local function");
	cr_assert(loader_cell_sym_find(c, "math_ctor", &s) && s.bind == LOADER_LOCAL && s.func);
	cr_assert_eq(loader_cell_lookup(c, "math_answer", &addr), LOADER_EINVAL, "a global object");
	cr_assert(loader_cell_sym_find(c, "math_answer", &s) && s.bind == LOADER_GLOBAL && !s.func);
	cr_assert_eq(*(const int *)(uintptr_t)s.addr, 42);
	cr_assert_eq(loader_cell_lookup(c, "nope", &addr), LOADER_ENOENT);
	cr_assert_not(loader_cell_sym_find(c, "nope", &s));
}

/* nano_core's exports are typed by the table: functions are found, data is not. */
Test(loader_link, core_lookup_tells_functions_from_data)
{
	struct loader_cell *core = loader_cell_next(f.ld, NULL);
	struct loader_sym s;
	uint64_t addr;

	cr_assert_eq(loader_cell_lookup(core, "host_note", &addr), 0);
	cr_assert_eq(loader_cell_lookup(core, "host_value", &addr), LOADER_EINVAL);
	cr_assert(loader_cell_sym_find(core, "host_value", &s) && !s.func);
	cr_assert_eq(loader_cell_lookup(core, "__stack_chk_guard", &addr), LOADER_EINVAL);
}

Test(loader_link, address_lookup_names_cell_symbol_offset)
{
	struct loader_cell *c = must_load(&a, "h_math.o", NULL, 0);
	uint64_t fib = (uint64_t)(uintptr_t)fn(c, "math_fib");
	struct loader_addr_info info;

	cr_assert(loader_addr_lookup(f.ld, fib + 3, &info));
	cr_assert(info.cell == c);
	cr_assert_str_eq(info.symbol, "math_fib");
	cr_assert_str_eq(info.section, ".text");
	cr_assert_eq(info.offset, 3);
	cr_assert_not(loader_addr_lookup(f.ld, 0x1000, &info));
}

Test(loader_link, iterate_cells_and_symbols)
{
	struct loader_cell *m = must_load(&a, "h_math.o", "math", 0);
	struct loader_cell *u = must_load(&b, "h_user.o", "user", 0);
	struct loader_cell_info info;
	struct loader_sym s;
	const char *order[] = { "nano_core", "math", "user" };
	int k = 0, exported_add = 0;

	for (struct loader_cell *c = loader_cell_next(f.ld, NULL); c; c = loader_cell_next(f.ld, c)) {
		loader_cell_info(c, &info);
		cr_assert_lt(k, 3);
		cr_assert_str_eq(info.name, order[k]);
		cr_assert_eq(info.core, k == 0);
		if (k++)
			cr_assert(info.text_size > 0 && info.end > info.start);
	}
	cr_assert_eq(k, 3);
	cr_assert(loader_cell_find(f.ld, "user") == u);
	for (size_t i = 0; i < loader_cell_nsyms(m); i++) {
		uint64_t prev = i ? s.addr : 0;
		loader_cell_sym(m, i, &s);
		if (strcmp(s.name, "math_add") == 0)
			exported_add = s.exported && s.func && s.bind == LOADER_GLOBAL;
		cr_assert_geq(s.addr, prev, "symbols are in address order");
	}
	cr_assert(exported_add);
}

/* A swap's building blocks: load v2 unpublished, retarget, unload v1, publish. */
Test(loader_link, retarget_imports_to_a_new_version)
{
	struct loader_cell *v1 = must_load(&a, "h_math.o", "math_v1", 0);
	struct loader_cell *user = must_load(&b, "h_user.o", "user", 0);
	struct loader_cell *v2 = must_load(&a, "h_math.o", "math_v2", LOADER_UNPUBLISHED);
	int (*calc)(int) = fn(user, "user_calc");
	struct loader_import *im = loader_uses_next(user, NULL);
	struct loader_import_info info;
	struct loader_cell *owner;

	cr_assert_eq(loader_publish(f.ld, v2), LOADER_EDUP, "v1 still owns math_add");
	cr_assert_eq(loader_import_retarget(f.ld, im, v2), 0, "%s", loader_error(f.ld));
	loader_import_info(im, &info);
	cr_assert(info.owner == v2);
	cr_assert_eq(info.addr, (uint64_t)(uintptr_t)fn(v2, "math_add"));
	cr_assert_gt(f.env.pokes, 0);
	cr_assert_eq(calc(4), 15);
	cr_assert_null(loader_users_next(v1, NULL));
	cr_assert_eq(loader_unload(f.ld, v1), 0);
	cr_assert_eq(calc(6), 19, "user runs v2 once v1 is gone");
	cr_assert_eq(loader_publish(f.ld, v2), 0, "%s", loader_error(f.ld));
	cr_assert_eq(loader_lookup(f.ld, "math_add", NULL, &owner), 0);
	cr_assert(owner == v2);
}

Test(loader_link, out_of_memory_leaves_the_namespace_intact)
{
	struct loader_cell *math = must_load(&a, "h_math.o", NULL, LOADER_NO_CTORS);
	int err = LOADER_ENOMEM;
	long n;

	obj_read(&b, "h_user.o");
	for (n = 1; err == LOADER_ENOMEM && n < 100; n++) {
		long live = host_env_live(&f.env);
		f.env.fail_at = n;
		err = load_obj(&f, &b, all_grants, all_ngrants, 0, NULL);
		if (err) {
			cr_assert_eq(err, LOADER_ENOMEM, "%s", loader_error(f.ld));
			cr_assert_eq(host_env_live(&f.env), live, "step %ld leaked", n);
			cr_assert_null(loader_users_next(math, NULL), "step %ld left a user", n);
		}
	}
	cr_assert_eq(err, 0);
	cr_assert_not_null(loader_users_next(math, NULL));
}
