/*
 * Virtual range allocator: hands out page-aligned ranges of one address
 * window (nano_core's cell window) and takes them back for reuse, so that
 * loads, unloads and swaps repeated forever never use the window up.
 *
 * Every range carries its own unmapped guard in front of it, and the
 * window's last `guard` bytes are never handed out, so each mapping has
 * unmapped memory on either side whatever its neighbours are.
 *
 * The free space is a list of spans sorted by address, with neighbours always
 * merged, searched first fit from the lowest address. The caller provides the
 * list's storage (nslots spans) and nothing here allocates. Because merged
 * free spans are separated by at least one live range, there are never more
 * free spans than live ranges plus one; vrange_alloc therefore refuses a
 * range beyond nslots - 1 live ones, and vrange_free never runs out of room.
 * Nothing here maps or unmaps memory, nor takes a lock: callers serialize.
 */
#ifndef DELOS_VRANGE_H
#define DELOS_VRANGE_H

#include <stddef.h>
#include <stdint.h>
#include <delos/mm.h>

enum vrange_error {
	VRANGE_OK = 0,
	VRANGE_E_ARG = -1,      /* size zero, unaligned, or larger than the window */
	VRANGE_E_NO_SPACE = -2, /* no free span holds the range and its guard */
	VRANGE_E_TOO_MANY = -3, /* nslots - 1 ranges are live: no room to track more */
	VRANGE_E_NOT_LIVE = -4  /* freed range is outside the window or (partly) free already */
};

/* A half-open span [start, start + size). */
struct vrange_span {
	uint64_t start, size;
};

struct vrange {
	uint64_t base, end;		/* ranges come from [base, end); end excludes the top guard */
	uint64_t page, guard;
	struct vrange_span *free;	/* nfree spans sorted by start, none adjacent */
	size_t nfree, nslots;
	size_t live;			/* ranges handed out and not freed */
	uint64_t live_bytes;		/* their bytes, guards included */
};


/*
 * Sets up an allocator over [base, base + size). page must be a power of
 * two; base, size and guard multiples of it; guard nonzero; size at least
 * 2 * guard + page; nslots at least 2. Returns VRANGE_E_ARG otherwise.
 */
int vrange_init(struct vrange *v, uint64_t base, uint64_t size, uint64_t page, uint64_t guard,
		struct vrange_span *slots, size_t nslots);

/*
 * Finds room for `bytes` (a nonzero multiple of page) after a guard, first
 * fit, and sets *addr to where the range starts; the guard is below *addr.
 * On error *addr is untouched and nothing changes.
 */
int vrange_alloc(struct vrange *v, uint64_t bytes, uint64_t *addr);

/*
 * Gives back a range from vrange_alloc (addr and bytes as given then), guard
 * included, merging it with free neighbours. A range that is not live is
 * refused with VRANGE_E_NOT_LIVE and changes nothing.
 */
int vrange_free(struct vrange *v, uint64_t addr, uint64_t bytes);

void vrange_stats(const struct vrange *v, struct vrange_stats *s);

const char *vrange_strerror(int err);

#endif
