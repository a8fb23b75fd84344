#include "nano_core/boot.h"
#include <delos/cells.h>
#include "nano_core/console.h"
#include "nano_core/heap.h"
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/string.h>
#include <delos/trap.h>
#include "nano_core/vrange.h"
#include "hal/cpu.h"
#include "hal/uart.h"
#include <delos/platform.h>

#define LINE_MAX 1024	/* bytes in a command line, NUL excluded */
#define ARGS_MAX 8	/* words in a command line */
#define RX_RING 2048	/* received bytes not yet read: a whole line fits, pasted at once */
#define RX_LOST 0x100	/* in the ring: bytes were dropped (the ring was full) before this one */

/* Bytes received by the COM1 interrupt, consumed by console_run; owned by console.c. */
static struct {
	uint16_t buf[RX_RING];	/* a byte, | RX_LOST when input was dropped before it */
	volatile unsigned head, tail;
	bool dropped;		/* bytes were dropped since the last one stored */
} rx;

struct command {
	const char *name, *args, *help;
	void (*run)(int argc, char **argv);
};
static const struct command commands[];

static void rx_interrupt(uint8_t irq)
{
	uint16_t port;

	console_uart(&port, &irq);
	for (int c; (c = uart_getc(port)) >= 0;) {
		if (rx.head - rx.tail == RX_RING) {
			rx.dropped = true;
			continue;
		}
		rx.buf[rx.head++ % RX_RING] = (uint16_t)c | (rx.dropped ? RX_LOST : 0);
		rx.dropped = false;
	}
}

void console_init(void)
{
	uint16_t port;
	uint8_t irq;

	console_uart(&port, &irq);
	uart_enable_rx_irq(port);
	irq_set_handler(irq, rx_interrupt);
}

/* The next received byte, | RX_LOST if bytes were dropped before it. */
static unsigned read_char(void)
{
	for (;;) {
		cpu_cli();
		if (rx.head != rx.tail) {
			unsigned c = rx.buf[rx.tail++ % RX_RING];
			cpu_sti();
			return c;
		}
		cpu_sti_hlt();
	}
}

/* What read_line found, besides the bytes. */
struct line_status {
	size_t len;	/* bytes typed; more than LINE_MAX means only the first LINE_MAX were kept */
	bool lost;	/* input was dropped while the line was typed */
};

/*
 * Reads one line into line (LINE_MAX bytes and a NUL), echoing it. Once a
 * line passes LINE_MAX bytes the rest is read up to Enter but neither kept
 * nor echoed, and Backspace no longer shortens it: the caller refuses it.
 */
static struct line_status read_line(char *line)
{
	struct line_status st = { 0, false };

	for (;;) {
		unsigned in = read_char();
		char c = (char)(in & 0xff);
		st.lost |= (in & RX_LOST) != 0;
		if (c == '\r' || c == '\n') {
			console_write("\n", 1);
			line[st.len < LINE_MAX ? st.len : LINE_MAX] = '\0';
			return st;
		}
		if ((c == 0x7f || c == '\b') && st.len && st.len <= LINE_MAX) {
			st.len--;
			console_write("\b \b", 3);
		} else if (c >= ' ' && c < 0x7f) {
			if (st.len < LINE_MAX) {
				line[st.len] = c;
				console_write(&c, 1);
			}
			st.len++;
		}
	}
}

/* Splits line at spaces into argv; returns argc, or -1 if it has more than ARGS_MAX words. */
static int split(char *line, char **argv)
{
	int argc = 0;

	for (char *p = line; *p;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == ARGS_MAX)
			return -1;
		argv[argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return argc;
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

static void cmd_help(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (const struct command *c = commands; c->name; c++)
		kprintf("  %-6s %-20s %s\n", c->name, c->args, c->help);
}

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

static const struct command commands[] = {
	{ "help", "", "list the commands", cmd_help },
	{ "mem", "", "frame, heap, stack and cell window figures; who owns each frame", kcmd_mem },
	{ "log", "", "print the kernel log", kcmd_log },
	{ "exit", "N", "end QEMU with status N (0-126)", kcmd_exit },
	{ "fault", "pf|gpf|div0|ud|stack", "raise that CPU exception on purpose", kcmd_fault },
	{ "cells", "", "list loaded cells: name@version, sizes, range", kcmd_cells },
	{ "syms", "CELL", "a cell's symbols", kcmd_syms },
	{ "deps", "CELL", "what a cell uses and who uses it", kcmd_deps },
	{ "load", "NAME@VERSION", "load a cell of cells.manifest; one version of a name at a time",
	  kcmd_load },
	{ "unload", "NAME", "unload a cell nothing depends on", kcmd_unload },
	{ "call", "CELL SYMBOL", "run int SYMBOL(void), a global function of a cell, catching faults",
	  kcmd_call },
	{ "swap", "[-v] OLD@V NEW@V...", "replace cells live as one transaction; 'swap' alone: the rules",
	  kcmd_swap },
	{ "swaps", "", "the swap log: when, what, outcome, step times", kcmd_swaps },
	{ NULL, NULL, NULL, NULL },
};

void console_execute(char *line)
{
	char *argv[ARGS_MAX];
	int argc = split(line, argv);

	if (argc < 0) {
		kprintf("too many words: at most %d; nothing was run\n", ARGS_MAX);
		return;
	}
	if (argc == 0)
		return;
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, argv[0]) == 0) {
			c->run(argc, argv);
			return;
		}
	kprintf("unknown command '%s'; type 'help' for the list\n", argv[0]);
}

_Noreturn void console_run(void)
{
	char line[LINE_MAX + 1];

	kprintf("Delos console. Type 'help'.\n");
	for (;;) {
		kprintf("delos> ");
		struct line_status st = read_line(line);
		if (st.lost)
			kprintf("input lost: bytes came faster than they were read; nothing was run\n");
		else if (st.len > LINE_MAX)
			kprintf("line too long: %zu bytes, the limit is %d; nothing was run\n", st.len,
				LINE_MAX);
		else
			console_execute(line);
	}
}
