/*
 * faults (cell faults@1): the fault handler and recovery engine, in the
 * spirit of MINIX 3's reincarnation server, reached by nano_core through the
 * ops slot OPS_FAULT_HANDLER (include/delos/ops.h, include/delos/fault.h).
 *
 * Detection is nano_core's: faults_on_fault is told of every fault it
 * contained in a cell, in the faulting context with interrupts off. It only
 * writes the fault to the log (the record "faults/log") as pending and wakes
 * the recovery task; it never blocks.
 *
 * Recovery is the task "faults" (faults_main), which takes pending faults in
 * order and applies the policy of the charged cell (the cell whose code
 * faulted) from cells.manifest:
 *   restart   its tasks start over at their entries (cells/tasks/tasks.h);
 *   reload    it is swapped for a fresh copy of its own pristine object, as
 *             one transactional swap (repairs its text and rodata);
 *   fallback  it is swapped for the manifest's NAME@VERSION;
 *   none      it is left as it is, and the log says so.
 * A second fault of the same cell within its window (fault_window=MS in the
 * manifest, FAULTS_WINDOW_MS by default) escalates one step: restart ->
 * reload -> fallback (to the version the policy fallback:NAME@V or the field
 * fallback=NAME@V names; reload again when there is none). Attempts in
 * one such episode are spaced by backoff=MS, doubling each time, and capped
 * by tries=N: then the cell is marked failed and left alone (its callers go
 * on calling it and are contained in turn when it faults).
 *
 * A fault detected before the cell's last recovery action began (another task
 * that hit the same broken code meanwhile) belongs to that incident: it is
 * not recovered again, only its ended task is restarted.
 *
 * A missed heartbeat (context FAULT_CTX_HEARTBEAT) ended no task: the entry
 * names none, and restart starts the cell's blocked tasks over. The backoff
 * waited is kept beside the recovery time (it is policy, not cost).
 *
 * A task ended by a fault in another cell's code (the workload calling a
 * broken ramfs) is charged to that other cell; the ended task is then
 * restarted by its own cell's policy (any policy but none restarts it), as
 * the same task id, after the charged cell's recovery ran.
 *
 * Console: `faults` lists the log, `faults -v N` shows fault N with its
 * registers and backtrace.
 *
 * Records (owner "faults", layout FAULTS_LAYOUT):
 *   "faults/log"         struct faults_log: how many faults were logged
 *   "faults/e/K"         struct faults_entry: fault seq where K = (seq - 1) %
 *                        FAULTS_LOG_MAX (the last FAULTS_LOG_MAX are kept)
 *   "faults/cell/NAME"   struct faults_cell: the escalation state of a cell
 *   "faults/task"        int64_t: the recovery task's id
 */
#ifndef CELLS_FAULTS_H
#define CELLS_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

#include <delos/fault.h>

#define FAULTS_LOG_MAX      16
#define FAULTS_WINDOW_MS    2000   /* default escalation window */
#define FAULTS_BACKOFF_CAP_MS 1000 /* longest wait between attempts */
#define FAULTS_CHANNEL      "faults.recover"
#define FAULTS_LAYOUT       1u
#define FAULTS_LOG_RECORD   "faults/log"
#define FAULTS_ENTRY_PREFIX "faults/e/"
#define FAULTS_CELL_PREFIX  "faults/cell/"
#define FAULTS_TASK_RECORD  "faults/task"
#define FAULTS_LOG_TYPE     0x474c4146u   /* "FALG" */
#define FAULTS_CELL_TYPE    0x434c4146u   /* "FALC" */
#define FAULTS_TASK_TYPE    0x544c4146u   /* "FALT" */
#define FAULTS_ENTRY_TYPE   0x454c4146u   /* "FALE" */

enum faults_state { FAULT_PENDING = 1, FAULT_DONE };

/* One fault: what nano_core reported, the task it hit, and what was done. */
struct faults_entry {
	uint32_t seq;               /* 1, 2, ...: `faults -v SEQ` */
	uint32_t state;             /* enum faults_state */
	int64_t task;               /* the running task at detection (-1: none) */
	char task_name[24];
	char task_cell[32];         /* the cell of that task's entry */
	struct fault_report r;
	char action[64];            /* e.g. "reload ramfs@1", "restart task 5" */
	char outcome[64];           /* e.g. "recovered", "failed: swap refused" */
	uint64_t recover_ns;        /* detection to the recovery action done */
	uint64_t backoff_ns;        /* of recover_ns, the backoff waited before the action */
};

struct faults_log {
	uint32_t count;             /* faults ever logged */
	uint32_t done;              /* faults up to this seq have been dealt with */
	uint32_t dropped;           /* pending faults overwritten before recovery */
};

struct faults_cell {
	uint64_t last_ns;           /* time of its last fault */
	uint32_t level;             /* escalation steps taken in this episode */
	uint32_t attempts;          /* recoveries tried in this episode */
	uint32_t failed;            /* 1 once tries ran out */
	uint64_t recovered_ns;      /* when its last recovery action began */
};

/* For nano_core's slot OPS_FAULT_HANDLER; interrupts off; returns 0. */
int faults_on_fault(const struct fault_report *r);
/* For nano_core's slot OPS_FAULT_RECOVER_NOW: the pending faults, recovered at once. */
int faults_recover_now(uint64_t unused);
/* The recovery task's entry. */
int faults_main(uint64_t arg);
/* The console command `faults [-v N]`. */
void faults_cmd(int argc, char **argv);

/* Private to the cell. */
#define FAULTS_PRIVATE __attribute__((visibility("hidden")))
/* Recovers fault e; at_once: in the faulting context (faults_recover_now), nothing may sleep. */
FAULTS_PRIVATE void faults_recover(struct faults_entry *e, bool at_once);
FAULTS_PRIVATE int faults_log_get(struct faults_log *log);
FAULTS_PRIVATE int faults_log_put(const struct faults_log *log);
/* Fault seq's entry; 0 or a state_db error (STATEDB_E_NOT_FOUND once it is overwritten). */
FAULTS_PRIVATE int faults_entry_get(uint32_t seq, struct faults_entry *e);
FAULTS_PRIVATE int faults_entry_put(const struct faults_entry *e);
/* The manifest policy of a loaded cell, with the recovery= boot argument applied (args.c). */
struct manifest_recovery;
FAULTS_PRIVATE int faults_policy(const char *name, struct manifest_recovery *rec, uint32_t *version,
				 uint64_t *window_ms);
/* Hands the watchdog= boot argument's bounds to nano_core's watchdog, once a boot (args.c). */
FAULTS_PRIVATE void faults_watchdog_arg(void);

#endif
