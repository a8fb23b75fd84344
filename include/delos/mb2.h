/*
 * Multiboot2 boot information parser.
 *
 * mb2_parse() checks the whole block the bootloader left and copies what
 * nano_core needs into a fixed-size struct mb2_info; it allocates nothing and
 * never reads outside [mbi, mbi + total_size). Strings and the ELF section
 * headers are returned as pointers into the block, so the block must stay
 * mapped (and unclobbered) for as long as they are used. Field layouts follow
 * GRUB's multiboot2.h where it differs from the 2.0 specification text (the
 * ELF-sections tag has 32-bit num, entsize and shndx).
 */
#ifndef DELOS_MB2_H
#define DELOS_MB2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/note.h>

/* The value a multiboot2 bootloader leaves in %eax. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

/* The largest total_size accepted; bigger blocks are refused as absurd. */
#define MB2_MAX_TOTAL (1u << 20)

/* Capacity of the copied tables; extra entries are dropped with a warning. */
#define MB2_MAX_MMAP    128
#define MB2_MAX_MODULES 64

enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_BOOTLOADER = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_BASIC_MEMINFO = 4,
	MB2_TAG_BOOTDEV = 5,
	MB2_TAG_MMAP = 6,
	MB2_TAG_VBE = 7,
	MB2_TAG_FRAMEBUFFER = 8,
	MB2_TAG_ELF_SECTIONS = 9,
	MB2_TAG_APM = 10,
	MB2_TAG_EFI32 = 11,
	MB2_TAG_EFI64 = 12,
	MB2_TAG_SMBIOS = 13,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
	MB2_TAG_NETWORK = 16,
	MB2_TAG_EFI_MMAP = 17,
	MB2_TAG_EFI_BS = 18,
	MB2_TAG_EFI32_IH = 19,
	MB2_TAG_EFI64_IH = 20,
	MB2_TAG_LOAD_BASE_ADDR = 21,
	MB2_TAG_COUNT = 22
};

/* Memory map entry types. Only MB2_MEM_AVAILABLE is free RAM. */
enum mb2_mem_type {
	MB2_MEM_AVAILABLE = 1,
	MB2_MEM_RESERVED = 2,
	MB2_MEM_ACPI_RECLAIMABLE = 3,
	MB2_MEM_NVS = 4,
	MB2_MEM_BADRAM = 5
};

enum mb2_error {
	MB2_OK = 0,
	MB2_E_NULL = -1,        /* mbi or out is NULL */
	MB2_E_TOTAL_SIZE = -2,  /* total_size < 16, > MB2_MAX_TOTAL or not a multiple of 8 */
	MB2_E_TAG_OVERRUN = -3, /* a tag's size is < 8 or runs past total_size */
	MB2_E_NO_END = -4,      /* no end tag before total_size */
	MB2_E_BAD_END = -5,     /* the end tag's size is not 8 */
	MB2_E_TAG_SHORT = -6,   /* a tag is shorter than the fixed fields of its type */
	MB2_E_MMAP_ENTRY = -7,  /* memory map entry_size < 24 or not a multiple of 8 */
	MB2_E_NO_MMAP = -8,     /* no memory map tag */
	MB2_E_EMPTY_MMAP = -9   /* no available entry holding a whole 4 KiB page */
};

/* One memory map entry: [base, base + len) of the given mb2_mem_type. */
struct mb2_region {
	uint64_t base, len;
	uint32_t type;
};

/* A boot module at physical [start, end); cmdline is NULL if it was not terminated. */
struct mb2_module {
	uint32_t start, end;
	const char *cmdline;
};

enum mb2_fb_type {
	MB2_FB_INDEXED = 0,
	MB2_FB_RGB = 1,
	MB2_FB_EGA_TEXT = 2,
};

/*
 * The framebuffer tag. For an RGB framebuffer (type 1) the channel fields
 * give each colour's lowest bit and width within a pixel, and rgb_ok says the
 * parser checked the geometry: bpp is 15, 16, 24 or 32, width and height are
 * not zero, pitch holds a row, the range does not wrap, every channel fits in
 * the pixel. An RGB tag that fails a check is kept with rgb_ok false, and a
 * warning names the cause.
 */
struct mb2_framebuffer {
	uint64_t addr;
	uint32_t pitch, width, height;
	uint8_t bpp, type;
	uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
	bool rgb_ok;
};

/* The kernel's ELF section headers: num entries of entsize bytes each. */
struct mb2_elf_sections {
	uint32_t num, entsize, shndx;
	const void *headers;
};

struct mb2_info {
	uint32_t total_size;
	const char *cmdline;        /* NULL if absent or not NUL-terminated */
	const char *bootloader;     /* NULL if absent or not NUL-terminated */

	bool has_meminfo;
	uint32_t mem_lower_kib, mem_upper_kib;

	size_t mmap_count;          /* entries kept in mmap[] */
	size_t mmap_dropped;        /* entries dropped: empty, overflowing or over capacity */
	struct mb2_region mmap[MB2_MAX_MMAP];

	size_t module_count;
	size_t modules_dropped;     /* modules dropped: end < start or over capacity */
	struct mb2_module modules[MB2_MAX_MODULES];

	bool has_framebuffer;
	struct mb2_framebuffer fb;

	bool has_elf_sections;
	struct mb2_elf_sections elf;

	bool has_efi32, has_efi64;  /* EFI system table tags (11, 12) present */
	uint64_t efi_system_table;  /* from the EFI64 tag, else the EFI32 tag, else 0 */

	const void *acpi_rsdp;      /* copy of the RSDP in the block; the new (v2) tag wins */
	uint32_t acpi_rsdp_len;

	uint32_t unknown_tags;      /* tags of a type this parser does not know */
};

/*
 * Parses the multiboot2 information block at mbi into *out. The caller
 * guarantees that the first 8 bytes at mbi are readable and, if the
 * total_size found there is at most MB2_MAX_TOTAL, that total_size bytes are.
 * Every size and bound is checked before it is used. Problems that cost only
 * one item (an unterminated string, an empty or overflowing memory map
 * entry, a module ending before it starts, a table over capacity, a
 * duplicate tag, an unknown tag type) are reported through note, which may be
 * NULL, and parsing goes on. Anything else stops the parse: a note at
 * NOTE_ERROR names the value, tag type and offset at fault, *out is zeroed and
 * a negative enum mb2_error is returned. Returns MB2_OK on success, which
 * implies a memory map with at least one whole available 4 KiB page.
 */
int mb2_parse(const void *mbi, struct mb2_info *out, note_fn *note, void *ctx);

/* Returns a sentence naming the cause of err, or "unknown error". */
const char *mb2_strerror(int err);

/* Returns the specification's name for a tag type, or "unknown". */
const char *mb2_tag_name(uint32_t type);

#endif
