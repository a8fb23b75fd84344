/*
 * What every cell is: a relocatable object with no writable static data,
 * linked at run time against nano_core's exports (by grant) and other cells.
 *
 * A cell may define, privately (never exported, never colliding):
 *   int cell_init(void)   run once after loading; non-zero refuses the load
 *                         and the cell is unloaded again
 *   void cell_exit(void)  run before unloading
 */
#ifndef DELOS_CELL_H
#define DELOS_CELL_H

#include <stdbool.h>
#include <stddef.h>

int cell_init(void);
void cell_exit(void);

/* Copies the value of `key=value` on the kernel command line into buf; false if absent. */
bool cmdline_get(const char *key, char *buf, size_t size);

#endif
