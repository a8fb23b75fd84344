/*
 * The physmap, private to nano_core: every frame of RAM at PHYSMAP_BASE plus
 * its physical address, never executable, and read-only for the frames that
 * hold code or read-only data (nano_core's own and those of every placed
 * cell), so that nobody rewrites code through it. Cells reach physical memory
 * only through the exports of grant `phys_mem` (phys_map); live code changes
 * only through text_poke.
 */
#ifndef NANO_CORE_PHYSMAP_H
#define NANO_CORE_PHYSMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The physmap address of physical address pa, and back. */
void *phys_to_virt(uint64_t pa);
uint64_t virt_to_phys_physmap(const void *va);

/*
 * Sets the permissions (PERM_*) of the mapped range [va, va+size) of frames
 * that nothing else maps, as paging_protect does, and makes the physmap alias
 * of each of its frames read-only too unless perm is PERM_RW. At no moment is
 * a frame both executable and writable. Returns a PAGING_* code.
 */
int physmap_protect(uint64_t va, uint64_t size, unsigned perm);

/*
 * Unmaps a range mapped by mm_map_fresh (and perhaps protected with
 * physmap_protect) and frees its frames, each writable again in the physmap
 * for its next owner. The range stops being executable first. Returns false
 * (having logged why) if the range could not be unmapped.
 */
bool physmap_unmap_free(uint64_t va, uint64_t size);

/*
 * Writes len bytes from src at dst, whatever the permissions of the mapped
 * range [dst, dst+len): the one way live code and read-only data are patched
 * (Linux's text_poke). Each frame is mapped writable at POKE_VA only for the
 * moment of its write, with interrupts off; its other mappings never change.
 * Returns 0, or -1 if part of the range is not mapped (then nothing is
 * written) or the window cannot be mapped.
 */
int text_poke(void *dst, const void *src, size_t len);
/*
 * text_poke of n writes sorted by address (loader_env.poke_batch): each
 * page reached once, one serialization at the end. Returns 0, or -1 at the
 * first write into a range that is not mapped (the writes before it made).
 */
struct loader_poke;
int text_poke_batch(const struct loader_poke *p, size_t n);
/*
 * Fills each poke's `where` with the frame of its first byte (0 where none
 * is mapped), so that text_poke_batch walks no page table for it: valid
 * while the memory stays mapped, as a loaded cell's does (loader/swap.c
 * plans a relink this way while the link graph stands still).
 */
void text_poke_plan(struct loader_poke *p, size_t n);
/*
 * For text_poke only, with interrupts off: maps the frame at pa writable at
 * POKE_VA through the window's page-table entry, kept since paging_init (no
 * walk), or (pa 0) unmaps it and drops its TLB entry.
 */
void paging_poke_window(uint64_t pa);

#endif
