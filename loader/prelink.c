/*
 * A prelinked object at load time (the format: loader/prelink.h). Its record
 * must describe the layout this load gave the object, section by section,
 * and every field it lists must lie wholly inside a placed section with
 * contents; then each field gets the run address added, range-checked as
 * its relocation would have been. An object without a record loads as any
 * other: every relocation is applied here.
 */
#include "loader/internal.h"
#include "loader/prelink.h"

static const char *const field_kind[3] = { "R_X86_64_64", "R_X86_64_32S", "R_X86_64_32" };
static const unsigned field_width[3] = { 8, 4, 4 };

/* The offset in the mapping of placed section p (the GOT has no shndx). */
static uint64_t placed_off(const struct load *L, const struct placed *p)
{
	const struct loader_cell *c = L->cell;

	return c->seg_off[p->seg] + (p->shndx == NO_INDEX ? L->got_off : L->plan[p->shndx].off);
}

static int layout_err(struct load *L, const char *what, uint64_t rec, uint64_t here)
{
	return load_sec_err(L, LOADER_EBADELF, L->prelink,
			    "prelinked for another layout: %s 0x%lx in the record, 0x%lx here",
			    what, (unsigned long)rec, (unsigned long)here);
}

static int check_layout(struct load *L, const struct prelink_hdr *h, const struct prelink_sec *sec)
{
	const struct loader_cell *c = L->cell;
	uint32_t nplaced = c->nsecs - (c->got_size ? 1 : 0);

	if (h->nsecs != nplaced)
		return layout_err(L, "placed sections", h->nsecs, nplaced);
	if (h->ngot != L->ngot)
		return layout_err(L, "GOT slots", h->ngot, L->ngot);
	if (h->map_bytes != c->map_bytes)
		return layout_err(L, "mapping size", h->map_bytes, c->map_bytes);
	for (int s = 0; s < SEG_COUNT; s++)
		if (h->seg_off[s] != c->seg_off[s] || h->seg_size[s] != c->seg_size[s])
			return layout_err(L, "segment offset", h->seg_off[s], c->seg_off[s]);
	for (uint32_t i = 0, k = 0; i < c->nsecs; i++) {
		const struct placed *p = &c->secs[i];
		if (p->shndx == NO_INDEX)
			continue;
		if (sec[k].off != placed_off(L, p) || sec[k].size != p->size)
			return load_sec_err(L, LOADER_EBADELF, L->prelink,
					    "prelinked for another layout: %s at 0x%lx (0x%lx bytes) "
					    "in the record, 0x%lx (0x%lx bytes) here", p->name,
					    (unsigned long)sec[k].off, (unsigned long)sec[k].size,
					    (unsigned long)placed_off(L, p), (unsigned long)p->size);
		k++;
	}
	return 0;
}

/* The ranges of the mapping that fields may patch: each placed section with
 * contents, in address order (c->secs's), as [start, end) pairs. */
static uint32_t field_ranges(const struct load *L, uint64_t *r)
{
	const struct loader_cell *c = L->cell;
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->nsecs; i++) {
		const struct placed *p = &c->secs[i];
		if (p->shndx == NO_INDEX || p->type == SHT_NOBITS || !p->size)
			continue;
		r[2 * n] = placed_off(L, p);
		r[2 * n + 1] = r[2 * n] + p->size;
		n++;
	}
	return n;
}

/* Every field of one list inside one range, in increasing order, none
 * overlapping the one before: one walk of the fields and the ranges. */
static int check_fields(struct load *L, int kind, const uint32_t *off, uint32_t n,
			const uint64_t *r, uint32_t nr)
{
	unsigned w = field_width[kind];
	uint64_t next = 0; /* the first offset the next field may have */
	uint32_t k = 0;
	uint64_t lo = nr ? r[0] : 0, hi = nr ? r[1] : 0; /* range k */

	for (uint32_t i = 0; i < n; i++) {
		uint64_t o = off[i];
		/* Most fields lie in the range of the one before. */
		if (__builtin_expect(o >= next && o >= lo && o + w <= hi, 1)) {
			next = o + w;
			continue;
		}
		if (__builtin_expect(o < next, 0))
			return load_sec_err(L, LOADER_EBADELF, L->prelink,
					    "%s field at 0x%lx not after the one at 0x%lx",
					    field_kind[kind], (unsigned long)o,
					    (unsigned long)off[i - 1]);
		while (k < nr && r[2 * k + 1] < o + w)
			k++;
		if (__builtin_expect(k == nr || o < r[2 * k], 0))
			return load_sec_err(L, LOADER_EBADELF, L->prelink,
					    "%s field at 0x%lx is not inside a placed section "
					    "with contents", field_kind[kind], (unsigned long)o);
		lo = r[2 * k];
		hi = r[2 * k + 1];
		next = o + w;
	}
	return 0;
}

/* The order of the cell's symbols: every symbol it defines in its sections,
 * at strictly increasing offsets in the mapping (so each once). */
static int check_order(struct load *L, const uint32_t *order, uint32_t n)
{
	const struct loader_cell *c = L->cell;
	uint64_t prev = 0;

	if (!n)
		return 0;
	if (n != L->ndef)
		return load_sec_err(L, LOADER_EBADELF, L->prelink,
				    "symbol order of %u symbols; the cell defines %u", n, L->ndef);
	const Elf64_Sym *syms = L->syms;
	const struct sym_res *res = L->res;
	const struct sec_plan *plan = L->plan;
	uint32_t nsyms = L->nsyms;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = order[k];
		const Elf64_Sym *s = i < nsyms ? &syms[i] : NULL;
		if (__builtin_expect(!s || !res[i].here || s->st_shndx == SHN_ABS, 0))
			return load_sec_err(L, LOADER_EBADELF, L->prelink,
					    "symbol order entry %u: symbol %u is not one the cell "
					    "defines in its sections", k, i);
		const struct sec_plan *p = &plan[s->st_shndx];
		uint64_t off = c->seg_off[p->seg] + p->off + s->st_value;
		if (__builtin_expect(k && off <= prev, 0))
			return load_sec_err(L, LOADER_EBADELF, L->prelink,
					    "symbol order: '%s' at 0x%lx not after 0x%lx",
					    load_sym_name_ok(L, i), (unsigned long)off,
					    (unsigned long)prev);
		prev = off;
	}
	L->pl_order = order;
	L->pl_nsorted = n;
	return 0;
}

int prelink_check(struct load *L)
{
	if (!L->prelink)
		return 0;
	const Elf64_Shdr *s = &L->sh[L->prelink];
	const unsigned char *rec = L->obj + s->sh_offset;
	const struct prelink_hdr *h = (const struct prelink_hdr *)rec;

	if (s->sh_size < sizeof(*h) || memcmp(h->magic, PRELINK_MAGIC, sizeof(h->magic)) != 0)
		return load_sec_err(L, LOADER_EBADELF, L->prelink, "not a prelink record");
	uint64_t need = sizeof(*h) + (uint64_t)h->nsecs * sizeof(struct prelink_sec) +
			((uint64_t)h->n64 + h->n32s + h->n32 + h->nsorted) * sizeof(uint32_t);
	if (s->sh_size != need)
		return load_sec_err(L, LOADER_EBADELF, L->prelink,
				    "prelink record of 0x%lx bytes, its counts need 0x%lx",
				    (unsigned long)s->sh_size, (unsigned long)need);
	const struct prelink_sec *sec = (const struct prelink_sec *)(h + 1);
	int err = check_layout(L, h, sec);
	if (err)
		return err;
	const uint32_t *off = (const uint32_t *)(sec + h->nsecs);
	const uint32_t n[3] = { h->n64, h->n32s, h->n32 };
	uint64_t *r = ldr_alloc_raw(L->ld, (size_t)L->cell->nsecs * 2 * sizeof(*r));
	if (!r)
		return load_err(L, LOADER_ENOMEM, "out of memory");
	uint32_t nr = field_ranges(L, r);
	for (int kind = 0; kind < 3; kind++) {
		err = check_fields(L, kind, off, n[kind], r, nr);
		if (err) {
			ldr_free(L->ld, r);
			return err;
		}
		L->pl_off[kind] = off;
		L->pl_n[kind] = n[kind];
		off += n[kind];
	}
	ldr_free(L->ld, r);
	return check_order(L, off, h->nsorted);
}

static int field_range_err(struct load *L, int kind, uint32_t off)
{
	return load_err(L, LOADER_ERANGE, "prelinked %s field at 0x%lx out of range at 0x%lx",
			field_kind[kind], (unsigned long)off, (unsigned long)L->cell->base);
}

int prelink_apply(struct load *L, uint64_t mapped)
{
	unsigned char *mem = L->cell->mem;
	uint64_t base = L->cell->base;
	const uint32_t *off = L->pl_off[0];
	uint32_t i = L->pl_done[0], n = L->pl_n[0]; /* in locals: the stores may alias them */

	for (; i < n && (uint64_t)off[i] + 8 <= mapped; i++) {
		uint64_t v;
		__builtin_memcpy(&v, mem + off[i], 8);
		v += base;
		__builtin_memcpy(mem + off[i], &v, 8);
	}
	L->pl_done[0] = i;
	for (int kind = 1; kind < 3; kind++) {
		off = L->pl_off[kind];
		n = L->pl_n[kind];
		for (i = L->pl_done[kind]; i < n && (uint64_t)off[i] + 4 <= mapped; i++) {
			int32_t f;
			__builtin_memcpy(&f, mem + off[i], 4);
			uint64_t v = base + (uint64_t)(int64_t)f;
			bool ok = kind == 1 ? (int64_t)v == (int32_t)v : v >> 32 == 0;
			if (__builtin_expect(!ok, 0))
				return field_range_err(L, kind, off[i]);
			uint32_t w = (uint32_t)v;
			__builtin_memcpy(mem + off[i], &w, 4);
		}
		L->pl_done[kind] = i;
	}
	return 0;
}
