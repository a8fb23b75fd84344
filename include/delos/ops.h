/*
 * Ops slots: how nano_core calls up into cells without knowing any by name.
 *
 * Everything nano_core needs from above (the tasks cell's preemption, idle
 * and restarts, the IRQ route, the state transaction of a swap, the screen,
 * the shell, the console commands, the fault handler) is one slot of this
 * table. A slot holds a cellref (so it follows swaps and reloads of the cell
 * that registered it) and the type tag of the function it must point at.
 * Each slot has one fixed tag, the signature nano_core calls it with; a
 * registration with another tag, an unknown slot or a symbol that does not
 * resolve is refused with a log line naming the slot, and changes nothing.
 * An empty slot (or one whose cell has gone) makes nano_core use its own
 * fallback, which each slot's comment names. The table is versioned
 * (OPS_VERSION, in each tag's top byte), so a cell built against another
 * layout of it is refused by the tag check.
 *
 * A required slot, once filled, may not be left empty by a swap: a swap
 * whose new cell does not export the symbol a required slot of its old cell
 * names is refused at its check step (nano_core/ops.c, ops_swap_check).
 *
 * Grant `ops`.
 */
#ifndef DELOS_OPS_H
#define DELOS_OPS_H

#include <stddef.h>
#include <stdint.h>

#define OPS_VERSION 2u

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
	 * can end (then a negative error). Required. Fallback: nano_core halts.
	 */
	OPS_TASK_END,
	/*
	 * int fn(uint64_t irq): routes an IRQ nano_core has no handler of its
	 * own for, as a contained call. Required. Fallback: the IRQ is logged
	 * once per line as unrouted.
	 */
	OPS_IRQ_ROUTE,
	/*
	 * int fn(uint64_t irq, uint64_t unused): at the end of each interrupt,
	 * interrupts off: may switch tasks (preemption). Required. Fallback:
	 * the interrupted code resumes.
	 */
	OPS_IRQ_EXIT,
	/*
	 * uint64_t fn(void): in ctx_idle, interrupts off: the saved rsp of the
	 * task to run next, or 0. Required. Fallback: the CPU halts on.
	 */
	OPS_IDLE_NEXT,
	/*
	 * int fn(uint64_t id): a blocked task starts over at its entry (a swap
	 * of a swap=restart cell). Required. Fallback: the swap logs that it
	 * cannot restart the task.
	 */
	OPS_TASK_RESTART,
	/*
	 * int fn(uint64_t unused): the calling task starts over now. Required.
	 * Fallback: the calling task is parked.
	 */
	OPS_TASK_RESTART_SELF,
	/*
	 * int fn(uint64_t unused) / int fn(uint64_t commit): opens / ends the
	 * state transaction a swap's hooks write into. Required. Fallback: the
	 * hooks run with no transaction.
	 */
	OPS_STATE_BEGIN,
	OPS_STATE_END,
	/*
	 * int fn(const char *buf, uint64_t len): draws console output on the
	 * screen (a display cell took it). Fallback: nano_core draws VGA text
	 * itself where there is some, else nothing.
	 */
	OPS_SCREEN_WRITE,
	/*
	 * int fn(uint64_t unused): held by the cell that has the console (the
	 * shell; its entry). nano_core only asks whether it is held at the end
	 * of boot. Fallback: nano_core's own fallback console on the serial line.
	 */
	OPS_CONSOLE_OWNER,
	/*
	 * void fn(int argc, char **argv): runs a console command nano_core's
	 * fallback console does not know (the console commands cell). Fallback:
	 * "unknown command".
	 */
	OPS_CONSOLE_COMMAND,
	OPS_SLOTS
};

/* Type tags: OPS_VERSION in the top byte, the signature below it. */
#define OPS_TAG(n) ((OPS_VERSION << 24) | (n))
#define OPS_TYPE_FAULT_HANDLER OPS_TAG(0x464c54u) /* int (const struct fault_report *) */
#define OPS_TYPE_TASK_END      OPS_TAG(0x454e44u) /* int (uint64_t code), no return */
#define OPS_TYPE_IRQ_ROUTE     OPS_TAG(0x495251u) /* int (uint64_t irq) */
#define OPS_TYPE_IRQ_EXIT      OPS_TAG(0x495845u) /* int (uint64_t irq, uint64_t unused) */
#define OPS_TYPE_IDLE_NEXT     OPS_TAG(0x49444cu) /* uint64_t (void) */
#define OPS_TYPE_TASK_RESTART  OPS_TAG(0x525354u) /* int (uint64_t id) */
#define OPS_TYPE_RESTART_SELF  OPS_TAG(0x525346u) /* int (uint64_t unused), no return */
#define OPS_TYPE_STATE_BEGIN   OPS_TAG(0x534242u) /* int (uint64_t unused) */
#define OPS_TYPE_STATE_END     OPS_TAG(0x534245u) /* int (uint64_t commit) */
#define OPS_TYPE_SCREEN_WRITE  OPS_TAG(0x534352u) /* int (const char *, uint64_t len) */
#define OPS_TYPE_CONSOLE_OWNER OPS_TAG(0x434f4eu) /* int (uint64_t unused) */
#define OPS_TYPE_CONSOLE_CMD   OPS_TAG(0x434d44u) /* void (int argc, char **argv) */

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

/* For the console commands (grant `system`): the slot's name, holder and symbol ("" when empty). */
const char *ops_slot_name(uint64_t slot);
const char *ops_holder(uint64_t slot);
const char *ops_symbol(uint64_t slot);
int ops_required(uint64_t slot);

/* nano_core's own: the slot's function now, or 0 when it is empty or does not resolve. */
uint64_t ops_resolve(uint64_t slot);

#endif
