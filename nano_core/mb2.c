/*
 * Multiboot2 boot information parser: checks every size against total_size
 * and copies what nano_core needs into struct mb2_info. See delos/mb2.h.
 */
#include <delos/mb2.h>

#define MB2_HEADER_SIZE 8
#define MB2_TAG_HEADER  8
#define MB2_PAGE        4096ull
#define MB2_FB_RGB_SIZE 38	/* the common fields, 2 reserved bytes, 6 colour bytes */

struct parser {
	const uint8_t *base;
	struct mb2_info *out;
	note_fn *note;
	void *ctx;
	uint32_t off;           /* offset of the tag being parsed */
	uint32_t seen;          /* bit n set: a tag of known type n was parsed */
	size_t mmap_over;       /* memory map entries over MB2_MAX_MMAP */
	size_t modules_over;    /* modules over MB2_MAX_MODULES */
};

typedef int tag_parse_fn(struct parser *p, const uint8_t *tag, uint32_t size);

struct tag_kind {
	const char *name;
	uint32_t min_size;      /* header plus the fixed fields the parser reads */
	bool repeatable;        /* more than one tag of this type is normal */
	tag_parse_fn *parse;    /* NULL: known, but nano_core does not need it */
};

static uint8_t rd8(const uint8_t *p)
{
	return *p;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

/* Returns s if a NUL lies within its len bytes, else warns and returns NULL. */
static const char *tag_string(struct parser *p, const uint8_t *s, uint32_t len,
			      const char *what)
{
	for (uint32_t i = 0; i < len; i++)
		if (s[i] == 0)
			return (const char *)s;
	NOTE(p->note, p->ctx, NOTE_WARN,
	     "mb2: %s at offset %u is not NUL-terminated within its %u bytes; ignored",
	     what, p->off, len);
	return NULL;
}

static int parse_cmdline(struct parser *p, const uint8_t *tag, uint32_t size)
{
	p->out->cmdline = tag_string(p, tag + 8, size - 8, "cmdline");
	return MB2_OK;
}

static int parse_bootloader(struct parser *p, const uint8_t *tag, uint32_t size)
{
	p->out->bootloader = tag_string(p, tag + 8, size - 8, "bootloader name");
	return MB2_OK;
}

static int parse_module(struct parser *p, const uint8_t *tag, uint32_t size)
{
	struct mb2_info *out = p->out;
	uint32_t start = rd32(tag + 8), end = rd32(tag + 12);
	const char *cmdline = tag_string(p, tag + 16, size - 16, "module cmdline");

	if (end < start) {
		NOTE(p->note, p->ctx, NOTE_WARN,
		     "mb2: module at offset %u ends (0x%x) before it starts (0x%x); dropped",
		     p->off, end, start);
		out->modules_dropped++;
		return MB2_OK;
	}
	if (out->module_count == MB2_MAX_MODULES) {
		p->modules_over++;
		out->modules_dropped++;
		return MB2_OK;
	}
	out->modules[out->module_count++] = (struct mb2_module){ start, end, cmdline };
	return MB2_OK;
}

static int parse_meminfo(struct parser *p, const uint8_t *tag, uint32_t size)
{
	(void)size;
	p->out->has_meminfo = true;
	p->out->mem_lower_kib = rd32(tag + 8);
	p->out->mem_upper_kib = rd32(tag + 12);
	return MB2_OK;
}

/* Keeps one memory map entry unless it is empty, wraps around, or is over capacity. */
static void add_region(struct parser *p, const uint8_t *e, uint32_t index)
{
	struct mb2_info *out = p->out;
	struct mb2_region r = { rd64(e), rd64(e + 8), rd32(e + 16) };
	const char *why = NULL;

	if (r.len == 0)
		why = "has zero length";
	else if (r.len > UINT64_MAX - r.base)
		why = "wraps past 2^64";
	if (why) {
		NOTE(p->note, p->ctx, NOTE_WARN,
		     "mb2: mmap entry %u (base 0x%lx, len 0x%lx, type %u) %s; dropped",
		     index, r.base, r.len, r.type, why);
		out->mmap_dropped++;
	} else if (out->mmap_count == MB2_MAX_MMAP) {
		p->mmap_over++;
		out->mmap_dropped++;
	} else {
		out->mmap[out->mmap_count++] = r;
	}
}

static int parse_mmap(struct parser *p, const uint8_t *tag, uint32_t size)
{
	uint32_t entry_size = rd32(tag + 8);
	uint32_t bytes = size - 16;

	if (entry_size < 24 || entry_size % 8 != 0) {
		NOTE(p->note, p->ctx, NOTE_ERROR,
		     "mb2: mmap tag at offset %u: entry_size %u is not a multiple of 8 of at least 24",
		     p->off, entry_size);
		return MB2_E_MMAP_ENTRY;
	}
	if (bytes % entry_size != 0)
		NOTE(p->note, p->ctx, NOTE_WARN,
		     "mb2: mmap tag at offset %u: %u trailing bytes after the last whole entry ignored",
		     p->off, bytes % entry_size);
	for (uint32_t i = 0; i < bytes / entry_size; i++)
		add_region(p, tag + 16 + i * entry_size, i);
	return MB2_OK;
}

/* Why an RGB framebuffer's geometry cannot be drawn on, or NULL if it can. */
static const char *rgb_problem(const struct mb2_framebuffer *fb, uint32_t size)
{
	const uint8_t ch[3][2] = { { fb->red_pos, fb->red_size }, { fb->green_pos, fb->green_size },
				   { fb->blue_pos, fb->blue_size } };
	uint32_t bytes = (fb->bpp + 7u) / 8u;

	if (size < MB2_FB_RGB_SIZE)
		return "has no colour fields";
	if (fb->bpp != 15 && fb->bpp != 16 && fb->bpp != 24 && fb->bpp != 32)
		return "has a depth other than 15, 16, 24 or 32 bits";
	if (!fb->width || !fb->height || !fb->addr)
		return "has a zero width, height or address";
	if ((uint64_t)fb->width * bytes > fb->pitch)
		return "has a pitch shorter than a row";
	if ((uint64_t)fb->pitch * fb->height > UINT64_MAX - fb->addr)
		return "wraps past 2^64";
	for (int i = 0; i < 3; i++)
		if (!ch[i][1] || ch[i][1] > 8 || ch[i][0] + ch[i][1] > fb->bpp)
			return "has a colour channel outside the pixel";
	return NULL;
}

static int parse_framebuffer(struct parser *p, const uint8_t *tag, uint32_t size)
{
	struct mb2_framebuffer *fb = &p->out->fb;

	p->out->has_framebuffer = true;
	*fb = (struct mb2_framebuffer){
		.addr = rd64(tag + 8),
		.pitch = rd32(tag + 16),
		.width = rd32(tag + 20),
		.height = rd32(tag + 24),
		.bpp = rd8(tag + 28),
		.type = rd8(tag + 29),
	};
	if (fb->type != MB2_FB_RGB)
		return MB2_OK;
	if (size >= MB2_FB_RGB_SIZE) {
		fb->red_pos = rd8(tag + 32), fb->red_size = rd8(tag + 33);
		fb->green_pos = rd8(tag + 34), fb->green_size = rd8(tag + 35);
		fb->blue_pos = rd8(tag + 36), fb->blue_size = rd8(tag + 37);
	}
	const char *why = rgb_problem(fb, size);
	if (why)
		NOTE(p->note, p->ctx, NOTE_WARN,
		     "mb2: RGB framebuffer at offset %u (%ux%u, %u bpp, pitch %u) %s; not used",
		     p->off, fb->width, fb->height, fb->bpp, fb->pitch, why);
	fb->rgb_ok = why == NULL;
	return MB2_OK;
}

static int parse_elf_sections(struct parser *p, const uint8_t *tag, uint32_t size)
{
	uint32_t num = rd32(tag + 8), entsize = rd32(tag + 12);

	if ((uint64_t)num * entsize > size - 20) {
		NOTE(p->note, p->ctx, NOTE_ERROR,
		     "mb2: elf-sections tag at offset %u: %u headers of %u bytes do not fit in %u bytes",
		     p->off, num, entsize, size - 20);
		return MB2_E_TAG_SHORT;
	}
	p->out->has_elf_sections = true;
	p->out->elf = (struct mb2_elf_sections){ num, entsize, rd32(tag + 16), tag + 20 };
	return MB2_OK;
}

static int parse_efi32(struct parser *p, const uint8_t *tag, uint32_t size)
{
	(void)size;
	p->out->has_efi32 = true;
	if (!p->out->has_efi64)
		p->out->efi_system_table = rd32(tag + 8);
	return MB2_OK;
}

static int parse_efi64(struct parser *p, const uint8_t *tag, uint32_t size)
{
	(void)size;
	p->out->has_efi64 = true;
	p->out->efi_system_table = rd64(tag + 8);
	return MB2_OK;
}

static int parse_acpi_old(struct parser *p, const uint8_t *tag, uint32_t size)
{
	if (p->seen & (1u << MB2_TAG_ACPI_NEW))
		return MB2_OK;
	p->out->acpi_rsdp = tag + 8;
	p->out->acpi_rsdp_len = size - 8;
	return MB2_OK;
}

static int parse_acpi_new(struct parser *p, const uint8_t *tag, uint32_t size)
{
	p->out->acpi_rsdp = tag + 8;
	p->out->acpi_rsdp_len = size - 8;
	return MB2_OK;
}

static const struct tag_kind kinds[MB2_TAG_COUNT] = {
	[MB2_TAG_END] = { "end", 8, false, NULL },
	[MB2_TAG_CMDLINE] = { "cmdline", 8, false, parse_cmdline },
	[MB2_TAG_BOOTLOADER] = { "bootloader name", 8, false, parse_bootloader },
	[MB2_TAG_MODULE] = { "module", 16, true, parse_module },
	[MB2_TAG_BASIC_MEMINFO] = { "basic meminfo", 16, false, parse_meminfo },
	[MB2_TAG_BOOTDEV] = { "bios boot device", 8, false, NULL },
	[MB2_TAG_MMAP] = { "memory map", 16, false, parse_mmap },
	[MB2_TAG_VBE] = { "vbe info", 8, false, NULL },
	[MB2_TAG_FRAMEBUFFER] = { "framebuffer info", 30, false, parse_framebuffer },
	[MB2_TAG_ELF_SECTIONS] = { "elf-symbols", 20, false, parse_elf_sections },
	[MB2_TAG_APM] = { "apm table", 8, false, NULL },
	[MB2_TAG_EFI32] = { "efi32 system table", 12, false, parse_efi32 },
	[MB2_TAG_EFI64] = { "efi64 system table", 16, false, parse_efi64 },
	[MB2_TAG_SMBIOS] = { "smbios tables", 8, true, NULL },
	[MB2_TAG_ACPI_OLD] = { "acpi old rsdp", 28, false, parse_acpi_old },
	[MB2_TAG_ACPI_NEW] = { "acpi new rsdp", 44, false, parse_acpi_new },
	[MB2_TAG_NETWORK] = { "networking info", 8, true, NULL },
	[MB2_TAG_EFI_MMAP] = { "efi memory map", 8, false, NULL },
	[MB2_TAG_EFI_BS] = { "efi boot services not terminated", 8, false, NULL },
	[MB2_TAG_EFI32_IH] = { "efi32 image handle", 8, false, NULL },
	[MB2_TAG_EFI64_IH] = { "efi64 image handle", 8, false, NULL },
	[MB2_TAG_LOAD_BASE_ADDR] = { "image load base address", 8, false, NULL },
};

/* Dispatches one tag whose size has been checked against total_size. */
static int parse_tag(struct parser *p, uint32_t type, uint32_t size)
{
	const struct tag_kind *k = type < MB2_TAG_COUNT ? &kinds[type] : NULL;

	if (!k) {
		p->out->unknown_tags++;
		NOTE(p->note, p->ctx, NOTE_INFO,
		     "mb2: unknown tag type %u (%u bytes) at offset %u skipped", type, size, p->off);
		return MB2_OK;
	}
	if (!k->parse)
		return MB2_OK;
	if (size < k->min_size) {
		NOTE(p->note, p->ctx, NOTE_ERROR,
		     "mb2: %s tag (type %u) at offset %u has %u bytes, needs at least %u",
		     k->name, type, p->off, size, k->min_size);
		return MB2_E_TAG_SHORT;
	}
	if (!k->repeatable && (p->seen & (1u << type))) {
		NOTE(p->note, p->ctx, NOTE_WARN,
		     "mb2: duplicate %s tag at offset %u ignored", k->name, p->off);
		return MB2_OK;
	}
	p->seen |= 1u << type;
	return k->parse(p, p->base + p->off, size);
}

static int check_total_size(struct parser *p)
{
	uint32_t total = rd32(p->base);

	if (total < MB2_HEADER_SIZE + MB2_TAG_HEADER || total > MB2_MAX_TOTAL || total % 8 != 0) {
		NOTE(p->note, p->ctx, NOTE_ERROR,
		     "mb2: total_size %u is not a multiple of 8 between 16 and %u",
		     total, MB2_MAX_TOTAL);
		return MB2_E_TOTAL_SIZE;
	}
	p->out->total_size = total;
	return MB2_OK;
}

/* Walks the 8-byte-aligned tags up to the end tag, which must be present. */
static int walk_tags(struct parser *p)
{
	uint32_t total = p->out->total_size;

	for (p->off = MB2_HEADER_SIZE; p->off < total;) {
		uint32_t type = rd32(p->base + p->off), size = rd32(p->base + p->off + 4);

		if (size < MB2_TAG_HEADER || size > total - p->off) {
			NOTE(p->note, p->ctx, NOTE_ERROR,
			     "mb2: tag type %u at offset %u has size %u (needs 8 to %u)",
			     type, p->off, size, total - p->off);
			return MB2_E_TAG_OVERRUN;
		}
		if (type == MB2_TAG_END) {
			if (size == MB2_TAG_HEADER)
				return MB2_OK;
			NOTE(p->note, p->ctx, NOTE_ERROR,
			     "mb2: end tag at offset %u has size %u, not 8", p->off, size);
			return MB2_E_BAD_END;
		}
		int err = parse_tag(p, type, size);
		if (err)
			return err;
		p->off += (size + 7) & ~7u;
	}
	NOTE(p->note, p->ctx, NOTE_ERROR, "mb2: no end tag within total_size %u", total);
	return MB2_E_NO_END;
}

static bool has_whole_page(const struct mb2_region *r)
{
	if (r->type != MB2_MEM_AVAILABLE || r->base > UINT64_MAX - (MB2_PAGE - 1))
		return false;
	uint64_t first = (r->base + MB2_PAGE - 1) & ~(MB2_PAGE - 1);
	uint64_t last = (r->base + r->len) & ~(MB2_PAGE - 1);
	return last > first;
}

/* Reports dropped table entries and checks that there is memory to run in. */
static int finish(struct parser *p)
{
	struct mb2_info *out = p->out;

	if (p->modules_over)
		NOTE(p->note, p->ctx, NOTE_WARN, "mb2: %zu modules over the limit of %d dropped",
		     p->modules_over, MB2_MAX_MODULES);
	if (p->mmap_over)
		NOTE(p->note, p->ctx, NOTE_WARN, "mb2: %zu mmap entries over the limit of %d dropped",
		     p->mmap_over, MB2_MAX_MMAP);
	if (!(p->seen & (1u << MB2_TAG_MMAP))) {
		NOTE(p->note, p->ctx, NOTE_ERROR, "mb2: no memory map tag");
		return MB2_E_NO_MMAP;
	}
	for (size_t i = 0; i < out->mmap_count; i++)
		if (has_whole_page(&out->mmap[i]))
			return MB2_OK;
	NOTE(p->note, p->ctx, NOTE_ERROR,
	     "mb2: empty or absurd memory map: none of %zu entries is available memory holding a whole 4 KiB page",
	     out->mmap_count);
	return MB2_E_EMPTY_MMAP;
}

int mb2_parse(const void *mbi, struct mb2_info *out, note_fn *note, void *ctx)
{
	if (!mbi || !out) {
		NOTE(note, ctx, NOTE_ERROR, "mb2: %s pointer is NULL", mbi ? "output" : "boot information");
		return MB2_E_NULL;
	}
	__builtin_memset(out, 0, sizeof *out);
	struct parser p = { .base = mbi, .out = out, .note = note, .ctx = ctx };
	int err = check_total_size(&p);
	if (!err)
		err = walk_tags(&p);
	if (!err)
		err = finish(&p);
	if (err)
		__builtin_memset(out, 0, sizeof *out);
	return err;
}

const char *mb2_strerror(int err)
{
	static const char *const msg[] = {
		[-MB2_OK] = "success",
		[-MB2_E_NULL] = "boot information or output pointer is NULL",
		[-MB2_E_TOTAL_SIZE] = "total_size is under 16, over the limit, or not a multiple of 8",
		[-MB2_E_TAG_OVERRUN] = "a tag is smaller than 8 bytes or runs past total_size",
		[-MB2_E_NO_END] = "no end tag within total_size",
		[-MB2_E_BAD_END] = "the end tag's size is not 8",
		[-MB2_E_TAG_SHORT] = "a tag is too short for the fields of its type",
		[-MB2_E_MMAP_ENTRY] = "memory map entry_size is under 24 or not a multiple of 8",
		[-MB2_E_NO_MMAP] = "no memory map tag",
		[-MB2_E_EMPTY_MMAP] = "empty or absurd memory map: no available whole 4 KiB page",
	};

	if (err > 0 || err <= -(int)(sizeof msg / sizeof msg[0]))
		return "unknown error";
	return msg[-err];
}

const char *mb2_tag_name(uint32_t type)
{
	return type < MB2_TAG_COUNT ? kinds[type].name : "unknown";
}
