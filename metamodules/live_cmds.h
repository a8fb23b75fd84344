/*
 * The console commands that change which cells are loaded (load, unload,
 * swap) and the swap log, compiled into each cell that serves them: the
 * shell, so that it can unload, load and swap the cell of the other
 * commands, and kcmds, for nano_core's fallback console. Grant `system`.
 */
#ifndef METAMODULES_LIVE_CMDS_H
#define METAMODULES_LIVE_CMDS_H

/* load NAME@VERSION: a cell of cells.manifest, one version of a name at a time. */
void live_cmd_load(int argc, char **argv);
/* unload NAME: a cell nothing depends on. */
void live_cmd_unload(int argc, char **argv);
/* swap [-v] OLD@V NEW@W [OLD@V NEW@W]...: one transaction; `swap` alone prints the rules. */
void live_cmd_swap(int argc, char **argv);
/* swaps: the swap log, each swap's outcome and step times. */
void live_cmd_swaps(int argc, char **argv);

#endif
