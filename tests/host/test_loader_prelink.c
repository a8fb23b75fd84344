/*
 * Prelinked objects (loader/prelink.h, celltool prelink): the loader gives a
 * prelinked object the same bytes as the object it came from, section by
 * section, and so the bytes ld.lld gives that object; references that the
 * namespace may bind elsewhere (a weak definition) stay relocations; and a
 * record that does not match the object, or lists a field outside it, is
 * refused with a clear error and changes nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/prelink.h"
#include "tests/loader/testlib.h"

#define HIGH 0xffffffff80400000ull
#define LOW 0x400000ull

static const struct loader_export kernel_ex[] = {
	{ "kprintf", "core", 0xffffffff80100000ull, true },
	{ "memset", "core", 0xffffffff80100100ull, true },
	{ "__stack_chk_guard", "core", 0xffffffff80200000ull, false },
	{ "__stack_chk_fail", "core", 0xffffffff80100200ull, true },
	{ "ext", "core", 0xffffffff80123450ull, true },
	{ "ext2", "core", 0xffffffff80123460ull, true },
	{ "small8", "core", 0x7f, false },
	{ "small16", "core", 0x1234, false },
};
static const struct loader_export low_ex[] = {
	{ "ext", "core", 0x123450, true },
	{ "ext2", "core", 0x123460, true },
};
static const char *const grants[] = { "core" };

static struct fixture f, g;
static bool f_on, g_on;
static struct obj o, p;

static void teardown(void)
{
	obj_free(&o);
	obj_free(&p);
	if (f_on)
		fixture_fini(&f);
	if (g_on)
		fixture_fini(&g);
	f_on = g_on = false;
}

TestSuite(loader_prelink, .fini = teardown);

/* The relocations of ob's allocated sections: all of them, and those of
 * symbol sym in *of_sym. */
static unsigned relocs_of(struct obj *ob, unsigned sym, unsigned *of_sym)
{
	unsigned n = 0;

	*of_sym = 0;
	for (unsigned i = 1; i < obj_ehdr(ob)->e_shnum; i++) {
		Elf64_Shdr *r = obj_shdr(ob, i);
		if (r->sh_type != SHT_RELA || !(obj_shdr(ob, r->sh_info)->sh_flags & SHF_ALLOC))
			continue;
		const Elf64_Rela *e = (const Elf64_Rela *)(ob->data + r->sh_offset);
		for (size_t j = 0; j < r->sh_size / sizeof(*e); j++, n++)
			*of_sym += ELF_R_SYM(e[j].r_info) == sym;
	}
	return n;
}

/* Prelinks src into dst with a loader of its own; returns the counts. */
static struct loader_prelink_stats prelink(struct obj *src, struct obj *dst)
{
	struct fixture t;
	struct loader_prelink_stats st;
	void *out;
	size_t size;

	fixture_buffer(&t, 0, NULL, 0);
	cr_assert_eq(loader_prelink(t.ld, src->name, src->data, src->size, &out, &size, &st), 0,
		     "%s", loader_error(t.ld));
	*dst = (struct obj){ .size = size, .name = src->name };
	dst->data = aligned_alloc(16, (size + 15) & ~(size_t)15);
	cr_assert_not_null(dst->data);
	memcpy(dst->data, out, size);
	snprintf(dst->path, sizeof(dst->path), "%s", src->path);
	loader_prelink_free(t.ld, out);
	fixture_fini(&t);
	cr_assert_eq(st.relocs, st.resolved + st.fields + st.kept);
	return st;
}

static struct loader_cell *must_load(struct fixture *fx, struct obj *ob, unsigned flags)
{
	struct loader_cell *c;

	cr_assert_eq(load_obj(fx, ob, grants, 1, LOADER_NO_CTORS | flags, &c), 0, "%s: %s",
		     ob->name, loader_error(fx->ld));
	return c;
}

/* Every placed section of a and b: same name, address, size and bytes. */
static void same_cells(struct loader_cell *a, struct loader_cell *b, const char *file)
{
	cr_assert_eq(loader_cell_nsections(a), loader_cell_nsections(b), "%s", file);
	for (size_t i = 0; i < loader_cell_nsections(a); i++) {
		struct loader_section x, y;
		loader_cell_section(a, i, &x);
		loader_cell_section(b, i, &y);
		cr_assert_str_eq(x.name, y.name, "%s", file);
		cr_assert_eq(x.addr, y.addr, "%s: %s", file, x.name);
		cr_assert_eq(x.size, y.size, "%s: %s", file, x.name);
		cr_assert_eq(memcmp(host_env_ptr(&f.env, x.addr), host_env_ptr(&g.env, y.addr),
				    x.size), 0, "%s: %s differs once prelinked", file, x.name);
	}
}

/* Links file and its prelinked copy at base, compares the two, and the
 * prelinked one with ld.lld's link of the original. */
static struct loader_prelink_stats compare(const char *file, uint64_t base,
					   const struct loader_export *ex, size_t n,
					   unsigned flags)
{
	char why[256];

	obj_read(&o, file);
	struct loader_prelink_stats st = prelink(&o, &p);
	fixture_buffer(&f, base, ex, n);
	fixture_buffer(&g, base, ex, n);
	f_on = g_on = true;
	struct loader_cell *a = must_load(&f, &o, flags), *b = must_load(&g, &p, flags);
	same_cells(a, b, file);
	cr_assert_gt(lld_compare(&g, b, &o, ex, n, why, sizeof(why)), 0,
		     "%s prelinked differs from ld.lld: %s", file, why);
	teardown();
	return st;
}

Test(loader_prelink, same_bytes_as_the_object_and_as_lld)
{
	static const char *const high[] = {
		"k_hello.o", "k_multi.o", "k_stackprot.o", "k_weak.o", "k_strong.o",
		"r_64.o", "r_32s.o", "r_pc32.o", "r_plt32.o", "r_pc64.o", "r_gotpcrel.o",
		"r_gotpcrelx.o", "r_rex_gotpcrelx.o", "r_misc.o", "a_comdat_a.o",
	};
	struct loader_prelink_stats st, sum = { 0 };

	for (size_t i = 0; i < sizeof(high) / sizeof(high[0]); i++) {
		st = compare(high[i], HIGH, kernel_ex, 8, 0);
		sum.resolved += st.resolved;
		sum.fields += st.fields;
	}
	st = compare("r_32.o", LOW, low_ex, 2, 0);
	sum.fields += st.fields;
	st = compare("k_spill.o", HIGH, kernel_ex, 8, LOADER_ALLOW_STATE);
	sum.resolved += st.resolved;
	cr_assert_gt(sum.resolved, 0, "nothing resolved at build time");
	cr_assert_gt(sum.fields, 0, "no absolute field left to the loader");
}

/* k_multi: its call of its own multi_b (in another section) is resolved,
 * its string and table addresses become fields, its kprintf call stays the
 * one relocation left. */
/* A prelinked cell's symbols come in the record's order (symbols_define):
 * its guards still give their exports their grants, and only those. */
Test(loader_prelink, guards_of_a_prelinked_cell)
{
	static const struct loader_guard guards[] = { { "multi_b", "hooks" }, { "multi_a", "more" } };
	struct loader_cell *c;

	obj_read(&o, "k_multi.o");
	prelink(&o, &p);
	fixture_buffer(&f, HIGH, kernel_ex, 8);
	f_on = true;
	struct loader_load_args a = {
		.path = p.name, .obj = p.data, .size = p.size, .grants = grants, .ngrants = 1,
		.guards = guards, .nguards = 2, .flags = LOADER_NO_CTORS,
	};
	cr_assert_eq(loader_load(f.ld, &a, &c), 0, "%s", loader_error(f.ld));
	cr_assert_str_eq(cell_sym_grant(c, "multi_b"), "hooks");
	cr_assert_str_eq(cell_sym_grant(c, "multi_a"), "more");
	for (size_t i = 0; i < loader_cell_nsyms(c); i++) {
		struct loader_sym s;
		loader_cell_sym(c, i, &s);
		if (strcmp(s.name, "multi_a") && strcmp(s.name, "multi_b"))
			cr_assert_null(s.grant, "%s is not guarded", s.name);
	}
}

Test(loader_prelink, own_references_resolved_imports_kept)
{
	unsigned k, before, after;

	obj_read(&o, "k_multi.o");
	struct loader_prelink_stats st = prelink(&o, &p);
	obj_symbol(&p, "kprintf", &k);
	cr_assert_eq(st.resolved, 1);
	cr_assert_eq(st.fields, 3);
	cr_assert_eq(st.kept, 1);
	cr_assert_eq(relocs_of(&o, k, &before), 5);
	cr_assert_eq(relocs_of(&p, k, &after), 1);
	cr_assert_eq(before, 1);
	cr_assert_eq(after, 1);
}

/* A weak definition may lose to another cell's: its references stay, and
 * bind to the strong definition loaded first. */
Test(loader_prelink, weak_definitions_keep_their_relocations)
{
	struct obj s = { 0 };
	unsigned k, kept = 0;
	uint64_t strong, hook;

	obj_read(&o, "k_weak.o");
	prelink(&o, &p);
	obj_symbol(&p, "weak_hook", &k);
	relocs_of(&p, k, &kept);
	cr_assert_gt(kept, 0, "the call of the weak weak_hook was resolved at build time");

	obj_read(&s, "k_strong.o");
	fixture_buffer(&f, HIGH, kernel_ex, 8);
	f_on = true;
	struct loader_cell *sc = must_load(&f, &s, 0);
	must_load(&f, &p, 0);
	cr_assert_eq(loader_cell_lookup(sc, "weak_hook", &strong), 0);
	cr_assert_eq(loader_lookup(f.ld, "weak_hook", &hook, NULL), 0);
	cr_assert_eq(hook, strong);
	obj_free(&s);
}

/* The record of p, prelinked from file. */
static struct prelink_hdr *record(const char *file)
{
	obj_read(&o, file);
	prelink(&o, &p);
	unsigned i = obj_section(&p, PRELINK_SECTION);
	cr_assert_neq(i, 0);
	return (struct prelink_hdr *)(p.data + obj_shdr(&p, i)->sh_offset);
}

static uint32_t *fields(struct prelink_hdr *h)
{
	return (uint32_t *)((struct prelink_sec *)(h + 1) + h->nsecs);
}

static void refused_with(int code, const char *msg, uint64_t base,
			 const struct loader_export *ex)
{
	fixture_buffer(&f, base, ex, 8);
	f_on = true;
	struct loader_load_args a = { .path = p.name, .obj = p.data, .size = p.size,
				      .grants = grants, .ngrants = 1,
				      .flags = LOADER_NO_CTORS };
	cr_assert_eq(loader_check(f.ld, &a), code == LOADER_ERANGE ? 0 : code, "%s",
		     loader_error(f.ld));
	cr_assert_eq(load_obj(&f, &p, grants, 1, LOADER_NO_CTORS, NULL), code, "%s",
		     loader_error(f.ld));
	cr_assert(strstr(loader_error(f.ld), msg), "message: %s", loader_error(f.ld));
	cr_assert_eq(host_env_live(&f.env), f.live0);
	cr_assert_null(loader_cell_find(f.ld, "k_hello"), "a refused load left a cell");
	cr_assert_null(loader_cell_find(f.ld, "k_multi"), "a refused load left a cell");
}

static void refused(int code, const char *msg, uint64_t base)
{
	refused_with(code, msg, base, kernel_ex);
}

Test(loader_prelink, another_layout_is_refused)
{
	struct prelink_hdr *h = record("k_hello.o");

	((struct prelink_sec *)(h + 1))[h->nsecs - 1].off += 16;
	refused(LOADER_EBADELF, "prelinked for another layout: ", HIGH);
}

Test(loader_prelink, another_got_is_refused)
{
	struct prelink_hdr *h = record("k_hello.o");

	h->ngot++;
	refused(LOADER_EBADELF, "prelinked for another layout: GOT slots 0x1 in the record, 0x0 here",
		HIGH);
}

Test(loader_prelink, counts_beyond_the_record_are_refused)
{
	struct prelink_hdr *h = record("k_hello.o");

	h->n32s++;
	refused(LOADER_EBADELF, "its counts need", HIGH);
}

Test(loader_prelink, bad_magic_is_refused)
{
	struct prelink_hdr *h = record("k_hello.o");

	h->magic[0] = 'X';
	refused(LOADER_EBADELF, ".delos.prelink: not a prelink record", HIGH);
}

Test(loader_prelink, field_outside_the_sections_is_refused)
{
	struct prelink_hdr *h = record("k_hello.o");

	cr_assert_gt(h->n32s, 0);
	fields(h)[h->n64 + h->n32s - 1] = (uint32_t)h->map_bytes - 2;
	refused(LOADER_EBADELF, "R_X86_64_32S field at", HIGH);
	cr_assert(strstr(loader_error(f.ld), "is not inside a placed section with contents"));
}

Test(loader_prelink, fields_out_of_order_are_refused)
{
	struct prelink_hdr *h = record("k_hello.o");

	cr_assert_gt(h->n32s, 1);
	uint32_t *x = fields(h) + h->n64, t = x[0];
	x[0] = x[1];
	x[1] = t;
	refused(LOADER_EBADELF, "not after the one at", HIGH);
}

/* A 32-bit signed field does not reach a mapping above 2 GiB (with
 * nano_core's exports beside it, so that the calls of kprintf reach). */
Test(loader_prelink, field_out_of_range_is_refused)
{
	struct loader_export ex[8];

	memcpy(ex, kernel_ex, sizeof(ex));
	for (int i = 0; i < 8; i++)
		ex[i].addr = 0x100100000ull + 0x100 * i;
	record("k_hello.o");
	refused_with(LOADER_ERANGE, "prelinked R_X86_64_32S field at", 0x100000000ull, ex);
}

Test(loader_prelink, prelink_refuses_what_the_loader_refuses)
{
	struct fixture t;
	struct obj q = { 0 };
	void *out;
	size_t size;

	record("k_hello.o");
	fixture_buffer(&t, 0, NULL, 0);
	cr_assert_eq(loader_prelink(t.ld, "k_hello.o", p.data, p.size, &out, &size, NULL),
		     LOADER_EINVAL);
	cr_assert(strstr(loader_error(t.ld), "already prelinked"), "%s", loader_error(t.ld));
	cr_assert_null(out);
	obj_read(&q, "k_tls.o");
	cr_assert_eq(loader_prelink(t.ld, "k_tls.o", q.data, q.size, &out, &size, NULL),
		     LOADER_ESPILL);
	cr_assert(strstr(loader_error(t.ld), "state spill"), "%s", loader_error(t.ld));
	q.data[0] = 0;
	cr_assert_eq(loader_prelink(t.ld, "k_tls.o", q.data, q.size, &out, &size, NULL),
		     LOADER_EBADELF);
	cr_assert_str_eq(loader_error(t.ld), "loader: k_tls.o: bad ELF magic");
	obj_free(&q);
	fixture_fini(&t);
}

/* The symbol order must list each symbol the cell defines once, by address. */
Test(loader_prelink, a_wrong_symbol_order_is_refused)
{
	struct prelink_hdr *h = record("k_multi.o");

	cr_assert_gt(h->nsorted, 1);
	uint32_t *order = fields(h) + h->n64 + h->n32s + h->n32;
	order[1] = order[0];
	refused_with(LOADER_EBADELF, "symbol order: '", HIGH, kernel_ex);
}
