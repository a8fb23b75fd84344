/* The `swap` and `swaps` commands (metamodules/swap_cmd.h) over include/delos/system.h. */
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/string.h>
#include <delos/system.h>
#include "metamodules/swap_cmd.h"

void swap_cmd_swap(int argc, char **argv)
{
	bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	int first = verbose ? 2 : 1, n = (argc - first) / 2;

	if (argc - first < 2 || (argc - first) % 2 || n > SWAP_MAX_PAIRS) {
		kprintf("usage: swap [-v] OLD@VERSION NEW@VERSION [OLD@VERSION NEW@VERSION]...\n"
			"  All pairs are one transaction: every one is done, or none. NEW may be\n"
			"  another version of OLD, a fresh copy of it, or a cell of another name\n"
			"  that exports everything OLD's users import (sched_rr@1 sched_prio@1).\n"
			"  After the swap at most one version of each cell name is loaded: NEW's\n"
			"  name may not be that of a loaded cell the swap does not replace.\n");
		return;
	}
	/* Prints the outcome itself: after a swap of this very cell, nothing returns here. */
	system_swap((const char *const *)&argv[first], (size_t)n, verbose);
}

void swap_cmd_swaps(int argc, char **argv)
{
	struct swap_log_entry *e = kmalloc(sizeof(*e));
	bool kept;
	uint64_t count;

	(void)argv;
	if (argc != 1 || !e) {
		kprintf(e ? "usage: swaps\n" : "swaps: out of memory\n");
		kfree(e);
		return;
	}
	count = system_swap_log(0, e, &kept);
	if (!count)
		kprintf("no swaps yet\n");
	for (uint64_t i = 0; i < count; i++) {
		if (system_swap_log(i, e, &kept), !kept)
			continue;
		kprintf("#%lu at %lu.%06lu s: %s: %s\n", i + 1, e->when_ns / 1000000000,
			e->when_ns / 1000 % 1000000, e->what, e->status ? e->res.message : "ok");
		if (!e->status)
			swap_print_steps(&e->res);
	}
	kfree(e);
}
