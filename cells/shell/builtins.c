/*
 * The commands the shell registers at init: its own help, state, tasks, uptime,
 * load, unload, swap and swaps, nano_core's `fault`, and the console commands
 * cell's bodies (kcmds:kcmd_*, cells/kcmds/kcmds.h), all as cellrefs. load,
 * unload, swap and swaps are the shell's own copies (metamodules/live_cmds.c),
 * so that the shell can unload, load and swap the cell of the other commands.
 */
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/shell/internal.h"
#include <delos/ctx.h>
#include <delos/tasks.h>
#include <delos/time.h>
#include <delos/timer.h>
#include "metamodules/live_cmds.h"

struct builtin {
	const char *name, *cell, *sym, *usage, *help;
};

static const struct builtin builtins[] = {
	{ "help", "shell", "shell_cmd_help", "[COMMAND]", "list the commands, or explain one" },
	{ "mem", "kcmds", "kcmd_mem", "", "frame, heap, stack and cell window figures; who owns each frame" },
	{ "log", "kcmds", "kcmd_log", "", "print the kernel log" },
	{ "exit", "kcmds", "kcmd_exit", "N", "end QEMU with status N (0-126)" },
	{ "ops", "kcmds", "kcmd_ops", "", "the ops table: which cell serves each of nano_core's slots" },
	{ "fault", "shell", "shell_cmd_fault", "KIND|inject|list|clear [ARG...]",
	  "a CPU exception (pf gpf div0 ud stack), or inject|list|clear (swifi@1)" },
	{ "cells", "kcmds", "kcmd_cells", "", "list loaded cells: name@version, sizes, range" },
	{ "syms", "kcmds", "kcmd_syms", "CELL", "a cell's symbols" },
	{ "deps", "kcmds", "kcmd_deps", "CELL", "what a cell uses and who uses it" },
	{ "load", "shell", "shell_cmd_load", "NAME@VERSION",
	  "load a cell of cells.manifest; one version of a name at a time" },
	{ "unload", "shell", "shell_cmd_unload", "NAME", "unload a cell nothing depends on" },
	{ "call", "kcmds", "kcmd_call", "CELL SYMBOL",
	  "run int SYMBOL(void), a global function of a cell, catching faults" },
	{ "swap", "shell", "shell_cmd_swap", "[-v] OLD@V NEW@V...",
	  "replace cells live as one transaction; 'swap' alone: the rules" },
	{ "swaps", "shell", "shell_cmd_swaps", "", "the swap log: when, what, outcome, step times" },
	{ "state", "shell", "shell_cmd_state", "[PREFIX]",
	  "state_db records, their owners and checksums" },
	{ "tasks", "shell", "shell_cmd_tasks", "", "tasks: id, name, state, entry, runs, cpu ticks" },
	{ "uptime", "shell", "shell_cmd_uptime", "",
	  "timer ticks and guest time, read together" },
};

/*
 * `fault pf|gpf|div0|ud|stack` is nano_core's (kcmd_fault); `fault
 * inject|list|clear ...` goes to whichever cell registered the command
 * `swifi` (the fault injector, swifi@1), with the same words.
 */
void shell_cmd_fault(int argc, char **argv)
{
	static const struct cellref raise = { "nano_core", "kcmd_fault" };
	struct shell_cmd c;
	uint64_t fn;

	if (argc >= 2 && (strcmp(argv[1], "inject") == 0 || strcmp(argv[1], "list") == 0 ||
			  strcmp(argv[1], "clear") == 0)) {
		if (shell_cmd_find("swifi", &c) != 0 || !(fn = cellref_resolve(&c.fn))) {
			shell_printf("fault: '%s' needs the fault injector: load swifi@1\n", argv[1]);
			return;
		}
		((void (*)(int, char **))fn)(argc, argv);
		return;
	}
	if ((fn = cellref_resolve(&raise)))
		((void (*)(int, char **))fn)(argc, argv);
	else
		shell_printf("fault: nano_core's kcmd_fault does not resolve\n");
}

/* Reads the tick count and the TSC clock in one moment with interrupts off. */
void shell_cmd_uptime(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		shell_printf("usage: uptime\n");
		return;
	}
	uint64_t flags = irq_save();
	uint64_t ticks = timer_ticks(), ns = time_ns();
	irq_restore(flags);
	shell_printf("uptime: %lu ticks at %lu Hz, %lu us of guest time (TSC from %s)\n", ticks,
		     timer_hz(), ns / 1000, tsc_source());
}

void shell_cmd_load(int argc, char **argv)
{
	live_cmd_load(argc, argv);
}

void shell_cmd_unload(int argc, char **argv)
{
	live_cmd_unload(argc, argv);
}

void shell_cmd_swap(int argc, char **argv)
{
	live_cmd_swap(argc, argv);
}

void shell_cmd_swaps(int argc, char **argv)
{
	live_cmd_swaps(argc, argv);
}

int shell_builtins_register(void)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		const struct builtin *b = &builtins[i];
		int err = shell_register(b->name, b->cell, b->sym, b->usage, b->help);
		if (err) {
			klog(LOG_ERR, "shell: cannot register '%s': %s", b->name, shell_strerror(err));
			return err;
		}
	}
	return 0;
}

/* Command names collected from the records, for a sorted `help`. */
struct names {
	int count;
	char name[SHELL_CMDS_MAX][SHELL_NAME_MAX + 1];
};

static bool collect(void *ctx, const struct statedb_meta *meta)
{
	struct names *n = ctx;
	const char *name = meta->name + sizeof(SHELL_CMD_PREFIX) - 1;
	int i = n->count;

	if (!shell_name_valid(name) || n->count == SHELL_CMDS_MAX)
		return n->count < SHELL_CMDS_MAX;
	/* Insertion sort: the table is small. */
	for (; i > 0 && strcmp(n->name[i - 1], name) > 0; i--)
		memcpy(n->name[i], n->name[i - 1], sizeof(n->name[i]));
	memset(n->name[i], 0, sizeof(n->name[i]));
	memcpy(n->name[i], name, strlen(name));
	n->count++;
	return true;
}

static void help_one(const char *name)
{
	struct shell_cmd c;

	if (shell_cmd_find(name, &c) != 0) {
		shell_printf("unknown command '%s'; type 'help' for the list\n", name);
		return;
	}
	shell_printf("usage: %s%s%s\n  %s\n  served by %s:%s\n", name, c.usage[0] ? " " : "",
		     c.usage, c.help, c.fn.cell, c.fn.sym);
}

/* Copies s into out (cap bytes) padded with spaces to width. */
static const char *padded(char *out, size_t cap, const char *s, int width)
{
	size_t n = strlen(s), w = (size_t)width < cap - 1 ? (size_t)width : cap - 1;

	n = n < cap - 1 ? n : cap - 1;
	memcpy(out, s, n);
	for (; n < w; n++)
		out[n] = ' ';
	out[n] = '\0';
	return out;
}

/* Prints the listing with columns as wide as the longest name and usage. */
static void help_all(const struct names *n)
{
	char name[SHELL_NAME_MAX + 1], usage[SHELL_USAGE_MAX + 1];
	struct shell_cmd c;
	int name_w = 4, usage_w = 0;

	for (int i = 0; i < n->count; i++) {
		int len = (int)strlen(n->name[i]);
		name_w = len > name_w ? len : name_w;
		if (shell_cmd_find(n->name[i], &c) == 0 && (int)strlen(c.usage) > usage_w)
			usage_w = (int)strlen(c.usage);
	}
	for (int i = 0; i < n->count; i++)
		if (shell_cmd_find(n->name[i], &c) == 0)
			shell_printf("  %s %s %s\n", padded(name, sizeof(name), n->name[i], name_w),
				     padded(usage, sizeof(usage), c.usage, usage_w), c.help);
}

void shell_cmd_help(int argc, char **argv)
{
	struct names n;

	if (argc == 2) {
		help_one(argv[1]);
		return;
	}
	n.count = 0;
	sdb_list(SHELL_CMD_PREFIX, collect, &n);
	help_all(&n);
}

/* A sorted snapshot of the records' metadata, taken before anything is printed. */
struct state_rows {
	int count, seen;
	struct statedb_meta row[SHELL_STATE_ROWS];
};

static bool state_collect(void *ctx, const struct statedb_meta *m)
{
	struct state_rows *r = ctx;
	int i = r->count;

	r->seen++;
	if (r->count == SHELL_STATE_ROWS)
		return true;
	for (; i > 0 && strcmp(r->row[i - 1].name, m->name) > 0; i--)
		r->row[i] = r->row[i - 1];
	r->row[i] = *m;
	r->count++;
	return true;
}

static void state_print(const struct statedb_meta *m)
{
	shell_printf("%-28s %08x %3u %7u %-10s %s\n", m->name, m->type, m->version, m->size,
		     m->owner, m->checksum_ok ? "ok" : "CORRUPT");
}

/* How the background scrub stands (include/delos/sdb.h): a round takes `round` ticks. */
static void state_scrub_line(void)
{
	struct statedb_stats st;
	size_t round;

	if (sdb_stats(&st))
		return;
	round = (st.scrub_cost + SDB_SCRUB_BYTES - 1) / SDB_SCRUB_BYTES * SDB_SCRUB_EVERY;
	shell_printf("scrub: %lu records verified, %lu rounds of %zu index slots, %u bytes every %u ticks:"
		     " a round is %zu bytes, %zu ticks; a corrupt record found within %zu ticks;"
		     " checksums by %s\n", st.scrubbed, st.scrub_rounds, st.index_slots,
		     SDB_SCRUB_BYTES, SDB_SCRUB_EVERY, st.scrub_cost, round, 2 * round,
		     st.hw_crc ? "the crc32 instruction" : "slicing-by-8");
}

void shell_cmd_state(int argc, char **argv)
{
	struct state_rows *r = kzalloc(sizeof(*r));
	int err;

	if (!r) {
		shell_printf("state: out of memory\n");
		return;
	}
	err = sdb_list(argc == 2 ? argv[1] : "", state_collect, r);
	if (err < 0) {
		shell_printf("state: %s\n", sdb_strerror(err));
	} else {
		shell_printf("%-28s %-8s %3s %7s %-10s %s\n", "record", "type", "ver", "size", "owner",
			     "checksum");
		for (int i = 0; i < r->count; i++)
			state_print(&r->row[i]);
		if (r->seen > r->count)
			shell_printf("(%d more not shown)\n", r->seen - r->count);
		shell_printf("%d record%s\n", r->seen, r->seen == 1 ? "" : "s");
		state_scrub_line();
	}
	kfree(r);
}

static void task_row(void *ctx, const struct task_info *t)
{
	char entry[CELLREF_CELL_MAX + CELLREF_SYM_MAX + 2];

	(void)ctx;
	if (t->cell[0])
		snprintf(entry, sizeof(entry), "%s:%s", t->cell, t->sym);
	else
		snprintf(entry, sizeof(entry), "-");
	shell_printf("%4ld %-12s %-9s %-30s %8lu %8lu\n", t->id, t->name, t->state, entry, t->runs,
		     t->cpu_ticks);
}

void shell_cmd_tasks(int argc, char **argv)
{
	(void)argc, (void)argv;
	shell_printf("%4s %-12s %-9s %-30s %8s %8s\n", "id", "name", "state", "entry", "runs",
		     "ticks");
	int n = tasks_list(task_row, NULL);
	if (n < 0)
		shell_printf("tasks: %s\n", tasks_strerror(n));
	else
		shell_printf("%d task%s\n", n, n == 1 ? "" : "s");
}
