/*
 * The console command `bench` and the boot run (cells/bench/bench.h).
 */
#include <delos/cell.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/shell.h>
#include <delos/string.h>
#include <delos/tasks.h>
#include <delos/time.h>
#include "cells/bench/bench.h"

struct bench_def {
	const char *name;
	int (*fn)(void);
	const char *what;
};

static const struct bench_def benches[] = {
	{ "xcall", bench_xcall, "a call into another cell, and the same call inside one" },
	{ "core_call", bench_core_call, "a call of a nano_core export (null syscall analogue)" },
	{ "ctx_switch", bench_ctx_switch, "two tasks yielding to each other: one switch" },
	{ "spawn_join", bench_spawn_join, "spawning a task that returns at once, and joining it" },
	{ "sdb_get", bench_sdb_get, "state_db get, 16 B and 4 KiB (handle and by name)" },
	{ "sdb_update", bench_sdb_update, "state_db update, 16 B and 4 KiB; put of 16 B" },
	{ "sdb_txn", bench_sdb_txn, "a transaction of four 16 B updates; one 4 KiB update" },
	{ "token", bench_token, "sealing and opening a token" },
	{ "ramfs_rw", bench_ramfs_rw, "a 4 KiB ramfs read, and a 4 KiB write" },
	{ "link", bench_link, "loading and linking generated cells of 1, 10 and 100 KB" },
	{ "swap", bench_swap, "swaps step by step: leaf, log_sink, dispatch, sched, ramfs" },
	{ "recover", bench_recover, "a fault to the service answering again: restart, reload" },
	{ "tick", bench_tick, "the timer tick's cost, and its share of the CPU" },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* The CPU's model string (CPUID 0x80000002..4), without its leading blanks. */
static void cpu_brand(char out[49])
{
	uint32_t r[4], *w = (uint32_t *)out;
	char *p = out;

	cpuid(0x80000000u, r);
	if (r[0] < 0x80000004u) {
		snprintf(out, 49, "unknown (no CPUID brand string)");
		return;
	}
	for (uint32_t i = 0; i < 3; i++)
		cpuid(0x80000002u + i, w + 4 * i);
	out[48] = '\0';
	while (*p == ' ')
		p++;
	memmove(out, p, strlen(p) + 1);
}

/* The block's head: the CPU, the TSC and the columns; `begin` marks a whole block. */
static void print_head(bool begin)
{
	char brand[49];
	uint64_t hz = tsc_hz();

	cpu_brand(brand);
	shell_printf("%scpu: %s\n", begin ? "bench: begin\n" : "", brand);
	shell_printf("tsc: %lu.%03lu MHz from %s\n", hz / 1000000, hz / 1000 % 1000, tsc_source());
	shell_printf("%-22s %11s %11s %11s %5s %12s\n", "row", "median cyc", "min cyc", "max cyc",
		     "runs", "median ns");
}

static void print_row(const struct bench_row *w)
{
	shell_printf("%-22s %11lu %11lu %11lu %5lu %12lu\n", w->name, w->median, w->min, w->max,
		     w->runs, bench_ns(w->median));
}

static void print_rows(const struct bench_rows *r)
{
	for (uint32_t i = 0; i < r->count; i++)
		print_row(&r->row[i]);
	for (uint32_t i = 0; i < r->notes; i++)
		shell_printf("note: %s\n", r->note[i]);
	shell_printf("bench: end, %u rows\n", r->count);
}

/*
 * The rows again in pages that fit a 25-line text screen, BOOT_PAGE_S
 * seconds each, for a photograph of each; the whole block stays last.
 */
#define BOOT_PAGE_ROWS 18
#define BOOT_PAGE_S 15

static void print_pages(void)
{
	struct bench_rows *r = kmalloc(sizeof(*r));

	if (!r || sdb_get(BENCH_ROWS_RECORD, r, sizeof(*r), NULL) != (int)sizeof(*r)) {
		kfree(r);
		return;
	}
	uint32_t pages = (r->count + BOOT_PAGE_ROWS - 1) / BOOT_PAGE_ROWS;
	for (uint32_t p = 0; p < pages; p++) {
		task_sleep_ms(BOOT_PAGE_S * 1000);
		shell_printf("\nbench: page %u of %u, a row per line (the whole block follows the "
			     "last)\n", p + 1, pages);
		print_head(false);
		for (uint32_t i = p * BOOT_PAGE_ROWS; i < r->count && i < (p + 1) * BOOT_PAGE_ROWS; i++)
			print_row(&r->row[i]);
	}
	task_sleep_ms(BOOT_PAGE_S * 1000);
	print_head(true);
	print_rows(r);
	kfree(r);
}

static const struct bench_def *find(const char *name)
{
	for (size_t i = 0; i < NBENCH; i++)
		if (strcmp(benches[i].name, name) == 0)
			return &benches[i];
	return NULL;
}

static void usage(void)
{
	shell_printf("usage: bench all | list | [-q] NAME...   ('bench list' names them)\n");
}

/* Runs the named benchmarks (all when names is NULL); returns the failures. */
static int run(const char *const *names, int n, bool quick)
{
	struct bench_rows *r = kzalloc(sizeof(*r));
	int failed = 0;

	if (!r) {
		shell_printf("bench: no memory for the table\n");
		return 1;
	}
	r->quick = quick;
	if (sdb_put(BENCH_OWNER, BENCH_ROWS_RECORD, BENCH_TYPE, BENCH_LAYOUT, r, sizeof(*r))) {
		shell_printf("bench: state_db refused the record %s\n", BENCH_ROWS_RECORD);
		kfree(r);
		return 1;
	}
	/* The block is printed whole at the end, so no log line of the run lands in it. */
	shell_printf("bench: running %d benchmark%s%s\n", names ? n : (int)NBENCH,
		     (names ? n : (int)NBENCH) == 1 ? "" : "s", quick ? " (short mode)" : "");
	for (int i = 0; i < (names ? n : (int)NBENCH); i++) {
		const struct bench_def *b = names ? find(names[i]) : &benches[i];
		int err = b->fn();
		if (err) {
			shell_printf("bench: %s failed (%d)\n", b->name, err);
			failed++;
		}
	}
	if (sdb_get(BENCH_ROWS_RECORD, r, sizeof(*r), NULL) == (int)sizeof(*r)) {
		print_head(true);
		print_rows(r);
	}
	kfree(r);
	return failed;
}

void bench_cmd(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "-q") == 0;
	int first = quick ? 2 : 1;

	if (argc - first < 1) {
		usage();
		return;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		for (size_t i = 0; i < NBENCH; i++)
			shell_printf("  %-11s %s\n", benches[i].name, benches[i].what);
		return;
	}
	if (argc - first == 1 && strcmp(argv[first], "all") == 0) {
		run(NULL, 0, quick);
		return;
	}
	/* Every name is checked before anything runs. */
	for (int i = first; i < argc; i++)
		if (!find(argv[i])) {
			shell_printf("bench: no benchmark named '%s' ('bench list' names them); "
				     "nothing run\n", argv[i]);
			return;
		}
	run((const char *const *)argv + first, argc - first, quick);
}

/* bench=boot: the whole suite once the boot is over, with no keyboard. */
int bench_boot_task(uint64_t arg)
{
	(void)arg;
	task_sleep_ms(100);	/* lets the boot's last lines and the first prompt go out */
	shell_printf("\nbench: bench=boot: running 'bench all'\n");
	int failed = run(NULL, 0, false);
	print_pages();
	shell_printf("bench: bench=boot done, %d failed; the console is yours\n%s", failed,
		     SHELL_PROMPT);
	return failed;
}

int cell_init(void)
{
	char v[16];
	int err = shell_register("bench", "bench", "bench_cmd", "[-q] all|list|NAME...",
				 "benchmarks in cycles and ns: bench list, bench all, bench NAME");

	if (err) {
		klog(LOG_ERR, "bench: cannot register the command: %s", shell_strerror(err));
		return err;
	}
	if (cmdline_get("bench", v, sizeof(v)) && strcmp(v, "boot") == 0 &&
	    sdb_get("bench/booted", v, sizeof(v), NULL) < 0) {
		sdb_put(BENCH_OWNER, "bench/booted", BENCH_TYPE, BENCH_LAYOUT, "1", 2);
		if (task_spawn("bench-boot", "bench", "bench_boot_task", 0) < 0)
			klog(LOG_ERR, "bench: bench=boot: cannot spawn the boot run");
	}
	return 0;
}

void cell_exit(void)
{
	shell_unregister("bench");
}
