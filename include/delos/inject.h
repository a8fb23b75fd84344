/*
 * What a fault injector may do (grant `inject`): patch a loaded cell's code,
 * and see the breakpoint (#BP) and single-step (#DB) traps first, kprobe
 * style. Nothing here reaches nano_core's own text.
 *
 * The probe handler is a typed ops slot (OPS_DEBUG_TRAP, include/delos/ops.h)
 * that follows swaps of the cell that registered it; ctx is a block the
 * injector owns (on the heap) and nano_core hands back to every call, so
 * the handler needs no other cell, not even state_db, while it runs: any
 * cell, state_db's code included, may be the one it is probing.
 */
#ifndef DELOS_INJECT_H
#define DELOS_INJECT_H

#include <stddef.h>
#include <stdint.h>

#include <delos/trap.h>

/* The handler's signature: 1 when the trap was the probe's, 0 to let nano_core handle it. */
typedef int probe_fn(struct trap_frame *f, void *ctx);

/* Fills OPS_DEBUG_TRAP with cell:sym and keeps ctx for it; 0 or an ops_error. */
int probe_register(const char *cell, const char *sym, void *ctx);
/* Empties the slot if `cell` holds it; 0 or an ops_error. */
int probe_unregister(const char *cell);
/* The ctx of the registered probe, or NULL (for a reloaded or swapped-in injector). */
void *probe_context(void);

/*
 * text_poke for loaded cells only: dst..dst+len-1 must lie inside one loaded
 * cell's range. Returns 0, or -1 (refused: outside every cell, across two,
 * unmapped) having written nothing.
 */
int inject_poke(void *dst, const void *src, size_t len);

/*
 * Where the loaded cell `name` (never nano_core) has its .text now: *text,
 * *size, and its version into version (cap bytes). 0, or -1 when no such
 * cell is loaded or it has no .text.
 */
int inject_cell_text(const char *name, uint64_t *text, uint64_t *size, char *version, size_t cap);

/* The kernel heap's range now: [*base, *base + *size). */
void inject_heap_span(uint64_t *base, uint64_t *size);

#endif
