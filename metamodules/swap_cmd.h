/*
 * The `swap` and `swaps` console commands, compiled into each cell that
 * serves them (the shell, so that it can swap the other command cells, and
 * kcmds, for nano_core's fallback console): grant `system`.
 */
#ifndef METAMODULES_SWAP_CMD_H
#define METAMODULES_SWAP_CMD_H

/* swap [-v] OLD@V NEW@W [OLD@V NEW@W]...: one transaction; `swap` alone prints the rules. */
void swap_cmd_swap(int argc, char **argv);
/* swaps: the swap log, each swap's outcome and step times. */
void swap_cmd_swaps(int argc, char **argv);

#endif
