/*
 * Faults in cells: what nano_core knows when one is contained, and hands to
 * the fault handler slot (include/delos/ops.h).
 *
 * A CPU exception whose RIP lies in a cell is charged to that cell (the cell
 * whose code faulted, not the cell whose task ran it) and contained where it
 * happened:
 *   - inside a contained call (trap_contain: an IRQ route, a cell_init at
 *     load, a swap-in hook), the call is abandoned and its caller sees the
 *     fault as an error; an abandoned IRQ route has had its EOI, and its line
 *     is masked (so a driver that faults on every interrupt cannot storm)
 *     until whoever recovers the cell unmasks it (report.irq says which);
 *   - otherwise in a task, the task is ended (slot OPS_TASK_END) with exit
 *     code FAULT_EXIT_CODE; its joiners see that code.
 * Either way the fault handler (slot OPS_FAULT_HANDLER) is told first, with
 * interrupts off; if it is empty, or itself faults, nano_core only logs the
 * fault.
 *
 * A fault in nano_core code that only acts on memory its caller names
 * (memcpy, memmove, memset, memcmp, strlen, strcmp, strncmp, snprintf and
 * vsnprintf: they hold no lock and change no nano_core state, so abandoning
 * one half-way is safe), called by a cell directly or through others of that
 * list, is the calling cell's: charged to its call site. Hangs are raised as
 * faults of the cell too: by the hang watchdog (interrupts on), the NMI
 * watchdog (interrupts off: the interrupted context is made to raise it), and
 * a missed heartbeat (context FAULT_CTX_HEARTBEAT, where nothing is running
 * to abandon). Any other fault whose RIP is in nano_core, or one in a cell
 * while nothing can be abandoned (task 0, an interrupt outside a contained
 * route), still halts with the full report.
 */
#ifndef DELOS_FAULT_H
#define DELOS_FAULT_H

#include <stdint.h>

#include <delos/trap.h>

#define FAULT_REPORT_VERSION 1u
#define FAULT_EXIT_CODE (-139)	/* a task ended by a fault */
#define FAULT_FRAMES 12

enum fault_context {
	FAULT_CTX_TASK = 1,   /* a task, outside any contained call */
	FAULT_CTX_IRQ,        /* an IRQ route (the dispatch cell and the drivers it calls) */
	FAULT_CTX_INIT,       /* cell_init at load */
	FAULT_CTX_HOOK,       /* a swap-in hook */
	FAULT_CTX_COMMAND,    /* a console command */
	FAULT_CTX_HEARTBEAT,  /* a missed heartbeat: nothing of the cell was running to abandon */
	FAULT_CTX_CALL,       /* a call another cell contains (the tasks cell's calls of the policy) */
};

enum fault_kind {
	FAULT_KIND_EXCEPTION = 1, /* a CPU exception: vector says which */
	FAULT_KIND_PANIC,         /* cell_panic(message) */
	FAULT_KIND_STACK_SMASH,   /* a stack-protector failure in the cell */
	FAULT_KIND_STACK_OVERFLOW,/* the stack ran into its guard page (a #DF) */
	FAULT_KIND_HANG,          /* a watchdog: in one cell's code beyond its bound, or a missed heartbeat */
};

/* The hang watchdog's bound when the manifest gives no watchdog=MS (0 there: none). */
#define FAULT_WATCHDOG_DEFAULT_MS 5000
/* The NMI watchdog's bound for a cell spinning with interrupts off: its watchdog=MS, at most this. */
#define FAULT_NMI_WATCHDOG_MAX_MS 1000

struct fault_report {
	uint32_t version;           /* FAULT_REPORT_VERSION */
	uint32_t context, kind;     /* enum fault_context, enum fault_kind */
	char cell[32];              /* the cell whose code faulted */
	char cell_version[12];
	char symbol[48];            /* symbol (or section) holding rip, and rip's offset in it */
	uint64_t offset;
	uint64_t vector, error, rip, cr2;
	uint64_t time_ns;           /* time_ns() at detection */
	char message[80];           /* the panic message; "" for exceptions */
	int64_t irq;                /* FAULT_CTX_IRQ: the line, masked until the cell is recovered; else -1 */
	uint32_t nframes;
	uint64_t frames[FAULT_FRAMES]; /* return addresses of the rbp chain, innermost first */
	struct trap_frame regs;
};

/* Names a context ("task", "irq", "init", "hook", "command"). */
const char *fault_context_name(uint64_t context);

/*
 * Ends what the calling cell is doing as a fault of that cell, with `msg`
 * (copied, up to 79 bytes) as its kind: the same containment as a CPU
 * exception at the call (grant `core`). Called from nano_core's own code it
 * halts, with the message.
 */
_Noreturn void cell_panic(const char *msg);

/*
 * Says the calling cell is alive (grant `core`). A cell whose manifest line
 * has heartbeat=MS must call it at least every MS from its load on; a miss
 * is reported as a hang of the cell in context FAULT_CTX_HEARTBEAT, and its
 * recovery policy runs (nano_core/heartbeat.c). The caller is found from
 * the return address. Returns 0, or -1 when the caller declares none.
 */
int cell_heartbeat(void);

/*
 * Progress heartbeats (grant `core`). A cell whose manifest line has
 * progress=MS says what work it owes, in lane 0..CELL_LANES-1 (units of its
 * choosing: bytes to send, bytes to deliver), with cell_owe, and what it has
 * done with cell_paid (never below zero); while any lane owes, it must pay
 * something at least every MS, or it is hung (context FAULT_CTX_HEARTBEAT,
 * symbol "(no progress)") and its recovery policy runs. A cell that owes
 * nothing is never late. cell_forgive clears a lane whose work now waits on
 * someone else, and counts as progress. A reloaded copy starts owing nothing.
 * Each returns 0, or -1 when the caller declares no progress= (or the lane
 * is out of range).
 */
#define CELL_LANES 2
int cell_owe(unsigned lane, uint64_t n);
int cell_paid(unsigned lane, uint64_t n);
int cell_forgive(unsigned lane);

/*
 * Runs fn(arg) as a contained call in `context` (enum fault_context): a CPU
 * exception with RIP in a cell is charged to that cell and reported to the
 * fault handler, and the call is abandoned: returns the vector + 1 with
 * `info` (if not NULL) describing it, interrupt flag as at the call.
 * A fault in nano_core code still halts. Returns 0 when fn returns.
 */
int trap_contain(void (*fn)(void *), void *arg, uint64_t context, struct trap_info *info);

#endif
