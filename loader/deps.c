/*
 * Dependency records. Each cell owns its imports (one per symbol it takes
 * from another owner) and their sites (each place patched for one). Every
 * import is also linked into its owner's `users` list, so both directions
 * can be walked and a swap can find and rewrite every reference to a cell.
 */
#include "loader/internal.h"

/*
 * An import's place in the order: its owner's load order, then its name,
 * whose first eight bytes (big-endian, zero past the NUL) compare as one
 * integer; only names that share them are compared as strings.
 */
struct import_key {
	uint64_t owner, prefix;
	const char *name;
	uint32_t sym;	/* the symbol's index in the object */
};

static uint64_t name_prefix(const char *name)
{
	uint64_t v = 0;
	int i = 0;

	for (; i < 8 && name[i]; i++)
		v = v << 8 | (unsigned char)name[i];
	return i ? v << (8 * (8 - i)) : 0;
}

static inline bool key_before(const struct import_key *x, const struct import_key *y)
{
	if (x->owner != y->owner)
		return x->owner < y->owner;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix;
	return strcmp(x->name, y->name) < 0;
}

/*
 * Bottom-up merge sort of the positions in idx[0..n) by their keys, with
 * tmp[0..n) (the comparison inline: a call per comparison cost more than
 * the comparison). Returns the array that holds the result.
 */
static uint32_t *keys_sort(const struct import_key *k, uint32_t *idx, uint32_t *tmp, uint32_t n)
{
	for (uint32_t w = 1; w < n; w *= 2) {
		for (uint32_t lo = 0; lo < n; lo += 2 * w) {
			uint32_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			uint32_t a = lo, b = mid, o = lo;
			while (a < mid && b < hi)
				tmp[o++] = key_before(&k[idx[b]], &k[idx[a]]) ? idx[b++] : idx[a++];
			while (a < mid)
				tmp[o++] = idx[a++];
			while (b < hi)
				tmp[o++] = idx[b++];
		}
		uint32_t *t = idx;
		idx = tmp;
		tmp = t;
	}
	return idx;
}

/* Fills the cell's imports from the keys, in the order of idx. */
static void imports_fill(struct load *L, const struct import_key *key, const uint32_t *idx,
			 uint32_t n)
{
	struct loader_cell *c = L->cell;

	for (uint32_t k = 0; k < n; k++) {
		struct sym_res *r = &L->res[key[idx[k]].sym];
		r->import = k;
		/* Its sites: every address-dependent relocation of it that
		 * relocs_survey counted (relocs_scan adds those of its GOT slot). */
		c->imports[k] = (struct loader_import){
			.user = c, .owner = r->owner, .target = r->target,
			.nsites = (uint32_t)USE_COUNT(L->use[key[idx[k]].sym]),
		};
	}
	c->nimports = n;
}

/* Creates one import per externally resolved symbol, sorted by owner, then name. */
int imports_build(struct load *L)
{
	struct import_key *key;
	uint32_t n = L->nextern, *idx;

	if (!n)
		return 0;
	key = ldr_alloc_raw(L->ld, (size_t)n * (sizeof(*key) + 2 * sizeof(uint32_t)));
	L->cell->imports = ldr_alloc(L->ld, (size_t)n * sizeof(struct loader_import));
	if (!key || !L->cell->imports) {
		ldr_free(L->ld, key);
		return load_err(L, LOADER_ENOMEM, "out of memory for imports");
	}
	idx = (uint32_t *)(key + n);
	/* Only globals resolve to another owner (a local is never undefined). */
	for (uint32_t i = L->first_global, k = 0; k < n; i++) {
		const struct sym_res *r = &L->res[i];
		if (r->kind != RES_EXTERN)
			continue;
		key[k] = (struct import_key){ r->owner->id, name_prefix(r->target->name),
					      r->target->name, i };
		idx[k] = k;
		k++;
	}
	/* Each import names another global of the object: no two compare equal,
	 * so the sort gives the one order. */
	imports_fill(L, key, keys_sort(key, idx, idx + n, n), n);
	ldr_free(L->ld, key);
	return 0;
}

/* Sizes every import's site array once imports_build and relocs_scan have counted them. */
int sites_alloc(struct load *L)
{
	struct loader_cell *c = L->cell;
	uint32_t total = 0;

	for (uint32_t k = 0; k < c->nimports; k++)
		total += c->imports[k].nsites;
	if (!total)
		return 0;
	/* Not zeroed: relocs_apply records every site counted here. */
	c->sites = ldr_alloc_raw(L->ld, (size_t)total * sizeof(struct loader_site));
	if (!c->sites)
		return load_err(L, LOADER_ENOMEM, "out of memory for dependencies");
	c->nsites = total;
	for (uint32_t k = 0, off = 0; k < c->nimports; k++) {
		c->imports[k].sites = c->sites + off;
		off += c->imports[k].nsites;
		c->imports[k].nsites = 0;
	}
	return 0;
}

void site_record(struct load *L, uint32_t import, uint64_t place,
		 uint32_t type, int64_t addend, uint32_t placed)
{
	struct loader_import *im = &L->cell->imports[import];

	im->sites[im->nsites++] = (struct loader_site){
		.place = place, .addend = addend, .type = type, .section = placed,
	};
}

static void user_link(struct loader_import *im, struct loader_cell *owner)
{
	im->owner = owner;
	im->next_user = owner->users;
	if (owner->users)
		owner->users->pprev_user = &im->next_user;
	owner->users = im;
	im->pprev_user = &owner->users;
}

static void user_unlink(struct loader_import *im)
{
	if (!im->pprev_user)
		return;
	*im->pprev_user = im->next_user;
	if (im->next_user)
		im->next_user->pprev_user = im->pprev_user;
	im->next_user = NULL;
	im->pprev_user = NULL;
}

void imports_link(struct loader_cell *c)
{
	for (uint32_t k = 0; k < c->nimports; k++)
		user_link(&c->imports[k], c->imports[k].owner);
}

void imports_unlink(struct loader_cell *c)
{
	for (uint32_t k = 0; k < c->nimports; k++)
		user_unlink(&c->imports[k]);
}

struct loader_import *loader_uses_next(const struct loader_cell *user,
				       const struct loader_import *prev)
{
	size_t next = prev ? (size_t)(prev - user->imports) + 1 : 0;

	return next < user->nimports ? &user->imports[next] : NULL;
}

struct loader_import *loader_users_next(const struct loader_cell *owner,
					const struct loader_import *prev)
{
	return prev ? prev->next_user : owner->users;
}

void loader_import_info(const struct loader_import *im, struct loader_import_info *out)
{
	*out = (struct loader_import_info){
		.user = im->user, .owner = im->owner, .symbol = im->target->name,
		.addr = im->target->addr, .nsites = im->nsites,
	};
}

const struct loader_site *loader_import_site(const struct loader_import *im, size_t i)
{
	return i < im->nsites ? &im->sites[i] : NULL;
}

const char *loader_site_section(const struct loader_import *im,
				const struct loader_site *s)
{
	return im->user->secs[s->section].name;
}

int loader_reloc_check(struct loader *ld, const struct loader_import *im,
		       size_t site, uint64_t new_addr)
{
	unsigned char buf[8];
	unsigned width;

	if (!im || site >= im->nsites)
		return ldr_err(ld, LOADER_EINVAL, "no such relocation site");
	return reloc_site_value(ld, im, &im->sites[site], new_addr, buf, &width);
}

int loader_reloc_apply(struct loader *ld, const struct loader_import *im,
		       size_t site, uint64_t new_addr)
{
	unsigned char buf[8];
	unsigned width;
	const struct loader_site *s;

	if (!im || site >= im->nsites)
		return ldr_err(ld, LOADER_EINVAL, "no such relocation site");
	s = &im->sites[site];
	int err = reloc_site_value(ld, im, s, new_addr, buf, &width);
	if (err)
		return err;
	if (!ld->env.poke ||
	    ld->env.poke(ld->env.ctx, (char *)im->user->mem + (s->place - im->user->base),
			 buf, width))
		return ldr_err(ld, LOADER_EPOKE, "%s: cannot patch 0x%lx",
			       im->user->path, (unsigned long)s->place);
	return 0;
}

/* Rewrites sites [0, n) back to the import's current target. */
static void sites_restore(struct loader *ld, const struct loader_import *im, size_t n)
{
	while (n--)
		loader_reloc_apply(ld, im, n, im->target->addr);
}

int loader_import_retarget(struct loader *ld, struct loader_import *im,
			   struct loader_cell *new_owner)
{
	const struct lsym *t = symbols_find_in(new_owner, im->target->name);
	size_t i;

	if (!t)
		return ldr_err(ld, LOADER_ENOENT, "%s does not export '%s'",
			       new_owner->name, im->target->name);
	if (new_owner == im->user)
		return ldr_err(ld, LOADER_EINVAL, "%s cannot import from itself",
			       im->user->name);
	for (i = 0; i < im->nsites; i++) {
		int err = loader_reloc_check(ld, im, i, t->addr);
		if (err)
			return err;
	}
	for (i = 0; i < im->nsites; i++) {
		int err = loader_reloc_apply(ld, im, i, t->addr);
		if (err) {
			sites_restore(ld, im, i);
			return err;
		}
	}
	import_moved(ld, im, new_owner, t);
	return 0;
}

void import_moved(struct loader *ld, struct loader_import *im, struct loader_cell *to,
		  const struct lsym *t)
{
	user_unlink(im);
	user_link(im, to);
	im->target = t;
	ld->link_changes++;
}

uint64_t loader_link_changes(const struct loader *ld)
{
	return ld->link_changes;
}
