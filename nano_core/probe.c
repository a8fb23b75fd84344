/* The injector's primitives: the breakpoint probe slot, cell-only text pokes (include/delos/inject.h). */
#include <delos/cells.h>
#include <delos/inject.h>
#include <delos/kernel.h>
#include <delos/loader.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/ops.h>
#include <delos/string.h>
#include "nano_core/physmap.h"
#include "nano_core/probe.h"

/* The registered probe's context; owned by nano_core, set with the slot. */
static void *probe_ctx;

int probe_register(const char *cell, const char *sym, void *ctx)
{
	int err = ops_register(OPS_DEBUG_TRAP, cell, sym, OPS_TYPE_DEBUG_TRAP);

	if (!err)
		probe_ctx = ctx;
	return err;
}

int probe_unregister(const char *cell)
{
	int err = ops_unregister(OPS_DEBUG_TRAP, cell);

	if (!err)
		probe_ctx = NULL;
	return err;
}

void *probe_context(void)
{
	return ops_resolve(OPS_DEBUG_TRAP) ? probe_ctx : NULL;
}

bool probe_trap(struct trap_frame *f)
{
	uint64_t fn;

	if (f->vector != 1 && f->vector != 3)
		return false;
	fn = ops_resolve_cached(OPS_DEBUG_TRAP);
	return fn && ((probe_fn *)fn)(f, probe_ctx) > 0;
}

int inject_poke(void *dst, const void *src, size_t len)
{
	struct cells_where a, b;
	uint64_t va = (uint64_t)dst;

	if (!len || va + len < va || !cells_addr_owner(va, &a) || !cells_addr_owner(va + len - 1, &b) ||
	    strcmp(a.cell, b.cell) != 0)
		return -1;
	return text_poke(dst, src, len);
}

void inject_heap_span(uint64_t *base, uint64_t *size)
{
	struct mm_stats s;

	mm_stats(&s);
	*base = HEAP_BASE;
	*size = s.heap_size;
}

int inject_cell_text(const char *name, uint64_t *text, uint64_t *size, char *version, size_t cap)
{
	struct loader_cell *c = cells_loader() && name ? loader_cell_find(cells_loader(), name) : NULL;
	struct loader_cell_info ci;
	struct loader_section s;

	if (!c)
		return -1;
	loader_cell_info(c, &ci);
	if (ci.core)
		return -1;
	for (size_t i = 0; i < loader_cell_nsections(c); i++) {
		loader_cell_section(c, i, &s);
		if (s.name && strcmp(s.name, ".text") == 0) {
			*text = s.addr;
			*size = s.size;
			snprintf(version, cap, "%s", ci.version);
			return 0;
		}
	}
	return -1;
}
