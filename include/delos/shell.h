/*
 * shell (cell shell@1): the `delos> ` console, as a cell.
 *
 * Input. The shell subscribes shell_on_input to the event "console.input"
 * (posted by the serial and kbd cells); it appends each byte to the record
 * "shell/input" and wakes the channel "shell.input". When that queue is full
 * it refuses the byte, and the driver keeps it; the shell task posts the
 * event "console.room" whenever it has emptied the queue, and the driver then
 * posts what it kept. So a paste of any length loses nothing. The shell task
 * (shell_main, spawned by cell_init) takes the queued bytes and edits
 * the line in the record "shell/line" (struct shell_line): printable bytes
 * insert at the cursor, Backspace (0x7f or 0x08) deletes before it, Ctrl-U
 * kills the line, Ctrl-C abandons it, ESC [ D / C move left / right, and
 * ESC [ A / B recall older / newer lines from "shell/history" (struct
 * shell_history). Enter (CR or LF) runs the line. Everything the editor knows
 * is in those records, so a restarted shell task loses no keystroke and no
 * half-typed line.
 *
 * Lines are never cut. A line longer than SHELL_LINE_MAX bytes is read up to
 * its Enter and then refused whole, with a message naming the limit; until
 * then only Ctrl-U and Ctrl-C act on it. A driver that lost bytes (a UART
 * overrun) posts SHELL_INPUT_LOST in their place; it is queued as a NUL (a
 * typed NUL means nothing to the editor and is not queued), and the line it
 * falls in is refused too. A line has at most SHELL_ARGS_MAX words.
 *
 * Output goes to serial_write and console_screen_write (shell_write, shell_printf).
 *
 * Commands. Each command is one record "shell/cmd/NAME" (struct shell_cmd):
 * a cellref to `void fn(int argc, char **argv)` (argv[0] is the command's
 * name), a usage line and a help line. The shell looks the command up by name
 * for every line it runs and resolves the cellref then, so a command survives
 * a swap of the shell or of the cell that serves it, and disappears (with a
 * clear message) when that cell is unloaded. The usage line gives the
 * arguments: WORD is required, [WORD] optional, a last word ending in "..."
 * takes any number more; the shell prints "usage: NAME USAGE" when a line's
 * argument count does not fit, without calling the command.
 *
 * Commands print with shell_printf. Output printed with kprintf (nano_core's
 * commands) is written at once, so the shell drains its queued output first.
 */
#ifndef CELLS_SHELL_H
#define CELLS_SHELL_H

#include <stdint.h>

#include <delos/cellref.h>

#define SHELL_PROMPT "delos> "
#define SHELL_EVENT "console.input"
#define SHELL_CHANNEL "shell.input"

#define SHELL_INPUT_RECORD "shell/input"
#define SHELL_LINE_RECORD "shell/line"
#define SHELL_HISTORY_RECORD "shell/history"
#define SHELL_CMD_PREFIX "shell/cmd/"

#define SHELL_INPUT_MAX 1024u  /* typed bytes not yet read by the shell task (BYTEQ_MAX at most) */
#define SHELL_ROOM_EVENT "console.room"
#define SHELL_INPUT_LOST 0x100u /* posted as input: bytes were lost here (a UART overrun) */
#define SHELL_INPUT_BATCH 256  /* input bytes the editor takes from the queue at a time */
#define SHELL_LINE_MAX 1024    /* bytes in a command line, NUL excluded */
#define SHELL_HISTORY 16       /* lines kept */
#define SHELL_ARGS_MAX 128     /* words in a command line, the command's name included */
#define SHELL_NAME_MAX 23      /* bytes in a command name: [a-z0-9_-] */
#define SHELL_USAGE_MAX 39
#define SHELL_HELP_MAX 71
#define SHELL_CMDS_MAX 64      /* commands `help` lists */
#define SHELL_STATE_ROWS 256   /* records `state` lists */

#define SHELL_LINE_TYPE 0x4e494c53u    /* "SLIN" */
#define SHELL_HISTORY_TYPE 0x54534853u /* "SHST" */
#define SHELL_CMD_TYPE 0x444d4353u     /* "SCMD" */
#define SHELL_LAYOUT 1u

enum shell_error {
	SHELL_E_NAME = -1,       /* command name empty, too long, or not [a-z0-9_-] */
	SHELL_E_TARGET = -2,     /* cell or symbol empty or too long for a cellref */
	SHELL_E_TEXT = -3,       /* usage or help NULL or too long */
	SHELL_E_NOT_FOUND = -4,  /* unregister: no such command */
	SHELL_E_STORE = -5,      /* state_db refused (out of memory, corrupt record) */
};

/* The record "shell/cmd/NAME". */
struct shell_cmd {
	struct cellref fn;
	char usage[SHELL_USAGE_MAX + 1];
	char help[SHELL_HELP_MAX + 1];
};

/*
 * The record "shell/line": the line being edited. A line that does not fit
 * (over > 0) or that lost input (lost) is refused whole when Enter comes.
 */
struct shell_line {
	uint16_t len;      /* bytes in buf (no NUL kept), 0..SHELL_LINE_MAX */
	uint16_t pos;      /* the cursor, 0..len */
	int16_t hist;      /* history entry shown (0 = newest), -1 for a new line */
	uint8_t esc;       /* escape sequence: 0 none, 1 after ESC, 2 after ESC [ */
	uint8_t lost;      /* 1: the input queue overflowed while this line was typed */
	uint32_t over;     /* bytes typed past SHELL_LINE_MAX, neither kept nor shown */
	char buf[SHELL_LINE_MAX];
};

/* The record "shell/history": the last SHELL_HISTORY lines run. */
struct shell_history {
	uint32_t added;    /* lines ever added; the newest is lines[(added - 1) % SHELL_HISTORY] */
	uint32_t pad;
	char lines[SHELL_HISTORY][SHELL_LINE_MAX + 1];
};

/*
 * Adds or replaces the command `name`, served by cell:sym. Returns 0 or a
 * negative enum shell_error, having changed nothing. usage may be "" (no
 * arguments). The record's owner is `cell`.
 */
int shell_register(const char *name, const char *cell, const char *sym, const char *usage,
		   const char *help);
/* Removes the command; returns 0, SHELL_E_NAME or SHELL_E_NOT_FOUND. */
int shell_unregister(const char *name);
/* Returns a sentence naming err. */
const char *shell_strerror(int err);

/* Writes to the console outputs (serial and VGA); returns len. */
int shell_write(const char *buf, uint64_t len);
/* printf to the console outputs; returns the length (output is never cut). */
int shell_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The "console.input" subscriber; callable from interrupt handlers. */
int shell_on_input(uint64_t byte);
/* The shell task: prompt, edit, run, forever. */
int shell_main(uint64_t arg);

#endif
