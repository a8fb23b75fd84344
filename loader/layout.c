/*
 * Section placement. A cell's mapping holds up to three page-aligned
 * segments, in this order: text (read+execute), rodata (read-only, including
 * relocated read-only data and the GOT) and data (read+write, only when the
 * load allows state). Sections keep their object order inside a segment.
 * The mapping is written while read+write and gets its final permissions
 * only after relocation (layout_protect).
 */
#include "loader/internal.h"

static const int seg_perm[SEG_COUNT] = {
	[SEG_TEXT] = LOADER_PERM_R | LOADER_PERM_X,
	[SEG_RODATA] = LOADER_PERM_R,
	[SEG_DATA] = LOADER_PERM_R | LOADER_PERM_W,
};

int layout_seg_perm(uint8_t seg)
{
	return seg_perm[seg];
}

static bool has_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return memcmp(s, prefix, n) == 0 && (s[n] == '\0' || s[n] == '.');
}

/* Writable sections that are read-only once relocated (RELRO). */
static bool is_relro(const struct load *L, uint32_t i)
{
	uint32_t type = L->sh[i].sh_type;

	return type == SHT_INIT_ARRAY || type == SHT_FINI_ARRAY ||
	       type == SHT_PREINIT_ARRAY || has_prefix(load_sec_name(L, i), ".data.rel.ro");
}

/* Returns the segment section i goes to, or SEG_NONE if it is not placed. */
uint8_t layout_classify(const struct load *L, uint32_t i)
{
	const Elf64_Shdr *s = &L->sh[i];

	if (!(s->sh_flags & SHF_ALLOC))
		return SEG_NONE;
	switch (s->sh_type) {
	case SHT_PROGBITS: case SHT_NOBITS: case SHT_INIT_ARRAY:
	case SHT_FINI_ARRAY: case SHT_PREINIT_ARRAY:
		break;
	default:
		return SEG_NONE;
	}
	if (strcmp(load_sec_name(L, i), ".eh_frame") == 0)
		return SEG_NONE;
	if (s->sh_flags & SHF_EXECINSTR)
		return SEG_TEXT;
	if (!(s->sh_flags & SHF_WRITE) || is_relro(L, i))
		return SEG_RODATA;
	return SEG_DATA;
}

static void mark_comdat(struct load *L, uint32_t g)
{
	const uint32_t *w = (const uint32_t *)(L->obj + L->sh[g].sh_offset);

	if (!(w[0] & GRP_COMDAT))
		return;
	for (uint64_t k = 1; k < L->sh[g].sh_size / 4; k++)
		L->plan[w[k]].comdat = true;
}

/* Classifies every section and finds each placed section's relocations. */
int layout_plan(struct load *L)
{
	for (uint32_t i = 0; i < L->shnum; i++) {
		L->plan[i].seg = i ? layout_classify(L, i) : SEG_NONE;
		L->plan[i].placed = NO_INDEX;
		if (L->sh[i].sh_type == SHT_GROUP)
			mark_comdat(L, i);
	}
	for (uint32_t i = 1; i < L->shnum; i++) {
		uint32_t t = L->sh[i].sh_info;
		if (L->sh[i].sh_type != SHT_RELA || L->plan[t].seg == SEG_NONE)
			continue;
		if (L->plan[t].rela)
			return load_sec_err(L, LOADER_EUNSUPPORTED, i,
				       "second relocation section for %s", load_sec_name(L, t));
		L->plan[t].rela = i;
	}
	return 0;
}

/* Places the sections of one segment after each other, in object order. */
static int place_segment(struct load *L, uint8_t seg, uint64_t *size, uint32_t *n)
{
	for (uint32_t i = 1; i < L->shnum; i++) {
		struct sec_plan *p = &L->plan[i];
		if (p->seg != seg)
			continue;
		p->off = align_up(*size, L->sh[i].sh_addralign);
		p->placed = (*n)++;
		*size = p->off + L->sh[i].sh_size;
		if (*size > LOADER_MAX_CELL_BYTES)
			return load_err(L, LOADER_EUNSUPPORTED, "placed sections too large");
	}
	return 0;
}

/* Assigns segment offsets, numbering placed sections in address order; the
 * GOT ends the rodata segment. */
static int place_offsets(struct load *L, uint64_t size[SEG_COUNT], uint32_t *n)
{
	for (uint8_t seg = 0; seg < SEG_COUNT; seg++) {
		int err = place_segment(L, seg, &size[seg], n);
		if (err)
			return err;
		if (seg == SEG_RODATA && L->ngot) {
			L->got_off = align_up(size[SEG_RODATA], 8);
			size[SEG_RODATA] = L->got_off + (uint64_t)L->ngot * 8;
			L->cell->got_size = (size_t)L->ngot * 8;
			L->cell->got_sec = (*n)++;
		}
	}
	return 0;
}

static void fill_placed(struct load *L)
{
	struct loader_cell *c = L->cell;

	for (uint32_t i = 1; i < L->shnum; i++) {
		struct sec_plan *p = &L->plan[i];
		if (p->seg == SEG_NONE)
			continue;
		c->secs[p->placed] = (struct placed){
			.name = c->shstrtab + L->sh[i].sh_name,
			.size = L->sh[i].sh_size, .shndx = i,
			.type = L->sh[i].sh_type, .seg = p->seg,
		};
	}
	if (c->got_size)
		c->secs[c->got_sec] = (struct placed){
			.name = L->ld->got_name, .size = c->got_size, .shndx = NO_INDEX,
			.type = SHT_PROGBITS, .seg = SEG_RODATA,
		};
}

/* Lays out sections and the GOT in segments and sizes the mapping. */
int layout_place(struct load *L)
{
	struct loader_cell *c = L->cell;
	uint64_t size[SEG_COUNT] = { 0 };
	uint32_t n = 0;
	size_t off = 0;

	int err = place_offsets(L, size, &n);
	if (err)
		return err;
	for (int s = 0; s < SEG_COUNT; s++) {
		c->seg_off[s] = off;
		c->seg_size[s] = size[s];
		off += align_up(size[s], LOADER_PAGE_SIZE);
	}
	c->map_bytes = off;
	c->nsecs = n;
	c->secs = ldr_alloc(L->ld, (size_t)n * sizeof(*c->secs));
	if (!c->secs)
		return load_err(L, LOADER_ENOMEM, "out of memory for sections");
	fill_placed(L);
	return 0;
}

/* Fills [from, to) of the mapping: int3 in the text pages, zero after. */
static void pad(struct loader_cell *c, size_t from, size_t to)
{
	size_t text_end = align_up(c->seg_size[SEG_TEXT], LOADER_PAGE_SIZE);
	size_t mid = from > text_end ? from : to < text_end ? to : text_end;

	memset((unsigned char *)c->mem + from, 0xcc, mid - from);
	memset((unsigned char *)c->mem + mid, 0, to - mid);
}

/* The sections' run addresses, once mapped. */
static void set_addrs(struct load *L)
{
	struct loader_cell *c = L->cell;

	for (uint32_t i = 0; i < c->nsecs; i++) {
		struct placed *p = &c->secs[i];
		p->addr = c->base + c->seg_off[p->seg] +
			  (p->shndx == NO_INDEX ? L->got_off : L->plan[p->shndx].off);
	}
}

int layout_map(struct load *L)
{
	struct loader *ld = L->ld;
	struct loader_cell *c = L->cell;

	if (!c->map_bytes)
		return 0;
	c->mem = ld->env.map(ld->env.ctx, c->map_bytes, &c->base);
	if (!c->mem)
		return load_err(L, LOADER_ENOMEM, "cannot map 0x%zx bytes", c->map_bytes);
	if ((uintptr_t)c->mem % LOADER_PAGE_SIZE || c->base % LOADER_PAGE_SIZE)
		return load_err(L, LOADER_EINVAL, "env->map returned an unaligned mapping");
	set_addrs(L);
	return 0;
}

/* What layout_copy copies before it patches: small enough that the chunk
 * is still in the cache when its relocations are applied. */
#define COPY_CHUNK (16u << 10)

/* Copies one section with contents in chunks, patching each once copied. */
static int copy_section(struct load *L, const struct placed *p)
{
	size_t off = p->addr - L->cell->base;
	unsigned char *to = (unsigned char *)L->cell->mem + off;
	const unsigned char *from = L->obj + L->sh[p->shndx].sh_offset;
	int err = 0;

	relocs_patch_begin(L, p->shndx);
	for (uint64_t at = 0; !err && at < p->size;) {
		uint64_t n = p->size - at < COPY_CHUNK ? p->size - at : COPY_CHUNK;
		memcpy(to + at, from + at, n);
		at += n;
		err = relocs_patch(L, at, off + at);
	}
	return err;
}

int layout_copy(struct load *L)
{
	struct loader_cell *c = L->cell;
	size_t done = 0;

	for (uint32_t i = 0; i < c->nsecs; i++) {
		const struct placed *p = &c->secs[i];
		size_t off = p->addr - c->base;
		if (p->shndx == NO_INDEX || L->sh[p->shndx].sh_type == SHT_NOBITS)
			continue;
		pad(c, done, off);
		int err = copy_section(L, p);
		if (err)
			return err;
		done = off + p->size;
	}
	if (c->map_bytes)
		pad(c, done, c->map_bytes);
	return 0;
}

int layout_protect(struct load *L)
{
	struct loader *ld = L->ld;
	struct loader_cell *c = L->cell;

	for (int s = 0; s < SEG_COUNT; s++) {
		if (!c->seg_size[s])
			continue;
		if (ld->env.protect(ld->env.ctx, (char *)c->mem + c->seg_off[s],
				    align_up(c->seg_size[s], LOADER_PAGE_SIZE), seg_perm[s]))
			return load_err(L, LOADER_ENOMEM, "cannot set page permissions");
	}
	return 0;
}

uint64_t layout_got_addr(const struct load *L)
{
	const struct loader_cell *c = L->cell;

	return c->got_size ? c->secs[c->got_sec].addr : 0;
}
