/*
 * The relocation engine. Every x86-64 relocation type the loader supports is
 * one row of `kinds`: a generic computation (as in musl's do_relocs and
 * lld's RelExpr), a width and a range check. One function computes, checks
 * and encodes any row, for loading and for re-linking alike.
 *
 * GOT-relative references get a slot in a per-cell GOT holding the absolute
 * address; they are never relaxed, so a swap rewrites one slot.
 */
#include "loader/internal.h"

enum rexpr {
	X_NONE,
	X_ABS,   /* S + A */
	X_PC,    /* S + A - P */
	X_GOTPC, /* G + GOT + A - P (G + GOT: the symbol's GOT slot) */
	X_SIZE,  /* Z + A */
};

enum rcheck { C_NONE, C_SIGNED, C_UNSIGNED, C_EITHER };

#define NEEDS_GOT (NO_INDEX - 1) /* marked by relocs_scan, numbered after */

/*
 * One row per type. A type the loader relocates has a width; a TLS type only
 * its validation width (vlen, else the width), so that validation passes it
 * and ldr_policy_check can name its symbol. A value v fits the row's range check
 * if v - lo <= span (unsigned): lo and span follow from width and check.
 */
struct rkind {
	uint8_t expr, width, check, vlen, flags;
	uint8_t src;     /* the symbol's value it starts from: VAL_* */
	uint64_t pcmask; /* ~0 if it subtracts P, else 0 */
	uint64_t lo, span;
};

#define BITS(w) ((w) >= 8 || !(w) ? 63 : (w) * 8 - 1)
#define HALF(w) ((uint64_t)1 << BITS(w)) /* 2^(8w-1) */
#define LO(w, c) ((c) == C_SIGNED || (c) == C_EITHER ? (uint64_t)0 - HALF(w) : 0)
#define SPAN(w, c) ((c) == C_NONE || (w) >= 8 ? ~(uint64_t)0 : \
		    (c) == C_EITHER ? 3 * HALF(w) - 1 : 2 * HALF(w) - 1)
#define FLAGS(e) (K_KNOWN | ((e) == X_NONE ? 0 : K_REF) | ((e) == X_GOTPC ? K_GOT : 0) | \
		  ((e) == X_ABS || (e) == X_PC ? K_TRACKED : 0))
#define SRC(e) ((e) == X_GOTPC ? VAL_GOT : (e) == X_SIZE ? VAL_SIZE : VAL_S)
#define PCMASK(e) ((e) == X_PC || (e) == X_GOTPC ? ~(uint64_t)0 : 0)
#define K(e, w, c) { (e), (w), (c), (w), FLAGS(e), SRC(e), PCMASK(e), LO(w, c), SPAN(w, c) }
#define TLS(w) { X_NONE, 0, C_NONE, (w), K_KNOWN | K_REFUSED, VAL_S, 0, 0, 0 }

/* Indexed by type; the row after the last is for unknown types. */
static const struct rkind kinds[R_X86_64_NUM + 1] = {
	[R_X86_64_NONE]          = K(X_NONE,  0, C_NONE),
	[R_X86_64_64]            = K(X_ABS,   8, C_NONE),
	[R_X86_64_PC32]          = K(X_PC,    4, C_SIGNED),
	[R_X86_64_PLT32]         = K(X_PC,    4, C_SIGNED),
	[R_X86_64_GOTPCREL]      = K(X_GOTPC, 4, C_SIGNED),
	[R_X86_64_32]            = K(X_ABS,   4, C_UNSIGNED),
	[R_X86_64_32S]           = K(X_ABS,   4, C_SIGNED),
	[R_X86_64_16]            = K(X_ABS,   2, C_EITHER),
	[R_X86_64_PC16]          = K(X_PC,    2, C_SIGNED),
	[R_X86_64_8]             = K(X_ABS,   1, C_EITHER),
	[R_X86_64_PC8]           = K(X_PC,    1, C_SIGNED),
	[R_X86_64_PC64]          = K(X_PC,    8, C_NONE),
	[R_X86_64_SIZE32]        = K(X_SIZE,  4, C_SIGNED),
	[R_X86_64_SIZE64]        = K(X_SIZE,  8, C_NONE),
	[R_X86_64_GOTPCRELX]     = K(X_GOTPC, 4, C_SIGNED),
	[R_X86_64_REX_GOTPCRELX] = K(X_GOTPC, 4, C_SIGNED),
	[R_X86_64_DTPMOD64] = TLS(8), [R_X86_64_DTPOFF64] = TLS(8), [R_X86_64_TPOFF64] = TLS(8),
	[R_X86_64_TLSGD] = TLS(4), [R_X86_64_TLSLD] = TLS(4), [R_X86_64_DTPOFF32] = TLS(4),
	[R_X86_64_GOTTPOFF] = TLS(4), [R_X86_64_TPOFF32] = TLS(4),
	[R_X86_64_GOTPC32_TLSDESC] = TLS(4),
};

static const struct rkind *row(uint32_t type)
{
	return &kinds[type < R_X86_64_NUM ? type : R_X86_64_NUM];
}

static const char *const names[R_X86_64_NUM] = {
	"R_X86_64_NONE", "R_X86_64_64", "R_X86_64_PC32", "R_X86_64_GOT32",
	"R_X86_64_PLT32", "R_X86_64_COPY", "R_X86_64_GLOB_DAT",
	"R_X86_64_JUMP_SLOT", "R_X86_64_RELATIVE", "R_X86_64_GOTPCREL",
	"R_X86_64_32", "R_X86_64_32S", "R_X86_64_16", "R_X86_64_PC16",
	"R_X86_64_8", "R_X86_64_PC8", "R_X86_64_DTPMOD64", "R_X86_64_DTPOFF64",
	"R_X86_64_TPOFF64", "R_X86_64_TLSGD", "R_X86_64_TLSLD",
	"R_X86_64_DTPOFF32", "R_X86_64_GOTTPOFF", "R_X86_64_TPOFF32",
	"R_X86_64_PC64", "R_X86_64_GOTOFF64", "R_X86_64_GOTPC32",
	"R_X86_64_GOT64", "R_X86_64_GOTPCREL64", "R_X86_64_GOTPC64",
	"R_X86_64_GOTPLT64", "R_X86_64_PLTOFF64", "R_X86_64_SIZE32",
	"R_X86_64_SIZE64", "R_X86_64_GOTPC32_TLSDESC", "R_X86_64_TLSDESC_CALL",
	"R_X86_64_TLSDESC", "R_X86_64_IRELATIVE", "R_X86_64_RELATIVE64",
	"R_X86_64_PC32_BND", "R_X86_64_PLT32_BND", "R_X86_64_GOTPCRELX",
	"R_X86_64_REX_GOTPCRELX",
};

const struct rkind *reloc_kind(uint32_t type)
{
	const struct rkind *k = row(type);

	return (k->flags & K_KNOWN) && !(k->flags & K_REFUSED) ? k : NULL;
}

/* The bytes a relocation type patches, for validation; 0 if unknown. */
unsigned reloc_width(uint32_t type)
{
	const struct rkind *k = row(type);

	return k->flags & K_KNOWN ? k->vlen : 0;
}

/*
 * The per-entry checks of ldr_elf_check, for the relocations of section r
 * (target t): symbol index in range, a known type wherever the target is
 * allocated, and the patched bytes inside the target. Returns the index of
 * the first entry that fails (ldr_elf_check names its fault), or the count.
 * For a placed target, notes in L->res what relocs_scan needs of each entry,
 * so the scan does not walk the relocations again.
 */
uint32_t relocs_survey(struct load *L, uint32_t r, uint32_t t, bool alloc, bool placed)
{
	const Elf64_Rela *rel = (const Elf64_Rela *)(L->obj + L->sh[r].sh_offset), *e;
	uint32_t n = L->sh[r].sh_size / sizeof(Elf64_Rela), nsyms = L->nsyms;
	uint64_t size = L->sh[t].sh_size, *use = L->use;
	unsigned need = alloc ? K_KNOWN : 0, seen = 0;

	if (!placed) {
		for (e = rel; e < rel + n; e++) {
			const struct rkind *k = row(ELF_R_TYPE(e->r_info));
			uint64_t off = e->r_offset; /* at least one byte, vlen if known */
			if (ELF_R_SYM(e->r_info) >= nsyms || (k->flags & need) != need ||
			    off >= size || k->vlen > size - off)
				return (uint32_t)(e - rel);
		}
		return n;
	}
	/* Consecutive entries often name one symbol (a section's, or an
	 * import's): its note stays in a register while they do, so that
	 * they do not chain through one word of memory, and is stored when
	 * the symbol changes and at the end. */
	uint32_t last = 0;
	uint64_t note = use[0];
	for (e = rel; e < rel + n; e++) {
		uint64_t info = e->r_info, off = e->r_offset;
		const struct rkind *k = row(ELF_R_TYPE(info));
		uint32_t symi = ELF_R_SYM(info);
		if (__builtin_expect(symi >= nsyms || (k->flags & need) != need || off >= size ||
				     k->vlen > size - off, 0)) {
			use[last] = note;
			return (uint32_t)(e - rel);
		}
		if (symi != last) {
			use[last] = note;
			last = symi;
			note = use[symi];
		}
		note = (note | (uint64_t)k->flags << USE_SHIFT) + ((k->flags & K_TRACKED) != 0);
		seen |= k->flags;
	}
	use[last] = note;
	L->scan_refuses |= (seen & K_REFUSED) != 0;
	L->any_got |= (seen & K_GOT) != 0;
	return n;
}

const char *loader_reloc_name(uint32_t type)
{
	return type < R_X86_64_NUM ? names[type] : "unknown relocation";
}

/*
 * The generic computation, without a branch on the kind: the value the row
 * starts from (S, G + GOT or Z, in the psABI's names), plus A, minus P for
 * PC-relative rows. X_NONE rows patch nothing (width 0).
 */
static uint64_t compute(const struct rkind *k, const uint64_t val[VAL_COUNT], uint64_t A,
			uint64_t P)
{
	return val[k->src] + A - (P & k->pcmask);
}

static bool fits(uint64_t v, const struct rkind *k)
{
	return v - k->lo <= k->span;
}

/* Computes, range-checks and encodes one relocation (little-endian). */
static bool encode(const struct rkind *k, const uint64_t val[VAL_COUNT], uint64_t A,
		   uint64_t P, unsigned char out[8])
{
	uint64_t v = compute(k, val, A, P);

	for (unsigned i = 0; i < k->width; i++)
		out[i] = (unsigned char)(v >> (8 * i));
	return fits(v, k);
}

/* The name a message gives a relocation's symbol. */
static const char *target_name(const struct load *L, uint32_t symi)
{
	const Elf64_Sym *s = &L->syms[symi];

	if (symi == 0)
		return "(none)";
	if (ELF_SYM_TYPE(s->st_info) == STT_SECTION)
		return load_sec_name(L, s->st_shndx);
	return load_sym_name(L, symi);
}

static const Elf64_Rela *relas(const struct load *L, uint32_t t, uint32_t *n)
{
	const Elf64_Shdr *r = &L->sh[L->plan[t].rela];

	*n = r->sh_size / sizeof(Elf64_Rela);
	return (const Elf64_Rela *)(L->obj + r->sh_offset);
}

/* Only address-dependent, non-GOT relocations are re-linked at their place. */
static bool tracked(const struct rkind *k)
{
	return k->flags & K_TRACKED;
}

static int scan_one(struct load *L, uint32_t t, const Elf64_Rela *rel)
{
	uint32_t type = ELF_R_TYPE(rel->r_info), symi = ELF_R_SYM(rel->r_info);
	const struct rkind *k = reloc_kind(type);
	struct sym_res *r = &L->res[symi];

	if (!k)
		return load_err(L, LOADER_EUNSUPPORTED, "%s+0x%lx: unsupported relocation %s",
				load_sec_name(L, t), (unsigned long)rel->r_offset,
				loader_reloc_name(type));
	if (k->expr == X_NONE)
		return 0;
	if (r->kind == RES_DISCARDED)
		return load_err(L, LOADER_EUNSUPPORTED,
				"%s+0x%lx: %s to '%s' in a section the loader does not place",
				load_sec_name(L, t), (unsigned long)rel->r_offset,
				loader_reloc_name(type), target_name(L, symi));
	if (k->expr == X_GOTPC)
		r->got = NEEDS_GOT;
	else if (k->expr != X_GOTPC && r->import != NO_INDEX && tracked(k))
		L->cell->imports[r->import].nsites++;
	return 0;
}

/* Numbers GOT slots as ld.lld does: globals, then locals, in symbol order. */
static void got_number(struct load *L)
{
	for (uint32_t k = 0; k < L->nsyms; k++) {
		uint32_t i = (L->first_global + k) % L->nsyms;
		if (L->res[i].got == NEEDS_GOT)
			L->res[i].got = L->ngot++;
	}
}

/* Calls fn for every relocation of every placed section; stops at the first error. */
static int for_each_rela(struct load *L, int (*fn)(struct load *, uint32_t, const Elf64_Rela *))
{
	for (uint32_t t = 1; t < L->shnum; t++) {
		uint32_t n;
		const Elf64_Rela *rel;
		if (!L->plan[t].rela)
			continue;
		rel = relas(L, t, &n);
		for (uint32_t j = 0; j < n; j++) {
			int err = fn(L, t, &rel[j]);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * relocs_scan from what relocs_survey and symbols_resolve noted, if no
 * relocation is refused: the same GOT marks as scan_one per relocation, and
 * a site for each GOT slot of an import (imports_build counted the sites of
 * the relocations themselves). Returns false, changing nothing, if some
 * relocation is refused; without GOT-relative relocations it has nothing to
 * do, and walks no symbol.
 */
static bool scan_noted(struct load *L)
{
	if (L->scan_refuses || L->refs_discarded)
		return false;
	for (uint32_t i = 0; L->any_got && i < L->nsyms; i++) {
		struct sym_res *r = &L->res[i];
		if (!(USE_FLAGS(L->use[i]) & K_GOT))
			continue;
		r->got = NEEDS_GOT;
		if (r->import != NO_INDEX)
			L->cell->imports[r->import].nsites++;
	}
	return true;
}

/* Checks every relocation's type and symbol, counts cross-cell sites and
 * gives a GOT slot to every symbol a GOT-relative relocation references.
 * When a relocation is refused, walks them all to name the first (which
 * fails the load: the counts it leaves are never used). */
int relocs_scan(struct load *L)
{
	bool noted = scan_noted(L);
	int err = noted ? 0 : for_each_rela(L, scan_one);

	if (!err && (L->any_got || !noted))
		got_number(L);
	return err;
}

int relocs_count_got(struct load *L)
{
	if (L->scan_refuses)
		return load_err(L, LOADER_EUNSUPPORTED,
				"a relocation type the loader refuses (thread-local storage)");
	L->ngot = 0;
	for (uint32_t i = 0; i < L->nsyms; i++)
		L->ngot += (USE_FLAGS(L->use[i]) & K_GOT) != 0;
	return 0;
}

/* The address of placed section shndx (layout_sec_addr, inlined: it runs per relocation). */
static uint64_t sec_addr(const struct load *L, uint32_t shndx)
{
	return L->cell->secs[L->plan[shndx].placed].addr;
}

static uint64_t res_addr(const struct load *L, uint32_t symi)
{
	const struct sym_res *r = &L->res[symi];
	const Elf64_Sym *s = &L->syms[symi];

	switch (r->kind) {
	case RES_DEFINED: return s->st_shndx == SHN_ABS ? s->st_value
							 : sec_addr(L, s->st_shndx) + s->st_value;
	case RES_ABS: return s->st_value;
	case RES_EXTERN: return r->target->addr;
	}
	return 0;
}

static uint64_t res_size(const struct load *L, uint32_t symi)
{
	const struct sym_res *r = &L->res[symi];

	return r->kind == RES_EXTERN ? r->target->size : L->syms[symi].st_size;
}

static void *host_ptr(const struct loader_cell *c, uint64_t addr)
{
	return (char *)c->mem + (addr - c->base);
}

/* Stores the low `width` bytes of v at p, little-endian. Tests, not a
 * switch: a jump table would be an indirect branch per relocation. */
static void store_le(unsigned char *p, uint64_t v, unsigned width)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (width == 4) {
		uint32_t w = (uint32_t)v;
		__builtin_memcpy(p, &w, 4);
		return;
	}
	if (width == 8) {
		__builtin_memcpy(p, &v, 8);
		return;
	}
#endif
	for (unsigned i = 0; i < width; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static int range_err(struct load *L, uint32_t t, const Elf64_Rela *rel)
{
	uint32_t type = ELF_R_TYPE(rel->r_info), symi = ELF_R_SYM(rel->r_info);

	return load_err(L, LOADER_ERANGE, "%s+0x%lx: %s to '%s' out of range",
			load_sec_name(L, t), (unsigned long)rel->r_offset,
			loader_reloc_name(type), target_name(L, symi));
}

/* Patches the relocations of the section being copied from rel_next up to
 * the first that reaches past offset `upto` in it (relocs_scan refused the
 * unsupported types, validation the symbols and offsets out of range),
 * recording the sites of imports. The loop keeps what every relocation
 * shares in locals (its stores may alias anything), reads each symbol's
 * values from one packed record, computes the 32-bit PC-relative types
 * (calls, and most references) without the table's generic row, and keeps
 * the next free site of the import it last recorded one for (consecutive
 * sites are often one import's), storing the count back when the import
 * changes and at the end. */
static int apply_upto(struct load *L, uint64_t upto)
{
	uint32_t t = L->rel_sec, placed = L->plan[t].placed, cur = NO_INDEX;
	const Elf64_Rela *r = L->rel_next, *end = L->rel_end;
	const struct symval *val = L->val;
	struct loader_import *imports = L->cell->imports;
	struct loader_site *site = NULL;
	uint64_t addr = sec_addr(L, t);
	unsigned char *mem = host_ptr(L->cell, addr);
	/* A field is at most 8 bytes; the section's end lets every one through
	 * (validation checked each lies inside it). */
	uint64_t limit = upto == L->sh[t].sh_size ? UINT64_MAX : upto;
	int err = 0;

	for (; r < end && r->r_offset + 8 <= limit; r++) {
		uint64_t off = r->r_offset, info = r->r_info, P = addr + off;
		uint32_t type = ELF_R_TYPE(info);
		const struct rkind *k = &kinds[type];
		const struct symval *sv = &val[ELF_R_SYM(info)];
		if (type == R_X86_64_PLT32 || type == R_X86_64_PC32) {
			uint64_t v = sv->v[VAL_S] + (uint64_t)r->r_addend - P;
			uint32_t w = (uint32_t)v;
			if (__builtin_expect((int64_t)v != (int32_t)w, 0)) {
				err = range_err(L, t, r);
				break;
			}
			__builtin_memcpy(mem + off, &w, 4);
		} else {
			uint64_t v = compute(k, sv->v, (uint64_t)r->r_addend, P);
			if (__builtin_expect(!fits(v, k), 0)) {
				err = range_err(L, t, r);
				break;
			}
			store_le(mem + off, v, k->width);
		}
		uint32_t imp = sv->import;
		if (__builtin_expect(imp != NO_INDEX, 0) && tracked(k)) {
			if (imp != cur) {
				if (cur != NO_INDEX)
					imports[cur].nsites = (uint32_t)(site - imports[cur].sites);
				cur = imp;
				site = imports[cur].sites + imports[cur].nsites;
			}
			*site++ = (struct loader_site){
				.place = P, .addend = r->r_addend, .type = type, .section = placed,
			};
		}
	}
	if (cur != NO_INDEX)
		imports[cur].nsites = (uint32_t)(site - imports[cur].sites);
	L->rel_next = r;
	return err;
}

void relocs_patch_begin(struct load *L, uint32_t shndx)
{
	uint32_t n;

	L->rel_sec = shndx;
	L->rel_next = L->rel_end = NULL;
	if (L->plan[shndx].rela) {
		L->rel_next = relas(L, shndx, &n);
		L->rel_end = L->rel_next + n;
	}
}

int relocs_patch(struct load *L, uint64_t upto, uint64_t mapped)
{
	int err = L->rel_next != L->rel_end ? apply_upto(L, upto) : 0;

	return err ? err : prelink_apply(L, mapped);
}

static void got_fill(struct load *L)
{
	for (uint32_t i = 0; L->ngot && i < L->nsyms; i++) {
		const struct sym_res *r = &L->res[i];
		if (r->got == NO_INDEX)
			continue;
		uint64_t slot = L->val[i].v[VAL_GOT], v = L->val[i].v[VAL_S];
		store_le(host_ptr(L->cell, slot), v, 8);
		if (r->import != NO_INDEX)
			site_record(L, r->import, slot, R_X86_64_64, 0, L->cell->got_sec);
	}
}

int relocs_apply(struct load *L)
{
	uint64_t got = layout_got_addr(L);

	/* Once per symbol, not per relocation, and only for the symbols that
	 * relocations in placed sections name (relocs_survey noted them: a GOT
	 * slot's symbol is one); the others' records are never read. */
	for (uint32_t i = 0; i < L->nsyms; i++) {
		const struct sym_res *r = &L->res[i];
		if (!L->use[i])
			continue;
		L->val[i] = (struct symval){
			.v = { [VAL_S] = res_addr(L, i),
			       [VAL_GOT] = r->got == NO_INDEX ? 0 : got + (uint64_t)r->got * 8,
			       [VAL_SIZE] = res_size(L, i) },
			.import = r->import,
		};
	}

	int err = layout_copy(L);

	if (!err)
		got_fill(L);
	return err;
}

/* Encodes a recorded site for target address S, as loading would have. */
int reloc_site_value(struct loader *ld, const struct loader_import *im,
		     const struct loader_site *s, uint64_t S,
		     unsigned char out[8], unsigned *width)
{
	const struct rkind *k = reloc_kind(s->type);
	const uint64_t val[VAL_COUNT] = { [VAL_S] = S }; /* sites are X_ABS and X_PC */
	const struct placed *sec = &im->user->secs[s->section];

	*width = k->width;
	if (encode(k, val, (uint64_t)s->addend, s->place, out))
		return 0;
	return ldr_err(ld, LOADER_ERANGE, "%s: %s+0x%lx: %s to '%s' out of range",
		       im->user->path, sec->name, (unsigned long)(s->place - sec->addr),
		       loader_reloc_name(s->type), im->target->name);
}
