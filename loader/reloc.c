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

struct rkind {
	uint8_t expr, width, check;
};

static const struct rkind kinds[R_X86_64_NUM] = {
	[R_X86_64_NONE]          = { X_NONE,  0, C_NONE },
	[R_X86_64_64]            = { X_ABS,   8, C_NONE },
	[R_X86_64_PC32]          = { X_PC,    4, C_SIGNED },
	[R_X86_64_PLT32]         = { X_PC,    4, C_SIGNED },
	[R_X86_64_GOTPCREL]      = { X_GOTPC, 4, C_SIGNED },
	[R_X86_64_32]            = { X_ABS,   4, C_UNSIGNED },
	[R_X86_64_32S]           = { X_ABS,   4, C_SIGNED },
	[R_X86_64_16]            = { X_ABS,   2, C_EITHER },
	[R_X86_64_PC16]          = { X_PC,    2, C_SIGNED },
	[R_X86_64_8]             = { X_ABS,   1, C_EITHER },
	[R_X86_64_PC8]           = { X_PC,    1, C_SIGNED },
	[R_X86_64_PC64]          = { X_PC,    8, C_NONE },
	[R_X86_64_SIZE32]        = { X_SIZE,  4, C_SIGNED },
	[R_X86_64_SIZE64]        = { X_SIZE,  8, C_NONE },
	[R_X86_64_GOTPCRELX]     = { X_GOTPC, 4, C_SIGNED },
	[R_X86_64_REX_GOTPCRELX] = { X_GOTPC, 4, C_SIGNED },
};

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

/* The inputs of the generic computations, named as in the psABI. */
struct rinput {
	uint64_t S, P, G, Z;
	int64_t A;
};

const struct rkind *reloc_kind(uint32_t type)
{
	if (type >= R_X86_64_NUM || (type != R_X86_64_NONE && !kinds[type].width))
		return NULL;
	return &kinds[type];
}

/* The bytes a relocation type patches, for validation; 0 if unsupported.
 * TLS types are known here so that ldr_policy_check can name their symbols. */
unsigned reloc_width(uint32_t type)
{
	switch (type) {
	case R_X86_64_DTPMOD64: case R_X86_64_DTPOFF64: case R_X86_64_TPOFF64:
		return 8;
	case R_X86_64_TLSGD: case R_X86_64_TLSLD: case R_X86_64_DTPOFF32:
	case R_X86_64_GOTTPOFF: case R_X86_64_TPOFF32: case R_X86_64_GOTPC32_TLSDESC:
		return 4;
	}
	return type < R_X86_64_NUM ? kinds[type].width : 0;
}

const char *loader_reloc_name(uint32_t type)
{
	return type < R_X86_64_NUM ? names[type] : "unknown relocation";
}

static uint64_t compute(const struct rkind *k, const struct rinput *in)
{
	switch (k->expr) {
	case X_ABS: return in->S + in->A;
	case X_PC: return in->S + in->A - in->P;
	case X_GOTPC: return in->G + in->A - in->P;
	case X_SIZE: return in->Z + in->A;
	}
	return 0;
}

static bool fits(uint64_t v, const struct rkind *k)
{
	unsigned bits = k->width * 8u;

	if (bits >= 64 || k->check == C_NONE)
		return true;
	int64_t s = (int64_t)v, lim = (int64_t)1 << (bits - 1);
	bool is_int = s >= -lim && s < lim, is_uint = v < (uint64_t)1 << bits;
	switch (k->check) {
	case C_SIGNED: return is_int;
	case C_UNSIGNED: return is_uint;
	default: return is_int || is_uint;
	}
}

/* Computes, range-checks and encodes one relocation (little-endian). */
static bool encode(const struct rkind *k, const struct rinput *in, unsigned char out[8])
{
	uint64_t v = compute(k, in);

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
	return k->expr == X_ABS || k->expr == X_PC;
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

/* Checks every relocation's type and symbol, counts cross-cell sites and
 * gives a GOT slot to every symbol a GOT-relative relocation references. */
int relocs_scan(struct load *L)
{
	int err = for_each_rela(L, scan_one);

	if (!err)
		got_number(L);
	return err;
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

/* Stores the low `width` bytes of v at p, little-endian. */
static void store_le(unsigned char *p, uint64_t v, unsigned width)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	switch (width) {
	case 8: __builtin_memcpy(p, &v, 8); return;
	case 4: { uint32_t w = (uint32_t)v; __builtin_memcpy(p, &w, 4); return; }
	case 2: { uint16_t w = (uint16_t)v; __builtin_memcpy(p, &w, 2); return; }
	case 1: *p = (unsigned char)v; return;
	}
#endif
	for (unsigned i = 0; i < width; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* What every relocation of one target section shares. */
struct apply_sec {
	uint32_t t, placed;
	uint64_t addr;      /* the section's run address */
	unsigned char *mem; /* where the loader writes it */
	uint64_t got;
};

static int apply_one(struct load *L, const struct apply_sec *as, const Elf64_Rela *rel)
{
	uint32_t type = ELF_R_TYPE(rel->r_info), symi = ELF_R_SYM(rel->r_info);
	const struct rkind *k = &kinds[type]; /* relocs_scan refused the unsupported types */
	const struct sym_res *r = &L->res[symi];
	uint64_t P = as->addr + rel->r_offset, v;

	switch (k->expr) {
	case X_ABS: v = res_addr(L, symi) + (uint64_t)rel->r_addend; break;
	case X_PC: v = res_addr(L, symi) + (uint64_t)rel->r_addend - P; break;
	case X_GOTPC: v = as->got + (uint64_t)r->got * 8 + (uint64_t)rel->r_addend - P; break;
	case X_SIZE: v = res_size(L, symi) + (uint64_t)rel->r_addend; break;
	default: return 0; /* X_NONE */
	}
	if (!fits(v, k))
		return load_err(L, LOADER_ERANGE, "%s+0x%lx: %s to '%s' out of range",
				load_sec_name(L, as->t), (unsigned long)rel->r_offset,
				loader_reloc_name(type), target_name(L, symi));
	store_le(as->mem + rel->r_offset, v, k->width);
	if (r->import != NO_INDEX && tracked(k))
		site_record(L, r->import, P, type, rel->r_addend, as->placed);
	return 0;
}

static void got_fill(struct load *L)
{
	uint64_t got = layout_got_addr(L);

	for (uint32_t i = 0; i < L->nsyms; i++) {
		const struct sym_res *r = &L->res[i];
		uint64_t slot = got + (uint64_t)r->got * 8, v = res_addr(L, i);
		if (r->got == NO_INDEX)
			continue;
		for (unsigned b = 0; b < 8; b++)
			((unsigned char *)host_ptr(L->cell, slot))[b] = (unsigned char)(v >> (8 * b));
		if (r->import != NO_INDEX)
			site_record(L, r->import, slot, R_X86_64_64, 0, L->cell->got_sec);
	}
}

/* Patches every relocation of every placed section, then fills the GOT. */
int relocs_apply(struct load *L)
{
	uint64_t got = layout_got_addr(L);

	for (uint32_t t = 1; t < L->shnum; t++) {
		uint32_t n;
		const Elf64_Rela *rel;
		if (!L->plan[t].rela)
			continue;
		rel = relas(L, t, &n);
		struct apply_sec as = { .t = t, .placed = L->plan[t].placed, .addr = sec_addr(L, t),
					.got = got };
		as.mem = host_ptr(L->cell, as.addr);
		for (uint32_t j = 0; j < n; j++) {
			int err = apply_one(L, &as, &rel[j]);
			if (err)
				return err;
		}
	}
	got_fill(L);
	return 0;
}

/* Encodes a recorded site for target address S, as loading would have. */
int reloc_site_value(struct loader *ld, const struct loader_import *im,
		     const struct loader_site *s, uint64_t S,
		     unsigned char out[8], unsigned *width)
{
	const struct rkind *k = reloc_kind(s->type);
	struct rinput in = { .S = S, .A = s->addend, .P = s->place };
	const struct placed *sec = &im->user->secs[s->section];

	*width = k->width;
	if (encode(k, &in, out))
		return 0;
	return ldr_err(ld, LOADER_ERANGE, "%s: %s+0x%lx: %s to '%s' out of range",
		       im->user->path, sec->name, (unsigned long)(s->place - sec->addr),
		       loader_reloc_name(s->type), im->target->name);
}
