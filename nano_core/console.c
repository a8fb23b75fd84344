#include <delos/cells.h>
#include "nano_core/console.h"
#include <delos/log.h>
#include <delos/fault.h>
#include <delos/ops.h>
#include <delos/string.h>
#include <delos/trap.h>
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

static void cmd_help(int argc, char **argv);

/* `load NAME@VERSION`: to bring up a shell, or the console commands cell. */
static void cmd_load(int argc, char **argv)
{
	if (argc != 2)
		kprintf("usage: load NAME@VERSION   (a cell of cells.manifest)\n");
	else
		cells_load(argv[1]);
}

/* `cells`: what is loaded, even when no cell can load (a manifest refused). */
static void cmd_cells(int argc, char **argv)
{
	struct loader_cell_info i;

	(void)argc, (void)argv;
	for (struct loader_cell *c = NULL; cells_loader() && (c = loader_cell_next(cells_loader(), c));) {
		loader_cell_info(c, &i);
		kprintf("  %s@%s\n", i.name, i.core ? "core" : i.version);
	}
}

static const struct command commands[] = {
	{ "help", "", "list the commands", cmd_help },
	{ "load", "NAME@VERSION", "load a cell of cells.manifest", cmd_load },
	{ "fault", "pf|gpf|div0|ud|stack", "raise that CPU exception on purpose", kcmd_fault },
	{ NULL, NULL, NULL, NULL },
};

/* A command of the cell holding the ops slot console_command, as a contained call. */
struct cell_command {
	uint64_t fn;
	int argc;
	char **argv;
};

static void run_cell_command(void *arg)
{
	struct cell_command *c = arg;

	((void (*)(int, char **))c->fn)(c->argc, c->argv);
}

static bool cell_command(int argc, char **argv)
{
	struct cell_command c = { ops_resolve(OPS_CONSOLE_COMMAND), argc, argv };
	struct trap_info ti;

	if (!c.fn)
		return false;
	if (trap_contain(run_cell_command, &c, FAULT_CTX_COMMAND, &ti))
		kprintf("%s: %s:%s raised %s at %016lx; the command was abandoned\n", argv[0],
			ops_holder(OPS_CONSOLE_COMMAND), ops_symbol(OPS_CONSOLE_COMMAND),
			trap_name(ti.vector), ti.rip);
	return true;
}

static void cmd_help(int argc, char **argv)
{
	for (const struct command *c = commands; c->name; c++)
		kprintf("  %-6s %-20s %s\n", c->name, c->args, c->help);
	if (!cell_command(argc, argv))
		kprintf("  %-6s %-20s %s\n  (more commands come with a cell that fills the ops slot "
			"console_command)\n", "cells", "", "the loaded cells' names and versions");
}

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
	if (cell_command(argc, argv))
		return;
	if (strcmp(argv[0], "cells") == 0)	/* the commands cell's, when there is one */
		cmd_cells(argc, argv);
	else
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
