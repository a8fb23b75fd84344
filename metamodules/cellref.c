/*
 * cellref resolution, linked into nano_core because it reads the loader's
 * namespace. A cellref names a cell and one of its symbols; it is looked up
 * when used, and an address into a cell is remembered only with the loader
 * generation it was found in (cellref_resolve_cached, cellref_call's table).
 */
#include <delos/cellref.h>
#include <delos/cells.h>
#include <delos/irqflags.h>
#include <delos/paging.h>
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

/*
 * The resolutions cellref_call made, by the names they were made for: the
 * routes and subscriptions an interrupt follows resolve without a name
 * lookup. An entry holds for the generation it was made in (like
 * cellref_resolve_cached) and is filled with interrupts off, so an
 * interrupt's call never sees half of one.
 */
#define CALL_CACHE 32u		/* a power of two */

static struct {
	struct cellref ref;
	struct cellref_cache at;
} call_cache[CALL_CACHE];

/* Hashes name into h (FNV-1a) and returns its length, at most max. */
static size_t name_hash(const char *name, size_t max, uint32_t *h)
{
	size_t n = 0;

	while (n < max && name[n]) {
		*h = (*h ^ (unsigned char)name[n]) * 16777619u;
		n++;
	}
	return n;
}

static bool same_name(const char *a, const char *b, size_t n)
{
	return memcmp(a, b, n) == 0 && b[n] == '\0';
}

static uint64_t resolve_for_call(const struct cellref *r)
{
	uint32_t h = 2166136261u;
	size_t nc = name_hash(r->cell, CELLREF_CELL_MAX, &h);
	size_t ns = name_hash(r->sym, CELLREF_SYM_MAX, &h);
	uint64_t gen = loader_generation() + 1, addr, flags;
	typeof(&call_cache[0]) e = &call_cache[h & (CALL_CACHE - 1)];

	if (nc == 0 || r->cell[nc] || r->sym[ns])
		return cellref_resolve(r);      /* not a cellref_make name: not cached */
	flags = irq_save();
	if (e->at.gen == gen && same_name(r->cell, e->ref.cell, nc) &&
	    same_name(r->sym, e->ref.sym, ns)) {
		addr = e->at.addr;
		irq_restore(flags);
		return addr;
	}
	irq_restore(flags);
	addr = cellref_resolve(r);
	flags = irq_save();
	if (gen == loader_generation() + 1) {
		memset(&e->ref, 0, sizeof e->ref);
		memcpy(e->ref.cell, r->cell, nc);
		memcpy(e->ref.sym, r->sym, ns);
		e->at.addr = addr;
		e->at.gen = gen;
	}
	irq_restore(flags);
	return addr;
}

uint64_t cellref_resolve_fast(const struct cellref *r)
{
	if (!r || !paging_readable((uint64_t)r, sizeof(*r)))
		return 0;
	return resolve_for_call(r);
}

int cellref_call(const struct cellref *r, uint64_t arg, int *result)
{
	uint64_t fn;

	/* A cell's bad pointer (a corrupted table or loop) is its error, not a fault in nano_core. */
	if (!r || !paging_readable((uint64_t)r, sizeof(*r)))
		return -1;
	if (!(fn = resolve_for_call(r)))
		return -1;
	int v = ((int (*)(uint64_t))fn)(arg);
	if (result)
		*result = v;
	return 0;
}
