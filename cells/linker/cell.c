/*
 * The loader cell (docs/loader-cell.md): the loader of loader/, compiled
 * with hidden visibility and its own string functions, so that it imports
 * nothing and exports one symbol, this table, which nano_core calls it
 * through (include/delos/loader_cell.h).
 */
#include <delos/loader_cell.h>

#define ENTRY(ret, name, params, args) .name = name,
#define VOID_ENTRY(name, params, args) .name = name,

__attribute__((visibility("default"))) const struct loader_cell_ops loader_cell_ops = {
	.version = LOADER_CELL_OPS_VERSION,
	.size = sizeof(struct loader_cell_ops),
	LOADER_CELL_CALLS(ENTRY)
	LOADER_CELL_VOID_CALLS(VOID_ENTRY)
};
