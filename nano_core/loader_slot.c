/*
 * nano_core's loader slot (docs/loader-cell.md): the table of the loader
 * that runs (include/delos/loader_cell.h), and each loader_* function of
 * nano_core as one call through it. Every caller holds a struct loader or a
 * cell of one, so none runs before the slot is set. The placer maps the
 * boot image the build linked, whose loader loads the loader cell.
 */
#include <delos/kernel.h>
#include <delos/loader_cell.h>
#include <delos/log.h>
#include <delos/string.h>
#include "nano_core/loader_slot.h"

static const struct loader_cell_ops *slot;
extern char __loader_slot_text_start[], __loader_slot_text_end[];
static struct {
	void *mem;
	uint64_t bytes;
} placed;	/* the boot image while it is mapped */

/*
 * The calls through the slot lie between __loader_slot_text_start and
 * __loader_slot_text_end (nano_core.ld): a task stopped there may have read
 * the slot but not yet jumped, so a swap of the loader counts them as the
 * old loader's code (quiesce.c).
 */
#define SLOT_TEXT __attribute__((section(".text.loader_slot")))
#define CALL(ret, name, params, args) SLOT_TEXT ret name params { return slot->name args; }
#define VOID_CALL(name, params, args) SLOT_TEXT void name params { slot->name args; }
LOADER_CELL_CALLS(CALL)
LOADER_CELL_VOID_CALLS(VOID_CALL)

#define INSIDE(ret, name, params, args) \
	ok = ok && (uint64_t)ops->name >= lo && (uint64_t)ops->name < hi;
#define VOID_INSIDE(name, params, args) INSIDE(void, name, params, args)

/* Whether the table at addr, with every entry it holds, lies in [lo, hi) and is of this version. */
static int table_check(uint64_t addr, uint64_t lo, uint64_t hi)
{
	const struct loader_cell_ops *ops = (const struct loader_cell_ops *)addr;
	bool ok = true;

	if (addr < lo || addr >= hi || hi - addr < sizeof(*ops)) {
		klog(LOG_ERR, "loader: its table %016lx is not inside its mapping %016lx-%016lx",
		     addr, lo, hi);
		return -1;
	}
	if (ops->version != LOADER_CELL_OPS_VERSION || ops->size != sizeof(*ops)) {
		klog(LOG_ERR, "loader: its table is version %u of %u bytes; this nano_core calls "
		     "version %u of %zu bytes", ops->version, ops->size, LOADER_CELL_OPS_VERSION,
		     sizeof(*ops));
		return -1;
	}
	LOADER_CELL_CALLS(INSIDE)
	LOADER_CELL_VOID_CALLS(VOID_INSIDE)
	if (!ok) {
		klog(LOG_ERR, "loader: an entry of its table is outside its mapping");
		return -1;
	}
	return 0;
}

int loader_slot_set(uint64_t addr, uint64_t lo, uint64_t hi)
{
	if (table_check(addr, lo, hi))
		return -1;
	slot = (const struct loader_cell_ops *)addr;
	return 0;
}

/* The table the swap being made moves the slot to, and its pair; set at its check step. */
static struct {
	uint64_t table;
	size_t pair;
} moving;

int loader_slot_swap_check(const struct swap_pair *pairs, size_t n, char *why, size_t cap)
{
	struct loader_cell_info oi, ni;
	struct loader_sym s;

	moving.table = 0;
	for (size_t i = 0; i < n; i++) {
		loader_cell_info(pairs[i].old, &oi);
		if (!loader_slot_in(oi.start, oi.end))
			continue;
		loader_cell_info(pairs[i].new, &ni);
		if (!loader_cell_sym_find(pairs[i].new, LOADER_CELL_OPS_SYMBOL, &s) || !s.exported ||
		    table_check(s.addr, ni.start, ni.end)) {
			snprintf(why, cap, "%s@%s is the loader, and %s@%s has no loader table this "
				 "nano_core can call (%s)", oi.name, oi.version, ni.name, ni.version,
				 LOADER_CELL_OPS_SYMBOL);
			return -1;
		}
		moving.table = s.addr;
		moving.pair = i;
	}
	return 0;
}

bool loader_slot_moving(size_t *pair, uint64_t *lo, uint64_t *hi)
{
	*pair = moving.pair;
	*lo = (uint64_t)__loader_slot_text_start;
	*hi = (uint64_t)__loader_slot_text_end;
	return moving.table != 0;
}

void loader_slot_swap_commit(void)
{
	if (moving.table)
		slot = (const struct loader_cell_ops *)moving.table;
	moving.table = 0;
}

bool loader_slot_in(uint64_t lo, uint64_t hi)
{
	return slot && (uint64_t)slot >= lo && (uint64_t)slot < hi;
}

/* The ranges are whole pages, in order, none writable and executable, covering the mapping. */
static bool ranges_ok(const struct placed_header *h)
{
	uint64_t end = 0;

	if (!h->nranges || h->nranges > PLACED_RANGES_MAX)
		return false;
	for (uint32_t i = 0; i < h->nranges; i++) {
		const struct placed_range *r = &h->range[i];
		if (r->off != end || !r->bytes || r->bytes % PAGE_SIZE ||
		    ((r->perm & LOADER_PERM_W) && (r->perm & LOADER_PERM_X)))
			return false;
		end += r->bytes;
	}
	return end == h->bytes;
}

int loader_slot_place(const void *img, size_t len, const struct loader_env *env)
{
	const struct placed_header *h = img;
	uint64_t addr;
	unsigned char *mem;

	if (len < sizeof(*h) || memcmp(h->magic, PLACED_MAGIC, sizeof(h->magic))) {
		klog(LOG_ERR, "loader: the boot image is not a placed image");
		return -1;
	}
	if (!h->bytes || h->bytes % PAGE_SIZE || h->bytes > len - sizeof(*h) || !ranges_ok(h)) {
		klog(LOG_ERR, "loader: the boot image's size (0x%lx of 0x%zx bytes) or ranges are "
		     "wrong", h->bytes, len - sizeof(*h));
		return -1;
	}
	if (!(mem = env->map(env->ctx, h->bytes, &addr)))
		return -1;
	if (addr != h->base) {
		klog(LOG_ERR, "loader: the boot image was linked for %016lx; the cell window gave "
		     "%016lx", h->base, addr);
		env->unmap(env->ctx, mem, h->bytes);
		return -1;
	}
	memcpy(mem, h + 1, h->bytes);
	for (uint32_t i = 0; i < h->nranges; i++)
		if (env->protect(env->ctx, mem + h->range[i].off, h->range[i].bytes,
				 (int)h->range[i].perm)) {
			klog(LOG_ERR, "loader: cannot protect the boot image");
			env->unmap(env->ctx, mem, h->bytes);
			return -1;
		}
	if (loader_slot_set(h->ops, addr, addr + h->bytes)) {
		env->unmap(env->ctx, mem, h->bytes);
		return -1;
	}
	placed.mem = mem;
	placed.bytes = h->bytes;
	return 0;
}

void loader_slot_unplace(const struct loader_env *env)
{
	if (!placed.mem || loader_slot_in((uint64_t)placed.mem, (uint64_t)placed.mem + placed.bytes))
		return;
	env->unmap(env->ctx, placed.mem, placed.bytes);
	placed.mem = NULL;
}
