/* nano_core's built-in console on COM1: a line prompt `delos> ` with a few commands. */
#ifndef DELOS_CONSOLE_H
#define DELOS_CONSOLE_H

/* Routes COM1's receive interrupt into the console's input ring. */
void console_init(void);
/* Reads and runs command lines forever. */
_Noreturn void console_run(void);
/* Runs one command line, as if typed at the prompt. */
void console_execute(char *line);

/*
 * nano_core's command bodies, exported to the shell cell (grant `console`).
 * Each takes the words of its command line and prints through kprintf.
 */
void kcmd_mem(int argc, char **argv);
void kcmd_log(int argc, char **argv);
void kcmd_exit(int argc, char **argv);
/* `fault KIND`: raises a CPU exception on purpose, for tests. */
void kcmd_fault(int argc, char **argv);

#endif
