/*
 * cellref resolution, linked into nano_core because it reads the loader's
 * namespace. A cellref names a cell and one of its symbols; it is looked up
 * each time, so no address into a cell is ever kept.
 */
#include <delos/cellref.h>
#include <delos/cells.h>
#include <delos/string.h>

static bool copy_name(char *dst, const char *src, size_t max)
{
	size_t n = src ? strlen(src) : 0;

	if (n == 0 || n > max)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

bool cellref_make(struct cellref *r, const char *cell, const char *sym)
{
	memset(r, 0, sizeof(*r));
	if (copy_name(r->cell, cell, CELLREF_CELL_MAX) && copy_name(r->sym, sym, CELLREF_SYM_MAX))
		return true;
	memset(r, 0, sizeof(*r));
	return false;
}

uint64_t cellref_resolve(const struct cellref *r)
{
	struct loader *ld = cells_loader();
	struct loader_cell *c;
	uint64_t addr;

	if (!ld || !r->cell[0])
		return 0;
	if ((c = loader_cell_find(ld, r->cell)))
		return loader_cell_lookup(c, r->sym, &addr) == 0 ? addr : 0;
	/*
	 * The cell was swapped for one under another name: follow the namespace
	 * to the cell that now exports the symbol. A cellref into a cell never
	 * lands in nano_core, and only ever on a global function.
	 */
	if (loader_lookup(ld, r->sym, NULL, &c) || c == loader_cell_next(ld, NULL))
		return 0;
	return loader_cell_lookup(c, r->sym, &addr) == 0 ? addr : 0;
}

uint64_t cellref_resolve_cached(const struct cellref *r, struct cellref_cache *cache)
{
	uint64_t gen = loader_generation() + 1;

	if (cache->gen != gen) {
		cache->addr = cellref_resolve(r);
		cache->gen = gen;
	}
	return cache->addr;
}

int cellref_call(const struct cellref *r, uint64_t arg, int *result)
{
	uint64_t fn = cellref_resolve(r);

	if (!fn)
		return -1;
	int v = ((int (*)(uint64_t))fn)(arg);
	if (result)
		*result = v;
	return 0;
}
