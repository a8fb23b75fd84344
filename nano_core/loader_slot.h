/* nano_core's loader slot and the placer of the boot image (docs/loader-cell.md). */
#ifndef NANO_CORE_LOADER_SLOT_H
#define NANO_CORE_LOADER_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <delos/loader.h>
#include <delos/swap.h>

/*
 * Checks the placed image img (len bytes: include/delos/loader_cell.h),
 * maps it with env's map at the address it was linked for, copies it,
 * protects each range, and points the slot at its table. Returns 0, or
 * non-zero after a log line naming what is wrong, with nothing mapped.
 */
int loader_slot_place(const void *img, size_t len, const struct loader_env *env);
/*
 * Points the slot at the table at ops, which must lie, with every entry it
 * holds, in [lo, hi) (the loader's mapping), and be of this nano_core's
 * version and size. Returns 0, or non-zero after a log line, unchanged.
 */
int loader_slot_set(uint64_t ops, uint64_t lo, uint64_t hi);
/*
 * For a swap's check step: when an old cell of the pairs holds the slot's
 * table, its new cell must export a table this nano_core can call, which
 * loader_slot_swap_commit (world stopped) then points the slot at. Refuses
 * (non-zero, `why` naming the cells) otherwise.
 */
int loader_slot_swap_check(const struct swap_pair *pairs, size_t n, char *why, size_t cap);
void loader_slot_swap_commit(void);
/*
 * Whether the swap checked last moves the slot: then *pair is the loader's
 * pair, and [*lo, *hi) nano_core's calls through the slot, which count as
 * the old loader's code for the swap's quiescence.
 */
bool loader_slot_moving(size_t *pair, uint64_t *lo, uint64_t *hi);
/* Unmaps the placed image, once the slot no longer points into it. */
void loader_slot_unplace(const struct loader_env *env);
/* Whether the slot's table lies in [lo, hi): that range holds the loader running. */
bool loader_slot_in(uint64_t lo, uint64_t hi);

#endif
