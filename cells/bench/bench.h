/*
 * bench (cell bench@1, not loaded at boot unless the kernel command line says
 * bench=boot): the benchmark suite, as the console command
 *
 *   bench all | list | [-q] NAME...     (`bench -q all`: the short mode for CI)
 *
 * Each benchmark runs a warm-up, then enough timed repetitions for a median,
 * min and max; rows are printed as a table (it fits 80 columns) headed by the
 * CPU's model string (CPUID brand) and the TSC's source, in TSC cycles and in
 * ns at the rate boot measured or read (tsc_hz). Under QEMU -icount shift=0 the
 * TSC runs at 1 GHz of guest time, so cycles and ns are the same figures.
 *
 * With bench=boot (GRUB's "Delos: run benchmarks at boot"), the manifest boots
 * bench_peer@1 and this cell (boot_if=arg:bench=boot) and cell_init spawns the
 * task "bench-boot", which runs `bench all` once the system is up: the table
 * goes to the screen and the serial line without a keyboard. Then the rows are
 * shown again in pages that fit a 25-line text screen, 15 s each, for a
 * photograph of each, and the whole block once more at the end.
 *
 * The cell keeps nothing itself: each run's rows go to the record
 * "bench/rows" (struct bench_rows), which `make bench` also reads back in
 * the table it prints.
 */
#ifndef CELLS_BENCH_H
#define CELLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_OWNER   "bench"
#define BENCH_TYPE    0x48434e42u   /* "BNCH" */
#define BENCH_LAYOUT  1u
#define BENCH_ROWS_RECORD "bench/rows"
#define BENCH_VICTIM_RECORD "bench/victim"
#define BENCH_ROWS_MAX 48
#define BENCH_NAME_MAX 23
#define BENCH_SAMPLES 1024          /* samples one row can hold */

/* One row of the table: a figure in TSC cycles. */
struct bench_row {
	char name[BENCH_NAME_MAX + 1];
	uint64_t median, min, max, runs;
};

#define BENCH_NOTES_MAX 12
#define BENCH_NOTE_LEN  79

/* The rows of one run of `bench`, its mode and the notes printed under the table. */
struct bench_rows {
	uint32_t count;
	uint32_t quick;             /* 1: -q, fewer repetitions */
	uint32_t notes;
	uint32_t pad;
	struct bench_row row[BENCH_ROWS_MAX];
	char note[BENCH_NOTES_MAX][BENCH_NOTE_LEN + 1];
};

/* The record the recovery victims share with the bench (owner "bench"). */
struct bench_victim {
	uint32_t faults_left;       /* faults still to take before answering */
	uint32_t in_gen;            /* 1: fault in bench_gen1 (reload), 0: in bench_peer (restart) */
	uint64_t fault_tsc;         /* just before the fault */
	uint64_t answer_tsc;        /* when the restarted task answered */
};

/* The xcall loop's arguments: n calls timed one by one into samples. */
struct bench_xcall {
	uint64_t n;
	uint64_t zero;              /* an empty rdtsc pair, subtracted */
	uint64_t *samples;
};

#define BENCH_PRIVATE __attribute__((visibility("hidden")))

static inline uint64_t bench_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The callee of xcall: the same function, called from this cell and from bench_peer. */
uint64_t bench_callee(uint64_t x);
/*
 * The xcall loop (callee.h) twice in this cell: bench_local_xcall (micro.c,
 * near the callee) and bench_far_xcall (xcall_far.c, the last file linked,
 * pages away), so that a difference the call's placement makes is not
 * taken for one the cell boundary makes.
 */
int bench_local_xcall(uint64_t arg);
int bench_far_xcall(uint64_t arg);

/* Sorts x and keeps median, min, max and n as the row `name` of the current run. */
BENCH_PRIVATE void bench_add(const char *name, uint64_t *x, size_t n);
/* A row given directly (a figure measured in ns is converted to cycles). */
BENCH_PRIVATE void bench_add_ns(const char *name, uint64_t *ns, size_t n);
/* The repetitions for a figure: normal, or quick under -q. */
BENCH_PRIVATE size_t bench_runs(size_t normal, size_t quick);
/* The cost of an empty timed pair, subtracted from timed calls. */
BENCH_PRIVATE uint64_t bench_zero(void);
/* The ns of a cycle count, and the cycles of a ns count, at tsc_hz. */
BENCH_PRIVATE uint64_t bench_ns(uint64_t cycles);
BENCH_PRIVATE uint64_t bench_cycles(uint64_t ns);
/* A sample buffer of BENCH_SAMPLES (kmalloc; the caller kfrees it), or NULL after saying why. */
BENCH_PRIVATE uint64_t *bench_buf(void);
/* Prints a note under the table (a sentence the rows need). */
BENCH_PRIVATE void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The benchmarks: each adds its rows, returns 0 or a negative error after printing why. */
BENCH_PRIVATE int bench_xcall(void);
BENCH_PRIVATE int bench_core_call(void);
BENCH_PRIVATE int bench_ctx_switch(void);
BENCH_PRIVATE int bench_spawn_join(void);
BENCH_PRIVATE int bench_sdb_get(void);
BENCH_PRIVATE int bench_sdb_update(void);
BENCH_PRIVATE int bench_sdb_txn(void);
BENCH_PRIVATE int bench_token(void);
BENCH_PRIVATE int bench_ramfs_rw(void);
BENCH_PRIVATE int bench_link(void);
BENCH_PRIVATE int bench_swap(void);
BENCH_PRIVATE int bench_recover(void);
BENCH_PRIVATE int bench_tick(void);

/* Task entries (cellrefs), not for other callers. */
int bench_pingpong(uint64_t n);
int bench_nop_task(uint64_t arg);
int bench_spin(uint64_t ticks);
int bench_boot_task(uint64_t arg);
void bench_cmd(int argc, char **argv);

#endif
