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
 * names is refused at its check step (nano_core/ops.c, ops_swap_check), and
 * an unload of a cell that holds a required slot is refused, naming the
 * slot (ops_unload_check).
 *
 * Grant `ops`.
 */
#ifndef DELOS_OPS_H
#define DELOS_OPS_H

#include <stdbool.h>
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
	 * int fn(uint64_t mode) / int fn(uint64_t commit): opens / ends the
	 * state transaction a swap's hooks write into (mode 0: begins it, or
	 * takes over, returning 1, the one the prepare hooks wrote into ahead
	 * of the pause when it still holds; 1: begins that background one; 2:
	 * suspends it; 3: frees, once the world runs, what its commit replaced;
	 * include/delos/sdb.h, sdb_txn_begin_swap). Required.
	 * Fallback: the hooks run with no transaction.
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
	/*
	 * int fn(struct ops_inside_query *q): the quiescence question of a
	 * swap, asked with the world stopped (interrupts off): does any task
	 * run in, or will it return into, one of q->ranges? The holder walks
	 * every task's stack with ctx_frames_inside (the running task's from
	 * q->self_rip and q->self_rbp) from its own view of the tasks, reading
	 * no state_db record by name, and calls q->found for each task found
	 * inside a range; it returns how many it found, or a negative error.
	 * Fallback: only the calling context's stack is walked.
	 */
	OPS_TASKS_INSIDE,
	/*
	 * int fn(uint64_t unused): the calling task yields the CPU to the tasks
	 * that are ready (a swap waiting for a busy task lets it move on at
	 * once); negative if the caller is no task. Fallback: the caller waits
	 * for an interrupt.
	 */
	OPS_TASK_YIELD,
	/*
	 * int fn(struct trap_frame *f, void *ctx) (include/delos/inject.h):
	 * offered every #BP and #DB first, in the trap with interrupts off;
	 * returns 1 when the trap was its own (f, possibly changed, is resumed),
	 * 0 otherwise. ctx is the one given to probe_register. It must not
	 * block nor call into other cells. Fallback: the trap is an exception
	 * like any other.
	 */
	OPS_DEBUG_TRAP,
	/*
	 * int fn(uint64_t unused): the fault handler's recovery of the faults
	 * it logged, done at once in the calling context, interrupts off. It
	 * must not block nor wait. nano_core calls it, where no frame of the
	 * faulted code is live on the stack (an interrupt's end, a parked
	 * task), after a fault in a cell that holds a slot every task switch
	 * goes through (irq_exit, task_end or idle_next): the recovery task
	 * cannot be switched to while that cell's code is broken. Returns how
	 * many faults it dealt with, or a negative error. Fallback: the faults
	 * wait for the recovery task.
	 */
	OPS_FAULT_RECOVER_NOW,
	OPS_SLOTS
};

/* An address range [lo, hi) of the quiescence question. */
struct ops_range {
	uint64_t lo, hi;
};

/* A task found inside a range, as OPS_TASKS_INSIDE's holder reports it. */
struct ops_task_inside {
	int64_t id;
	const char *name;
	const char *entry_cell;  /* the cell of the task's entry point ("" for none) */
	bool blocked;            /* sleeping or waiting: its state is all in records */
	bool self;               /* the task asking (running the swap) */
	size_t range;            /* index into the query's ranges */
	uint64_t at;             /* the address found inside it */
};

struct ops_inside_query {
	const struct ops_range *ranges;
	size_t n;
	uint64_t self_rip, self_rbp;  /* where the asking task's walk starts */
	void (*found)(void *ctx, const struct ops_task_inside *t);
	void *ctx;
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
#define OPS_TYPE_STATE_BEGIN   OPS_TAG(0x534242u) /* int (uint64_t mode) */
#define OPS_TYPE_STATE_END     OPS_TAG(0x534245u) /* int (uint64_t commit) */
#define OPS_TYPE_SCREEN_WRITE  OPS_TAG(0x534352u) /* int (const char *, uint64_t len) */
#define OPS_TYPE_CONSOLE_OWNER OPS_TAG(0x434f4eu) /* int (uint64_t unused) */
#define OPS_TYPE_CONSOLE_CMD   OPS_TAG(0x434d44u) /* void (int argc, char **argv) */
#define OPS_TYPE_TASKS_INSIDE  OPS_TAG(0x494e53u) /* int (struct ops_inside_query *) */
#define OPS_TYPE_TASK_YIELD    OPS_TAG(0x594c44u) /* int (uint64_t unused) */
#define OPS_TYPE_DEBUG_TRAP    OPS_TAG(0x444247u) /* int (struct trap_frame *, void *ctx) */
#define OPS_TYPE_RECOVER_NOW   OPS_TAG(0x52434eu) /* int (uint64_t unused) */

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
/*
 * Each slot keeps one word of plain data for its holder (a state_db handle,
 * never an address), so that a cell, which has no writable data of its own,
 * finds its records on a hot path without looking a name up. It outlives
 * swaps and reloads of the holder; registering another cell clears it.
 * ops_set_data returns 0 or OPS_E_SLOT / OPS_E_OWNER (cell does not hold
 * slot); ops_data returns 0 for an empty slot.
 */
int ops_set_data(uint64_t slot, const char *cell, uint64_t value);
uint64_t ops_data(uint64_t slot);

#endif
