/* Glue between the boot memory map, the frame allocator, the page tables and the heap. */
#include <delos/frame.h>
#include "nano_core/heap.h"
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ctx.h>
#include <delos/irqflags.h>
#include <delos/mm.h>
#include <delos/paging.h>
#include <delos/string.h>
#include <delos/trap.h>
#include "nano_core/physmap.h"

#define MAX_RESERVED (MB2_MAX_MODULES + 3)

/* nano_core's heap and stack region; owned by mm.c. */
static struct heap kheap;
static struct {
	uint64_t next;		/* lowest unused address of the stack region */
	uint64_t count, pages;
} stacks = { STACK_BASE, 0, 0 };

static void *frame_virt(uint64_t phys)
{
	return phys_to_virt(phys);
}

static void free_frame(uint64_t pa)
{
	frame_free(pa);
}

/*
 * Maps one fresh frame at va. Allocating and mapping are one section, so
 * that every allocated frame is mapped whenever interrupts are on (what
 * mm_audit checks).
 */
static bool map_fresh_page(uint64_t va)
{
	uint64_t flags = irq_save(), pa = frame_alloc();
	bool ok = pa && paging_map(va, pa, PAGE_SIZE, PERM_RW) == PAGING_OK;

	if (pa && !ok)
		frame_free(pa);
	irq_restore(flags);
	return ok;
}

static bool map_pages(uint64_t va, uint64_t size, bool zero)
{
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		if (!map_fresh_page(va + off)) {
			if (off)
				paging_unmap(va, off, free_frame);
			return false;
		}
		if (zero)
			memset((void *)(va + off), 0, PAGE_SIZE);
	}
	return true;
}

bool mm_map_fresh(uint64_t va, uint64_t size)
{
	return map_pages(va, size, true);
}

bool mm_map_unzeroed(uint64_t va, uint64_t size)
{
	return map_pages(va, size, false);
}

bool mm_unmap_free(uint64_t va, uint64_t size)
{
	int err = paging_unmap(va, size, free_frame);

	if (err)
		klog(LOG_ERR, "mm: unmap of %016lx+%lx failed: %s", va, size, paging_strerror(err));
	return err == 0;
}

static bool heap_grow(void *ctx, void *end, size_t bytes)
{
	(void)ctx;
	return mm_map_fresh((uint64_t)end, PAGE_ALIGN_UP(bytes));
}

static size_t collect_reserved(const struct mb2_info *boot, uint64_t mbi, uint64_t mbi_size,
			       struct frame_range *r)
{
	extern char __kernel_phys_start[], __kernel_phys_end[];
	size_t n = 0;

	r[n++] = (struct frame_range){ 0, 1ull << 20 };	/* BIOS data, EBDA, ROMs */
	r[n++] = (struct frame_range){ (uint64_t)__kernel_phys_start, (uint64_t)__kernel_phys_end };
	r[n++] = (struct frame_range){ mbi, mbi + mbi_size };
	for (size_t i = 0; i < boot->module_count; i++)
		r[n++] = (struct frame_range){ boot->modules[i].start, boot->modules[i].end };
	return n;
}

/* The physmap covers RAM; device memory above it is mapped when asked for. */
static uint64_t highest_address(const struct mb2_info *boot)
{
	uint64_t max = 0;

	for (size_t i = 0; i < boot->mmap_count; i++)
		if (boot->mmap[i].type == MB2_MEM_AVAILABLE && boot->mmap[i].base + boot->mmap[i].len > max)
			max = boot->mmap[i].base + boot->mmap[i].len;
	return max < FRAME_MAX_PHYS ? max : FRAME_MAX_PHYS;
}

void mm_init(const struct mb2_info *boot, uint64_t mbi, uint64_t mbi_size)
{
	struct frame_range reserved[MAX_RESERVED];
	struct frame_stats fs;
	size_t nres = collect_reserved(boot, mbi, mbi_size, reserved);
	int err = frame_init(boot->mmap, boot->mmap_count, reserved, nres, frame_virt);

	if (err)
		panic("mm: cannot start the frame allocator: %s", frame_strerror(err));
	frame_stats(&fs);
	klog(LOG_INFO, "mm: %lu frames usable (%lu MiB), %lu free, %lu reserved", fs.total_frames,
	     fs.total_frames >> 8, fs.free_frames, fs.reserved_frames);
	paging_init(highest_address(boot));
	heap_init(&kheap, (void *)HEAP_BASE, heap_grow, NULL);
}

/* The heap is used from interrupt handlers too: every call runs with interrupts off. */
/*
 * Blocks that cells' code allocated on a task's stack, by the stack pointer
 * of the allocation: cells keep no pointers past a call (they spill no
 * state), so such a block is reachable only from that task, and is freed
 * with its stack if the task did not free it (a task ended by a fault, or
 * one started over at its entry). Stacks are never handed out twice at one
 * address, so the pointer names the task for good. Open addressing by block
 * address; a block that finds no slot is only not tracked. Owned by mm.c,
 * interrupts off.
 */
#define OWNED_SLOTS 1024u
#define OWNED_MAX (OWNED_SLOTS / 2)	/* a load of at most half keeps probes short */
#define OWNED_MASK (OWNED_SLOTS - 1)
static struct owned {
	uint64_t p;		/* 0: empty */
	uint64_t rsp;
} owned[OWNED_SLOTS];
static uint64_t owned_live, owned_reclaimed;

static uint32_t owned_hash(uint64_t p)
{
	return (uint32_t)((p >> 4) * 0x9e3779b97f4a7c15ull >> 54) & OWNED_MASK;
}

static void owned_add(uint64_t p, uint64_t rsp)
{
	uint32_t i = owned_hash(p);

	if (owned_live >= OWNED_MAX)
		return;
	while (owned[i].p)
		i = (i + 1) & OWNED_MASK;
	owned[i] = (struct owned){ p, rsp };
	owned_live++;
}

/* Empties slot i, moving later entries of its probe run back (no tombstones). */
static void owned_clear(uint32_t i)
{
	for (uint32_t j = i;;) {
		owned[i].p = 0;
		for (;;) {
			j = (j + 1) & OWNED_MASK;
			if (!owned[j].p)
				return;
			uint32_t k = owned_hash(owned[j].p);
			/* owned[j] may move to i unless its home k lies cyclically in (i, j]. */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			owned[i] = owned[j];
			i = j;
			break;
		}
	}
}

static void owned_remove(uint64_t p)
{
	for (uint32_t i = owned_hash(p); owned[i].p; i = (i + 1) & OWNED_MASK)
		if (owned[i].p == p) {
			owned_clear(i);
			owned_live--;
			return;
		}
}

static void *alloc_for(size_t size, uint64_t caller)
{
	uint64_t flags = irq_save(), rsp = (uint64_t)__builtin_frame_address(0);
	void *p = heap_alloc(&kheap, size);

	if (p && caller >= CELL_BASE && caller < CELL_LIMIT && rsp >= STACK_BASE && rsp < stacks.next)
		owned_add((uint64_t)p, rsp);
	irq_restore(flags);
	return p;
}

void *kmalloc(size_t size)
{
	return alloc_for(size, (uint64_t)__builtin_return_address(0));
}

void *kmalloc_kept(size_t size)
{
	return alloc_for(size, 0);
}

void *kzalloc(size_t size)
{
	void *p = alloc_for(size, (uint64_t)__builtin_return_address(0));

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	uint64_t flags;
	int err;

	if (!p)
		return;
	flags = irq_save();
	err = heap_free(&kheap, p);
	if (!err && owned_live)
		owned_remove((uint64_t)p);
	irq_restore(flags);
	if (err)
		klog(LOG_ERR, "kfree(%p) refused: %s", p, heap_strerror(err));
}

size_t stack_reclaim(uint64_t top, size_t pages)
{
	uint64_t flags = irq_save(), lo = top - pages * PAGE_SIZE;
	size_t n = 0;

	for (uint32_t i = 0; owned_live && i < OWNED_SLOTS;) {
		if (owned[i].p && owned[i].rsp >= lo && owned[i].rsp < top) {
			heap_free(&kheap, (void *)owned[i].p);
			owned_clear(i);	/* may move another entry into i: look at i again */
			owned_live--;
			n++;
		} else {
			i++;
		}
	}
	owned_reclaimed += n;
	irq_restore(flags);
	return n;
}

/* The stack region's bump pointer is taken and mapped in one section: two spawns get two stacks. */
uint64_t stack_alloc(size_t pages)
{
	uint64_t flags, base, top = 0;

	if (!pages)
		return 0;
	flags = irq_save();
	base = stacks.next + PAGE_SIZE;	/* the guard page stays unmapped */
	if (mm_map_fresh(base, pages * PAGE_SIZE)) {
		top = stacks.next = base + pages * PAGE_SIZE;
		stacks.count++;
		stacks.pages += pages;
	}
	irq_restore(flags);
	return top;
}

/*
 * Why [top - pages, top) is not a stack that stack_alloc gave and that is
 * still mapped, or NULL. A cell passes these (the tasks cell, from its
 * records, which a fault may have corrupted): anything else would unmap
 * nano_core's memory, or the stack this runs on.
 */
static const char *stack_refusal(uint64_t top, size_t pages)
{
	uint64_t sp = (uint64_t)__builtin_frame_address(0), lo;

	if (!pages || top % PAGE_SIZE || top <= STACK_BASE || top > stacks.next ||
	    pages > (top - STACK_BASE) / PAGE_SIZE - 1)
		return "not in the stack region";
	lo = top - pages * PAGE_SIZE;
	/* Each stack has an unmapped guard page below it, and the next one's (or nothing) above. */
	if (paging_readable(lo - PAGE_SIZE, 1) || paging_readable(top, 1))
		return "not a whole stack";
	if (!paging_readable(lo, pages * PAGE_SIZE))
		return "not mapped (freed already?)";
	if (sp >= lo && sp < top)
		return "it is the stack this runs on";
	return NULL;
}

void stack_free(uint64_t top, size_t pages)
{
	uint64_t flags = irq_save();
	const char *why = stack_refusal(top, pages);

	if (why) {
		klog(LOG_ERR, "mm: stack_free(%016lx, %zu pages) refused: %s", top, pages, why);
		irq_restore(flags);
		return;
	}
	stack_reclaim(top, pages);
	trap_forget_stack(top);
	mm_unmap_free(top - pages * PAGE_SIZE, pages * PAGE_SIZE);
	stacks.count--;
	stacks.pages -= pages;
	irq_restore(flags);
}

void *phys_map(uint64_t pa, size_t len)
{
	uint64_t end = pa + len, mapped;

	if (end < pa || !paging_translate((uint64_t)phys_to_virt(pa), &mapped) ||
	    !paging_translate((uint64_t)phys_to_virt(end ? end - 1 : 0), &mapped))
		return NULL;
	return phys_to_virt(pa);
}

int mm_heap_check(void)
{
	uint64_t flags = irq_save();
	int err = heap_check(&kheap);

	irq_restore(flags);
	return err;
}

void mm_stats(struct mm_stats *s)
{
	struct frame_stats fs;
	struct heap_stats hs;
	uint64_t flags = irq_save();

	frame_stats(&fs);
	heap_stats(&kheap, &hs);
	*s = (struct mm_stats){
		.frames_total = fs.total_frames,
		.frames_free = fs.free_frames,
		.frames_reserved = fs.reserved_frames,
		.heap_size = hs.heap_bytes,
		.heap_in_use = hs.used_bytes,
		.heap_free = hs.free_bytes,
		.heap_live = hs.live,
		.heap_allocs = hs.total_allocs,
		.heap_frees = hs.total_frees,
		.stacks = stacks.count,
		.stack_pages = stacks.pages,
		.task_blocks = owned_live,
		.task_blocks_reclaimed = owned_reclaimed,
	};
	irq_restore(flags);
}
