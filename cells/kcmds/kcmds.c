/*
 * The console's system commands (cells/kcmds/kcmds.h): memory, the log, the
 * ops table, leaving QEMU, and the dispatcher nano_core's fallback console
 * calls through the ops slot console_command.
 */
#include <delos/cell.h>
#include <delos/cells.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/ops.h>
#include <delos/string.h>
#include <delos/system.h>
#include "cells/kcmds/kcmds.h"
#include "metamodules/live_cmds.h"

/* One line: whether every frame has at most one owner and every allocated frame one (mm_audit). */
static void print_audit(void)
{
	struct mm_audit a;
	int err = mm_audit(&a);
	const struct frame_audit *f = &a.frames;

	if (err == MM_AUDIT_NO_MEMORY) {
		kprintf("owners: not checked: no heap memory for the audit's bitmap\n");
		return;
	}
	kprintf("owners: %lu page tables, %lu pages outside the physmap: %s\n", a.tables, a.pages,
		err ? "FAILED" : "each frame owned once, none leaked, ok");
	if (!err)
		return;
	if (f->twice)
		kprintf("owners: %lu frames owned twice (first %016lx)\n", f->twice, f->first_twice);
	if (f->free_claimed)
		kprintf("owners: %lu frames mapped but free in the bitmap (first %016lx)\n",
			f->free_claimed, f->first_free_claimed);
	if (f->leaked)
		kprintf("owners: %lu frames allocated but owned by nothing (first %016lx)\n", f->leaked,
			f->first_leaked);
	if (!f->counters_ok)
		kprintf("owners: the frame counters disagree with the bitmap\n");
	if (a.heap)
		kprintf("owners: heap check failed: %s\n", heap_strerror(a.heap));
}

void kcmd_mem(int argc, char **argv)
{
	struct mm_stats s;
	struct vrange_stats w;

	(void)argc, (void)argv;
	mm_stats(&s);
	kprintf("frames: total %lu free %lu used %lu (KiB: total %lu free %lu)\n", s.frames_total,
		s.frames_free, s.frames_total - s.frames_free, s.frames_total * 4, s.frames_free * 4);
	kprintf("heap: size %lu in_use %lu free %lu live %lu allocs %lu frees %lu check %s\n",
		s.heap_size, s.heap_in_use, s.heap_free, s.heap_live, s.heap_allocs, s.heap_frees,
		mm_heap_check() == 0 ? "ok" : "CORRUPT");
	kprintf("stacks: %lu (%lu pages, each with a guard page)\n", s.stacks, s.stack_pages);
	kprintf("task blocks: %lu live (cells' heap blocks held by a task), %lu freed with their "
		"task's frames\n", s.task_blocks, s.task_blocks_reclaimed);
	cell_window_stats(&w);
	kprintf("cell window: size %lu in_use %lu ranges %zu max %zu free %lu spans %zu largest %lu\n",
		w.window, w.live_bytes, w.live, w.max_live, w.free_bytes, w.free_spans,
		w.largest_free);
	print_audit();
}

void kcmd_log(int argc, char **argv)
{
	(void)argc, (void)argv;
	log_dump();
}

/* Parses a decimal number in [0, max]; false on anything else. */
static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

void kcmd_exit(int argc, char **argv)
{
	unsigned code;

	if (argc != 2 || !parse_uint(argv[1], 126, &code)) {
		kprintf("usage: exit N   (N from 0 to 126)\n");
		return;
	}
	kprintf("exit: leaving QEMU with status %u\n", code);
	qemu_exit(code);
	kprintf("exit: no isa-debug-exit device here (not QEMU?); still running\n");
}

void kcmd_ops(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		kprintf("usage: ops\n");
		return;
	}
	kprintf("%-18s %-8s %s\n", "SLOT", "", "HELD BY");
	for (uint64_t s = 0; s < OPS_SLOTS; s++) {
		const char *cell = ops_holder(s);
		kprintf("%-18s %-8s %s%s%s\n", ops_slot_name(s), ops_required(s) ? "required" : "",
			cell[0] ? cell : "(empty: nano_core's fallback)", cell[0] ? ":" : "", ops_symbol(s));
	}
}

void kcmd_load(int argc, char **argv)
{
	live_cmd_load(argc, argv);
}

void kcmd_unload(int argc, char **argv)
{
	live_cmd_unload(argc, argv);
}

void kcmd_swap(int argc, char **argv)
{
	live_cmd_swap(argc, argv);
}

void kcmd_swaps(int argc, char **argv)
{
	live_cmd_swaps(argc, argv);
}

static const struct {
	const char *name, *args, *help;
	void (*run)(int argc, char **argv);
} commands[] = {
	{ "mem", "", "frame, heap, stack and cell window figures; who owns each frame", kcmd_mem },
	{ "log", "", "print the kernel log", kcmd_log },
	{ "exit", "N", "end QEMU with status N (0-126)", kcmd_exit },
	{ "ops", "", "the ops table: which cell serves each of nano_core's slots", kcmd_ops },
	{ "cells", "", "list loaded cells: name@version, sizes, range", kcmd_cells },
	{ "syms", "CELL", "a cell's symbols", kcmd_syms },
	{ "deps", "CELL", "what a cell uses and who uses it", kcmd_deps },
	{ "unload", "NAME", "unload a cell nothing depends on", kcmd_unload },
	{ "call", "CELL SYMBOL", "run int SYMBOL(void), a global function of a cell, catching faults",
	  kcmd_call },
	{ "swap", "[-v] OLD@V NEW@V...", "replace cells live as one transaction; 'swap' alone: the rules",
	  kcmd_swap },
	{ "swaps", "", "the swap log: when, what, outcome, step times", kcmd_swaps },
};

void kcmds_run(int argc, char **argv)
{
	size_t n = sizeof(commands) / sizeof(commands[0]);

	if (strcmp(argv[0], "help") == 0) {
		for (size_t i = 0; i < n; i++)
			kprintf("  %-6s %-20s %s\n", commands[i].name, commands[i].args, commands[i].help);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(commands[i].name, argv[0]) == 0) {
			commands[i].run(argc, argv);
			return;
		}
	kprintf("unknown command '%s'; type 'help' for the list\n", argv[0]);
}

int cell_init(void)
{
	return ops_register(OPS_CONSOLE_COMMAND, "kcmds", "kcmds_run", OPS_TYPE_CONSOLE_CMD);
}

void cell_exit(void)
{
	ops_unregister(OPS_CONSOLE_COMMAND, "kcmds");
}
