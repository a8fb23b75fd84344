/*
 * The loader's private data structures and the stages of a load. Each stage
 * lives in its own file:
 *
 *   elf_check.c  validate the object (reads only the object)
 *   policy.c     refuse state spills (reads only the object)
 *   layout.c     classify and place sections, map, copy, protect
 *   symbols.c    the namespace: resolve, export, look up
 *   reloc.c      the relocation engine, GOT, scan and apply
 *   deps.c       imports and sites: record, iterate, re-link
 *   loader.c     the public entry points and the load/unload sequences
 */
#ifndef LOADER_INTERNAL_H
#define LOADER_INTERNAL_H

#include <delos/loader.h>

#include "loader/elf64.h"
#include "loader/lib.h"

#define LOADER_ERR_MAX 512
#define LOADER_MAX_CELL_BYTES (256u << 20) /* placed bytes in one cell */
#define LOADER_MAX_SYMS (1u << 24)
#define NO_INDEX 0xffffffffu

enum seg { SEG_TEXT, SEG_RODATA, SEG_DATA, SEG_COUNT, SEG_NONE = SEG_COUNT };

/* A defined symbol of a cell, or a nano_core export. */
struct lsym {
	const char *name;
	uint64_t addr, size;
	const char *grant;  /* needed to import it: nano_core exports, guarded cell exports */
	uint32_t sec;       /* index in cell->secs, or NO_INDEX (absolute) */
	uint32_t hash;      /* symbols_hash(name) if exported: the owner's export table's */
	uint8_t bind, type; /* STB_*, STT_* */
	bool exported;
};

/* A section placed in a cell's mapping. */
struct placed {
	const char *name;
	uint64_t addr, size;
	uint32_t shndx; /* index in the object; NO_INDEX for the GOT */
	uint32_t type;  /* SHT_* */
	uint8_t seg;
};

struct loader_import {
	struct loader_cell *user;
	struct loader_cell *owner;
	const struct lsym *target; /* in owner->syms */
	struct loader_site *sites; /* in user->sites */
	uint32_t nsites;
	/* The owner's list of users; linked while the user is loaded. */
	struct loader_import *next_user, **pprev_user;
};

struct loader_cell {
	struct loader_cell *next; /* loader's list, in load order */
	unsigned id;              /* load sequence number */
	bool core, published;
	const char *name, *version, *path; /* copies in `names`, or the loader's core_name */
	char *names;

	/* Memory: one mapping from env->map, segments page aligned in it. */
	void *mem;
	uint64_t base;
	size_t map_bytes;
	size_t seg_off[SEG_COUNT], seg_size[SEG_COUNT];
	size_t got_size;
	uint32_t got_sec; /* index of the GOT in secs, if got_size */

	/* Sections and symbols; names point into strtab/shstrtab copies. */
	char *strtab, *shstrtab;
	struct placed *secs;
	uint32_t nsecs;
	struct lsym *syms; /* sorted by address */
	uint32_t nsyms;
	uint32_t *by_name; /* exported syms; sorted by name once by_name_sorted */
	uint32_t nexported;
	bool by_name_sorted; /* sorted only when a publish check or a swap walks it */
	/* The exports by name hash (open addressing, linear probing), in the
	 * by_name allocation: slot[i] is a syms index + 1 (0: empty), hash[i]
	 * its name's hash. Rebuilt whenever by_name changes. */
	uint32_t *slot, *hash;
	uint32_t hmask;
	char *guards;      /* copies of the grants guarding its exports */

	/* Dependencies: what it uses (owned here) and who uses it. */
	struct loader_import *imports; /* sorted by owner id, then name */
	uint32_t nimports;
	struct loader_site *sites;
	uint32_t nsites;
	struct loader_import *users; /* other cells' imports of this one */
};

struct loader {
	struct loader_env env;
	const char *const *private_names;
	struct loader_cell core; /* always first in the list */
	struct loader_cell *last;
	unsigned next_id;
	uint64_t ns_changes;     /* counts changes of the namespace: publish, detach */
	uint64_t link_changes;   /* counts changes of the link graph: load, detach, retarget */
	/* The namespace's exports by name hash, every published owner's (a name
	 * has one owner in it), so resolving a name is one probe, not one per
	 * cell (symbols.c). NULL or stale: look-ups walk the cells instead. */
	struct ns_slot *ns;
	uint32_t ns_mask, ns_count;
	bool ns_stale;
	bool ns_held;            /* a swap's commit left it for after the pause */
	char err[LOADER_ERR_MAX];
	/*
	 * The names the loader gives rather than copies from an object: in the
	 * state, not in the loader's own rodata, so that the state outlives the
	 * loader image that made it (a loader cell, docs/loader-cell.md).
	 */
	char core_name[sizeof("nano_core")];
	char got_name[sizeof(".got")];
};

/* What a load learns about one object section. */
struct sec_plan {
	uint8_t seg;      /* SEG_*, or SEG_NONE if not placed */
	bool comdat;      /* member of a COMDAT group */
	uint32_t rela;    /* its SHT_RELA section, or 0 */
	uint32_t placed;  /* index in cell->secs */
	uint64_t off;     /* offset in its segment */
};

enum res_kind {
	RES_NONE,      /* symbol 0, STT_FILE */
	RES_DEFINED,   /* in a placed section of this object */
	RES_ABS,       /* SHN_ABS */
	RES_DISCARDED, /* in a section the loader does not place */
	RES_EXTERN,    /* another cell or nano_core: an import */
	RES_ZERO,      /* undefined weak, resolved to 0 */
};

enum { VAL_S, VAL_GOT, VAL_SIZE, VAL_COUNT };

/* How a load resolved one object symbol. */
struct sym_res {
	uint8_t kind;
	bool exported;
	bool here;       /* enters the cell's symbol table (symbols_defined_here) */
	uint32_t import; /* index in cell->imports, or NO_INDEX */
	uint32_t hash;   /* of its name (symbols_resolve), for the namespace look-ups */
	uint32_t got;    /* GOT slot, or NO_INDEX */
	/* RES_EXTERN; while symbols_resolve runs, the namespace's owner of
	 * its name, if it matched from the namespace's side (ns_matched) */
	struct loader_cell *owner;
	const struct lsym *target;
};

/* What a row says of its relocations, for relocs_survey and relocs_scan (reloc.c's table of types). */
#define K_KNOWN   1  /* validation knows its width (a TLS type, or any below) */
#define K_REFUSED 2  /* known, but relocs_scan refuses it (TLS) */
#define K_REF     4  /* computes with its symbol */
#define K_GOT     8  /* ... through the symbol's GOT slot */
#define K_TRACKED 16 /* address-dependent, not GOT: re-linked at its place */

/* What relocs_survey notes of one symbol's relocations in placed sections:
 * the K_* flags of their types above USE_SHIFT, the count of those
 * re-linked at their place below (one word, so the survey's loop updates it
 * with one load and one store). */
#define USE_SHIFT 40
#define USE_COUNT(u) ((u) & (((uint64_t)1 << USE_SHIFT) - 1))
#define USE_FLAGS(u) ((unsigned)((u) >> USE_SHIFT))

/* What relocs_apply computes once per symbol, packed for its loop: the values
 * a relocation starts from (S, its GOT slot's address, Z) and its import. */
struct symval {
	uint64_t v[VAL_COUNT];
	uint32_t import; /* index in cell->imports, or NO_INDEX */
	uint32_t pad;
};

/* One load in progress: the validated object, scratch, and the new cell. */
struct load {
	struct loader *ld;
	const struct loader_load_args *args;
	const char *obj_name;

	const uint8_t *obj;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	uint32_t shnum;
	const char *shstr;
	uint64_t shstr_size;
	bool names_ok;
	uint32_t symtab;
	const Elf64_Sym *syms;
	uint32_t nsyms, first_global;
	uint32_t ndef; /* symbols the cell's table will hold (symbols_resolve) */
	const char *str;
	uint64_t str_size;

	/* Scratch, in one allocation (loader.c: scratch_alloc). */
	void *scratch;
	struct sec_plan *plan; /* shnum entries */
	struct sym_res *res;   /* nsyms entries */
	uint64_t *use;         /* nsyms entries: relocs_survey's notes (USE_*) */
	uint64_t *globals;     /* symbols_resolve's table of the global names */
	uint32_t globals_slots;
	struct symval *val;    /* nsyms entries, filled by relocs_apply (not zeroed) */
	bool scan_refuses;     /* relocs_survey saw a type relocs_scan refuses */
	bool any_got;          /* ... and a GOT-relative one */
	bool refs_discarded;   /* symbols_resolve found one referenced in a section not placed */
	bool sym_spills;       /* ldr_elf_check saw a COMMON or TLS symbol (ldr_policy_check names it) */
	bool ns_matched;       /* symbols_resolve matched the names from the namespace's side */
	uint32_t nextern;      /* symbols resolved to another owner (symbols_resolve) */
	uint32_t nexport;      /* symbols the cell exports (symbols_resolve) */
	uint32_t ngot;
	uint64_t got_off; /* in the rodata segment */
	struct loader_cell *cell;

	/* A prelinked object (loader/prelink.h): its record section, and once
	 * prelink_check has checked them, the fields the run address is added
	 * to (mapping offsets): 8-byte, 4-byte signed, 4-byte unsigned. */
	uint32_t prelink;
	const uint32_t *pl_off[3];
	uint32_t pl_n[3];
	uint32_t pl_done[3]; /* the fields prelink_apply relocated */
	/* The relocations of the section layout_copy copies not yet applied
	 * (relocs_patch), and its index. */
	const Elf64_Rela *rel_next, *rel_end;
	uint32_t rel_sec;
	/* Its order of the defined symbols, checked (0 if none). */
	const uint32_t *pl_order;
	uint32_t pl_nsorted;
};

/* loader.c: allocation and errors. */
void *ldr_alloc(struct loader *ld, size_t bytes); /* zeroed */
void *ldr_alloc_raw(struct loader *ld, size_t bytes); /* not zeroed: the caller writes it all */
void ldr_free(struct loader *ld, void *p);
int ldr_err(struct loader *ld, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int load_err(struct load *L, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int load_sec_err(struct load *L, int code, uint32_t shndx, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *load_sec_name(const struct load *L, uint32_t shndx);
/* The name a load gives its cell: args->name, else its path. */
const char *ldr_args_name(const struct loader_load_args *a);
/* The cell named `name` (published or not) that is not in skip[], or NULL. */
struct loader_cell *ldr_cell_named(const struct loader *ld, const char *name,
				   struct loader_cell *const *skip, size_t nskip);
const char *load_sym_name(const struct load *L, uint32_t symi);
/* The name of symbol symi < nsyms once ldr_elf_check has checked every name's offset. */
static inline const char *load_sym_name_ok(const struct load *L, uint32_t symi)
{
	return L->str + L->syms[symi].st_name;
}

/* loader.c: the layout a load would give the object, without the namespace
 * (for celltool prelink); ldr_layout_end frees what it made, on success or
 * failure. */
int ldr_layout(struct load *L, struct loader *ld, const struct loader_load_args *a);
void ldr_layout_end(struct load *L);

/* prelink.c: the prelink record, checked against the layout once placed, and
 * its fields relocated once copied. */
int prelink_check(struct load *L);
/* Relocates the fields wholly below mapping offset `mapped` not yet relocated. */
int prelink_apply(struct load *L, uint64_t mapped);

/* elf_check.c: the tables, then (once L->res exists) relocations and groups. */
int ldr_elf_check(struct load *L);
int ldr_elf_check_links(struct load *L);

/* policy.c */
int ldr_policy_check(struct load *L);
/* Whether a symbol spills state wherever it is (COMMON, or TLS it does not define). */
static inline bool ldr_sym_spills(const Elf64_Sym *s)
{
	unsigned type = ELF_SYM_TYPE(s->st_info);

	return s->st_shndx == SHN_COMMON || type == STT_COMMON ||
	       (type == STT_TLS && (s->st_shndx == SHN_UNDEF || s->st_shndx >= SHN_LORESERVE));
}

/* layout.c */
uint8_t layout_classify(const struct load *L, uint32_t shndx);
int layout_seg_perm(uint8_t seg);
int layout_plan(struct load *L);
int layout_place(struct load *L);
int layout_map(struct load *L); /* maps, and gives the sections their addresses */
/* Copies section contents into the mapping and pads the rest (int3 in the
 * text pages, zero elsewhere, so NOBITS sections and the GOT start zero):
 * every byte is written once, in address order, each section's relocations
 * and prelink fields patched chunk by chunk as it is copied (relocs_patch). */
int layout_copy(struct load *L);
int layout_protect(struct load *L);
static inline uint64_t layout_sec_addr(const struct load *L, uint32_t shndx)
{
	return L->cell->secs[L->plan[shndx].placed].addr;
}
uint64_t layout_got_addr(const struct load *L);

/* symbols.c */
int symbols_resolve(struct load *L);
int symbols_define(struct load *L);
int symbols_publish_check(struct loader *ld, struct loader_cell *c,
			  struct loader_cell *const *gone, size_t ngone);
void symbols_publish(struct loader *ld, struct loader_cell *c);
/* The namespace table: room for `more` exports beyond those in it (may
 * allocate; a table that cannot grow is dropped, and look-ups walk); a
 * published cell's exports entered or taken out (allocate nothing: where
 * there is no room the table goes stale until the next symbols_ns_reserve). */
void symbols_ns_reserve(struct loader *ld, uint32_t more);
void symbols_ns_add(struct loader *ld, struct loader_cell *c);
void symbols_ns_remove(struct loader *ld, struct loader_cell *c);
void symbols_ns_free(struct loader *ld);
/*
 * A swap keeps the table's work out of its pause: symbols_ns_hold, before the
 * commit detaches and publishes, makes look-ups walk the cells; after the
 * world resumes, symbols_ns_swapped takes the old cells' exports out, puts the
 * new ones' in, and lets look-ups use the table again.
 */
struct swap_pair;
void symbols_ns_hold(struct loader *ld);
void symbols_ns_swapped(struct loader *ld, const struct swap_pair *pairs, size_t n);
uint64_t symbols_value(const struct load *L, uint32_t symi);
/* Whether symbol symi enters the cell's symbol table (named, not a section
 * or file symbol, absolute or in a placed section). */
bool symbols_defined_here(const struct load *L, uint32_t symi);
const struct lsym *symbols_find(const struct loader *ld, const char *name,
			   struct loader_cell **owner);
const struct lsym *symbols_find_in(const struct loader_cell *c,
				    const char *name);
/* c's export of s's name, with the hash s carries (s is an export of some cell). */
const struct lsym *symbols_find_sym(const struct loader_cell *c, const struct lsym *s);
uint32_t symbols_hash(const char *name);
/* The slots of a hash table for n names (a power of two, at least 2n). */
uint32_t symbols_table_slots(uint32_t n);
void symbols_sort_by_name(struct loader_cell *c);
int symbols_core_init(struct loader *ld, const struct loader_config *cfg);

/* reloc.c */
struct rkind;
const struct rkind *reloc_kind(uint32_t type);
unsigned reloc_width(uint32_t type); /* 0 if unknown */
uint32_t relocs_survey(struct load *L, uint32_t r, uint32_t t, bool alloc, bool placed);
int relocs_scan(struct load *L);
/* L->ngot from what relocs_survey noted, for ldr_layout; refuses an object
 * relocs_scan would refuse for a relocation type. */
int relocs_count_got(struct load *L);
/* Copies and patches the cell (layout_copy), then fills the GOT. */
int relocs_apply(struct load *L);
/* For layout_copy: the section it copies next (object index), then, after
 * each chunk, the relocations below offset `upto` in it and the prelink
 * fields below offset `mapped` in the mapping, each patched once. */
void relocs_patch_begin(struct load *L, uint32_t shndx);
int relocs_patch(struct load *L, uint64_t upto, uint64_t mapped);
int reloc_site_value(struct loader *ld, const struct loader_import *im,
		     const struct loader_site *s, uint64_t S,
		     unsigned char out[8], unsigned *width);

/* deps.c */
int imports_build(struct load *L);
int sites_alloc(struct load *L);
void site_record(struct load *L, uint32_t import, uint64_t place,
		 uint32_t type, int64_t addend, uint32_t placed);
void imports_link(struct loader_cell *c);
void imports_unlink(struct loader_cell *c);
/* Makes im an import of t in to, whose sites already hold t's address. */
void import_moved(struct loader *ld, struct loader_import *im, struct loader_cell *to,
		  const struct lsym *t);

#endif
