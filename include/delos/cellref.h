/*
 * cellref: a weak reference to a named symbol in a named cell. It holds no
 * address that could dangle: it is resolved through the loader's namespace
 * when used, so it follows the cell across swaps, reloads and unloads (after
 * an unload it resolves to nothing). This is the only way anything outside a
 * cell may keep hold of code in it (IRQ routes, callbacks, task entries,
 * console commands): no raw function pointer into a cell is stored anywhere.
 *
 * A cellref is plain data, so it can live in state_db records and tokens.
 * Resolution is done by nano_core (grant `core`).
 */
#ifndef DELOS_CELLREF_H
#define DELOS_CELLREF_H

#include <stdbool.h>
#include <stdint.h>

#define CELLREF_CELL_MAX 31
#define CELLREF_SYM_MAX  47

struct cellref {
	char cell[CELLREF_CELL_MAX + 1];
	char sym[CELLREF_SYM_MAX + 1];
};

/*
 * Fills *r; returns false (leaving *r empty) if a name is empty or too long.
 */
bool cellref_make(struct cellref *r, const char *cell, const char *sym);

/*
 * Returns the current address of r's symbol, or 0 when the cell is not
 * loaded or the symbol is not one of its global functions (a local symbol
 * or data never resolves; see loader_cell_lookup). When no cell has r's name,
 * the cell that now exports the symbol is used (a replacement under another
 * name), never nano_core. Costs one name lookup; the result is valid
 * until the next load, unload or swap (loader_generation() changes).
 */
uint64_t cellref_resolve(const struct cellref *r);

/* Counts loads, unloads and swaps; a cached resolution is stale once it moves. */
uint64_t loader_generation(void);

/*
 * A resolution remembered with the generation it was made in. Only
 * nano_core keeps these (in its own data: cells keep no writable state), for
 * the cellrefs it follows on every interrupt. The generation moves before a
 * cell is unloaded and before a swap's world resumes, so a remembered
 * address never outlives the code it points at.
 */
struct cellref_cache {
	uint64_t gen;            /* loader_generation() + 1 when filled; 0: empty */
	uint64_t addr;
};

/* cellref_resolve(r), from *cache when it is of the current generation. */
uint64_t cellref_resolve_cached(const struct cellref *r, struct cellref_cache *cache);

/*
 * Calls r as `int fn(uint64_t arg)`. Returns 0 and stores the result, or
 * -1 when r does not resolve or is no readable cellref (a bad pointer). The resolution comes from a small table in
 * nano_core keyed by r's names and kept like a cellref_cache (valid for one
 * loader_generation), so a route followed on every interrupt costs a hash
 * of its names, not a name lookup. The call is direct: a fault in it is handled
 * like any fault in that cell.
 */
int cellref_call(const struct cellref *r, uint64_t arg, int *result);

/*
 * cellref_resolve(r) through cellref_call's table: a hash of r's names
 * while the generation holds, for a cell that follows one cellref often
 * and has nowhere to keep a cellref_cache (state_db asking the tasks cell
 * whose task runs, at every call inside a transaction). 0 as cellref_resolve.
 */
uint64_t cellref_resolve_fast(const struct cellref *r);

#endif
