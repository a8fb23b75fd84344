/*
 * taskdemo (cell taskdemo@1, not loaded at boot): exercises tasks@1 and
 * measures it. Loading it spawns three tasks:
 *   busy_a, busy_b  each increments its own counter record ("taskdemo/a",
 *                   "taskdemo/b") in a loop that never yields, until
 *                   TASKDEMO_BUSY_MS after the load; only preemption lets
 *                   both progress. They exit with codes 1 and 2.
 *   sleeper         sleeps TASKDEMO_SLEEP_MS TASKDEMO_ROUNDS times, recording
 *                   how late each wake-up was ("taskdemo/sleep"), then joins
 *                   the two busy tasks and records their exit codes. The busy
 *                   tasks outlast its sleeps, so the CPU never idles meanwhile
 *                   (under QEMU -icount, idle time follows the host's clock).
 * Records (owner "taskdemo", layout 1): see taskdemo.c.
 */
#ifndef CELLS_TASKDEMO_H
#define CELLS_TASKDEMO_H

#include <stdint.h>

#define TASKDEMO_BUSY_MS   1500
#define TASKDEMO_SLEEP_MS  50
#define TASKDEMO_ROUNDS    20

/*
 * Prints the counters, the sleeper's lateness (in microseconds and in
 * hundredths of a tick) and the task table; "done" once all three finished.
 * Returns 1 when done, 0 while running, negative if taskdemo's records are missing.
 */
int taskdemo_report(void);

/*
 * Prints one short line, "taskdemo: a=N b=N rounds=N busy_a=STATE
 * sleeper=STATE": the busy counters, the sleeper's rounds and two task
 * states ("gone" once joined). Short, so that tests can poll it while the
 * demo runs without filling the serial queue. Returns 0, or -1 if
 * taskdemo's records are missing.
 */
int taskdemo_counts(void);

/*
 * Measures, from the calling task (run it when nothing else is busy):
 *   - the cost of a context switch: two tasks yield to each other
 *     TASKDEMO_PINGPONG times each; cycles between their spawn and join over
 *     the switches counted by tasks_stats;
 *   - the cost of a timer tick: a task spins reading the TSC for
 *     TASKDEMO_SPIN_TICKS ticks; each gap longer than TASKDEMO_GAP cycles is
 *     one tick's interrupt (nano_core entry, dispatch, timer, tasks, return).
 * Prints both and returns 0, or a negative tasks error.
 */
int taskdemo_bench(void);

#define TASKDEMO_PINGPONG   10000
#define TASKDEMO_SPIN_TICKS 50
#define TASKDEMO_GAP        150

/*
 * Checks, from the calling task, that the tasks API refuses bad input with
 * the right error and without changing the task table, that wait, notify
 * and join work, and that a waiting, a sleeping and a running task start
 * over at their entry when restarted (tasks_restart, tasks_restart_self).
 * Prints "taskdemo: check NAME: ok|FAILED" lines; returns the number of
 * failures.
 */
int taskdemo_check(void);

/* Task entries (cellrefs): not for other callers. */
int taskdemo_busy(uint64_t which);
int taskdemo_sleeper(uint64_t rounds);
int taskdemo_pingpong(uint64_t n);
int taskdemo_spin(uint64_t ticks);
int taskdemo_waiter(uint64_t arg);
int taskdemo_restartee(uint64_t how);

#endif
