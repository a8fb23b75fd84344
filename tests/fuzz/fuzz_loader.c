/*
 * libFuzzer target over the loader: validation, resolution, layout,
 * relocation, the queries, re-linking and unloading, on a buffer env in
 * the top 2 GiB. Every input must leave no allocation or mapping behind.
 *
 *   make fuzz [FUZZ_RUNS=N]     (seeds: the loader's test objects)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <delos/loader.h>

#include "loader/host_env.h"

#define BASE 0xffffffff80400000ull

static const struct loader_export exports[] = {
	{ "ext", "core", 0xffffffff80123450ull, true },
	{ "ext2", "core", 0xffffffff80123460ull, true },
	{ "small8", "core", 0x7f, false },
	{ "small16", "core", 0x1234, false },
	{ "kprintf", "core", 0xffffffff80100000ull, true },
	{ "memset", "core", 0xffffffff80100100ull, true },
	{ "host_note", "core", 0xffffffff80100200ull, true },
	{ "host_memset", "core", 0xffffffff80100300ull, true },
	{ "host_twice", "core", 0xffffffff80100400ull, true },
	{ "host_value", "core", 0xffffffff80200000ull, false },
	{ "__stack_chk_guard", "core", 0xffffffff80200008ull, false },
	{ "__stack_chk_fail", "core", 0xffffffff80100500ull, true },
	{ "hal_outb", "port_io", 0xffffffff80100600ull, true },
};
static const char *const grants[] = { "core" };
static const char *const private_names[] = { "cell_init", NULL };

/* Walks everything the query API offers about a loaded cell. */
static void exercise(struct loader *ld, struct loader_cell *c)
{
	struct loader_addr_info where;
	struct loader_section s;
	struct loader_sym sym, found;
	struct loader_import_info info;
	uint64_t addr;

	for (size_t i = 0; i < loader_cell_nsections(c); i++) {
		loader_cell_section(c, i, &s);
		loader_addr_lookup(ld, s.addr, &where);
	}
	for (size_t i = 0; i < loader_cell_nsyms(c); i++) {
		loader_cell_sym(c, i, &sym);
		loader_cell_lookup(c, sym.name, &addr);
		loader_cell_sym_find(c, sym.name, &found);
		loader_lookup(ld, sym.name, &addr, NULL);
	}
	for (struct loader_import *im = loader_uses_next(c, NULL); im;
	     im = loader_uses_next(c, im)) {
		loader_import_info(im, &info);
		for (size_t k = 0; k < info.nsites; k++) {
			loader_site_section(im, loader_import_site(im, k));
			if (loader_reloc_check(ld, im, k, info.addr) ||
			    loader_reloc_apply(ld, im, k, info.addr))
				abort(); /* re-linking to the same target must work */
		}
	}
}

/* Loads a second copy unpublished and moves the first copy's users to it. */
static void swap_in_copy(struct loader *ld, struct loader_cell *old,
			 struct loader_load_args *a)
{
	struct loader_cell *copy;
	struct loader_import *im;

	a->flags |= LOADER_UNPUBLISHED;
	if (loader_load(ld, a, &copy))
		return;
	while ((im = loader_users_next(old, NULL)) && !loader_import_retarget(ld, im, copy))
		;
	if (!loader_users_next(old, NULL) && !loader_unload(ld, old))
		loader_publish(ld, copy);
}

static void run(struct loader *ld, const void *obj, size_t size, unsigned flags)
{
	struct loader_cell *c, *user;
	struct loader_load_args a = {
		.path = "fuzz.o", .name = "fuzz", .obj = obj, .size = size,
		.grants = grants, .ngrants = 1, .flags = flags,
	};
	int err = loader_load(ld, &a, &c);

	if (err == LOADER_ESPILL) {
		a.flags |= LOADER_ALLOW_STATE;
		err = loader_load(ld, &a, &c);
	}
	if (err)
		return;
	exercise(ld, c);
	/* A second copy, unpublished, imports nothing from the first; load a
	 * third that may depend on it, then try a swap. */
	a.name = "user";
	a.flags |= LOADER_UNPUBLISHED;
	if (!loader_load(ld, &a, &user))
		loader_unload(ld, user);
	a.name = "copy";
	a.flags &= ~LOADER_UNPUBLISHED;
	swap_in_copy(ld, c, &a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct host_env env;
	struct loader *ld;
	struct loader_config cfg = {
		.env = &env.env, .exports = exports,
		.nexports = sizeof(exports) / sizeof(exports[0]),
		.private_names = private_names,
	};
	void *obj = malloc(size ? size : 1);

	memcpy(obj, data, size);
	host_env_buffer(&env, BASE);
	env.max_map = 16 << 20;
	if (loader_create(&cfg, &ld))
		abort();
	/* One input in eight also fails an allocation somewhere. */
	if (size > 64 && data[size - 1] % 8 == 0)
		env.fail_at = 1 + data[size - 2] % 24;
	run(ld, obj, size, LOADER_NO_CTORS);
	loader_destroy(ld);
	if (host_env_live(&env) != 0)
		abort(); /* leaked an allocation or a mapping */
	host_env_fini(&env);
	free(obj);
	return 0;
}
