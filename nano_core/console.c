#include <delos/boot.h>
#include <delos/cells.h>
#include <delos/console.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/string.h>
#include <delos/trap.h>
#include "hal/cpu.h"
#include "hal/uart.h"

#define LINE_MAX 160
#define ARGS_MAX 8
#define RX_RING 256

/* Bytes received by the COM1 interrupt, consumed by console_run; owned by console.c. */
static struct {
	char buf[RX_RING];
	volatile unsigned head, tail;
} rx;

struct command {
	const char *name, *args, *help;
	void (*run)(int argc, char **argv);
};
static const struct command commands[];

static void rx_interrupt(uint8_t irq)
{
	(void)irq;
	for (int c; (c = uart_getc(COM1_PORT)) >= 0;)
		if (rx.head - rx.tail < RX_RING)
			rx.buf[rx.head++ % RX_RING] = (char)c;
}

void console_init(void)
{
	uart_enable_rx_irq(COM1_PORT);
	irq_set_handler(COM1_IRQ, rx_interrupt);
}

static char read_char(void)
{
	for (;;) {
		cpu_cli();
		if (rx.head != rx.tail) {
			char c = rx.buf[rx.tail++ % RX_RING];
			cpu_sti();
			return c;
		}
		cpu_sti_hlt();
	}
}

static void read_line(char *line)
{
	size_t n = 0;

	for (;;) {
		char c = read_char();
		if (c == '\r' || c == '\n') {
			console_write("\n", 1);
			line[n] = '\0';
			return;
		}
		if ((c == 0x7f || c == '\b') && n) {
			n--;
			console_write("\b \b", 3);
		} else if (c >= ' ' && c < 0x7f && n + 1 < LINE_MAX) {
			line[n++] = c;
			console_write(&c, 1);
		}
	}
}

static int split(char *line, char **argv)
{
	int argc = 0;

	for (char *p = line; *p && argc < ARGS_MAX;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
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

void kcmd_mem(int argc, char **argv)
{
	struct mm_stats s;

	(void)argc, (void)argv;
	mm_stats(&s);
	kprintf("frames: total %lu free %lu used %lu (KiB: total %lu free %lu)\n", s.frames_total,
		s.frames_free, s.frames_total - s.frames_free, s.frames_total * 4, s.frames_free * 4);
	kprintf("heap: size %lu in_use %lu free %lu live %lu allocs %lu frees %lu check %s\n",
		s.heap_size, s.heap_in_use, s.heap_free, s.heap_live, s.heap_allocs, s.heap_frees,
		mm_heap_check() == 0 ? "ok" : "CORRUPT");
	kprintf("stacks: %lu (%lu pages, each with a guard page)\n", s.stacks, s.stack_pages);
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
	{ "mem", "", "frame, heap and stack figures", kcmd_mem },
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
	char line[LINE_MAX];

	kprintf("Delos console. Type 'help'.\n");
	for (;;) {
		kprintf("delos> ");
		read_line(line);
		console_execute(line);
	}
}
