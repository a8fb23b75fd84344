/* nano_core's memory: frames, the kernel heap and guarded kernel stacks. */
#ifndef DELOS_MM_H
#define DELOS_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/mb2.h>

/*
 * Sets up the frame allocator over the boot memory map (keeping the kernel
 * image, the multiboot information at [mbi, mbi+mbi_size) and every module
 * out of it), builds and enters nano_core's page tables, and starts the heap.
 */
void mm_init(const struct mb2_info *boot, uint64_t mbi, uint64_t mbi_size);

/* The kernel heap (grant `core`). kmalloc returns NULL when memory runs out. */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);

/*
 * Allocates a kernel stack of `pages` pages with an unmapped guard page below
 * it and returns its top (16-byte aligned), or 0 when memory runs out.
 */
uint64_t stack_alloc(size_t pages);

/* Maps fresh zeroed frames read-write at [va, va+size); on failure maps nothing. */
bool mm_map_fresh(uint64_t va, uint64_t size);
/*
 * Unmaps [va, va+size) and frees the frames behind it. Returns false, having
 * changed nothing, if the range is not wholly mapped.
 */
bool mm_unmap_free(uint64_t va, uint64_t size);

/* Frees a stack from stack_alloc (top and pages as given then); its pages fault afterwards. */
void stack_free(uint64_t top, size_t pages);

/*
 * Returns a kernel address for physical [pa, pa+len) through the physmap
 * (never executable, and read-only where it holds code or read-only data;
 * grant `phys_mem`), or NULL if it is not covered (device memory above the
 * RAM the physmap holds).
 */
void *phys_map(uint64_t pa, size_t len);

struct mm_stats {
	uint64_t frames_total, frames_free, frames_reserved;
	uint64_t heap_size, heap_in_use, heap_free, heap_live, heap_allocs, heap_frees;
	uint64_t stacks, stack_pages;
};
void mm_stats(struct mm_stats *s);

/* Checks the heap's structure; returns 0 when it is sound. */
int mm_heap_check(void);

#endif
