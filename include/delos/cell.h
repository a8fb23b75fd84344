/*
 * What every cell is: a relocatable object with no writable static data,
 * linked at run time against nano_core's exports (by grant) and other cells.
 *
 * A cell may define, privately (never exported, never colliding):
 *   int cell_init(void)   run once after loading; non-zero refuses the load
 *                         and the cell is unloaded again
 *   void cell_exit(void)  run before unloading
 * and, for a live swap (include/delos/swap.h, cells/README.md):
 *   int cell_swap_prepare(uint64_t old_version)
 *                         run at the swap's check step, with the world
 *                         running and no transaction open: it verifies what
 *                         its cell_swap_in will take over, so that the hook
 *                         only confirms it with the world stopped. It writes
 *                         no record (the swap may still be refused, and a
 *                         refused swap changes nothing); non-zero refuses
 *                         the swap. What it learnt it keeps with
 *                         cell_swap_keep (a cell has no writable data).
 *   int cell_swap_in(uint64_t old_version)
 *                         run with the world stopped, in the swap's state
 *                         transaction: takes the old version's records over
 *   int cell_swap_done(uint64_t old_version)
 *                         run once the swap has committed
 */
#ifndef DELOS_CELL_H
#define DELOS_CELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int cell_init(void);
void cell_exit(void);

/*
 * In a new cell's cell_swap_prepare: keeps one word for its cell_swap_in in
 * the same swap (nano_core holds it; 0, or -1 outside that hook). In
 * cell_swap_in: true, with the word, when its prepare kept one. A word that
 * says "the state store stood at sdb_changes() == N" lets the swap-in hook
 * skip what the prepare verified while that still holds.
 */
int cell_swap_keep(uint64_t word);
bool cell_swap_kept(uint64_t *word);

/* Copies the value of `key=value` on the kernel command line into buf; false if absent. */
bool cmdline_get(const char *key, char *buf, size_t size);

#endif
