/*
 * Every relocation kind is patched exactly as ld.lld patches it: each test
 * loads an object made for one kind at a fixed base (buffer env), links the
 * same object with ld.lld at the addresses the loader chose, compares every
 * placed section byte for byte, and checks a few values by hand. Then range
 * errors, the dependency records and re-linking.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/loader/testlib.h"

#define HIGH 0xffffffff80400000ull
#define EXT 0xffffffff80123450ull
#define EXT2 0xffffffff80123460ull

static const struct loader_export high_exports[] = {
	{ "ext", "core", EXT, true },
	{ "ext2", "core", EXT2, true },
	{ "small8", "core", 0x7f, false },
	{ "small16", "core", 0x1234, false },
};
static const struct loader_export low_exports[] = {
	{ "ext", "core", 0x123450, true },
	{ "ext2", "core", 0x123460, true },
};
static const char *const grants[] = { "core" };

static struct fixture f;
static bool started;
static struct obj o;

static void teardown(void)
{
	obj_free(&o);
	if (started)
		fixture_fini(&f);
	started = false;
}

TestSuite(loader_reloc, .fini = teardown);

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static struct loader_cell *load_at(const char *file, uint64_t base,
				   const struct loader_export *ex, size_t n)
{
	struct loader_cell *c;

	obj_read(&o, file);
	fixture_buffer(&f, base, ex, n);
	started = true;
	cr_assert_eq(load_obj(&f, &o, grants, 1, LOADER_NO_CTORS, &c), 0, "%s",
		     loader_error(f.ld));
	return c;
}

/* Loads `file`, which must contain `type`, and compares it with ld.lld. */
static struct loader_cell *link_and_compare(const char *file, unsigned type, uint64_t base,
					    const struct loader_export *ex, size_t n)
{
	char why[256];
	struct loader_cell *c = load_at(file, base, ex, n);

	cr_assert_gt(obj_count_relocs(&o, type), 0, "%s has no %s", file,
		     loader_reloc_name(type));
	int k = lld_compare(&f, c, &o, ex, n, why, sizeof(why));
	cr_assert_gt(k, 0, "%s differs from ld.lld: %s", file, why);
	return c;
}

static unsigned char *sec(struct loader_cell *c, const char *name, uint64_t *addr)
{
	unsigned char *p = cell_bytes(&f, c, name, addr);

	cr_assert_not_null(p, "no section %s", name);
	return p;
}

Test(loader_reloc, r_x86_64_64)
{
	struct loader_cell *c = link_and_compare("r_64.o", R_X86_64_64, HIGH, high_exports, 4);
	uint64_t text, ro;
	unsigned char *p = sec(c, ".rodata", &ro);

	sec(c, ".text", &text);
	cr_assert_eq(rd64(p), EXT + 8);
	cr_assert_eq(rd64(p + 8), text);
	cr_assert_eq(rd64(p + 16), ro + 16);
	cr_assert_eq(rd64(p + 24), EXT2 - 3);
}

Test(loader_reloc, r_x86_64_32)
{
	struct loader_cell *c = link_and_compare("r_32.o", R_X86_64_32, 0x400000, low_exports, 2);
	uint64_t ro;
	unsigned char *t = sec(c, ".text", NULL);

	sec(c, ".rodata", &ro);
	cr_assert_eq(rd32(t + 1), 0x123450);
	cr_assert_eq(rd32(t + 6), ro + 4);
}

Test(loader_reloc, r_x86_64_32s)
{
	struct loader_cell *c = link_and_compare("r_32s.o", R_X86_64_32S, HIGH, high_exports, 4);
	unsigned char *t = sec(c, ".text", NULL);

	cr_assert_eq(rd32(t + 3), (uint32_t)EXT);
}

Test(loader_reloc, r_x86_64_pc32)
{
	struct loader_cell *c = link_and_compare("r_pc32.o", R_X86_64_PC32, HIGH, high_exports, 4);
	uint64_t text;
	unsigned char *t = sec(c, ".text", &text);

	cr_assert_eq((int32_t)rd32(t + 3), (int64_t)(EXT - (text + 7)));
}

Test(loader_reloc, r_x86_64_plt32)
{
	struct loader_cell *c = link_and_compare("r_plt32.o", R_X86_64_PLT32, HIGH, high_exports, 4);
	uint64_t text;
	unsigned char *t = sec(c, ".text", &text);

	cr_assert_eq(t[0], 0xe8);
	cr_assert_eq((int32_t)rd32(t + 1), (int64_t)(EXT - (text + 5)));
}

Test(loader_reloc, r_x86_64_pc64)
{
	struct loader_cell *c = link_and_compare("r_pc64.o", R_X86_64_PC64, HIGH, high_exports, 4);
	uint64_t ro;
	unsigned char *p = sec(c, ".rodata", &ro);

	cr_assert_eq(rd64(p), EXT - ro);
}

Test(loader_reloc, r_x86_64_gotpcrel)
{
	struct loader_cell *c =
		link_and_compare("r_gotpcrel.o", R_X86_64_GOTPCREL, HIGH, high_exports, 4);
	uint64_t text, got;
	unsigned char *t = sec(c, ".text", &text), *g = sec(c, ".got", &got);
	struct loader_cell_info info;
	struct loader_sym helper;

	loader_cell_info(c, &info);
	cr_assert_eq(info.got_size, 24, "ext, ext2 and helper get one slot each");
	cr_assert(loader_cell_sym_find(c, "helper", &helper));
	cr_assert_eq(rd64(g), helper.addr, "slots follow symbol order, as in ld.lld");
	cr_assert_eq(rd64(g + 8), EXT);
	cr_assert_eq(rd64(g + 16), EXT2);
	cr_assert_eq(t[1], 0x8b, "a GOT load stays a load: no relaxation");
	cr_assert_eq((int32_t)rd32(t + 3), (int64_t)(got + 8 - (text + 7)));
}

Test(loader_reloc, r_x86_64_gotpcrelx)
{
	struct loader_cell *c =
		link_and_compare("r_gotpcrelx.o", R_X86_64_GOTPCRELX, HIGH, high_exports, 4);
	unsigned char *t = sec(c, ".text", NULL), *g = sec(c, ".got", NULL);

	cr_assert_eq(t[0], 0x8b);
	cr_assert_eq(rd64(g), EXT);
	cr_assert_eq(rd64(g + 8), EXT2);
}

Test(loader_reloc, r_x86_64_rex_gotpcrelx)
{
	struct loader_cell *c = link_and_compare("r_rex_gotpcrelx.o", R_X86_64_REX_GOTPCRELX,
						 HIGH, high_exports, 4);
	uint64_t ro;
	unsigned char *t = sec(c, ".text", NULL), *g = sec(c, ".got", NULL);

	sec(c, ".rodata", &ro);
	cr_assert(t[0] == 0x48 && t[1] == 0x8b);
	cr_assert_eq(rd64(g + 16), ro, "a local symbol gets a GOT slot too");
}

Test(loader_reloc, narrow_and_size_kinds)
{
	unsigned char *p;
	struct loader_cell *c = link_and_compare("r_misc.o", R_X86_64_PC8, HIGH, high_exports, 4);

	cr_assert_gt(obj_count_relocs(&o, R_X86_64_8), 0);
	cr_assert_gt(obj_count_relocs(&o, R_X86_64_16), 0);
	cr_assert_gt(obj_count_relocs(&o, R_X86_64_PC16), 0);
	cr_assert_gt(obj_count_relocs(&o, R_X86_64_SIZE32), 0);
	cr_assert_gt(obj_count_relocs(&o, R_X86_64_SIZE64), 0);
	p = sec(c, ".rodata", NULL);
	cr_assert_eq(p[0], 0x7f);
	cr_assert_eq(p[1] | p[2] << 8, 0x1234);
}

/* Ordinary compiler output, not only hand-written kinds. */
Test(loader_reloc, kernel_cells_match_lld)
{
	static const struct loader_export ex[] = {
		{ "kprintf", "core", 0xffffffff80100000ull, true },
		{ "memset", "core", 0xffffffff80100100ull, true },
		{ "__stack_chk_guard", "core", 0xffffffff80200000ull, false },
		{ "__stack_chk_fail", "core", 0xffffffff80100200ull, true },
	};
	const char *files[] = { "k_hello.o", "k_multi.o", "k_stackprot.o" };
	char why[256];

	for (unsigned i = 0; i < 3; i++) {
		struct loader_cell *c = i ? NULL : load_at(files[0], HIGH, ex, 4);
		if (i) {
			obj_free(&o);
			obj_read(&o, files[i]);
			cr_assert_eq(load_obj(&f, &o, grants, 1, LOADER_NO_CTORS, &c), 0, "%s",
				     loader_error(f.ld));
		}
		cr_assert_gt(lld_compare(&f, c, &o, ex, 4, why, sizeof(why)), 0, "%s: %s",
			     files[i], why);
	}
}

Test(loader_reloc, pic_cells_match_lld)
{
	static struct loader_export ex[] = {
		{ "host_note", "core", 0xffffffff80100000ull, true },
		{ "host_memset", "core", 0xffffffff80100200ull, true },
		{ "host_twice", "core", 0xffffffff80100300ull, true },
		{ "host_value", "core", 0xffffffff80200000ull, false },
		{ "__stack_chk_guard", "core", 0xffffffff80200008ull, false },
		{ "__stack_chk_fail", "core", 0xffffffff80100400ull, true },
		{ "math_add", "core", 0, true }, /* h_math's, for ld.lld's side only */
	};
	const char *files[] = { "h_math.o", "h_user.o", "h_stack.o", "h_pie.o" };
	char why[256];

	fixture_buffer(&f, HIGH, ex, 6);
	started = true;
	for (unsigned i = 0; i < 4; i++) {
		struct loader_cell *c;
		obj_free(&o);
		obj_read(&o, files[i]);
		cr_assert_eq(load_obj(&f, &o, grants, 1, LOADER_NO_CTORS, &c), 0, "%s",
			     loader_error(f.ld));
		cr_assert_gt(lld_compare(&f, c, &o, ex, i ? 7 : 6, why, sizeof(why)), 0,
			     "%s: %s", files[i], why);
		if (i == 0)
			cr_assert_eq(loader_lookup(f.ld, "math_add", &ex[6].addr, NULL), 0);
	}
}

Test(loader_reloc, sections_get_final_permissions_on_their_own_pages)
{
	struct loader_cell *c = load_at("r_gotpcrel.o", HIGH, high_exports, 4);
	struct loader_section s;
	int seen = 0;

	for (size_t i = 0; i < loader_cell_nsections(c); i++) {
		loader_cell_section(c, i, &s);
		int want = strcmp(s.name, ".text") == 0 ? LOADER_PERM_R | LOADER_PERM_X
							 : LOADER_PERM_R;
		cr_assert_eq(s.perm, want, "%s has permissions %d", s.name, s.perm);
		seen |= strcmp(s.name, ".text") == 0 ? 1 : strcmp(s.name, ".got") == 0 ? 2 : 4;
		if (strcmp(s.name, ".text") != 0)
			cr_assert_geq(s.addr, HIGH + LOADER_PAGE_SIZE, "%s shares text's page",
				      s.name);
	}
	cr_assert_eq(seen, 7);
}

static void range_refused(const char *file, const struct loader_export *ex, size_t n,
			  const char *msg)
{
	obj_read(&o, file);
	fixture_buffer(&f, HIGH, ex, n);
	started = true;
	cr_assert_eq(load_obj(&f, &o, grants, 1, LOADER_NO_CTORS, NULL), LOADER_ERANGE);
	cr_assert_str_eq(loader_error(f.ld), msg);
	cr_assert_eq(host_env_live(&f.env), f.live0);
}

Test(loader_reloc, r_x86_64_32_overflow)
{
	range_refused("r_32.o", high_exports, 2,
		      "loader: r_32.o: .text+0x1: R_X86_64_32 to 'ext' out of range");
}

Test(loader_reloc, r_x86_64_32s_overflow)
{
	static const struct loader_export ex[] = {
		{ "ext", "core", 0x100000000ull, true }, { "ext2", "core", EXT2, true },
	};
	range_refused("r_32s.o", ex, 2,
		      "loader: r_32s.o: .text+0x3: R_X86_64_32S to 'ext' out of range");
}

Test(loader_reloc, r_x86_64_pc32_overflow)
{
	static const struct loader_export ex[] = {
		{ "ext", "core", 0x100000000ull, true }, { "ext2", "core", EXT2, true },
	};
	range_refused("r_pc32.o", ex, 2,
		      "loader: r_pc32.o: .text+0x3: R_X86_64_PC32 to 'ext' out of range");
}

/* Finds the cell's import of `sym`. */
static struct loader_import *import_of(struct loader_cell *c, const char *sym)
{
	struct loader_import_info info;

	for (struct loader_import *im = loader_uses_next(c, NULL); im;
	     im = loader_uses_next(c, im)) {
		loader_import_info(im, &info);
		if (strcmp(info.symbol, sym) == 0)
			return im;
	}
	cr_assert_fail("no import of %s", sym);
	return NULL;
}

Test(loader_reloc, cross_references_are_recorded)
{
	struct loader_cell *c = load_at("r_pc32.o", HIGH, high_exports, 4);
	struct loader_import_info info;
	struct loader_import *im = import_of(c, "ext");
	const struct loader_site *s0, *s1;
	uint64_t text, ro;

	sec(c, ".text", &text);
	sec(c, ".rodata", &ro);
	loader_import_info(im, &info);
	cr_assert_eq(info.nsites, 2);
	cr_assert(info.owner == loader_cell_next(f.ld, NULL), "owned by nano_core");
	s0 = loader_import_site(im, 0);
	s1 = loader_import_site(im, 1);
	cr_assert_eq(s0->place, text + 3);
	cr_assert_eq(s0->type, R_X86_64_PC32);
	cr_assert_eq(s0->addend, -4);
	cr_assert_str_eq(loader_site_section(im, s0), ".text");
	cr_assert_eq(s1->place, ro);
	cr_assert_str_eq(loader_site_section(im, s1), ".rodata");
	cr_assert_null(loader_import_site(im, 2));
	cr_assert_eq(loader_users_next(info.owner, NULL) != NULL, 1);
}

Test(loader_reloc, got_references_are_recorded_at_the_slot)
{
	struct loader_cell *c = load_at("r_gotpcrel.o", HIGH, high_exports, 4);
	struct loader_import *im = import_of(c, "ext");
	uint64_t got;

	sec(c, ".got", &got);
	cr_assert_eq(loader_import_site(im, 0)->place, got + 8);
	cr_assert_eq(loader_import_site(im, 0)->type, R_X86_64_64);
	cr_assert_null(loader_import_site(im, 1), "repeated GOT loads share the slot");
}

Test(loader_reloc, reapply_with_a_new_target)
{
	struct loader_cell *c = load_at("r_pc32.o", HIGH, high_exports, 4);
	struct loader_import *im = import_of(c, "ext");
	uint64_t text;
	unsigned char *t = sec(c, ".text", &text), before[0x15];

	memcpy(before, t, sizeof(before));
	cr_assert_eq(loader_reloc_check(f.ld, im, 0, 0x100000000ull), LOADER_ERANGE);
	cr_assert_str_eq(loader_error(f.ld),
			 "loader: r_pc32.o: .text+0x3: R_X86_64_PC32 to 'ext' out of range");
	cr_assert_eq(loader_reloc_apply(f.ld, im, 0, 0x100000000ull), LOADER_ERANGE);
	cr_assert_eq(memcmp(before, t, sizeof(before)), 0, "a refused re-link wrote");
	cr_assert_eq(loader_reloc_apply(f.ld, im, 0, EXT + 0x100), 0);
	cr_assert_eq((int32_t)rd32(t + 3), (int64_t)(EXT + 0x100 - (text + 7)));
	cr_assert_eq(f.env.pokes, 1);
}

static const struct loader_export fill_exports[] = {
	{ "ext", "core", EXT, true },
	{ "ext2", "core", EXT2, true },
	{ "kprintf", "core", EXT + 0x100, true },
};

/* The host env's map, returning its buffer filled with `fill_byte`. */
static void *(*plain_map)(void *ctx, size_t bytes, uint64_t *addr);
static int fill_byte;

static void *filled_map(void *ctx, size_t bytes, uint64_t *addr)
{
	void *mem = plain_map(ctx, bytes, addr);

	if (mem)
		memset(mem, fill_byte, bytes);
	return mem;
}

/* The mapping of `file` loaded at `base` into memory first filled with `fill`,
 * copied out (*bytes long). */
static unsigned char *mapping_after_load(const char *file, int fill, unsigned flags, size_t *bytes)
{
	struct loader_cell *c;
	struct loader_cell_info info;

	obj_read(&o, file);
	fixture_buffer(&f, HIGH, fill_exports, 3);
	started = true;
	/* The loader keeps a copy of its env: make it again over the filling map. */
	loader_destroy(f.ld);
	plain_map = f.env.env.map;
	fill_byte = fill;
	f.env.env.map = filled_map;
	struct loader_config cfg = { .env = &f.env.env, .exports = fill_exports, .nexports = 3 };
	cr_assert_eq(loader_create(&cfg, &f.ld), 0);
	cr_assert_eq(load_obj(&f, &o, grants, 1, flags, &c), 0, "%s", loader_error(f.ld));
	loader_cell_info(c, &info);
	*bytes = info.end - info.start;
	unsigned char *copy = malloc(*bytes);
	cr_assert_not_null(copy);
	memcpy(copy, host_env_ptr(&f.env, info.start), *bytes);
	teardown();
	return copy;
}

/* nano_core maps a cell's frames without zeroing them: the loader writes
 * every byte of the mapping (contents, .bss, the GOT, int3 and zero padding),
 * so what the frames held before never shows. */
Test(loader_reloc, every_byte_of_the_mapping_is_written)
{
	static const struct { const char *file; unsigned flags; } cells[] = {
		{ "r_gotpcrel.o", LOADER_NO_CTORS },              /* a GOT */
		{ "k_spill.o", LOADER_NO_CTORS | LOADER_ALLOW_STATE }, /* .data and .bss */
		{ "k_multi.o", LOADER_NO_CTORS },                 /* many sections, padding */
	};

	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		size_t n0, n1;
		unsigned char *zero = mapping_after_load(cells[i].file, 0, cells[i].flags, &n0);
		unsigned char *junk = mapping_after_load(cells[i].file, 0xa5, cells[i].flags, &n1);
		cr_assert_eq(n0, n1);
		cr_assert_gt(n0, 0);
		for (size_t k = 0; k < n0; k++)
			cr_assert_eq(zero[k], junk[k], "%s: byte 0x%zx of the mapping is 0x%02x "
				     "over 0xa5 but 0x%02x over zero", cells[i].file, k, junk[k], zero[k]);
		free(zero);
		free(junk);
	}
}
