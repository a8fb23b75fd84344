/* nano_core's memory: frames, the kernel heap and guarded kernel stacks. */
#ifndef DELOS_MM_H
#define DELOS_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/frame.h>
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
 * kmalloc for nano_core's own allocators that hand memory on (the store's,
 * the loader's): never counted as the calling task's (stack_reclaim). Any
 * nano_core wrapper that cells call to get memory they do not free must use
 * it, since kmalloc tells a task's block by its caller's address.
 */
void *kmalloc_kept(size_t size);

/*
 * Allocates a kernel stack of `pages` pages with an unmapped guard page below
 * it and returns its top (16-byte aligned), or 0 when memory runs out.
 */
uint64_t stack_alloc(size_t pages);

/* Maps fresh zeroed frames read-write at [va, va+size); on failure maps nothing. */
bool mm_map_fresh(uint64_t va, uint64_t size);
/* The same without zeroing, for a caller that writes every byte before
 * anything else can read it (the loader's cell mappings). */
bool mm_map_unzeroed(uint64_t va, uint64_t size);
/*
 * Unmaps [va, va+size) and frees the frames behind it. Returns false, having
 * changed nothing, if the range is not wholly mapped.
 */
bool mm_unmap_free(uint64_t va, uint64_t size);

/*
 * Frees a stack from stack_alloc (top and pages as given then); its pages
 * fault afterwards. The heap blocks its task left (stack_reclaim) go with it.
 */
void stack_free(uint64_t top, size_t pages);
/*
 * Frees the heap blocks that cells' code allocated with this stack in use
 * and has not freed: a block kmalloc'd by a cell on a task's stack is that
 * task's (a cell keeps no pointer past a call), so once the task is ended or
 * started over at its entry nothing can reach it. Returns how many. (Grant
 * `sched`: for the tasks cell, which restarts a task on its own stack.)
 */
size_t stack_reclaim(uint64_t top, size_t pages);

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
	uint64_t task_blocks;           /* live heap blocks cells allocated on a task's stack */
	uint64_t task_blocks_reclaimed; /* of those, freed by stack_reclaim since boot */
};
void mm_stats(struct mm_stats *s);

/* Checks the heap's structure; returns 0 when it is sound. */
int mm_heap_check(void);

/*
 * Audits who owns which frame, with interrupts off (metamodules/mm_audit.c
 * says what counts as an owner; it is compiled into kcmds@1 and nano_core's
 * test build, not into nano_core): no frame is owned twice, none is owned
 * while the bitmap says it is free, every allocated frame has an owner, the
 * frame counters match the bitmap, and the heap passes its check. Returns
 * MM_AUDIT_OK, MM_AUDIT_FAILED with *r naming the first frame of each kind
 * of fault, or MM_AUDIT_NO_MEMORY if the heap cannot lend the audit its
 * scratch bitmap (one bit per frame).
 */
struct mm_audit {
	struct frame_audit frames;
	uint64_t tables;	/* page-table frames claimed (the PML4 included) */
	uint64_t pages;		/* 4 KiB frames mapped outside the physmap */
	int heap;		/* heap_check's result: 0 when sound */
};
enum { MM_AUDIT_OK = 0, MM_AUDIT_FAILED = -1, MM_AUDIT_NO_MEMORY = -2 };
int mm_audit(struct mm_audit *r);

/* A range allocator's figures (nano_core/vrange.h; the cell window's: cell_window_stats). */
struct vrange_stats {
	uint64_t window;		/* bytes of the window, top guard included */
	uint64_t free_bytes, largest_free;
	size_t free_spans, live, max_live;
	uint64_t live_bytes;
};

#endif
