/*
 * workload (cell workload@1): a load that checks itself, to run while cells
 * are swapped, faulted and recovered. Its worker tasks keep writing ramfs
 * files, reading them back, appending, renaming and removing them, and
 * counting in state_db, and check every result. Any difference is logged
 * loudly (LOG_ERR "workload: MISMATCH ...") and counted as an error.
 *
 * Console: `work start` spawns WORKLOAD_WORKERS tasks, `work stop` stops
 * and joins them, `work status` prints "work: N operations, M errors", and
 * `work verify` (workers stopped) re-reads every file and counter and prints
 * "work: verify: N files checked, M mismatches".
 *
 * Worker N's round R writes file slot R % WORKLOAD_FILES with contents that
 * depend on N and R only, and its counter holds how many rounds it completed.
 * A worker ended by a fault and restarted goes on from its counter, so every
 * file's contents follow from the counters: a round the fault interrupted is
 * marked busy in the counter, and its slot is rewritten by the next round.
 *
 * Records (owner "workload", layout WORKLOAD_LAYOUT). The cell keeps nothing
 * else, so it can be reloaded while its workers sleep:
 *   "workload/state"   struct workload_state: whether workers should run
 *   "workload/stats"   struct workload_stats: counts that only increase
 *   "workload/ctr/N"   struct workload_counter: worker N's own counter, which
 *                      it increments and checks every round
 * Files: worker N uses "work-N-K" for K in 0..WORKLOAD_FILES-1 (and
 * "work-N-moved" while it tests rename).
 */
#ifndef CELLS_WORKLOAD_H
#define CELLS_WORKLOAD_H

#include <stdint.h>

#define WORKLOAD_WORKERS 2
#define WORKLOAD_FILES   4
#define WORKLOAD_IO_MAX  9000     /* bytes in one file write: up to three chunks */
#define WORKLOAD_PAUSE_MS 5       /* between rounds, so the console stays quick */

#define WORKLOAD_LAYOUT        1u
#define WORKLOAD_STATE_RECORD  "workload/state"
#define WORKLOAD_STATS_RECORD  "workload/stats"
#define WORKLOAD_CTR_PREFIX    "workload/ctr/"
#define WORKLOAD_STATE_TYPE    0x54534b57u   /* "WKST" */
#define WORKLOAD_STATS_TYPE    0x41534b57u   /* "WKSA" */
#define WORKLOAD_CTR_TYPE      0x43434b57u   /* "WKCC" */

struct workload_state {
	uint32_t running;                   /* 1 while workers should go on */
	uint32_t epoch;                     /* which `work start`; a worker of an older one stops */
	int64_t tasks[WORKLOAD_WORKERS];    /* the workers' task ids, for `work stop` to join */
};

struct workload_stats {
	uint64_t operations;                /* checked rounds done, by every worker ever */
	uint64_t errors;                    /* results that differed from what was expected */
};

struct workload_counter {
	uint64_t value;                     /* rounds the worker completed, ever */
	uint64_t busy;                      /* 1 + the file slot of the round in progress, or 0 */
};

/* Reads the counts; 0, or a state_db error (the record is missing before the first start). */
int workload_stats(struct workload_stats *out);

/*
 * Checks worker n's counter and every file it must have left, adding the
 * files checked to *checked; returns the mismatches (logged as MISMATCH).
 */
uint64_t workload_verify(int n, uint64_t *checked);

/* A worker task's entry: arg = epoch << 8 | worker number. Returns when stopped. */
int workload_task(uint64_t arg);

/* The console command `work start|stop|status`. */
void workload_cmd(int argc, char **argv);

#endif
