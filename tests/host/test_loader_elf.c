/*
 * The loader refuses malformed objects with a message naming the object,
 * the section and the reason, and holds no memory afterwards. Each case
 * edits one field of a good object built from tests/loader/cells.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/loader/testlib.h"

#define BASE 0xffffffff80400000ull

static const struct loader_export exports[] = {
	{ "ext", "core", 0xffffffff80123450ull, true },
	{ "ext2", "core", 0xffffffff80123460ull, true },
};
static const char *const grants[] = { "core" };

static struct fixture f;
static struct obj o;

static void setup(void)
{
	fixture_buffer(&f, BASE, exports, 2);
}

static void teardown(void)
{
	obj_free(&o);
	fixture_fini(&f);
}

TestSuite(loader_elf, .init = setup, .fini = teardown);

/* Loads the (edited) object, expects `code` and exactly `msg`. */
static void refused(int code, const char *msg)
{
	struct loader_cell *c = (struct loader_cell *)&f;
	int err = load_obj(&f, &o, grants, 1, LOADER_NO_CTORS, &c);

	cr_assert_eq(err, code, "load returned %d, not %d: %s", err, code,
		     loader_error(f.ld));
	cr_assert_null(c);
	cr_assert_str_eq(loader_error(f.ld), msg);
	cr_assert_eq(host_env_live(&f.env), f.live0, "a refused load kept memory");
	cr_assert_eq(loader_cell_next(f.ld, loader_cell_next(f.ld, NULL)), NULL,
		     "a refused load left a cell behind");
}

/* Like refused, but only the start of the message is fixed. */
static void refused_prefix(int code, const char *prefix)
{
	int err = load_obj(&f, &o, grants, 1, LOADER_NO_CTORS, NULL);

	cr_assert_eq(err, code, "load returned %d: %s", err, loader_error(f.ld));
	cr_assert(strncmp(loader_error(f.ld), prefix, strlen(prefix)) == 0,
		  "message '%s' does not start with '%s'", loader_error(f.ld), prefix);
	cr_assert_eq(host_env_live(&f.env), f.live0);
}

Test(loader_elf, good_object_loads)
{
	struct loader_cell *c;

	obj_read(&o, "r_pc32.o");
	cr_assert_eq(load_obj(&f, &o, grants, 1, 0, &c), 0, "%s", loader_error(f.ld));
	cr_assert_not_null(c);
}

Test(loader_elf, truncated_header)
{
	obj_read(&o, "r_64.o");
	o.size = 40;
	refused(LOADER_EBADELF, "loader: r_64.o: truncated ELF header (40 bytes)");
}

Test(loader_elf, empty_input)
{
	obj_read(&o, "r_64.o");
	o.size = 0;
	refused(LOADER_EBADELF, "loader: r_64.o: truncated ELF header (0 bytes)");
}

Test(loader_elf, bad_magic)
{
	obj_read(&o, "r_64.o");
	o.data[1] = 'X';
	refused(LOADER_EBADELF, "loader: r_64.o: bad ELF magic");
}

Test(loader_elf, bad_class)
{
	obj_read(&o, "r_64.o");
	o.data[EI_CLASS] = 1;
	refused(LOADER_EBADELF, "loader: r_64.o: not a 64-bit ELF object (class 1)");
}

Test(loader_elf, bad_data_encoding)
{
	obj_read(&o, "r_64.o");
	o.data[EI_DATA] = 2;
	refused(LOADER_EBADELF, "loader: r_64.o: not a little-endian ELF object (data 2)");
}

Test(loader_elf, bad_machine)
{
	obj_read(&o, "r_64.o");
	obj_ehdr(&o)->e_machine = 3;
	refused(LOADER_EBADELF, "loader: r_64.o: not an x86-64 object (machine 3)");
}

Test(loader_elf, bad_type)
{
	obj_read(&o, "r_64.o");
	obj_ehdr(&o)->e_type = 2;
	refused(LOADER_EBADELF, "loader: r_64.o: not a relocatable object (type 2)");
}

Test(loader_elf, bad_section_header_size)
{
	obj_read(&o, "r_64.o");
	obj_ehdr(&o)->e_shentsize = 40;
	refused(LOADER_EBADELF, "loader: r_64.o: bad section header size 40");
}

Test(loader_elf, section_table_past_eof)
{
	char msg[200];

	obj_read(&o, "r_64.o");
	obj_ehdr(&o)->e_shoff = (o.size - 64) & ~7ul;
	snprintf(msg, sizeof(msg),
		 "loader: r_64.o: section table (offset 0x%lx, %u entries) past end of file (0x%zx bytes)",
		 (unsigned long)obj_ehdr(&o)->e_shoff, obj_ehdr(&o)->e_shnum, o.size);
	refused(LOADER_EBADELF, msg);
}

Test(loader_elf, section_table_offset_overflows)
{
	obj_read(&o, "r_64.o");
	obj_ehdr(&o)->e_shoff = ~7ull;
	refused_prefix(LOADER_EBADELF, "loader: r_64.o: section table (offset 0xfffffffffffffff8");
}

Test(loader_elf, shstrndx_out_of_range)
{
	char msg[200];
	unsigned n;

	obj_read(&o, "r_64.o");
	n = obj_ehdr(&o)->e_shnum;
	obj_ehdr(&o)->e_shstrndx = n + 3;
	snprintf(msg, sizeof(msg),
		 "loader: r_64.o: section name table index %u out of range (%u sections)",
		 n + 3, n);
	refused(LOADER_EBADELF, msg);
}

Test(loader_elf, section_name_past_shstrtab)
{
	obj_read(&o, "r_64.o");
	obj_shdr(&o, 1)->sh_name = 0x7fff0;
	refused_prefix(LOADER_EBADELF,
		       "loader: r_64.o: section 1: name offset 0x7fff0 past end of .shstrtab");
}

Test(loader_elf, section_contents_past_eof)
{
	obj_read(&o, "r_64.o");
	obj_shdr(&o, obj_section(&o, ".rodata"))->sh_offset = o.size - 8;
	refused_prefix(LOADER_EBADELF, "loader: r_64.o: .rodata: contents (offset 0x");
}

/* Fails unless every byte of the loader's message is printable ASCII. */
static void message_printable(void)
{
	for (const unsigned char *p = (const unsigned char *)loader_error(f.ld); *p; p++)
		cr_assert(*p >= 0x20 && *p < 0x7f, "raw byte 0x%02x in '%s'", *p, loader_error(f.ld));
}

/* Control and high bytes in a section name reach the message as \xNN. */
Test(loader_elf, section_name_bytes_escaped)
{
	unsigned i;
	char *name;

	obj_read(&o, "r_64.o");
	i = obj_section(&o, ".rodata");
	name = (char *)o.data + obj_shdr(&o, obj_ehdr(&o)->e_shstrndx)->sh_offset +
	       obj_shdr(&o, i)->sh_name;
	memcpy(name, ".r\x01\x1b\xff\x80t", 7);	/* as long as ".rodata" */
	obj_shdr(&o, i)->sh_offset = o.size - 8;
	refused_prefix(LOADER_EBADELF, "loader: r_64.o: .r\\x01\\x1b\\xff\\x80t: contents (offset 0x");
	message_printable();
}

/* The same for control and high bytes in a symbol name. */
Test(loader_elf, symbol_name_bytes_escaped)
{
	Elf64_Sym *sym;
	char msg[200], *name;
	unsigned i;

	obj_read(&o, "r_64.o");
	sym = obj_symbol(&o, "table", &i);
	name = (char *)o.data + obj_shdr(&o, obj_shdr(&o, obj_section(&o, ".symtab"))->sh_link)->sh_offset +
	       sym->st_name;
	memcpy(name, "t\x7f\n\xe9s", 5);	/* as long as "table" */
	sym->st_shndx = 0x1234;
	snprintf(msg, sizeof(msg),
		 "loader: r_64.o: .symtab: symbol 't\\x7f\\x0a\\xe9s': section index 4660 out of range (%u sections)",
		 obj_ehdr(&o)->e_shnum);
	refused(LOADER_EBADELF, msg);
	message_printable();
}

Test(loader_elf, symbol_bad_section_index)
{
	char msg[200];

	obj_read(&o, "r_64.o");
	obj_symbol(&o, "table", NULL)->st_shndx = 0x1234;
	snprintf(msg, sizeof(msg),
		 "loader: r_64.o: .symtab: symbol 'table': section index 4660 out of range (%u sections)",
		 obj_ehdr(&o)->e_shnum);
	refused(LOADER_EBADELF, msg);
}

Test(loader_elf, symbol_name_past_strtab)
{
	unsigned i;

	obj_read(&o, "r_64.o");
	obj_symbol(&o, "table", &i)->st_name = 0xfffff;
	char msg[200];
	snprintf(msg, sizeof(msg),
		 "loader: r_64.o: .symtab: symbol %u: name offset 0xfffff past end of string table (0x%lx)",
		 i, (unsigned long)obj_shdr(&o, obj_section(&o, ".strtab"))->sh_size);
	refused(LOADER_EBADELF, msg);
}

Test(loader_elf, symbol_value_past_section)
{
	obj_read(&o, "r_64.o");
	obj_symbol(&o, "table", NULL)->st_value = 0x10000;
	refused(LOADER_EBADELF,
		"loader: r_64.o: .symtab: symbol 'table': value 0x10000 past end of .rodata (0x20)");
}

Test(loader_elf, global_in_local_part)
{
	unsigned i;

	obj_read(&o, "r_64.o");
	obj_symbol(&o, "local_fn", &i)->st_info = (STB_GLOBAL << 4) | STT_NOTYPE;
	refused(LOADER_EBADELF,
		"loader: r_64.o: .symtab: symbol 'local_fn': binding 1 in the wrong part of the table");
}

/* Two names each given to two globals: the refusal names the smaller one,
 * whatever the order of the symbol table. */
Test(loader_elf, duplicate_globals_name_the_smallest)
{
	obj_read(&o, "h_math.o");
	obj_symbol(&o, "math_word", NULL)->st_name = obj_symbol(&o, "math_fib", NULL)->st_name;
	obj_symbol(&o, "math_switch", NULL)->st_name = obj_symbol(&o, "math_add", NULL)->st_name;
	refused(LOADER_EBADELF, "loader: h_math.o: .symtab: symbol 'math_add' appears twice");
}

/* nano_core's exports are checked for a name given twice when the loader is made. */
Test(loader_elf, nano_core_export_twice_refused)
{
	static const struct loader_export twice[] = {
		{ "b", "core", 0xffffffff80100000ull, true },
		{ "a", "core", 0xffffffff80100010ull, true },
		{ "c", "core", 0xffffffff80100020ull, true },
		{ "a", "core", 0xffffffff80100030ull, true },
		{ "b", "core", 0xffffffff80100040ull, true },
	};
	struct loader_config cfg = { .env = &f.env.env, .exports = twice, .nexports = 5 };
	struct loader *ld = (struct loader *)&f;
	long live = host_env_live(&f.env);

	cr_assert_eq(loader_create(&cfg, &ld), LOADER_EINVAL);
	cr_assert_null(ld);
	cr_assert_eq(host_env_live(&f.env), live, "a refused loader kept memory");
	cfg.nexports = 3;
	cr_assert_eq(loader_create(&cfg, &ld), 0);
	loader_destroy(ld);
	cr_assert_eq(host_env_live(&f.env), live);
}

Test(loader_elf, relocation_offset_past_target)
{
	obj_read(&o, "r_pc32.o");
	obj_rela(&o, ".rela.text", 0)->r_offset = 0x1c4;
	refused(LOADER_EBADELF,
		"loader: r_pc32.o: .rela.text: relocation offset 0x1c4 past end of .text (0x15)");
}

Test(loader_elf, relocation_straddling_end_of_target)
{
	obj_read(&o, "r_pc32.o");
	obj_rela(&o, ".rela.text", 0)->r_offset = 0x12; /* 4 bytes at 0x12 of 0x15 */
	refused(LOADER_EBADELF,
		"loader: r_pc32.o: .rela.text: relocation offset 0x12 past end of .text (0x15)");
}

Test(loader_elf, relocation_symbol_out_of_range)
{
	Elf64_Rela *r;

	obj_read(&o, "r_pc32.o");
	r = obj_rela(&o, ".rela.text", 1);
	r->r_info = ((uint64_t)999 << 32) | R_X86_64_PC32;
	refused_prefix(LOADER_EBADELF,
		       "loader: r_pc32.o: .rela.text: relocation 1: symbol index 999 out of range (");
}

Test(loader_elf, unknown_relocation_type)
{
	Elf64_Rela *r;

	obj_read(&o, "r_pc32.o");
	r = obj_rela(&o, ".rela.text", 0);
	r->r_info = (r->r_info & ~0xffffffffull) | 200;
	refused(LOADER_EUNSUPPORTED,
		"loader: r_pc32.o: .rela.text: relocation 0: unknown relocation type 200");
}

Test(loader_elf, unsupported_relocation_type)
{
	Elf64_Rela *r;

	obj_read(&o, "r_64.o");
	r = obj_rela(&o, ".rela.rodata", 0);
	r->r_info = (r->r_info & ~0xffffffffull) | 25; /* R_X86_64_GOTOFF64 */
	refused(LOADER_EUNSUPPORTED,
		"loader: r_64.o: .rela.rodata: relocation 0: unsupported relocation type R_X86_64_GOTOFF64");
}

Test(loader_elf, relocation_wrong_symbol_table)
{
	obj_read(&o, "r_pc32.o");
	obj_shdr(&o, obj_section(&o, ".rela.text"))->sh_link = 1;
	refused(LOADER_EBADELF,
		"loader: r_pc32.o: .rela.text: symbol table index 1 is not the symbol table");
}

Test(loader_elf, rel_sections_unsupported)
{
	obj_read(&o, "r_pc32.o");
	obj_shdr(&o, obj_section(&o, ".rela.text"))->sh_type = SHT_REL;
	refused(LOADER_EUNSUPPORTED, "loader: r_pc32.o: .rela.text: SHT_REL relocations not supported");
}

Test(loader_elf, absurd_alignment)
{
	obj_read(&o, "r_64.o");
	obj_shdr(&o, obj_section(&o, ".text"))->sh_addralign = 1 << 20;
	refused(LOADER_EUNSUPPORTED, "loader: r_64.o: .text: alignment 0x100000 exceeds the page size");
}

Test(loader_elf, alignment_not_power_of_two)
{
	obj_read(&o, "r_64.o");
	obj_shdr(&o, obj_section(&o, ".rodata"))->sh_addralign = 24;
	refused(LOADER_EBADELF, "loader: r_64.o: .rodata: alignment 0x18 is not a power of two");
}

Test(loader_elf, absurd_section_size)
{
	unsigned i;

	obj_read(&o, "r_64.o");
	i = obj_section(&o, ".text");
	obj_shdr(&o, i)->sh_type = SHT_NOBITS; /* no file bytes needed */
	obj_shdr(&o, i)->sh_size = 1ull << 40;
	refused(LOADER_EUNSUPPORTED, "loader: r_64.o: .text: size 0x10000000000 too large");
}

Test(loader_elf, writable_text_refused)
{
	obj_read(&o, "r_64.o");
	obj_shdr(&o, obj_section(&o, ".text"))->sh_flags |= SHF_WRITE;
	refused(LOADER_EUNSUPPORTED, "loader: r_64.o: .text: writable and executable (W^X)");
}

Test(loader_elf, misaligned_buffer)
{
	unsigned char *copy;
	int err;

	obj_read(&o, "r_64.o");
	copy = malloc(o.size + 8);
	memcpy(copy + 1, o.data, o.size);
	struct loader_load_args a = { .path = "r_64.o", .obj = copy + 1, .size = o.size };
	err = loader_load(f.ld, &a, NULL);
	free(copy);
	cr_assert_eq(err, LOADER_EINVAL);
	cr_assert_str_eq(loader_error(f.ld), "loader: r_64.o: object buffer not 8-byte aligned");
}

/* Every allocation or mapping of a load, failed in turn, is refused with
 * ENOMEM and leaves nothing behind. */
Test(loader_elf, out_of_memory_at_every_step)
{
	int err = LOADER_ENOMEM;
	long n;

	obj_read(&o, "r_gotpcrel.o");
	for (n = 1; err == LOADER_ENOMEM && n < 100; n++) {
		f.env.fail_at = n;
		err = load_obj(&f, &o, grants, 1, 0, NULL);
		cr_assert(err == 0 || err == LOADER_ENOMEM, "step %ld: %s", n, loader_error(f.ld));
		if (err)
			cr_assert_eq(host_env_live(&f.env), f.live0, "step %ld leaked", n);
	}
	cr_assert_eq(err, 0, "the load never succeeded");
	cr_assert_gt(n, 5, "too few failure points were reached");
}
