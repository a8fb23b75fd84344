/*
 * Ops slots: how nano_core calls up into cells without knowing any by name.
 *
 * A slot holds a cellref (so it follows swaps and reloads of the cell that
 * registered it) and the type tag of the function it must point at. Each
 * slot has one fixed tag, the signature nano_core will call it with; a
 * registration with another tag, an unknown slot or a symbol that does not
 * resolve is refused and changes nothing. An empty slot (or one whose cell
 * has gone) makes nano_core use its own fallback, which each slot's comment
 * names. The table is versioned (OPS_VERSION) so that cells built against
 * another layout of it are refused by the tag check.
 *
 * Grant `ops`.
 */
#ifndef DELOS_OPS_H
#define DELOS_OPS_H

#include <stdint.h>

#define OPS_VERSION 1u

enum ops_slot {
	/*
	 * int fn(const struct fault_report *r) (include/delos/fault.h): told
	 * of every fault contained in a cell, in the faulting context with
	 * interrupts off; it must not block. Fallback: the fault is logged.
	 */
	OPS_FAULT_HANDLER,
	/*
	 * int fn(uint64_t code): ends the calling task as faulted with exit
	 * code `code`; does not return, unless the caller is not a task that
	 * can end (then a negative error). Fallback: nano_core halts.
	 */
	OPS_TASK_END,
	/*
	 * int fn(struct trap_frame *f, void *ctx) (include/delos/inject.h):
	 * offered every #BP and #DB first, in the trap with interrupts off;
	 * returns 1 when the trap was its own (f, possibly changed, is resumed),
	 * 0 otherwise. ctx is the one given to probe_register. It must not
	 * block nor call into other cells. Fallback: the trap is an exception
	 * like any other.
	 */
	OPS_DEBUG_TRAP,
	OPS_SLOTS
};

/* Type tags: OPS_VERSION in the top byte, the signature below it. */
#define OPS_TAG(n) ((OPS_VERSION << 24) | (n))
#define OPS_TYPE_FAULT_HANDLER OPS_TAG(0x464c54u) /* int (const struct fault_report *) */
#define OPS_TYPE_TASK_END      OPS_TAG(0x454e44u) /* int (uint64_t code), no return */
#define OPS_TYPE_DEBUG_TRAP    OPS_TAG(0x444247u) /* int (struct trap_frame *, void *ctx) */

enum ops_error {
	OPS_E_SLOT = -1,    /* no such slot */
	OPS_E_TYPE = -2,    /* the tag is not the slot's */
	OPS_E_NAME = -3,    /* cell or symbol empty or too long */
	OPS_E_RESOLVE = -4, /* cell:sym does not resolve now */
	OPS_E_OWNER = -5,   /* unregister: the slot is not held by that cell */
};

/* Fills slot with cell:sym of type tag (replacing what it held); 0 or an ops_error, logged. */
int ops_register(uint64_t slot, const char *cell, const char *sym, uint64_t type_tag);
/* Empties slot if `cell` holds it; 0 or an ops_error. */
int ops_unregister(uint64_t slot, const char *cell);
/* The slot's function now, or 0 when it is empty or does not resolve. */
uint64_t ops_resolve(uint64_t slot);
/* ops_resolve, from a per-slot cache valid for one loader generation (for hot traps). */
uint64_t ops_resolve_cached(uint64_t slot);
/* The cell holding slot ("" when empty). */
const char *ops_holder(uint64_t slot);

#endif
