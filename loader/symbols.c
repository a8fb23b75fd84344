/*
 * The namespace: nano_core's exports plus the exported globals of every
 * published cell, each owner keeping its exports sorted by name. Resolution
 * of a new object against it, the rules for duplicates, weak symbols and
 * grants (see include/delos/loader.h), and the symbol look-ups.
 */
#include "loader/internal.h"
#include <delos/swap.h>

static int cmp_lsym_name(const void *a, const void *b, const void *ctx)
{
	const struct lsym *syms = ctx;

	return strcmp(syms[*(const uint32_t *)a].name, syms[*(const uint32_t *)b].name);
}

static int cmp_lsym_addr(const void *a, const void *b, const void *ctx)
{
	const struct lsym *x = a, *y = b;

	(void)ctx;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->bind != y->bind)
		return x->bind == STB_LOCAL ? 1 : -1;
	return strcmp(x->name, y->name);
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/*
 * The eight bytes at p, for symbols_hash: one load where it stays inside
 * p's page (it may then read past the name's NUL, never into a page the
 * name does not reach), else byte by byte up to the NUL, zeros after it.
 */
__attribute__((no_sanitize_address)) static uint64_t name_word(const unsigned char *p)
{
	uint64_t w = 0;

	if (((uintptr_t)p & 4095) <= 4096 - 8) {
		__builtin_memcpy(&w, p, 8);
		return w;
	}
	for (unsigned i = 0; i < 8 && (i == 0 || p[i - 1]); i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

/*
 * A name's hash, in one pass over it, eight bytes at a time: each word
 * without a NUL mixed in with one multiply; the last, its bytes from the NUL
 * on cleared, then the length, and a final avalanche so the low bits (the
 * table index) depend on every byte. Equal hashes are then compared by name.
 */
__attribute__((no_sanitize_address)) static inline uint32_t hash_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	uint64_t h = 0x9e3779b97f4a7c15ull, w, z;
	size_t n = 0;

	for (;; p += 8, n += 8) {
		w = name_word(p);
		if ((z = (w - ONES) & ~w & HIGHS))	/* the lowest flagged byte is the NUL */
			break;
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	unsigned k = (unsigned)__builtin_ctzll(z) / 8; /* bytes before the NUL */
	w &= (1ull << (8 * k)) - 1; /* k < 8 */
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= (n + k) * 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	return (uint32_t)(h ^ (h >> 32));
}

uint32_t symbols_hash(const char *name)
{
	return hash_name(name);
}

static const struct lsym *find_hashed(const struct loader_cell *c, const char *name,
				      uint32_t h)
{
	if (!c->slot)
		return NULL;
	for (uint32_t i = h & c->hmask;; i = (i + 1) & c->hmask) {
		uint32_t v = c->slot[i];
		if (!v)
			return NULL;
		if (c->hash[i] == h && strcmp(c->syms[v - 1].name, name) == 0)
			return &c->syms[v - 1];
	}
}

const struct lsym *symbols_find_in(const struct loader_cell *c, const char *name)
{
	return find_hashed(c, name, symbols_hash(name));
}

const struct lsym *symbols_find_sym(const struct loader_cell *c, const struct lsym *s)
{
	return find_hashed(c, s->name, s->hash);
}

static bool skipped(const struct loader_cell *c, struct loader_cell *const *skip, size_t nskip)
{
	for (size_t i = 0; i < nskip; i++)
		if (skip[i] == c)
			return true;
	return false;
}

/*
 * The namespace table: open addressing, linear probing, an entry per export
 * of every published owner (nano_core's, each published cell's), at most
 * three quarters full. A name has one owner in the namespace (publishing
 * refuses a taken strong name and drops a taken weak one), so a name's one
 * entry is the one the walk over the cells would find.
 */
struct ns_slot {
	const struct lsym *sym; /* NULL: free */
	struct loader_cell *owner;
	uint32_t hash;
};

static bool ns_usable(const struct loader *ld)
{
	return ld->ns && !ld->ns_stale && !ld->ns_held;
}

static const struct ns_slot *ns_find(const struct loader *ld, const char *name, uint32_t h)
{
	for (uint32_t i = h & ld->ns_mask;; i = (i + 1) & ld->ns_mask) {
		const struct ns_slot *e = &ld->ns[i];
		if (!e->sym)
			return NULL;
		if (e->hash == h && strcmp(e->sym->name, name) == 0)
			return e;
	}
}

/* Enters export s of owner, or returns false (no room, or its name is
 * there already, which the namespace's rule forbids: the walk decides). */
static bool ns_insert(struct loader *ld, const struct lsym *s, struct loader_cell *owner)
{
	uint32_t m = ld->ns_mask, i = s->hash & m;

	if (4 * ((uint64_t)ld->ns_count + 1) > 3 * ((uint64_t)m + 1))
		return false;
	for (; ld->ns[i].sym; i = (i + 1) & m)
		if (ld->ns[i].hash == s->hash && strcmp(ld->ns[i].sym->name, s->name) == 0)
			return false;
	ld->ns[i] = (struct ns_slot){ s, owner, s->hash };
	ld->ns_count++;
	return true;
}

/* Takes export s out, moving back the entries that probed past it. */
static void ns_delete(struct loader *ld, const struct lsym *s)
{
	uint32_t m = ld->ns_mask, i = s->hash & m;

	while (ld->ns[i].sym && ld->ns[i].sym != s)
		i = (i + 1) & m;
	if (!ld->ns[i].sym)
		return;
	ld->ns_count--;
	for (uint32_t j = (i + 1) & m; ld->ns[j].sym; j = (j + 1) & m)
		if (((j - (ld->ns[j].hash & m)) & m) >= ((j - i) & m)) {
			ld->ns[i] = ld->ns[j];
			i = j;
		}
	ld->ns[i].sym = NULL;
}

static bool ns_add_cell(struct loader *ld, struct loader_cell *c)
{
	for (uint32_t k = 0; k < c->nexported; k++)
		if (!ns_insert(ld, &c->syms[c->by_name[k]], c))
			return false;
	return true;
}

void symbols_ns_add(struct loader *ld, struct loader_cell *c)
{
	if (ns_usable(ld) && !ns_add_cell(ld, c))
		ld->ns_stale = true;
}

void symbols_ns_remove(struct loader *ld, struct loader_cell *c)
{
	if (!ns_usable(ld))
		return;
	for (uint32_t k = 0; k < c->nexported; k++)
		ns_delete(ld, &c->syms[c->by_name[k]]);
}

void symbols_ns_hold(struct loader *ld)
{
	ld->ns_held = true;
}

void symbols_ns_swapped(struct loader *ld, const struct swap_pair *pairs, size_t n)
{
	if (ld->ns && !ld->ns_stale) {
		for (size_t i = 0; i < n; i++)
			for (uint32_t k = 0; k < pairs[i].old->nexported; k++)
				ns_delete(ld, &pairs[i].old->syms[pairs[i].old->by_name[k]]);
		for (size_t i = 0; i < n && !ld->ns_stale; i++)
			if (pairs[i].new->published && !ns_add_cell(ld, pairs[i].new))
				ld->ns_stale = true;
	}
	/* An interrupt's look-up walks until the table is whole again. */
	__asm__ volatile("" ::: "memory");
	ld->ns_held = false;
}

void symbols_ns_free(struct loader *ld)
{
	ldr_free(ld, ld->ns);
	ld->ns = NULL;
}

/* The smallest power of two of at least twice n slots: probes stay short and
 * a slot is always free. */
static uint32_t table_slots(uint32_t n)
{
	uint32_t cap = 2;

	while (cap < 2 * (uint64_t)n)
		cap *= 2;
	return cap;
}

uint32_t symbols_table_slots(uint32_t n)
{
	return table_slots(n);
}

/*
 * Below this many published owners (nano_core counted) the walk over them
 * costs no more than a probe of the table, and keeping the table costs an
 * entry and a removal per export as cells come and go: there is none.
 */
#define NS_MIN_OWNERS 8

void symbols_ns_reserve(struct loader *ld, uint32_t more)
{
	uint64_t n = more;
	uint32_t owners = 1; /* the cell being loaded */

	if (ld->ns && !ld->ns_stale && 2 * ((uint64_t)ld->ns_count + more) <= (uint64_t)ld->ns_mask + 1)
		return;	/* held or not: a held table is made whole by symbols_ns_swapped */
	for (struct loader_cell *c = &ld->core; c; c = c->next)
		if (c->published) {
			owners++;
			n += c->nexported;
		}
	if (owners < NS_MIN_OWNERS) {
		symbols_ns_free(ld);
		return;
	}
	/* Room for as many again, so that loads seldom rebuild it. */
	uint32_t cap = n < LOADER_MAX_SYMS ? 2 * table_slots((uint32_t)n) : 0;
	struct ns_slot *t = cap ? ldr_alloc(ld, (size_t)cap * sizeof(*t)) : NULL;

	symbols_ns_free(ld);
	if (!t)
		return;	/* the walk serves the look-ups */
	ld->ns = t;
	ld->ns_mask = cap - 1;
	ld->ns_count = 0;
	ld->ns_stale = false;
	for (struct loader_cell *c = &ld->core; c && !ld->ns_stale; c = c->next)
		if (c->published && !ns_add_cell(ld, c))
			ld->ns_stale = true;
}

/* The published owner of `name` (hash h), leaving out the cells in skip[]. */
static const struct lsym *find_skipping(const struct loader *ld, const char *name, uint32_t h,
					struct loader_cell **owner,
					struct loader_cell *const *skip, size_t nskip)
{
	if (ns_usable(ld)) {
		const struct ns_slot *e = ns_find(ld, name, h);
		if (!e || skipped(e->owner, skip, nskip))
			return NULL;
		if (owner)
			*owner = e->owner;
		return e->sym;
	}
	for (const struct loader_cell *c = &ld->core; c; c = c->next) {
		const struct lsym *s = c->published && !skipped(c, skip, nskip)
					       ? find_hashed(c, name, h) : NULL;
		if (s) {
			if (owner)
				*owner = (struct loader_cell *)c;
			return s;
		}
	}
	return NULL;
}

const struct lsym *symbols_find(const struct loader *ld, const char *name,
			   struct loader_cell **owner)
{
	return find_skipping(ld, name, symbols_hash(name), owner, NULL, 0);
}

/* Enters syms index si, of name hash h, in an export table's arrays. */
static inline void table_put(uint32_t *slot, uint32_t *hash, uint32_t mask, uint32_t si,
			     uint32_t h)
{
	uint32_t i = h & mask;

	while (slot[i])
		i = (i + 1) & mask;
	slot[i] = si + 1;
	hash[i] = h;
}

/* Enters export si in c's export table. */
static void hash_insert(struct loader_cell *c, uint32_t si)
{
	table_put(c->slot, c->hash, c->hmask, si, c->syms[si].hash);
}

static void hash_clear(struct loader_cell *c)
{
	memset(c->slot, 0, (size_t)(c->hmask + 1) * sizeof(uint32_t));
}

/* Fills c's export table from by_name[0..nexported). */
static void hash_build(struct loader_cell *c)
{
	hash_clear(c);
	for (uint32_t k = 0; k < c->nexported; k++)
		hash_insert(c, c->by_name[k]);
}

/* Sorts the exports by name, for the walks whose first finding is reported
 * (a load only needs the hash table, so this waits until a walk asks). */
void symbols_sort_by_name(struct loader_cell *c)
{
	if (c->by_name_sorted)
		return;
	ldr_sort(c->by_name, c->nexported, sizeof(uint32_t), cmp_lsym_name, c->syms);
	c->by_name_sorted = true;
}

/* A symbol's address and index, the key sort_by_addr sorts. */
struct addr_key {
	uint64_t addr;
	uint32_t idx;
};

/*
 * Stable LSD radix sort of keys by address, a byte of (address - lowest)
 * per pass, through tmp; returns the array holding the result. Linear: a
 * cell's addresses span a few MiB (three passes), at most 64 bits (eight).
 */
static struct addr_key *sort_keys(struct addr_key *k, struct addr_key *tmp, uint32_t n)
{
	uint64_t lo = UINT64_MAX, span = 0;

	for (uint32_t i = 0; i < n; i++)
		lo = k[i].addr < lo ? k[i].addr : lo;
	for (uint32_t i = 0; i < n; i++)
		span |= k[i].addr - lo;
	for (unsigned shift = 0; shift < 64 && span >> shift; shift += 8) {
		uint32_t start[257] = { 0 };
		for (uint32_t i = 0; i < n; i++)
			start[((k[i].addr - lo) >> shift & 255) + 1]++;
		for (unsigned d = 0; d < 256; d++)
			start[d + 1] += start[d];
		for (uint32_t i = 0; i < n; i++)
			tmp[start[(k[i].addr - lo) >> shift & 255]++] = k[i];
		struct addr_key *t = k;
		k = tmp;
		tmp = t;
	}
	return k;
}

/* Orders each run of keys of one address by cmp_lsym_addr (insertion sort:
 * the runs are short, nearly always one symbol). */
static void sort_ties(const struct lsym *syms, struct addr_key *k, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j > 0 && k[j - 1].addr == k[j].addr &&
				     cmp_lsym_addr(&syms[k[j - 1].idx], &syms[k[j].idx], NULL) > 0; j--) {
			struct addr_key t = k[j - 1];
			k[j - 1] = k[j];
			k[j] = t;
		}
}

/* True if the sorted keys are the one order cmp_lsym_addr allows: no two
 * symbols compare equal, and no address has non-local symbols of two
 * bindings (which cmp_lsym_addr leaves unordered). */
static bool addr_order_unique(const struct lsym *syms, const struct addr_key *k, uint32_t n)
{
	for (uint32_t i = 1, run = 0; i < n; i++) {
		const struct lsym *x = &syms[k[i - 1].idx], *y = &syms[k[i].idx];
		if (x->addr != y->addr) {
			run = i;
			continue;
		}
		if (cmp_lsym_addr(x, y, NULL) == 0)
			return false;
		if (y->bind != STB_LOCAL && y->bind != syms[k[run].idx].bind)
			return false;
	}
	return true;
}

/*
 * Sorts c->syms by address: the keys by address, then each address's
 * symbols by cmp_lsym_addr, then one move of each record, where the order
 * this gives is the only one (nearly always); else the heapsort, whose
 * order among symbols that compare equal the loader has always had.
 */
static void sort_by_addr(struct loader *ld, struct loader_cell *c)
{
	uint32_t n = c->nsyms;
	struct addr_key *keys = n > 1 ? ldr_alloc_raw(ld, (size_t)n * 2 * sizeof(*keys)) : NULL;
	struct lsym *sorted = keys ? ldr_alloc_raw(ld, (size_t)n * sizeof(*sorted)) : NULL;

	if (sorted) {
		for (uint32_t i = 0; i < n; i++)
			keys[i] = (struct addr_key){ .addr = c->syms[i].addr, .idx = i };
		struct addr_key *k = sort_keys(keys, keys + n, n);
		sort_ties(c->syms, k, n);
		if (addr_order_unique(c->syms, k, n)) {
			for (uint32_t i = 0; i < n; i++)
				sorted[i] = c->syms[k[i].idx];
			ldr_free(ld, c->syms);
			c->syms = sorted;
			ldr_free(ld, keys);
			return;
		}
	}
	ldr_free(ld, sorted);
	ldr_free(ld, keys);
	ldr_sort(c->syms, n, sizeof(*c->syms), cmp_lsym_addr, NULL);
}

/*
 * Sorts c->syms by address unless they are at strictly increasing addresses
 * already (they then have the one order: an object often lists its globals
 * so, and a prelinked cell's are given so).
 */
static void order_syms(struct loader *ld, struct loader_cell *c)
{
	for (uint32_t i = 1; i < c->nsyms; i++)
		if (c->syms[i - 1].addr >= c->syms[i].addr) {
			sort_by_addr(ld, c);
			return;
		}
}

/* An empty export index (by_name and the table) for at most `most` exports. */
static int index_alloc(struct loader *ld, struct loader_cell *c, uint32_t most)
{
	uint32_t cap = table_slots(most);

	c->by_name = ldr_alloc_raw(ld, ((size_t)most + 2 * (size_t)cap) * sizeof(uint32_t));
	if (!c->by_name)
		return LOADER_ENOMEM;
	c->slot = c->by_name + most;
	c->hash = c->slot + cap;
	c->hmask = cap - 1;
	hash_clear(c);
	c->nexported = 0;
	c->by_name_sorted = false;
	return 0;
}

/* Enters record i, an export, in the index. */
static void index_add(struct loader_cell *c, uint32_t i)
{
	c->by_name[c->nexported++] = i;
	hash_insert(c, i);
}

/* Enters the exports of c's records in its index, for at most `most` (the
 * count the index was made for, which every export is among), in one pass. */
static void index_fill(struct loader_cell *c, uint32_t most)
{
	for (uint32_t i = 0; i < c->nsyms && c->nexported < most; i++)
		if (c->syms[i].exported)
			index_add(c, i);
}

/* Refuses a name nano_core exports twice (the smallest such name): an
 * export that its own name does not find in the table is a second one. */
static int core_check_dups(struct loader *ld)
{
	const struct loader_cell *c = &ld->core;
	const char *dup = NULL;

	for (uint32_t i = 0; i < c->nexported; i++) {
		const struct lsym *s = &c->syms[c->by_name[i]];
		if (find_hashed(c, s->name, symbols_hash(s->name)) != s &&
		    (!dup || strcmp(s->name, dup) < 0))
			dup = s->name;
	}
	if (dup)
		return ldr_err(ld, LOADER_EINVAL, "nano_core exports '%s' twice", dup);
	return 0;
}

/* Makes nano_core the first owner in the namespace. */
int symbols_core_init(struct loader *ld, const struct loader_config *cfg)
{
	struct loader_cell *c = &ld->core;

	*c = (struct loader_cell){ .core = true, .published = true,
				   .name = ld->core_name,
				   .version = ld->core_name + sizeof(ld->core_name) - 1,
				   .path = ld->core_name + sizeof(ld->core_name) - 1 };
	c->syms = ldr_alloc(ld, cfg->nexports * sizeof(*c->syms));
	if (!c->syms)
		return ldr_err(ld, LOADER_ENOMEM, "out of memory for exports");
	c->nsyms = cfg->nexports;
	for (size_t i = 0; i < cfg->nexports; i++) {
		const struct loader_export *e = &cfg->exports[i];
		if (!e->name || !e->grant)
			return ldr_err(ld, LOADER_EINVAL, "export %zu has no name or grant", i);
		c->syms[i] = (struct lsym){ .name = e->name, .hash = symbols_hash(e->name), .addr = e->addr,
					    .grant = e->grant, .sec = NO_INDEX,
					    .bind = STB_GLOBAL, .exported = true,
					    .type = e->func ? STT_FUNC : STT_OBJECT };
	}
	order_syms(ld, c);
	if (index_alloc(ld, c, c->nsyms))	/* every symbol of nano_core's is an export */
		return ldr_err(ld, LOADER_ENOMEM, "out of memory for exports");
	index_fill(c, c->nsyms);
	int err = core_check_dups(ld);
	if (!err)
		symbols_ns_reserve(ld, 0);
	return err;
}

static bool is_private_name(const struct loader *ld, const char *name)
{
	for (const char *const *p = ld->private_names; p && *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

static bool granted(const struct load *L, const char *grant)
{
	for (size_t i = 0; i < L->args->ngrants; i++)
		if (strcmp(L->args->grants[i], grant) == 0)
			return true;
	return false;
}

/*
 * The table of the object's global names that finds a name given twice:
 * each slot holds the name's hash above, symbol index + 1 below (0: empty),
 * so a probe reads one word and no symbol unless the hashes match.
 */
struct globals {
	uint64_t *slot;
	uint32_t mask;
	const char *dup; /* the smallest name given twice */
};

/* The table is in the load's scratch, zeroed (loader.c: scratch_alloc). */
static void globals_init(struct load *L, struct globals *g)
{
	g->slot = L->globals;
	g->mask = L->globals_slots - 1;
	g->dup = NULL;
}

/* Hashes global si's name for the look-ups and enters it in the table. */
static void globals_add(struct load *L, struct globals *g, uint32_t si)
{
	const char *name = load_sym_name_ok(L, si);
	uint32_t h = hash_name(name), i = h & g->mask;
	uint64_t *slot = g->slot;

	L->res[si].hash = h;
	for (; slot[i]; i = (i + 1) & g->mask)
		if (slot[i] >> 32 == h && strcmp(load_sym_name_ok(L, (uint32_t)slot[i] - 1), name) == 0)
			break;
	if (!slot[i])
		slot[i] = (uint64_t)h << 32 | (si + 1);
	else if (!g->dup || strcmp(name, g->dup) < 0)
		g->dup = name;
}

/* The global named `name` (hash h) in the table, or 0. */
static uint32_t globals_find(const struct load *L, const struct globals *g, const char *name,
			     uint32_t h)
{
	for (uint32_t i = h & g->mask; g->slot[i]; i = (i + 1) & g->mask) {
		uint32_t si = (uint32_t)g->slot[i] - 1;
		if (g->slot[i] >> 32 == h && strcmp(load_sym_name_ok(L, si), name) == 0)
			return si;
	}
	return 0;
}

/*
 * The namespace's owners of the object's global names, found from the
 * smaller side: when the published owners export fewer names than the
 * object has globals, each export probes the object's table of names, in
 * the owners' order (so a name's first owner is the one the walk would
 * find, and the only one: the namespace gives each name one), and the
 * match goes in res[].owner and .target (RES_EXTERN's fields, read only
 * for that kind once symbols_resolve is done); returns false, matching nothing, when
 * each global had better probe the namespace itself (find_skipping).
 */
static bool match_from_namespace(struct load *L, const struct globals *g)
{
	const struct loader *ld = L->ld;
	uint64_t exports = 0;

	for (const struct loader_cell *c = &ld->core; c; c = c->next)
		exports += c->published ? c->nexported : 0;
	if (exports >= L->nsyms - L->first_global)
		return false;
	for (struct loader_cell *c = (struct loader_cell *)&ld->core; c; c = c->next) {
		for (uint32_t k = 0; c->published && k < c->nexported; k++) {
			const struct lsym *s = &c->syms[c->by_name[k]];
			uint32_t si = globals_find(L, g, s->name, s->hash);
			if (si && !L->res[si].target) {
				L->res[si].owner = c;
				L->res[si].target = s;
			}
		}
	}
	return true;
}

/* The published owner of global i's name (symbols_resolve's look-up). */
static const struct lsym *ns_lookup(struct load *L, uint32_t i, struct loader_cell **owner)
{
	struct sym_res *r = &L->res[i];

	if (!L->ns_matched)
		return find_skipping(L->ld, load_sym_name_ok(L, i), r->hash, owner, NULL, 0);
	*owner = r->owner;
	return r->target;
}

static bool exportable(const struct load *L, uint32_t i)
{
	const Elf64_Sym *s = &L->syms[i];
	unsigned vis = ELF_SYM_VIS(s->st_other);

	if (ELF_SYM_BIND(s->st_info) == STB_LOCAL || !s->st_name)
		return false;
	if (vis == STV_HIDDEN || vis == STV_INTERNAL)
		return false;
	if (s->st_shndx != SHN_ABS && L->plan[s->st_shndx].comdat)
		return false;
	return !is_private_name(L->ld, load_sym_name_ok(L, i));
}

static void bind_extern(struct load *L, struct sym_res *r, struct loader_cell *owner,
			const struct lsym *target)
{
	L->nextern++;
	r->kind = RES_EXTERN;
	r->owner = owner;
	r->target = target;
}

/* A definition meets the namespace: export it, drop it, or refuse. */
static int resolve_export(struct load *L, uint32_t i)
{
	struct sym_res *r = &L->res[i];
	const char *name = load_sym_name_ok(L, i);
	bool weak = ELF_SYM_BIND(L->syms[i].st_info) == STB_WEAK;
	struct loader_cell *owner;
	const struct lsym *old;

	if (L->args->flags & LOADER_UNPUBLISHED || !(old = ns_lookup(L, i, &owner))) {
		r->exported = true;
		L->nexport++;
		return 0;
	}
	if (!weak && old->bind != STB_WEAK)
		return load_err(L, LOADER_EDUP, "duplicate symbol '%s' (defined in %s and %s)",
				name, owner->name, L->cell->name);
	if (!weak)
		return load_err(L, LOADER_EDUP,
				"'%s' is weak in %s; the loader does not let %s override it",
				name, owner->name, L->cell->name);
	if (!old->grant || granted(L, old->grant))
		bind_extern(L, r, owner, old);
	return 0;
}

static void undefined_add(struct lmsg *m, unsigned *n, const char *name)
{
	lmsg_printf(m, "%s'%s'", *n ? ", " : "", name);
	(*n)++;
}

/* An undefined symbol meets the namespace. */
static int resolve_undef(struct load *L, uint32_t i, struct lmsg *m, unsigned *n)
{
	const Elf64_Sym *s = &L->syms[i];
	const char *name = load_sym_name_ok(L, i);
	unsigned vis = ELF_SYM_VIS(s->st_other);
	struct loader_cell *owner;
	const struct lsym *t = NULL;

	if (vis != STV_HIDDEN && vis != STV_INTERNAL)
		t = ns_lookup(L, i, &owner);
	if (!t && ELF_SYM_BIND(s->st_info) == STB_WEAK)
		L->res[i].kind = RES_ZERO;
	else if (!t)
		undefined_add(m, n, name);
	else if (t->grant && !granted(L, t->grant))
		return load_err(L, LOADER_EGRANT,
				"symbol '%s' needs grant '%s', which %s was not given",
				name, t->grant, L->cell->name);
	else
		bind_extern(L, &L->res[i], owner, t);
	return 0;
}

static int resolve_one(struct load *L, uint32_t i, struct lmsg *m, unsigned *n)
{
	const Elf64_Sym *s = &L->syms[i];
	struct sym_res *r = &L->res[i];

	r->import = r->got = NO_INDEX;
	if (i == 0 || ELF_SYM_TYPE(s->st_info) == STT_FILE)
		return 0;
	if (s->st_shndx == SHN_UNDEF)
		return resolve_undef(L, i, m, n);
	if (s->st_shndx == SHN_ABS)
		r->kind = RES_ABS;
	else if (s->st_shndx == SHN_COMMON || L->plan[s->st_shndx].seg == SEG_NONE)
		r->kind = RES_DISCARDED;
	else
		r->kind = RES_DEFINED;
	r->here = r->kind != RES_DISCARDED && s->st_name &&
		  ELF_SYM_TYPE(s->st_info) != STT_SECTION;
	/* relocs_survey noted its uses: relocs_scan names a reference to a dropped section. */
	L->refs_discarded |= r->kind == RES_DISCARDED && (USE_FLAGS(L->use[i]) & K_REF);
	L->ndef += r->here;
	if (r->kind != RES_DISCARDED && exportable(L, i))
		return resolve_export(L, i);
	return 0;
}

/*
 * resolve_one for every symbol, with the common case in the loop: a symbol
 * defined in a placed section outside any COMDAT group that is local, or a
 * global of default or protected visibility whose name is not private and
 * that the namespace did not match (match_from_namespace) or that is not to
 * be published: it is defined here, and exported if global (resolve_one and
 * resolve_export come to the same for it). The loop keeps
 * the tables and counts in locals (its stores may alias them).
 */
static int resolve_all(struct load *L, struct lmsg *m, unsigned *nundef)
{
	const Elf64_Sym *syms = L->syms;
	struct sym_res *res = L->res;
	const struct sec_plan *plan = L->plan;
	uint32_t nsyms = L->nsyms, ndef = 0, nexport = 0;
	bool unpublished = L->args->flags & LOADER_UNPUBLISHED, matched = L->ns_matched;
	bool no_private = !L->ld->private_names || !L->ld->private_names[0];
	int err = 0;

	for (uint32_t i = 0; !err && i < nsyms; i++) {
		const Elf64_Sym *s = &syms[i];
		struct sym_res *r = &res[i];
		unsigned shndx = s->st_shndx, type = ELF_SYM_TYPE(s->st_info);
		unsigned vis = ELF_SYM_VIS(s->st_other);
		if (i && shndx - 1u < SHN_LORESERVE - 1u && plan[shndx].seg != SEG_NONE &&
		    type != STT_FILE) {
			bool local = ELF_SYM_BIND(s->st_info) == STB_LOCAL || !s->st_name;
			bool export = !local && vis != STV_HIDDEN && vis != STV_INTERNAL &&
				      !plan[shndx].comdat;
			if (local || (export && (unpublished || (matched && !r->target)) &&
				      (no_private || !is_private_name(L->ld, load_sym_name_ok(L, i))))) {
				r->import = r->got = NO_INDEX;
				r->kind = RES_DEFINED;
				r->here = s->st_name && type != STT_SECTION;
				r->exported = !local;
				ndef += r->here;
				nexport += !local;
				continue;
			}
		}
		L->ndef = ndef;
		L->nexport = nexport;
		err = resolve_one(L, i, m, nundef);
		ndef = L->ndef;
		nexport = L->nexport;
	}
	L->ndef = ndef;
	L->nexport = nexport;
	return err;
}

/* The index in args->guards of the guard on export `name`, or -1. */
static long guard_index(const struct load *L, const char *name)
{
	for (size_t g = 0; g < L->args->nguards; g++)
		if (strcmp(L->args->guards[g].symbol, name) == 0)
			return (long)g;
	return -1;
}

/* Every guard must name a symbol this object exports, and a grant. */
static int check_guards(struct load *L)
{
	for (size_t g = 0; g < L->args->nguards; g++) {
		const struct loader_guard *gd = &L->args->guards[g];
		bool found = false;
		if (!gd->symbol || !gd->symbol[0] || !gd->grant || !gd->grant[0])
			return load_err(L, LOADER_EINVAL, "guard %zu has no symbol or no grant", g);
		for (uint32_t i = L->first_global; !found && i < L->nsyms; i++)
			found = L->res[i].exported && strcmp(load_sym_name_ok(L, i), gd->symbol) == 0;
		if (!found)
			return load_err(L, LOADER_ENOENT,
					"guard '%s' (grant '%s') names no symbol that %s exports",
					gd->symbol, gd->grant, L->cell->name);
	}
	return 0;
}

/*
 * Resolves every symbol of the object, counting those it defines (L->ndef),
 * once each global is in the table of names: a name given twice is refused
 * before any other finding (naming the smallest such name). Changes nothing
 * in the namespace.
 */
int symbols_resolve(struct load *L)
{
	char buf[LOADER_ERR_MAX - 64];
	struct lmsg m;
	unsigned nundef = 0;
	struct globals g;
	int err = 0;

	globals_init(L, &g);
	lmsg_init(&m, buf, sizeof(buf));
	L->ndef = L->nextern = L->nexport = 0;
	for (uint32_t i = L->first_global; i < L->nsyms; i++)
		globals_add(L, &g, i);
	if (g.dup)
		return load_sec_err(L, LOADER_EBADELF, L->symtab, "symbol '%s' appears twice", g.dup);
	L->ns_matched = match_from_namespace(L, &g);
	err = resolve_all(L, &m, &nundef);
	if (!err && nundef)
		err = load_err(L, LOADER_EUNDEF, "undefined symbol%s %s",
			       nundef > 1 ? "s" : "", buf);
	return err ? err : check_guards(L);
}

/* The address of a symbol this object defines (ABS or placed). */
uint64_t symbols_value(const struct load *L, uint32_t i)
{
	const Elf64_Sym *s = &L->syms[i];

	if (s->st_shndx == SHN_ABS)
		return s->st_value;
	return layout_sec_addr(L, s->st_shndx) + s->st_value;
}

bool symbols_defined_here(const struct load *L, uint32_t i)
{
	const Elf64_Sym *s = &L->syms[i];
	unsigned type = ELF_SYM_TYPE(s->st_info);

	if (!s->st_name || type == STT_SECTION || type == STT_FILE)
		return false;
	if (s->st_shndx == SHN_ABS)
		return true;
	return s->st_shndx != SHN_UNDEF && s->st_shndx < SHN_LORESERVE &&
	       L->plan[s->st_shndx].seg != SEG_NONE;
}

/* Copies the guards' grants into c->guards, one NUL-terminated string each,
 * in guard order. */
static int copy_guards(struct load *L)
{
	const struct loader_load_args *a = L->args;
	size_t n = 0;

	for (size_t g = 0; g < a->nguards; g++)
		n += strlen(a->guards[g].grant) + 1;
	if (!n)
		return 0;
	L->cell->guards = ldr_alloc(L->ld, n);
	if (!L->cell->guards)
		return LOADER_ENOMEM;
	n = 0;
	for (size_t g = 0; g < a->nguards; g++) {
		size_t len = strlen(a->guards[g].grant) + 1;
		memcpy(L->cell->guards + n, a->guards[g].grant, len);
		n += len;
	}
	return 0;
}

/* The copy of the grant that guards export i, or NULL. */
static const char *guard_grant(const struct load *L, uint32_t i)
{
	long g = L->res[i].exported ? guard_index(L, load_sym_name_ok(L, i)) : -1;
	const char *p = L->cell->guards;

	for (long k = 0; p && k < g; k++)
		p += strlen(p) + 1;
	return g < 0 ? NULL : p;
}

/* The record of object symbol s (resolved as r) at addr in placed section
 * sec, without a grant. */
static inline void record(struct lsym *out, const char *strtab, const Elf64_Sym *s,
			  const struct sym_res *r, uint64_t addr, uint32_t sec)
{
	*out = (struct lsym){
		.name = strtab + s->st_name, .addr = addr, .size = s->st_size,
		.bind = ELF_SYM_BIND(s->st_info), .type = ELF_SYM_TYPE(s->st_info),
		.exported = r->exported,
		.hash = r->hash, /* symbols_resolve hashed the globals, all it exports */
		.sec = sec,
	};
}

static void define_one(struct load *L, uint32_t i, struct lsym *out)
{
	const Elf64_Sym *s = &L->syms[i];

	record(out, L->cell->strtab, s, &L->res[i], symbols_value(L, i),
	       s->st_shndx == SHN_ABS ? NO_INDEX : L->plan[s->st_shndx].placed);
	out->grant = guard_grant(L, i);
}

/*
 * symbols_define for a prelinked object: its record's order of the n
 * symbols, each in a placed section (prelink_check checked both), written
 * in that order, each export indexed as it is written. define_one's work,
 * with what every symbol shares kept in locals (the stores of the records
 * may alias anything the compiler would otherwise read again).
 */
static void define_ordered(struct load *L, uint32_t n)
{
	struct loader_cell *c = L->cell;
	const uint32_t *order = L->pl_order;
	const Elf64_Sym *syms = L->syms;
	const struct sym_res *res = L->res;
	const struct sec_plan *plan = L->plan;
	const struct placed *secs = c->secs;
	const char *strtab = c->strtab;
	struct lsym *out = c->syms;
	/* The index's arrays and count (index_add's work, without a store and
	 * load of the count per export). */
	uint32_t *by_name = c->by_name, *slot = c->slot, *hash = c->hash, mask = c->hmask;
	uint32_t nexported = c->nexported;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = order[k], placed = plan[syms[i].st_shndx].placed;
		const Elf64_Sym *s = &syms[i];
		const struct sym_res *r = &res[i];
		record(out, strtab, s, r, secs[placed].addr + s->st_value, placed);
		if (r->exported) {
			by_name[nexported++] = k;
			table_put(slot, hash, mask, k, r->hash);
		}
		out++;
	}
	c->nsyms = n;
	c->nexported = nexported;
	/* Guards are rare: their grants in a pass of their own. */
	for (uint32_t k = 0; L->args->nguards && k < n; k++)
		c->syms[k].grant = guard_grant(L, order[k]);
}

#define KEY_IDX_BITS 24 /* LOADER_MAX_SYMS */

/*
 * The common case of symbols_define, in one pass over the records: every
 * symbol lies in the mapping (none is SHN_ABS) at its own address. Each is
 * keyed by (offset in the mapping << 24 | symbol index), the keys sorted by
 * radix (the offset's bits only) and the records written once,
 * in address order. Returns false, writing nothing, when the case does not
 * hold (symbols_define then sorts the records as they come).
 */
static bool define_sorted(struct load *L, uint32_t n)
{
	struct loader_cell *c = L->cell;
	/* Below 64 symbols, sorting as they come costs less than the keys. */
	uint64_t *k = n >= 64 ? ldr_alloc_raw(L->ld, (size_t)n * 2 * sizeof(*k)) : NULL, *tmp;
	uint64_t span = 0;

	if (!k)
		return false;
	tmp = k + n;
	for (uint32_t i = 1, m = 0; i < L->nsyms; i++) {
		if (!L->res[i].here)
			continue;
		if (L->syms[i].st_shndx == SHN_ABS) {
			ldr_free(L->ld, k);
			return false;
		}
		/* Placed: below base + LOADER_MAX_CELL_BYTES * SEG_COUNT, far below 2^40. */
		k[m] = (symbols_value(L, i) - c->base) << KEY_IDX_BITS | i;
		span |= k[m++];
	}
	/* Digits of 11 bits, or 8 for few symbols, whose buckets cost more than they sort. */
	unsigned bits = n < 1024 ? 8 : 11, digits = 1u << bits;
	for (unsigned shift = KEY_IDX_BITS; shift < 64 && span >> shift; shift += bits) {
		uint32_t start[2049];
		memset(start, 0, (digits + 1) * sizeof(uint32_t));
		for (uint32_t i = 0; i < n; i++)
			start[(k[i] >> shift & (digits - 1)) + 1]++;
		for (unsigned d = 0; d < digits; d++)
			start[d + 1] += start[d];
		for (uint32_t i = 0; i < n; i++)
			tmp[start[k[i] >> shift & (digits - 1)]++] = k[i];
		uint64_t *t = k;
		k = tmp;
		tmp = t;
	}
	for (uint32_t i = 1; i < n; i++)
		if (k[i - 1] >> KEY_IDX_BITS == k[i] >> KEY_IDX_BITS) { /* two at one address */
			ldr_free(L->ld, k < tmp ? k : tmp);
			return false;
		}
	for (uint32_t i = 0; i < n; i++) {
		define_one(L, (uint32_t)(k[i] & ((1u << KEY_IDX_BITS) - 1)), &c->syms[i]);
		if (c->syms[i].exported)
			index_add(c, i);
	}
	c->nsyms = n;
	ldr_free(L->ld, k < tmp ? k : tmp);
	return true;
}

/* Builds the new cell's symbol table once its sections have addresses. */
int symbols_define(struct load *L)
{
	struct loader_cell *c = L->cell;
	uint32_t n = L->ndef; /* symbols_resolve counted them; prelink_check, the order's */

	c->syms = ldr_alloc_raw(L->ld, (size_t)n * sizeof(*c->syms));
	if (!c->syms || copy_guards(L))
		return load_err(L, LOADER_ENOMEM, "out of memory for symbols");
	/* In address order: the record's order (prelink_check checked it) or
	 * define_sorted's, each export indexed as it is written; else as they
	 * come, then sorted, then indexed. */
	if (index_alloc(L->ld, c, L->nexport))
		return load_err(L, LOADER_ENOMEM, "out of memory for symbols");
	if (L->pl_nsorted)
		define_ordered(L, n);
	else if (!define_sorted(L, n)) {
		for (uint32_t i = 1; i < L->nsyms; i++)
			if (L->res[i].here)
				define_one(L, i, &c->syms[c->nsyms++]);
		order_syms(L->ld, c);
		index_fill(c, L->nexport);
	}
	/* Before the cell enters the namespace, which then allocates nothing. */
	symbols_ns_reserve(L->ld, c->nexported);
	return 0;
}

/* Checks that an unpublished cell's exports may enter the namespace once
 * the cells in gone[] have left it. */
int symbols_publish_check(struct loader *ld, struct loader_cell *c,
			  struct loader_cell *const *gone, size_t ngone)
{
	symbols_sort_by_name(c);
	for (uint32_t i = 0; i < c->nexported; i++) {
		const struct lsym *s = &c->syms[c->by_name[i]];
		struct loader_cell *owner;
		const struct lsym *old = NULL;
		size_t g = 0;

		/*
		 * A name a leaving cell exports has no other owner (the namespace
		 * gives each name one: publishing refuses a taken strong name and
		 * drops a taken weak one), so it is free once that cell is gone:
		 * one probe of its table instead of a walk over every cell's.
		 */
		while (g < ngone && !(gone[g]->published && find_hashed(gone[g], s->name, s->hash)))
			g++;
		if (g == ngone)
			old = find_skipping(ld, s->name, s->hash, &owner, gone, ngone);
		if (!old || s->bind == STB_WEAK)
			continue;
		if (old->bind != STB_WEAK)
			return ldr_err(ld, LOADER_EDUP,
				       "%s: duplicate symbol '%s' (defined in %s and %s)",
				       c->name, s->name, owner->name, c->name);
		return ldr_err(ld, LOADER_EDUP,
			       "%s: '%s' is weak in %s; the loader does not let %s override it",
			       c->name, s->name, owner->name, c->name);
	}
	return 0;
}

/*
 * Publishes a checked cell: its weak exports whose names are taken drop out.
 * A strong export's name is free (symbols_publish_check), so only the weak
 * ones are looked up.
 */
void symbols_publish(struct loader *ld, struct loader_cell *c)
{
	uint32_t n = 0;

	symbols_sort_by_name(c);
	for (uint32_t i = 0; i < c->nexported; i++) {
		struct lsym *s = &c->syms[c->by_name[i]];
		if (s->bind == STB_WEAK && symbols_find(ld, s->name, NULL))
			s->exported = false;
		else
			c->by_name[n++] = c->by_name[i];
	}
	c->nexported = n;
	hash_build(c);
	c->published = true;
	symbols_ns_add(ld, c);
}
