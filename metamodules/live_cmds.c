/* load, unload, swap and swaps (metamodules/live_cmds.h) over include/delos/system.h. */
#include <delos/cells.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/string.h>
#include <delos/system.h>
#include "metamodules/live_cmds.h"

/*
 * Cell names come from cells.manifest, so none is longer than MANIFEST_NAME_MAX:
 * a longer argument is refused as such rather than looked up (and echoed whole).
 */
static bool name_fits(const char *cmd, size_t len)
{
	if (len <= MANIFEST_NAME_MAX)
		return true;
	kprintf("%s: cell name too long: %zu bytes, at most %d\n", cmd, len, MANIFEST_NAME_MAX);
	return false;
}

/* The length of s up to its '@'; SIZE_MAX if it has none. */
static size_t name_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != '@')
		n++;
	return s[n] == '@' ? n : SIZE_MAX;
}

void live_cmd_load(int argc, char **argv)
{
	if (argc != 2 || name_len(argv[1]) == SIZE_MAX) {
		kprintf("usage: load NAME@VERSION\n"
			"  Loads a cell listed in cells.manifest. At most one version of a cell\n"
			"  name is loaded: to change versions, swap (see 'swap').\n");
		return;
	}
	if (name_fits(argv[0], name_len(argv[1])))
		cells_load(argv[1]);
}

void live_cmd_unload(int argc, char **argv)
{
	if (argc != 2) {
		kprintf("usage: unload NAME\n");
		return;
	}
	if (name_fits(argv[0], strlen(argv[1])))
		cells_unload(argv[1]);
}

void live_cmd_swap(int argc, char **argv)
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

void live_cmd_swaps(int argc, char **argv)
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
