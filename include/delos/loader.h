/*
 * The run-time linker: loads cells (ELF64 x86-64 relocatable objects) into the
 * running kernel, links them against nano_core's exports and each other in one
 * symbol namespace, records every cross-cell relocation so a swap can rewrite
 * it, and unloads them.
 *
 * The loader touches memory only through a struct loader_env, so the same code
 * runs in the kernel (page tables and heap), in host tests (mmap and malloc)
 * and in the cell-link tool (a buffer laid out from a fixed base).
 *
 * The loader is not reentrant: the caller serializes every call on one
 * struct loader (the kernel holds its loader lock around them).
 *
 * Cell names: at most one loaded cell has a given name, so at most one
 * version of a cell is loaded and a name@version at most once. A load that
 * would break this is refused (LOADER_EDUP) naming the loaded cell, before
 * anything is placed; a swap's new versions load unpublished beside the cells
 * they replace, and loader_swap checks the names as they will be after it.
 *
 * Symbol rules, in one namespace made of nano_core's exports and the globals
 * of every published cell:
 *  - A name is owned by its first definition. A later global definition of a
 *    name that already has a global definition is refused naming both owners.
 *  - A later weak definition of a taken name is dropped: it is not exported and
 *    references to it inside its own cell bind to the existing definition.
 *  - A later global definition of a name that a loaded cell defines weak is
 *    refused: a static link would let it override the weak one, the loader
 *    never rewrites loaded cells behind their back, so it says so instead.
 *    Load the strong definition first, or unload the weak one.
 *  - An undefined weak reference that nothing defines resolves to 0 and is not
 *    rebound when a definition appears later.
 *  - Hidden and internal symbols, symbols in COMDAT groups, and the names in
 *    loader_config.private_names (e.g. "cell_init") stay private to their cell:
 *    they never enter the namespace and never collide. loader_cell_lookup()
 *    finds those that are functions.
 *  - A nano_core export may be referenced only if the cell was given its grant.
 *    So may a cell's export that its load guarded with a grant
 *    (loader_load_args.guards, from the manifest's guard= field): e.g.
 *    state_db's test hook, which only cells granted test_hooks may import.
 *
 * Layout: each cell gets one mapping from env->map (guard pages around it are
 * the env's job) holding, each page aligned, text (read+execute), rodata
 * (read-only: .rodata*, merged strings, .data.rel.ro*, .init_array, the
 * loader-made GOT) and, only with LOADER_ALLOW_STATE, writable data. GOT-
 * relative references go through a per-cell GOT; they are never relaxed.
 * .eh_frame, notes, debug and other non-allocated sections are not placed.
 */
#ifndef DELOS_LOADER_H
#define DELOS_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Page permissions passed to env->protect. */
enum loader_perm {
	LOADER_PERM_R = 1,
	LOADER_PERM_W = 2,
	LOADER_PERM_X = 4,
};

/*
 * What the loader needs from its host. All callbacks get env->ctx first.
 *
 * map:     Returns `bytes` (a multiple of LOADER_PAGE_SIZE) of fresh, page
 *          aligned memory the loader can write, with unmapped guard pages
 *          before and after, or NULL. It need not be zeroed: the loader
 *          writes every byte (section contents, then int3 in text pages and
 *          zero elsewhere) before the mapping is used or returned. Sets *addr to the address at which the
 *          bytes will execute: in the kernel the same as the pointer; in
 *          cell-link a chosen base. Cells must sit within +-2 GiB of nano_core
 *          and of each other.
 * protect: Sets the permissions (LOADER_PERM_*) of [mem, mem+bytes), which
 *          lies inside one mapping. Returns 0 on success.
 * unmap:   Gives back a whole mapping; later accesses must fault.
 * poke:    Writes `len` bytes at `mem` inside a mapping whose pages may be
 *          read-only or read+execute (the kernel's text_poke). Returns 0 on
 *          success. Only re-linking (loader_reloc_apply and friends) uses it;
 *          it may be NULL if the host never re-links.
 * alloc:   Returns `bytes` of heap memory aligned to 16, or NULL.
 * free:    Frees what alloc returned; free(NULL) is not called.
 */
/* One write of a relocation site's new bytes (loader_env.poke_batch). */
struct loader_poke {
	void *mem;
	uint64_t where;		/* the env's (poke_plan): where mem's page is; 0 if unknown */
	uint32_t len;
	unsigned char bytes[8];
};

struct loader_env {
	void *(*map)(void *ctx, size_t bytes, uint64_t *addr);
	int (*protect)(void *ctx, void *mem, size_t bytes, int perm);
	void (*unmap)(void *ctx, void *mem, size_t bytes);
	int (*poke)(void *ctx, void *mem, const void *src, size_t len);
	void *(*alloc)(void *ctx, size_t bytes);
	void (*free)(void *ctx, void *p);
	void *ctx;
	/*
	 * May be NULL (then poke is called once per write): writes n pokes,
	 * sorted by address, as poke would, so that writes into one page share
	 * the work of reaching it. Returns 0, or non-zero when some write could
	 * not be made (the caller then rewrites every site it meant to change).
	 */
	int (*poke_batch)(void *ctx, const struct loader_poke *p, size_t n);
	/*
	 * May be NULL: fills each poke's `where` ahead of poke_batch, for as
	 * long as the cells written stay loaded (0 leaves one to poke_batch).
	 */
	void (*poke_plan)(void *ctx, struct loader_poke *p, size_t n);
};

#define LOADER_PAGE_SIZE 4096u

/* One nano_core export: the table nano_core hands to loader_create. */
struct loader_export {
	const char *name;
	const char *grant; /* "core", "port_io", "irq", ... */
	uint64_t addr;
	bool func;         /* code, not data: loader_cell_lookup may return it */
};

/* Every fallible call returns 0 or one of these; loader_error() says more. */
enum loader_status {
	LOADER_OK = 0,
	LOADER_EBADELF = -1,     /* malformed object */
	LOADER_EUNSUPPORTED = -2, /* valid ELF the loader does not handle */
	LOADER_EUNDEF = -3,      /* undefined symbol */
	LOADER_EDUP = -4,        /* duplicate global definition or cell name */
	LOADER_EGRANT = -5,      /* symbol outside the cell's grants (nano_core's, or a guard=) */
	LOADER_ESPILL = -6,      /* writable static data, COMMON or TLS */
	LOADER_ERANGE = -7,      /* relocation out of range */
	LOADER_ENOMEM = -8,
	LOADER_EBUSY = -9,       /* other cells depend on it */
	LOADER_ENOENT = -10,     /* no such symbol or cell */
	LOADER_EINVAL = -11,     /* bad argument */
	LOADER_EPOKE = -12,      /* env->poke failed or is missing */
};

/* Flags for loader_load_args.flags. */
enum loader_load_flags {
	LOADER_ALLOW_STATE = 1,  /* place writable data instead of refusing it */
	LOADER_NO_CTORS = 2,     /* do not run .init_array (e.g. cell-link) */
	LOADER_UNPUBLISHED = 4,  /* keep its globals out of the namespace until
	                            loader_publish (a swap's new version); its
	                            own references bind to its own definitions */
};

struct loader_config {
	const struct loader_env *env;          /* copied */
	const struct loader_export *exports;   /* copied; strings must outlive */
	size_t nexports;
	const char *const *private_names;      /* NULL-terminated, may be NULL;
	                                          must outlive the loader */
};

/* One export of the cell being loaded that only cells given `grant` may
 * import. Both strings are copied. */
struct loader_guard {
	const char *symbol;
	const char *grant;
};

struct loader_load_args {
	const char *path;     /* object name used in messages, e.g. "cells/ramfs.o" */
	const char *name;     /* cell name; NULL means path */
	const char *version;  /* free text; NULL means "" */
	const void *obj;      /* the object; 8-byte aligned; not kept after load */
	size_t size;
	const char *const *grants; /* grants given to the cell */
	size_t ngrants;
	const struct loader_guard *guards; /* its exports kept to a grant; each */
	size_t nguards;                    /* must name a symbol it exports */
	unsigned flags;       /* enum loader_load_flags */
};

struct loader;
struct loader_cell;
struct loader_import;

/* Creation and errors. */
int loader_create(const struct loader_config *cfg, struct loader **out);
void loader_destroy(struct loader *ld); /* unmaps every cell, frees all */
const char *loader_error(const struct loader *ld); /* last failure's message */

/*
 * Loading. On failure nothing changed (no memory held, namespace untouched).
 * loader_check runs every check that needs no placement (validation, policy,
 * resolution, grants, relocation types) and changes nothing; relocation
 * ranges are only known once placed. loader_publish enters an unpublished
 * cell's globals in the namespace, refusing duplicates as loading does.
 * loader_unload refuses while other cells use the cell, naming them.
 */
int loader_check(struct loader *ld, const struct loader_load_args *a);
int loader_load(struct loader *ld, const struct loader_load_args *a,
		struct loader_cell **out);
int loader_publish(struct loader *ld, struct loader_cell *c);
/*
 * Counts the changes of the namespace (a cell published or detached). A
 * swap checks its new cells' exports before it stops the world; at commit,
 * with the old cells detached, loader_publish_unchanged publishes c without
 * checking again when the namespace is as it was at the check (checked_at,
 * plus the detaches the swap itself made), and as loader_publish otherwise.
 */
uint64_t loader_ns_changes(const struct loader *ld);
int loader_publish_unchanged(struct loader *ld, struct loader_cell *c, uint64_t checked_at);

/*
 * Does nothing; the loader calls it after each change to its list of cells
 * (a load, an unload, each step of a swap), so that a debugger can break on
 * it and re-read the list (build/gdb/delos.py), as ld.so's _dl_debug_state.
 */
void loader_debug_changed(const struct loader *ld);

int loader_unload(struct loader *ld, struct loader_cell *c);

/*
 * loader_unload in two halves, for a swap: loader_detach takes c out of the
 * cell list and the namespace (refusing, as loader_unload does, while others
 * use it) but leaves its memory mapped; loader_reap then unmaps and frees it.
 * Between the two nothing can find c, so the unmapping can wait until the
 * world runs again. A detached cell must be reaped exactly once.
 */
int loader_detach(struct loader *ld, struct loader_cell *c);
void loader_reap(struct loader *ld, struct loader_cell *c);

/* Cells. nano_core is the first cell, with core set; it cannot be unloaded. */
struct loader_cell_info {
	const char *name, *version, *path;
	bool core, published;
	uint64_t start, end;   /* mapped range, guard pages excluded */
	size_t text_size, rodata_size, data_size, got_size;
	size_t nsyms, nimports;
};
struct loader_cell *loader_cell_next(const struct loader *ld,
				     const struct loader_cell *prev);
struct loader_cell *loader_cell_find(const struct loader *ld, const char *name);
void loader_cell_info(const struct loader_cell *c, struct loader_cell_info *out);

/* Placed sections, in address order. The GOT has index LOADER_GOT_INDEX. */
#define LOADER_GOT_INDEX 0xffffffffu
struct loader_section {
	const char *name;
	uint32_t index;   /* section index in the object */
	uint64_t addr, size;
	int perm;         /* final LOADER_PERM_* */
};
size_t loader_cell_nsections(const struct loader_cell *c);
void loader_cell_section(const struct loader_cell *c, size_t i,
			 struct loader_section *out);

/* Symbols. */
enum loader_sym_bind { LOADER_LOCAL, LOADER_GLOBAL, LOADER_WEAK };
struct loader_sym {
	const char *name;
	uint64_t addr, size;
	enum loader_sym_bind bind;
	bool func;         /* STT_FUNC */
	bool exported;     /* visible in the namespace */
	const char *grant; /* nano_core exports and guarded cell exports; else NULL */
};
size_t loader_cell_nsyms(const struct loader_cell *c);
void loader_cell_sym(const struct loader_cell *c, size_t i, struct loader_sym *out);
int loader_lookup(const struct loader *ld, const char *name, uint64_t *addr,
		  struct loader_cell **owner);
/*
 * Finds a function that cell c defines and that may be called from outside
 * it by name (cellrefs, the console's `call`, cell_init and the other private
 * entry points): a global or weak symbol of type function (STT_FUNC; for
 * nano_core, an export marked func), exported or private. Returns 0 and
 * sets *addr; LOADER_ENOENT if c defines no symbol of that name; LOADER_EINVAL
 * if what c defines under that name is local or data (loader_cell_sym_find
 * tells which). Reads only; safe wherever loader_cell_find is.
 */
int loader_cell_lookup(const struct loader_cell *c, const char *name,
		       uint64_t *addr);
/* Finds any symbol c defines under that name, globals before locals, to say
 * why a look-up failed. Returns false if there is none. */
bool loader_cell_sym_find(const struct loader_cell *c, const char *name,
			  struct loader_sym *out);

/* What a cell address is, for fault reports; false outside every cell. */
struct loader_addr_info {
	struct loader_cell *cell;
	const char *section;   /* NULL if in padding */
	const char *symbol;    /* nearest symbol at or below addr, or NULL */
	uint64_t offset;       /* from symbol, else from section, else from start */
};
bool loader_addr_lookup(const struct loader *ld, uint64_t addr,
			struct loader_addr_info *out);

/*
 * Dependencies. An import is one symbol a cell (user) takes from another cell
 * or nano_core (owner); its sites are the places patched for it. A cell's
 * imports are sorted by owner (load order) then name, so runs of one owner
 * give the by-cell view (a retarget moves an import without re-sorting).
 * Undefined weak references resolved to 0 are not imports, and SIZE
 * relocations (which depend on a size, not an address) are not sites.
 */
struct loader_site {
	uint64_t place;   /* address patched (a GOT slot for GOT references) */
	int64_t addend;
	uint32_t type;    /* R_X86_64_*; GOT slots are R_X86_64_64 */
	uint32_t section; /* index for loader_site_section */
};
struct loader_import_info {
	struct loader_cell *user, *owner;
	const char *symbol;
	uint64_t addr;    /* current target address */
	size_t nsites;
};
struct loader_import *loader_uses_next(const struct loader_cell *user,
				       const struct loader_import *prev);
struct loader_import *loader_users_next(const struct loader_cell *owner,
					const struct loader_import *prev);
void loader_import_info(const struct loader_import *im,
			struct loader_import_info *out);
const struct loader_site *loader_import_site(const struct loader_import *im,
					     size_t i);
const char *loader_site_section(const struct loader_import *im,
				const struct loader_site *s);
const char *loader_reloc_name(uint32_t type);

/*
 * Re-linking, for swaps. loader_reloc_check computes the site's relocation
 * for a new target address with the same engine as loading and range-checks
 * it, changing nothing; loader_reloc_apply also writes it through env->poke.
 * loader_import_retarget moves a whole import to the same-named export of
 * another cell: it checks every site first, then patches them all, and keeps
 * the dependency records in step; on failure nothing changed.
 */
int loader_reloc_check(struct loader *ld, const struct loader_import *im,
		       size_t site, uint64_t new_addr);
int loader_reloc_apply(struct loader *ld, const struct loader_import *im,
		       size_t site, uint64_t new_addr);
int loader_import_retarget(struct loader *ld, struct loader_import *im,
			   struct loader_cell *new_owner);
/*
 * Counts every change of the link graph: a load, a detach, an import
 * retargeted. A plan of relocation writes made while it read c stays exact
 * while it reads c (loader/swap.c prepares a swap's relink this way).
 */
uint64_t loader_link_changes(const struct loader *ld);

#endif
