/*
 * nano_core's fallback console on the serial line, for when no shell cell
 * holds the ops slot console_owner (cells=none, or no shell loaded): a `delos> `
 * prompt that reads lines of up to 1,024 bytes and 8 words and knows `help`,
 * `load NAME@VERSION`, `cells` and `fault KIND`; any other command goes to the cell
 * holding the ops slot console_command (the console commands cell), if one is loaded.
 */
#ifndef DELOS_CONSOLE_H
#define DELOS_CONSOLE_H

/* Routes COM1's receive interrupt into the console's input ring. */
void console_init(void);
/* Reads and runs command lines forever. */
_Noreturn void console_run(void);
/* Runs one command line, as if typed at the prompt. */
void console_execute(char *line);

/* `fault KIND`: raises a CPU exception on purpose, for tests (grant `console`). */
void kcmd_fault(int argc, char **argv);

#endif
