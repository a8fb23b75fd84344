/*
 * celltool prelink (for the host tools only): applies a cell's relocations
 * between its own sections at build time, for the layout the loader gives
 * the object (ldr_layout: the loader's own validation and placement), and
 * writes the object again with those relocations dropped and the prelink
 * record (loader/prelink.h) added. Everything else of the object (sections,
 * their order and indices, symbols, the relocations left) is kept as it was.
 *
 * A relocation is resolved here when its symbol is the cell's own whatever
 * the namespace holds at load time: defined in a placed section and local,
 * hidden, in a COMDAT group, or a strong global (the loader refuses a second
 * definition of a strong global, so a load that succeeds binds it here). A
 * weak definition may lose to another cell's export, so its references stay.
 */
#include "loader/internal.h"
#include "loader/prelink.h"

struct fields {
	uint32_t *off;
	uint32_t n;
};

struct pl {
	struct load *L;
	uint32_t *order;      /* the defined symbols in address order, or NULL */
	uint32_t nsorted;
	unsigned char **data; /* new contents of each section, or NULL: as it was */
	uint64_t *size;       /* each section's new size */
	struct fields f[3];   /* 64, 32S, 32 */
	struct loader_prelink_stats st;
};

static uint64_t sec_off(const struct load *L, uint32_t shndx)
{
	return L->cell->seg_off[L->plan[shndx].seg] + L->plan[shndx].off;
}

/* True if references to symbol i bind to the cell's own definition. */
static bool bound_here(const struct load *L, uint32_t i)
{
	const Elf64_Sym *s = &L->syms[i];
	unsigned bind = ELF_SYM_BIND(s->st_info), vis = ELF_SYM_VIS(s->st_other);

	if (i == 0 || s->st_shndx == SHN_UNDEF || s->st_shndx >= SHN_LORESERVE ||
	    L->plan[s->st_shndx].seg == SEG_NONE || ELF_SYM_TYPE(s->st_info) == STT_TLS)
		return false;
	return bind != STB_WEAK || vis == STV_HIDDEN || vis == STV_INTERNAL ||
	       L->plan[s->st_shndx].comdat;
}

static void put_le(unsigned char *p, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static bool fits32s(uint64_t v)
{
	return (int64_t)v == (int32_t)v;
}

/* Resolves what it can of relocation e of placed section t, whose new
 * contents are in out; false keeps the relocation. */
static bool resolve_one(struct pl *pl, uint32_t t, const Elf64_Rela *e, unsigned char *out)
{
	struct load *L = pl->L;
	uint32_t type = ELF_R_TYPE(e->r_info), symi = ELF_R_SYM(e->r_info);
	uint64_t P, S, A = (uint64_t)e->r_addend, v;
	int kind;

	if (!bound_here(L, symi))
		return false;
	S = sec_off(L, L->syms[symi].st_shndx) + L->syms[symi].st_value;
	P = sec_off(L, t) + e->r_offset;
	switch (type) {
	case R_X86_64_PC32: case R_X86_64_PLT32:
		v = S + A - P;
		if (!fits32s(v))
			return false;
		put_le(out + e->r_offset, v, 4);
		return true;
	case R_X86_64_PC64:
		put_le(out + e->r_offset, S + A - P, 8);
		return true;
	case R_X86_64_64: kind = 0; break;
	case R_X86_64_32S: kind = 1; break;
	case R_X86_64_32: kind = 2; break;
	default:
		return false;
	}
	v = S + A;
	if (P > UINT32_MAX || (kind && !fits32s(v)))
		return false;
	put_le(out + e->r_offset, v, kind ? 4 : 8);
	pl->f[kind].off[pl->f[kind].n++] = (uint32_t)P;
	return true;
}

static int cmp_u32(const void *a, const void *b, const void *ctx)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	(void)ctx;
	return x < y ? -1 : x > y;
}

/* Applies the resolvable relocations of every placed section. */
static int resolve_all(struct pl *pl)
{
	struct load *L = pl->L;
	struct loader *ld = L->ld;
	uint64_t total = 0;

	for (uint32_t t = 1; t < L->shnum; t++)
		if (L->plan[t].rela)
			total += L->sh[L->plan[t].rela].sh_size / sizeof(Elf64_Rela);
	for (int k = 0; k < 3; k++) {
		pl->f[k].off = ldr_alloc(ld, (size_t)total * sizeof(uint32_t));
		if (!pl->f[k].off)
			return load_err(L, LOADER_ENOMEM, "out of memory");
	}
	for (uint32_t t = 1; t < L->shnum; t++) {
		uint32_t r = L->plan[t].rela;
		if (!r)
			continue;
		const Elf64_Rela *rel = (const Elf64_Rela *)(L->obj + L->sh[r].sh_offset);
		uint32_t n = L->sh[r].sh_size / sizeof(Elf64_Rela), kept = 0;
		unsigned char *text = ldr_alloc(ld, L->sh[t].sh_size);
		Elf64_Rela *left = ldr_alloc(ld, (size_t)n * sizeof(*left));
		pl->data[t] = text;
		pl->data[r] = (unsigned char *)left;
		if (!text || !left)
			return load_err(L, LOADER_ENOMEM, "out of memory");
		memcpy(text, L->obj + L->sh[t].sh_offset, L->sh[t].sh_size);
		for (uint32_t j = 0; j < n; j++)
			if (!resolve_one(pl, t, &rel[j], text))
				left[kept++] = rel[j];
		pl->size[r] = (uint64_t)kept * sizeof(Elf64_Rela);
		pl->st.relocs += n;
		pl->st.kept += kept;
	}
	for (int k = 0; k < 3; k++) {
		ldr_sort(pl->f[k].off, pl->f[k].n, sizeof(uint32_t), cmp_u32, NULL);
		pl->st.fields += pl->f[k].n;
		for (uint32_t i = 1; i < pl->f[k].n; i++)
			if (pl->f[k].off[i] < pl->f[k].off[i - 1] + (k ? 4u : 8u))
				return load_err(L, LOADER_EBADELF,
						"two relocations patch overlapping bytes at 0x%x",
						pl->f[k].off[i]);
	}
	pl->st.resolved = pl->st.relocs - pl->st.kept - pl->st.fields;
	return 0;
}

static int cmp_u64(const void *a, const void *b, const void *ctx)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	(void)ctx;
	return x < y ? -1 : x > y;
}

/* The symbols the cell defines, in address order, unless one is absolute
 * or two share an address (the loader's tie rules then sort them). */
static int symbol_order(struct pl *pl)
{
	struct load *L = pl->L;
	uint32_t n = 0;
	uint64_t *k = ldr_alloc(L->ld, (size_t)L->nsyms * sizeof(*k));

	if (!k)
		return load_err(L, LOADER_ENOMEM, "out of memory");
	for (uint32_t i = 1; i < L->nsyms; i++) {
		const Elf64_Sym *s = &L->syms[i];
		if (!symbols_defined_here(L, i))
			continue;
		if (s->st_shndx == SHN_ABS)
			goto none;
		k[n++] = (sec_off(L, s->st_shndx) + s->st_value) << 24 | i;
	}
	ldr_sort(k, n, sizeof(*k), cmp_u64, NULL);
	for (uint32_t i = 1; i < n; i++)
		if (k[i - 1] >> 24 == k[i] >> 24)
			goto none;
	pl->order = ldr_alloc(L->ld, (size_t)n * sizeof(uint32_t));
	if (!pl->order) {
		ldr_free(L->ld, k);
		return load_err(L, LOADER_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < n; i++)
		pl->order[i] = (uint32_t)(k[i] & 0xffffff);
	pl->nsorted = n;
none:
	ldr_free(L->ld, k);
	return 0;
}

/* The record: the layout, the three lists of fields, the symbol order. */
static unsigned char *make_record(struct pl *pl, uint64_t *size)
{
	struct load *L = pl->L;
	const struct loader_cell *c = L->cell;
	uint32_t nsecs = c->nsecs - (c->got_size ? 1 : 0);
	struct prelink_hdr h = {
		.magic = PRELINK_MAGIC, .nsecs = nsecs, .ngot = L->ngot, .map_bytes = c->map_bytes,
		.n64 = pl->f[0].n, .n32s = pl->f[1].n, .n32 = pl->f[2].n,
		.resolved = pl->st.resolved, .nsorted = pl->nsorted,
	};
	*size = sizeof(h) + (uint64_t)nsecs * sizeof(struct prelink_sec) +
		((uint64_t)pl->st.fields + pl->nsorted) * sizeof(uint32_t);
	unsigned char *rec = ldr_alloc(L->ld, *size), *p = rec;

	if (!rec)
		return NULL;
	for (int s = 0; s < SEG_COUNT; s++) {
		h.seg_off[s] = c->seg_off[s];
		h.seg_size[s] = c->seg_size[s];
	}
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (uint32_t i = 0; i < c->nsecs; i++) {
		if (c->secs[i].shndx == NO_INDEX)
			continue;
		struct prelink_sec s = { .off = sec_off(L, c->secs[i].shndx), .size = c->secs[i].size };
		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
	}
	for (int k = 0; k < 3; k++) {
		memcpy(p, pl->f[k].off, (size_t)pl->f[k].n * sizeof(uint32_t));
		p += (size_t)pl->f[k].n * sizeof(uint32_t);
	}
	if (pl->nsorted)
		memcpy(p, pl->order, (size_t)pl->nsorted * sizeof(uint32_t));
	return rec;
}

/* Writes the object again: its sections in index order, each at its own
 * alignment (8 at least for tables), the record last, then the headers. */
static int write_object(struct pl *pl, void **out, size_t *out_size)
{
	struct load *L = pl->L;
	uint32_t shnum = L->shnum, shstrndx = L->eh->e_shstrndx, rec_name;
	uint64_t rec_size, off = sizeof(Elf64_Ehdr);
	unsigned char *rec = make_record(pl, &rec_size), *shstr;

	if (!rec)
		return load_err(L, LOADER_ENOMEM, "out of memory");
	pl->data[shnum] = rec;
	pl->size[shnum] = rec_size;
	/* The section name table gains the record's name. */
	rec_name = (uint32_t)L->sh[shstrndx].sh_size;
	shstr = ldr_alloc(L->ld, rec_name + sizeof(PRELINK_SECTION));
	if (!shstr)
		return load_err(L, LOADER_ENOMEM, "out of memory");
	memcpy(shstr, L->obj + L->sh[shstrndx].sh_offset, rec_name);
	memcpy(shstr + rec_name, PRELINK_SECTION, sizeof(PRELINK_SECTION));
	pl->data[shstrndx] = shstr;
	pl->size[shstrndx] = rec_name + sizeof(PRELINK_SECTION);

	Elf64_Shdr *sh = ldr_alloc(L->ld, (size_t)(shnum + 1) * sizeof(*sh));
	if (!sh)
		return load_err(L, LOADER_ENOMEM, "out of memory");
	memcpy(sh, L->sh, (size_t)shnum * sizeof(*sh));
	sh[shnum] = (Elf64_Shdr){ .sh_name = rec_name, .sh_type = SHT_PROGBITS,
				  .sh_addralign = 8 };
	for (uint32_t i = 1; i <= shnum; i++) {
		uint64_t a = sh[i].sh_addralign > 8 ? sh[i].sh_addralign : 8;
		sh[i].sh_size = pl->size[i];
		if (sh[i].sh_type == SHT_NOBITS)
			continue;
		off = align_up(off, a);
		sh[i].sh_offset = off;
		off += sh[i].sh_size;
	}
	off = align_up(off, 8);
	size_t total = off + (size_t)(shnum + 1) * sizeof(*sh);
	unsigned char *buf = ldr_alloc(L->ld, total);
	if (!buf) {
		ldr_free(L->ld, sh);
		return load_err(L, LOADER_ENOMEM, "out of memory");
	}
	Elf64_Ehdr eh = *L->eh;
	eh.e_shoff = off;
	eh.e_shnum = (uint16_t)(shnum + 1);
	memcpy(buf, &eh, sizeof(eh));
	for (uint32_t i = 1; i <= shnum; i++) {
		if (sh[i].sh_type == SHT_NOBITS || !sh[i].sh_size)
			continue;
		const unsigned char *src = pl->data[i] ? pl->data[i] : L->obj + L->sh[i].sh_offset;
		memcpy(buf + sh[i].sh_offset, src, sh[i].sh_size);
	}
	memcpy(buf + off, sh, (size_t)(shnum + 1) * sizeof(*sh));
	ldr_free(L->ld, sh);
	*out = buf;
	*out_size = total;
	return 0;
}

int loader_prelink(struct loader *ld, const char *path, const void *obj, size_t size,
		   void **out, size_t *out_size, struct loader_prelink_stats *st)
{
	struct loader_load_args a = {
		.path = path, .obj = obj, .size = size,
		.flags = LOADER_ALLOW_STATE | LOADER_UNPUBLISHED | LOADER_NO_CTORS,
	};
	struct load L;
	struct pl pl = { .L = &L };
	int err = ldr_layout(&L, ld, &a);

	*out = NULL;
	*out_size = 0;
	if (!err && L.prelink)
		err = load_sec_err(&L, LOADER_EINVAL, L.prelink, "already prelinked");
	if (!err && L.shnum >= SHN_LORESERVE - 1)
		err = load_err(&L, LOADER_EUNSUPPORTED, "too many sections to add the record");
	if (!err) {
		pl.data = ldr_alloc(ld, (size_t)(L.shnum + 1) * sizeof(*pl.data));
		pl.size = ldr_alloc(ld, (size_t)(L.shnum + 1) * sizeof(*pl.size));
		if (!pl.data || !pl.size)
			err = load_err(&L, LOADER_ENOMEM, "out of memory");
	}
	if (!err) {
		for (uint32_t i = 1; i < L.shnum; i++)
			pl.size[i] = L.sh[i].sh_size;
		err = resolve_all(&pl);
	}
	if (!err)
		err = symbol_order(&pl);
	if (!err)
		err = write_object(&pl, out, out_size);
	if (!err && st)
		*st = pl.st;
	for (uint32_t i = 0; pl.data && i <= L.shnum; i++)
		ldr_free(ld, pl.data[i]);
	ldr_free(ld, pl.data);
	ldr_free(ld, pl.size);
	for (int k = 0; k < 3; k++)
		ldr_free(ld, pl.f[k].off);
	ldr_free(ld, pl.order);
	ldr_layout_end(&L);
	return err;
}

void loader_prelink_free(struct loader *ld, void *p)
{
	ldr_free(ld, p);
}
