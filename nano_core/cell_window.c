/*
 * The cell window: the address range cells are mapped in, handed out and
 * taken back through a range allocator (vrange.c) so that it is reused.
 * Owned by nano_core and reached through the loader's env, whose callers
 * run with interrupts off; nothing here takes a lock.
 */
#include "nano_core/boot.h"
#include <delos/cells.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/string.h>
#include "nano_core/vrange.h"
#include "nano_core/physmap.h"

/* Cell mappings live at once, at most: each loaded cell has one, a swap adds its new ones. */
#define CELL_RANGES_MAX 512

static struct vrange window;
static struct vrange_span window_spans[CELL_RANGES_MAX + 1];

/* Parses a decimal count of bytes with an optional K or M suffix (KiB, MiB). */
static bool parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = *p == 'K' ? 10 : *p == 'M' ? 20 : 0;
	if (p == s || (shift && *++p) || *p || v > UINT64_MAX >> shift)
		return false;
	*out = v << shift;
	return true;
}

/*
 * The cell window is CELL_WINDOW_SIZE bytes from CELL_BASE, or fewer when the
 * command line says cell_window=BYTES (a test can then fill it quickly).
 */
void cell_window_init(void)
{
	char arg[32];
	uint64_t size = 0;

	if (cmdline_get("cell_window", arg, sizeof(arg)) &&
	    (strlen(arg) == sizeof(arg) - 1 || !parse_size(arg, &size) || size > CELL_WINDOW_SIZE ||
	     vrange_init(&window, CELL_BASE, size, PAGE_SIZE, PAGE_SIZE, window_spans,
			 ARRAY_SIZE(window_spans)))) {
		klog(LOG_ERR, "cells: cell_window=%s ignored: want whole 4 KiB pages, at least 3 and "
		     "at most %lu KiB, as BYTES, BYTESK or BYTESM", arg, (uint64_t)CELL_WINDOW_SIZE >> 10);
		size = 0;
	}
	if (!size) {
		size = CELL_WINDOW_SIZE;
		if (vrange_init(&window, CELL_BASE, size, PAGE_SIZE, PAGE_SIZE, window_spans,
				ARRAY_SIZE(window_spans)))
			panic("cells: CELL_WINDOW_SIZE 0x%lx is no window", size);
	}
	klog(LOG_INFO, "cells: cell window %016lx-%016lx (%lu KiB)", (uint64_t)CELL_BASE,
	     (uint64_t)CELL_BASE + size, size >> 10);
}

void cell_window_stats(struct vrange_stats *s)
{
	vrange_stats(&window, s);
}

/*
 * Each mapping gets a range of the cell window with an unmapped guard page on
 * either side, and fresh frames, not zeroed: the loader writes every byte of
 * a mapping (section contents, int3 and zero padding) before anything reads
 * it (struct loader_env's map).
 */
void *cell_window_map(uint64_t size, uint64_t *addr)
{
	uint64_t va;
	struct vrange_stats st;
	int err = vrange_alloc(&window, size, &va);

	if (err) {
		vrange_stats(&window, &st);
		kprintf("cells: cell window: no room for 0x%lx bytes: %s (0x%lx bytes free in %zu "
			"spans, largest 0x%lx; %zu ranges live)\n", size, vrange_strerror(err),
			st.free_bytes, st.free_spans, st.largest_free, st.live);
		return NULL;
	}
	if (!mm_map_unzeroed(va, size)) {
		vrange_free(&window, va, size);
		return NULL;
	}
	*addr = va;
	return (void *)va;
}

/*
 * The range goes back to the window only once its pages are unmapped, so a
 * stale pointer into an unloaded cell faults until the range is reused.
 */
void cell_window_unmap(uint64_t va, uint64_t size)
{
	int err;

	if (!physmap_unmap_free(va, size)) {
		klog(LOG_ERR, "cells: %016lx+%lx is left out of the cell window for good", va, size);
		return;
	}
	if ((err = vrange_free(&window, va, size)))
		klog(LOG_ERR, "cells: cell window: cannot free %016lx+%lx: %s", va, size,
		     vrange_strerror(err));
}
