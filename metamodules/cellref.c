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

/*
 * In front of call_cache: the resolutions by the cellref's bytes, whole
 * words compared, for the generation they were made in. An interrupt
 * follows the same few cellrefs again and again (the timer's subscribers),
 * and comparing ten words costs less than hashing and comparing two names
 * byte by byte. Whatever the bytes (names cut short or not), the same bytes
 * resolve to the same address within one generation.
 */
#define REF_WORDS (sizeof(struct cellref) / 8)
#define CELLREF_SYM_AT offsetof(struct cellref, sym)
_Static_assert(sizeof(struct cellref) % 8 == 0, "a cellref in whole words");
_Static_assert(CELLREF_SYM_AT % 8 == 0 && CELLREF_SYM_AT + 16 <= sizeof(struct cellref),
	       "the symbol's first two words");

static struct {
	uint64_t w[REF_WORDS];
	uint64_t gen, addr;
} word_cache[CALL_CACHE];

static uint64_t resolve_by_words(const struct cellref *r)
{
	uint64_t w[REF_WORDS], h = 0, gen = loader_generation() + 1, addr, flags;
	typeof(&word_cache[0]) e;
	bool same = true;

	/* Word by word: a whole-struct copy would be a call of memcpy. */
	for (size_t i = 0; i < REF_WORDS; i++)
		__builtin_memcpy(&w[i], (const char *)r + 8 * i, 8);
	/*
	 * The slot from the first two words of each name (a cache only needs
	 * them to spread), every word compared there.
	 */
	h = (((w[0] ^ w[1]) * 0x100000001b3ull) ^ w[CELLREF_SYM_AT / 8] ^ w[CELLREF_SYM_AT / 8 + 1]) *
	    0x100000001b3ull;
	e = &word_cache[(h >> 40) & (CALL_CACHE - 1)];
	flags = irq_save();
	uint64_t diff = 0;
	for (size_t i = 0; i < REF_WORDS; i++)
		diff |= e->w[i] ^ w[i];
	same = diff == 0;
	if (same && e->gen == gen) {
		addr = e->addr;
		irq_restore(flags);
		return addr;
	}
	irq_restore(flags);
	addr = resolve_for_call(r);
	flags = irq_save();
	if (gen == loader_generation() + 1) {
		__builtin_memcpy(e->w, w, sizeof w);
		e->addr = addr;
		e->gen = gen;
	}
	irq_restore(flags);
	return addr;
}

uint64_t cellref_resolve_fast(const struct cellref *r)
{
	if (!r || !paging_readable((uint64_t)r, sizeof(*r)))
		return 0;
	return resolve_by_words(r);
}

int cellref_call(const struct cellref *r, uint64_t arg, int *result)
{
	uint64_t fn;

	/* A cell's bad pointer (a corrupted table or loop) is its error, not a fault in nano_core. */
	if (!(fn = cellref_resolve_fast(r)))
		return -1;
	int v = ((int (*)(uint64_t))fn)(arg);
	if (result)
		*result = v;
	return 0;
}
