/*
 * kcmds (cell kcmds@1): the console's system commands, over nano_core's
 * narrow `system` API (include/delos/system.h). The shell serves each as a
 * command record (cells/shell/builtins.c); nano_core's fallback console runs
 * them through the ops slot console_command (kcmds_run).
 */
#ifndef CELLS_KCMDS_H
#define CELLS_KCMDS_H

void kcmd_mem(int argc, char **argv);
void kcmd_log(int argc, char **argv);
void kcmd_exit(int argc, char **argv);
void kcmd_ops(int argc, char **argv);
void kcmd_cells(int argc, char **argv);
void kcmd_syms(int argc, char **argv);
void kcmd_deps(int argc, char **argv);
void kcmd_load(int argc, char **argv);
void kcmd_unload(int argc, char **argv);
void kcmd_call(int argc, char **argv);
/* load, unload, swap and swaps: metamodules/live_cmds.c, as the shell's. */
void kcmd_swap(int argc, char **argv);
void kcmd_swaps(int argc, char **argv);
/* The ops slot console_command: runs argv[0] with its words, or says it is unknown. */
void kcmds_run(int argc, char **argv);

#endif
