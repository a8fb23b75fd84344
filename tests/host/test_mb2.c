/* Host tests for the multiboot2 parser (nano_core/mb2.c). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/mb2.h>

/* Builds a multiboot2 information block tag by tag. */
struct builder {
	_Alignas(8) uint8_t buf[64 * 1024];
	uint32_t len;
};

static struct builder b;

static void put32(uint32_t off, uint32_t v)
{
	memcpy(b.buf + off, &v, 4);
}

static void put64(uint32_t off, uint64_t v)
{
	memcpy(b.buf + off, &v, 8);
}

static void b_init(void)
{
	memset(b.buf, 0, sizeof b.buf);
	b.len = 8;
}

/* Appends a tag header and returns the tag's offset; the body is zeroed. */
static uint32_t b_tag(uint32_t type, uint32_t size)
{
	uint32_t off = b.len;

	cr_assert(off + size + 8 <= sizeof b.buf);
	put32(off, type);
	put32(off + 4, size);
	b.len += (size + 7) & ~7u;
	return off;
}

static uint32_t b_bytes(uint32_t type, const void *data, uint32_t n)
{
	uint32_t off = b_tag(type, 8 + n);

	memcpy(b.buf + off + 8, data, n);
	return off;
}

static uint32_t b_string(uint32_t type, const char *s)
{
	return b_bytes(type, s, strlen(s) + 1);
}

static uint32_t b_mmap(const struct mb2_region *r, uint32_t n, uint32_t entry_size)
{
	uint32_t off = b_tag(MB2_TAG_MMAP, 16 + n * entry_size);

	put32(off + 8, entry_size);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t e = off + 16 + i * entry_size;
		put64(e, r[i].base);
		put64(e + 8, r[i].len);
		put32(e + 16, r[i].type);
	}
	return off;
}

static void b_module(uint32_t start, uint32_t end, const char *cmdline)
{
	uint32_t off = b_tag(MB2_TAG_MODULE, 16 + strlen(cmdline) + 1);

	put32(off + 8, start);
	put32(off + 12, end);
	strcpy((char *)b.buf + off + 16, cmdline);
}

/* An RGB framebuffer tag as GRUB writes it (x8r8g8b8); returns its offset. */
static uint32_t b_framebuffer(void)
{
	uint32_t off = b_tag(MB2_TAG_FRAMEBUFFER, 38);
	static const uint8_t channels[6] = { 16, 8, 8, 8, 0, 8 };

	put64(off + 8, 0xfd000000);
	put32(off + 16, 4096);
	put32(off + 20, 1024);
	put32(off + 24, 768);
	b.buf[off + 28] = 32;
	b.buf[off + 29] = 1;
	memcpy(b.buf + off + 32, channels, sizeof channels);
	return off;
}

/* Adds the end tag and sets total_size to the bytes written. */
static void b_end(void)
{
	b_tag(MB2_TAG_END, 8);
	put32(0, b.len);
}

static const struct mb2_region good_map[] = {
	{ 0x0, 0x9fc00, MB2_MEM_AVAILABLE },
	{ 0x9fc00, 0x400, MB2_MEM_RESERVED },
	{ 0x100000, 0x7ee0000, MB2_MEM_AVAILABLE },
	{ 0xfffc0000, 0x40000, MB2_MEM_RESERVED },
};

static void b_good_mmap(void)
{
	b_mmap(good_map, 4, 24);
}

/* Captures notes: all text, and a count per level. */
static char notes[1 << 16];
static size_t notes_len;
static int note_count[3];

static void capture(void *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	cr_assert_eq(ctx, &notes, "note ctx not passed through");
	cr_assert(level >= 0 && level <= 2, "bad note level %d", level);
	note_count[level]++;
	va_start(ap, fmt);
	int n = vsnprintf(notes + notes_len, sizeof notes - notes_len, fmt, ap);
	va_end(ap);
	if (n > 0 && notes_len + n + 2 < sizeof notes) {
		notes_len += n;
		notes[notes_len++] = '\n';
		notes[notes_len] = 0;
	}
}

static struct mb2_info info;

static int parse(void)
{
	notes_len = 0;
	notes[0] = 0;
	memset(note_count, 0, sizeof note_count);
	return mb2_parse(b.buf, &info, capture, &notes);
}

static bool noted(const char *s)
{
	return strstr(notes, s) != NULL;
}

static void assert_zeroed(void)
{
	static const struct mb2_info zero;
	cr_assert(memcmp(&info, &zero, sizeof info) == 0, "info not zeroed after an error");
}

static void assert_fails(int want, const char *text)
{
	int err = parse();
	cr_assert_eq(err, want, "got %d (%s), want %d; notes:\n%s", err, mb2_strerror(err), want, notes);
	cr_assert_geq(note_count[0], 1, "no error note");
	if (text)
		cr_assert(noted(text), "notes lack '%s':\n%s", text, notes);
	assert_zeroed();
}

Test(mb2, magic_constant)
{
	cr_assert_eq(MB2_BOOTLOADER_MAGIC, 0x36d76289u);
}

Test(mb2, good_block)
{
	b_init();
	b_string(MB2_TAG_CMDLINE, "console=com1 verbose");
	b_string(MB2_TAG_BOOTLOADER, "GRUB 2.06");
	uint32_t mi = b_tag(MB2_TAG_BASIC_MEMINFO, 16);
	put32(mi + 8, 639);
	put32(mi + 12, 129920);
	b_good_mmap();
	b_module(0x200000, 0x201000, "cells/ramfs.o v2");
	b_module(0x202000, 0x202000, "");
	b_framebuffer();
	b_end();

	cr_assert_eq(parse(), MB2_OK, "notes:\n%s", notes);
	cr_assert_eq(note_count[0] + note_count[1], 0, "unexpected notes:\n%s", notes);
	cr_assert_eq(info.total_size, b.len);
	cr_assert_str_eq(info.cmdline, "console=com1 verbose");
	cr_assert_str_eq(info.bootloader, "GRUB 2.06");
	cr_assert((const uint8_t *)info.cmdline > b.buf && (const uint8_t *)info.cmdline < b.buf + b.len);
	cr_assert(info.has_meminfo);
	cr_assert_eq(info.mem_lower_kib, 639);
	cr_assert_eq(info.mem_upper_kib, 129920);
	cr_assert_eq(info.mmap_count, 4);
	cr_assert_eq(info.mmap_dropped, 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(info.mmap[i].base, good_map[i].base);
		cr_assert_eq(info.mmap[i].len, good_map[i].len);
		cr_assert_eq(info.mmap[i].type, good_map[i].type);
	}
	cr_assert_eq(info.module_count, 2);
	cr_assert_eq(info.modules[0].start, 0x200000);
	cr_assert_eq(info.modules[0].end, 0x201000);
	cr_assert_str_eq(info.modules[0].cmdline, "cells/ramfs.o v2");
	cr_assert_str_eq(info.modules[1].cmdline, "");
	cr_assert(info.has_framebuffer);
	cr_assert_eq(info.fb.addr, 0xfd000000);
	cr_assert_eq(info.fb.pitch, 4096);
	cr_assert_eq(info.fb.width, 1024);
	cr_assert_eq(info.fb.height, 768);
	cr_assert_eq(info.fb.bpp, 32);
	cr_assert_eq(info.fb.type, 1);
	cr_assert(info.fb.rgb_ok, "%s", notes);
	cr_assert_eq(info.fb.red_pos, 16);
	cr_assert_eq(info.fb.green_pos, 8);
	cr_assert_eq(info.fb.blue_pos, 0);
	cr_assert(info.fb.red_size == 8 && info.fb.green_size == 8 && info.fb.blue_size == 8);
	cr_assert(!info.has_elf_sections && !info.has_efi32 && !info.has_efi64);
	cr_assert_null(info.acpi_rsdp);
	cr_assert_eq(info.unknown_tags, 0);
}

Test(mb2, null_arguments)
{
	b_init();
	b_good_mmap();
	b_end();
	cr_assert_eq(mb2_parse(NULL, &info, NULL, NULL), MB2_E_NULL);
	cr_assert_eq(mb2_parse(b.buf, NULL, NULL, NULL), MB2_E_NULL);
	cr_assert_eq(mb2_parse(b.buf, &info, NULL, NULL), MB2_OK, "a NULL note must be allowed");
}

Test(mb2, bad_total_sizes)
{
	static const uint32_t bad[] = { 0, 8, 12, 17, 20, 23, MB2_MAX_TOTAL + 8, 0xffffffff };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[32];
		b_init();
		b_good_mmap();
		b_end();
		put32(0, bad[i]);
		snprintf(text, sizeof text, "total_size %u ", bad[i]);
		assert_fails(MB2_E_TOTAL_SIZE, text);
	}
}

Test(mb2, truncated_total_size)
{
	b_init();
	b_string(MB2_TAG_CMDLINE, "abc");
	b_good_mmap();
	uint32_t mmap_end = b.len;
	b_end();

	put32(0, mmap_end - 8); /* cuts the memory map tag short */
	assert_fails(MB2_E_TAG_OVERRUN, "tag type 6 at offset 24 has size 112");
	put32(0, mmap_end);     /* cuts exactly before the end tag */
	assert_fails(MB2_E_NO_END, "no end tag within total_size 136");
}

Test(mb2, tag_runs_past_end)
{
	b_init();
	b_good_mmap();
	uint32_t off = b_tag(77, 16);
	b_end();
	put32(off + 4, b.len - off + 8);
	assert_fails(MB2_E_TAG_OVERRUN, "tag type 77 at offset 120");
	put32(off + 4, 0xfffffff8);
	assert_fails(MB2_E_TAG_OVERRUN, "has size 4294967288");
}

Test(mb2, tag_smaller_than_header)
{
	for (uint32_t size = 0; size < 8; size++) {
		b_init();
		b_good_mmap();
		uint32_t off = b_tag(MB2_TAG_CMDLINE, 8);
		b_end();
		put32(off + 4, size);
		assert_fails(MB2_E_TAG_OVERRUN, "tag type 1 at offset 120");
	}
}

Test(mb2, missing_end_tag)
{
	b_init();
	b_good_mmap();
	put32(0, b.len);
	assert_fails(MB2_E_NO_END, "no end tag within total_size 120");
}

Test(mb2, end_tag_wrong_size)
{
	b_init();
	b_good_mmap();
	b_tag(MB2_TAG_END, 16);
	put32(0, b.len);
	assert_fails(MB2_E_BAD_END, "end tag at offset 120 has size 16");
}

Test(mb2, bytes_after_end_tag_ignored)
{
	b_init();
	b_good_mmap();
	b_end();
	b_tag(99, 8);
	put32(0, b.len);
	cr_assert_eq(parse(), MB2_OK);
	cr_assert_eq(info.unknown_tags, 0, "a tag after the end tag was parsed");
}

Test(mb2, no_memory_map)
{
	b_init();
	b_string(MB2_TAG_CMDLINE, "x");
	b_end();
	assert_fails(MB2_E_NO_MMAP, "no memory map tag");
}

Test(mb2, only_reserved_memory)
{
	static const struct mb2_region r[] = {
		{ 0x0, 0x100000, MB2_MEM_RESERVED },
		{ 0x100000, 0x1000000, MB2_MEM_ACPI_RECLAIMABLE },
		{ 0x2000000, 0x1000000, MB2_MEM_BADRAM },
	};
	b_init();
	b_mmap(r, 3, 24);
	b_end();
	assert_fails(MB2_E_EMPTY_MMAP, "empty or absurd memory map");
}

Test(mb2, available_memory_without_a_whole_page)
{
	static const struct mb2_region r[] = {
		{ 0x1001, 0x1ffe, MB2_MEM_AVAILABLE },          /* 0x1001..0x2fff: no whole page */
		{ 0xfffffffffffff001, 0xffe, MB2_MEM_AVAILABLE }, /* at the top of the space */
		{ 0x5000, 0xfff, MB2_MEM_AVAILABLE },
	};
	b_init();
	b_mmap(r, 3, 24);
	b_end();
	assert_fails(MB2_E_EMPTY_MMAP, "none of 3 entries");
}

Test(mb2, empty_memory_map_tag)
{
	b_init();
	b_mmap(NULL, 0, 24);
	b_end();
	assert_fails(MB2_E_EMPTY_MMAP, "none of 0 entries");
}

Test(mb2, zero_length_and_wrapping_entries_dropped)
{
	static const struct mb2_region r[] = {
		{ 0x100000, 0, MB2_MEM_AVAILABLE },
		{ 0x100000, 0x100000, MB2_MEM_AVAILABLE },
		{ 0xfffffffffffff000, 0x1000, MB2_MEM_RESERVED },
		{ 0xfffffffffffff000, 0x2000, MB2_MEM_AVAILABLE },
	};
	b_init();
	b_mmap(r, 4, 24);
	b_end();
	cr_assert_eq(parse(), MB2_OK, "notes:\n%s", notes);
	cr_assert_eq(info.mmap_count, 1);
	cr_assert_eq(info.mmap_dropped, 3);
	cr_assert_eq(info.mmap[0].base, 0x100000);
	cr_assert_eq(note_count[1], 3, "notes:\n%s", notes);
	cr_assert(noted("mmap entry 0 (base 0x100000, len 0x0, type 1) has zero length"), "%s", notes);
	cr_assert(noted("mmap entry 2 (base 0xfffffffffffff000, len 0x1000, type 2) wraps"), "%s", notes);
	cr_assert(noted("mmap entry 3"), "%s", notes);
}

Test(mb2, bad_entry_size)
{
	static const uint32_t bad[] = { 0, 8, 16, 20, 28, 30 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[64];
		b_init();
		uint32_t off = b_mmap(good_map, 4, 24);
		b_end();
		put32(off + 8, bad[i]);
		snprintf(text, sizeof text, "entry_size %u ", bad[i]);
		assert_fails(MB2_E_MMAP_ENTRY, text);
	}
}

Test(mb2, larger_entry_size_and_trailing_bytes)
{
	b_init();
	uint32_t off = b_mmap(good_map, 4, 32);
	b_end();
	cr_assert_eq(parse(), MB2_OK, "notes:\n%s", notes);
	cr_assert_eq(info.mmap_count, 4);
	cr_assert_eq(info.mmap[3].base, good_map[3].base);

	b_init();
	off = b_mmap(good_map, 3, 32);
	put32(off + 4, 16 + 3 * 32 + 8); /* three entries and 8 stray bytes */
	b.len += 8;
	b_end();
	cr_assert_eq(parse(), MB2_OK, "notes:\n%s", notes);
	cr_assert_eq(info.mmap_count, 3);
	cr_assert(noted("8 trailing bytes"), "%s", notes);
}

Test(mb2, memory_map_tag_too_short)
{
	b_init();
	uint32_t off = b_tag(MB2_TAG_MMAP, 16);
	b_end();
	put32(off + 8, 24);
	put32(off + 4, 12);
	assert_fails(MB2_E_TAG_SHORT, "memory map tag (type 6) at offset 8 has 12 bytes, needs at least 16");
}

Test(mb2, unterminated_strings_ignored)
{
	b_init();
	b_bytes(MB2_TAG_CMDLINE, "abcdefgh", 8);
	b_bytes(MB2_TAG_BOOTLOADER, "", 0);
	b_good_mmap();
	uint32_t off = b_tag(MB2_TAG_MODULE, 20);
	put32(off + 8, 0x1000);
	put32(off + 12, 0x2000);
	memcpy(b.buf + off + 16, "abcd", 4);
	b.buf[off + 20] = 0; /* padding NUL outside the tag must not count */
	b_end();

	cr_assert_eq(parse(), MB2_OK, "notes:\n%s", notes);
	cr_assert_null(info.cmdline);
	cr_assert_null(info.bootloader);
	cr_assert_eq(info.module_count, 1);
	cr_assert_null(info.modules[0].cmdline);
	cr_assert_eq(note_count[1], 3, "notes:\n%s", notes);
	cr_assert(noted("cmdline at offset 8 is not NUL-terminated within its 8 bytes"), "%s", notes);
}

Test(mb2, unknown_tags_counted_and_noted)
{
	b_init();
	b_tag(22, 8);
	b_good_mmap();
	b_tag(0x12345, 24);
	/* known types that nano_core does not parse are not unknown */
	b_tag(MB2_TAG_BOOTDEV, 20);
	b_tag(MB2_TAG_VBE, 784);
	b_tag(MB2_TAG_APM, 28);
	b_tag(MB2_TAG_SMBIOS, 16);
	b_tag(MB2_TAG_EFI_MMAP, 16);
	b_tag(MB2_TAG_EFI_BS, 8);
	b_tag(MB2_TAG_EFI32_IH, 12);
	b_tag(MB2_TAG_EFI64_IH, 16);
	b_tag(MB2_TAG_LOAD_BASE_ADDR, 12);
	b_tag(MB2_TAG_NETWORK, 8);
	b_end();

	cr_assert_eq(parse(), MB2_OK, "notes:\n%s", notes);
	cr_assert_eq(info.unknown_tags, 2);
	cr_assert_eq(note_count[0] + note_count[1], 0, "%s", notes);
	cr_assert_eq(note_count[2], 2, "%s", notes);
	cr_assert(noted("unknown tag type 22 (8 bytes) at offset 8"), "%s", notes);
	cr_assert(noted("unknown tag type 74565 (24 bytes)"), "%s", notes);
}

Test(mb2, too_many_mmap_entries_capped)
{
	static struct mb2_region r[200];
	for (int i = 0; i < 200; i++)
		r[i] = (struct mb2_region){ (uint64_t)i << 20, 0x80000, MB2_MEM_AVAILABLE };
	b_init();
	b_mmap(r, 200, 24);
	b_end();

	cr_assert_eq(parse(), MB2_OK, "notes:\n%s", notes);
	cr_assert_eq(info.mmap_count, MB2_MAX_MMAP);
	cr_assert_eq(info.mmap_dropped, 200 - MB2_MAX_MMAP);
	cr_assert_eq(info.mmap[MB2_MAX_MMAP - 1].base, (uint64_t)(MB2_MAX_MMAP - 1) << 20);
	cr_assert_eq(note_count[1], 1, "one warning expected:\n%s", notes);
	cr_assert(noted("72 mmap entries over the limit of 128"), "%s", notes);
}

Test(mb2, too_many_modules_capped_and_backwards_module_dropped)
{
	b_init();
	b_good_mmap();
	b_module(0x5000, 0x4000, "backwards");
	for (uint32_t i = 0; i < 70; i++)
		b_module(0x400000 + i * 0x1000, 0x400800 + i * 0x1000, "m");
	b_end();

	cr_assert_eq(parse(), MB2_OK, "notes:\n%s", notes);
	cr_assert_eq(info.module_count, MB2_MAX_MODULES);
	cr_assert_eq(info.modules_dropped, 1 + 70 - MB2_MAX_MODULES);
	cr_assert_eq(info.modules[0].start, 0x400000);
	cr_assert_eq(info.modules[63].start, 0x400000 + 63 * 0x1000);
	cr_assert(noted("ends (0x4000) before it starts (0x5000)"), "%s", notes);
	cr_assert(noted("6 modules over the limit of 64"), "%s", notes);
}

Test(mb2, module_tag_too_short)
{
	b_init();
	b_good_mmap();
	b_tag(MB2_TAG_MODULE, 12);
	b_end();
	assert_fails(MB2_E_TAG_SHORT, "module tag (type 3) at offset 120 has 12 bytes, needs at least 16");
}

Test(mb2, duplicate_tag_keeps_first)
{
	b_init();
	b_string(MB2_TAG_CMDLINE, "first");
	b_good_mmap();
	b_string(MB2_TAG_CMDLINE, "second");
	b_end();
	cr_assert_eq(parse(), MB2_OK);
	cr_assert_str_eq(info.cmdline, "first");
	cr_assert(noted("duplicate cmdline tag"), "%s", notes);
}

Test(mb2, elf_sections)
{
	b_init();
	b_good_mmap();
	uint32_t off = b_tag(MB2_TAG_ELF_SECTIONS, 20 + 3 * 64);
	put32(off + 8, 3);
	put32(off + 12, 64);
	put32(off + 16, 2);
	b_end();
	cr_assert_eq(parse(), MB2_OK, "%s", notes);
	cr_assert(info.has_elf_sections);
	cr_assert_eq(info.elf.num, 3);
	cr_assert_eq(info.elf.entsize, 64);
	cr_assert_eq(info.elf.shndx, 2);
	cr_assert_eq(info.elf.headers, b.buf + off + 20);

	put32(off + 8, 4);
	assert_fails(MB2_E_TAG_SHORT, "4 headers of 64 bytes do not fit in 192 bytes");
	put32(off + 8, 0x10000000);
	put32(off + 12, 0x10000000);
	assert_fails(MB2_E_TAG_SHORT, "do not fit");
}

Test(mb2, efi_and_acpi)
{
	b_init();
	b_good_mmap();
	uint32_t e32 = b_tag(MB2_TAG_EFI32, 12);
	put32(e32 + 8, 0x7f00);
	uint32_t newer = b_tag(MB2_TAG_ACPI_NEW, 44);
	memcpy(b.buf + newer + 8, "RSD PTR ", 8);
	b_tag(MB2_TAG_ACPI_OLD, 28);
	b_end();
	cr_assert_eq(parse(), MB2_OK, "%s", notes);
	cr_assert(info.has_efi32 && !info.has_efi64);
	cr_assert_eq(info.efi_system_table, 0x7f00);
	cr_assert_eq(info.acpi_rsdp, b.buf + newer + 8, "the new RSDP must win over the old one");
	cr_assert_eq(info.acpi_rsdp_len, 36);


	b_init();
	b_good_mmap();
	uint32_t e64 = b_tag(MB2_TAG_EFI64, 16);
	put64(e64 + 8, 0x123456789abcull);
	e32 = b_tag(MB2_TAG_EFI32, 12);
	put32(e32 + 8, 0x7f00);
	b_end();
	cr_assert_eq(parse(), MB2_OK, "%s", notes);
	cr_assert(info.has_efi32 && info.has_efi64);
	cr_assert_eq(info.efi_system_table, 0x123456789abcull, "the EFI64 table must win");
}

Test(mb2, framebuffer_tag_too_short)
{
	b_init();
	b_good_mmap();
	b_tag(MB2_TAG_FRAMEBUFFER, 24);
	b_end();
	assert_fails(MB2_E_TAG_SHORT, "framebuffer info tag (type 8)");
}

Test(mb2, strerror_and_tag_names)
{
	const char *seen[10];
	for (int err = 0; err >= MB2_E_EMPTY_MMAP; err--) {
		seen[-err] = mb2_strerror(err);
		cr_assert_str_neq(seen[-err], "unknown error", "code %d has no message", err);
		for (int j = 0; j < -err; j++)
			cr_assert_str_neq(seen[j], seen[-err]);
	}
	cr_assert_str_eq(mb2_strerror(MB2_E_EMPTY_MMAP - 1), "unknown error");
	cr_assert_str_eq(mb2_strerror(1), "unknown error");
	cr_assert_str_eq(mb2_strerror(INT_MIN), "unknown error");
	cr_assert(strstr(mb2_strerror(MB2_E_EMPTY_MMAP), "empty or absurd memory map"));
	cr_assert_str_eq(mb2_tag_name(MB2_TAG_MMAP), "memory map");
	cr_assert_str_eq(mb2_tag_name(MB2_TAG_LOAD_BASE_ADDR), "image load base address");
	cr_assert_str_eq(mb2_tag_name(MB2_TAG_COUNT), "unknown");
	cr_assert_str_eq(mb2_tag_name(UINT32_MAX), "unknown");
	for (uint32_t t = 0; t < MB2_TAG_COUNT; t++)
		cr_assert_str_neq(mb2_tag_name(t), "unknown", "type %u has no name", t);
}

/* Fuzzing: every input either parses to a sane result or fails with a known error. */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int fuzz_ok, fuzz_err[16];

static void check_result(int err, const uint8_t *buf, uint32_t len)
{
	if (err == MB2_OK)
		fuzz_ok++;
	else if (err < 0 && err > -16)
		fuzz_err[-err]++;
	if (err != MB2_OK) {
		cr_assert(err < 0 && strcmp(mb2_strerror(err), "unknown error") != 0, "unknown result %d", err);
		assert_zeroed();
		return;
	}
	cr_assert(info.total_size >= 16 && info.total_size <= len);
	cr_assert(info.mmap_count >= 1 && info.mmap_count <= MB2_MAX_MMAP);
	cr_assert(info.module_count <= MB2_MAX_MODULES);
	const char *strs[] = { info.cmdline, info.bootloader };
	for (int i = 0; i < 2; i++)
		if (strs[i])
			cr_assert((const uint8_t *)strs[i] >= buf &&
				  (const uint8_t *)strs[i] + strlen(strs[i]) < buf + len);
	for (size_t i = 0; i < info.module_count; i++) {
		cr_assert_geq(info.modules[i].end, info.modules[i].start);
		if (info.modules[i].cmdline)
			(void)strlen(info.modules[i].cmdline); /* ASan checks the bounds */
	}
	for (size_t i = 0; i < info.mmap_count; i++)
		cr_assert(info.mmap[i].len != 0 && info.mmap[i].len <= UINT64_MAX - info.mmap[i].base);
	if (info.has_elf_sections && info.elf.num) {
		const uint8_t *h = info.elf.headers;
		cr_assert(h >= buf && h + (uint64_t)info.elf.num * info.elf.entsize <= buf + len);
	}
}

/* Parses a private heap copy of exactly len bytes, so ASan sees any over-read. */
static void fuzz_one(const uint8_t *src, uint32_t len)
{
	uint8_t *copy = malloc(len);
	memcpy(copy, src, len);
	int err = mb2_parse(copy, &info, NULL, NULL);
	check_result(err, copy, len);
	free(copy);
}

Test(mb2, fuzz_random_bytes)
{
	static _Alignas(8) uint8_t buf[4096];
	for (int iter = 0; iter < 20000; iter++) {
		uint32_t len = 8 + (rnd() % 512) * 8;
		for (uint32_t i = 0; i < len; i++)
			buf[i] = rnd();
		uint32_t total = (iter % 4 == 0) ? (uint32_t)rnd() : len;
		if (total <= MB2_MAX_TOTAL && total > len)
			total = len;
		memcpy(buf, &total, 4);
		fuzz_one(buf, len);
	}
}

Test(mb2, fuzz_random_tag_sequences)
{
	static const uint32_t types[] = { 0, 1, 2, 3, 4, 6, 6, 6, 8, 9, 11, 12, 14, 15, 23, 1000 };
	for (int iter = 0; iter < 20000; iter++) {
		b_init();
		int ntags = rnd() % 12;
		for (int t = 0; t < ntags && b.len < 4096; t++) {
			uint32_t type = types[rnd() % 16];
			uint32_t size = rnd() % 8 ? 8 + rnd() % 200 : (uint32_t)rnd() % 16;
			uint32_t off = b_tag(type, size < 8 ? 8 : size);
			for (uint32_t i = off + 8; i < b.len; i++)
				b.buf[i] = rnd() % 4 ? rnd() % 4 : rnd();
			if (type == MB2_TAG_MMAP && rnd() % 4) {
				size = 16 + 24 * (rnd() % 6) + (rnd() % 8 ? 0 : rnd() % 24);
				b.len = off + ((size + 7) & ~7u);
				put32(off + 8, rnd() % 8 ? 24 : rnd() % 64);
				for (uint32_t e = off + 16; e + 24 <= off + size; e += 24) {
					put64(e, (rnd() % 8 ? rnd() % 0x100000 : rnd()) << 12);
					put64(e + 8, rnd() % 8 ? rnd() % 0x10000000 : rnd());
					put32(e + 16, rnd() % 3 ? 1 : rnd() % 6);
				}
			}
			put32(off + 4, size);
		}
		if (rnd() % 8)
			b_end();
		put32(0, rnd() % 16 ? b.len : b.len - 8 * (rnd() % 4));
		fuzz_one(b.buf, b.len);
	}
	cr_assert_gt(fuzz_ok, 100, "only %d successes: the generator is too weak", fuzz_ok);
	for (int e = 2; e <= 9; e++)
		cr_assert_gt(fuzz_err[e], 0, "error %d (%s) never produced", -e, mb2_strerror(-e));
}

Test(mb2, fuzz_mutated_good_block)
{
	static _Alignas(8) uint8_t good[1024];
	b_init();
	b_string(MB2_TAG_CMDLINE, "console=com1");
	b_good_mmap();
	b_module(0x200000, 0x201000, "cells/ramfs.o");
	b_framebuffer();
	uint32_t e = b_tag(MB2_TAG_ELF_SECTIONS, 20 + 2 * 64);
	put32(e + 8, 2);
	put32(e + 12, 64);
	b_end();
	uint32_t len = b.len;
	memcpy(good, b.buf, len);
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(b.buf, good, len);
		int flips = 1 + rnd() % 4;
		for (int f = 0; f < flips; f++)
			b.buf[rnd() % len] ^= 1u << (rnd() % 8);
		uint32_t total;
		memcpy(&total, b.buf, 4);
		if (total <= MB2_MAX_TOTAL && total > len)
			memcpy(b.buf, &len, 4);
		fuzz_one(b.buf, len);
	}
	cr_assert_gt(fuzz_ok, 1000, "only %d mutants parsed", fuzz_ok);
	cr_assert_gt(fuzz_err[-MB2_E_TAG_OVERRUN], 100);
}

/* An RGB tag whose geometry cannot be drawn on is kept, marked unusable, with the cause. */
static void assert_rgb_refused(void (*spoil)(uint32_t off), const char *cause)
{
	b_init();
	b_good_mmap();
	spoil(b_framebuffer());
	b_end();
	cr_assert_eq(parse(), MB2_OK, "%s", notes);
	cr_assert(info.has_framebuffer && info.fb.type == MB2_FB_RGB);
	cr_assert(!info.fb.rgb_ok, "a bad RGB framebuffer was accepted (%s)", cause);
	cr_assert(noted(cause), "notes lack '%s':\n%s", cause, notes);
}

static void depth_12(uint32_t off) { b.buf[off + 28] = 12; }
static void short_pitch(uint32_t off) { put32(off + 16, 1023 * 4); }
static void zero_width(uint32_t off) { put32(off + 20, 0); }
static void wraps(uint32_t off) { put64(off + 8, UINT64_MAX - 4096); }
static void red_outside(uint32_t off) { b.buf[off + 32] = 28; }

Test(mb2, rgb_framebuffer_checked)
{
	assert_rgb_refused(depth_12, "depth other than 15, 16, 24 or 32");
	assert_rgb_refused(short_pitch, "pitch shorter than a row");
	assert_rgb_refused(zero_width, "zero width, height or address");
	assert_rgb_refused(wraps, "wraps past 2^64");
	assert_rgb_refused(red_outside, "colour channel outside the pixel");
}

Test(mb2, rgb_framebuffer_without_colour_fields)
{
	b_init();
	b_good_mmap();
	uint32_t off = b_tag(MB2_TAG_FRAMEBUFFER, 32);
	put64(off + 8, 0xfd000000);
	put32(off + 16, 4096);
	put32(off + 20, 1024);
	put32(off + 24, 768);
	b.buf[off + 28] = 32;
	b.buf[off + 29] = MB2_FB_RGB;
	b_end();
	cr_assert_eq(parse(), MB2_OK, "%s", notes);
	cr_assert(info.has_framebuffer && !info.fb.rgb_ok);
	cr_assert(noted("has no colour fields"), "%s", notes);
}

Test(mb2, ega_text_framebuffer)
{
	b_init();
	b_good_mmap();
	uint32_t off = b_tag(MB2_TAG_FRAMEBUFFER, 32);
	put64(off + 8, 0xb8000);
	put32(off + 16, 160);
	put32(off + 20, 80);
	put32(off + 24, 25);
	b.buf[off + 28] = 16;
	b.buf[off + 29] = MB2_FB_EGA_TEXT;
	b_end();
	cr_assert_eq(parse(), MB2_OK, "%s", notes);
	cr_assert(info.has_framebuffer && info.fb.type == MB2_FB_EGA_TEXT && !info.fb.rgb_ok);
	cr_assert_eq(info.fb.width, 80);
	cr_assert_eq(note_count[1], 0, "an EGA text tag is not a problem:\n%s", notes);
}
