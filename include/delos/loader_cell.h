/*
 * The loader is a cell (docs/loader-cell.md). Its one export is
 * loader_cell_ops, the table of its entry points that nano_core calls it
 * through: nano_core's loader slot (nano_core/loader_slot.c) points at the
 * table of the loader it runs, and each loader_* function nano_core has is
 * one call through the slot.
 *
 * LOADER_CELL_CALLS lists the entries as X(return type, name, parameters,
 * arguments); LOADER_CELL_VOID_CALLS those that return nothing, as
 * X(name, parameters, arguments). A table whose version or size is not this
 * header's is refused.
 */
#ifndef DELOS_LOADER_CELL_H
#define DELOS_LOADER_CELL_H

#include <stddef.h>
#include <stdint.h>
#include <delos/loader.h>
#include <delos/swap.h>

#define LOADER_CELL_OPS_VERSION 1u
#define LOADER_CELL_OPS_SYMBOL "loader_cell_ops"

#define LOADER_CELL_CALLS(X) \
	X(int, loader_create, (const struct loader_config *cfg, struct loader **out), (cfg, out)) \
	X(const char *, loader_error, (const struct loader *ld), (ld)) \
	X(int, loader_check, (struct loader *ld, const struct loader_load_args *a), (ld, a)) \
	X(int, loader_load, (struct loader *ld, const struct loader_load_args *a, \
			     struct loader_cell **out), (ld, a, out)) \
	X(int, loader_unload, (struct loader *ld, struct loader_cell *c), (ld, c)) \
	X(struct loader_cell *, loader_cell_next, (const struct loader *ld, \
						   const struct loader_cell *prev), (ld, prev)) \
	X(struct loader_cell *, loader_cell_find, (const struct loader *ld, const char *name), \
	  (ld, name)) \
	X(size_t, loader_cell_nsections, (const struct loader_cell *c), (c)) \
	X(size_t, loader_cell_nsyms, (const struct loader_cell *c), (c)) \
	X(int, loader_lookup, (const struct loader *ld, const char *name, uint64_t *addr, \
			       struct loader_cell **owner), (ld, name, addr, owner)) \
	X(int, loader_cell_lookup, (const struct loader_cell *c, const char *name, \
				    uint64_t *addr), (c, name, addr)) \
	X(bool, loader_cell_sym_find, (const struct loader_cell *c, const char *name, \
				       struct loader_sym *out), (c, name, out)) \
	X(bool, loader_addr_lookup, (const struct loader *ld, uint64_t addr, \
				     struct loader_addr_info *out), (ld, addr, out)) \
	X(struct loader_import *, loader_uses_next, (const struct loader_cell *user, \
						     const struct loader_import *prev), (user, prev)) \
	X(struct loader_import *, loader_users_next, (const struct loader_cell *owner, \
						      const struct loader_import *prev), (owner, prev)) \
	X(int, loader_swap, (struct loader *ld, struct swap_pair *pairs, size_t n, \
			     const struct swap_hooks *h, struct swap_result *res), \
	  (ld, pairs, n, h, res)) \
	X(const char *, swap_step_name, (enum swap_step s), (s))

#define LOADER_CELL_VOID_CALLS(X) \
	X(loader_cell_info, (const struct loader_cell *c, struct loader_cell_info *out), (c, out)) \
	X(loader_cell_section, (const struct loader_cell *c, size_t i, struct loader_section *out), \
	  (c, i, out)) \
	X(loader_cell_sym, (const struct loader_cell *c, size_t i, struct loader_sym *out), \
	  (c, i, out)) \
	X(loader_import_info, (const struct loader_import *im, struct loader_import_info *out), \
	  (im, out)) \
	X(loader_reap, (struct loader *ld, struct loader_cell *c), (ld, c))

#define LOADER_CELL_FIELD(ret, name, params, args) ret (*name) params;
#define LOADER_CELL_VOID_FIELD(name, params, args) void (*name) params;

struct loader_cell_ops {
	uint32_t version;	/* LOADER_CELL_OPS_VERSION */
	uint32_t size;		/* sizeof(struct loader_cell_ops) */
	LOADER_CELL_CALLS(LOADER_CELL_FIELD)
	LOADER_CELL_VOID_CALLS(LOADER_CELL_VOID_FIELD)
};

/*
 * The image cell-link --placed writes (build/tools/cell-link.c) and
 * nano_core's placer maps: this header, then the bytes of the mapping from
 * base up. Each range is [off, off + bytes) of the mapping with its final
 * LOADER_PERM_*; the ranges are whole pages, in address order, and cover
 * the mapping. ops is the address of the image's loader_cell_ops.
 */
#define PLACED_MAGIC "DLSPLACE"
#define PLACED_RANGES_MAX 4

struct placed_range {
	uint64_t off, bytes;
	uint32_t perm, pad;
};

struct placed_header {
	char magic[8];
	uint64_t base;		/* where the image was linked to run */
	uint64_t bytes;		/* of the mapping, whole pages */
	uint64_t ops;
	uint32_t nranges, pad;
	struct placed_range range[PLACED_RANGES_MAX];
};

#endif
