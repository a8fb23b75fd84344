/*
 * The memory ownership audit (delos/mm.h): every frame is held by at most one
 * owner, every allocated frame by exactly one, and the heap is sound. Not
 * part of nano_core: compiled into the console commands cell (`mem`) and
 * into nano_core's test build, it reaches nano_core through the read-only
 * views of grant `system` (frame_get_view, paging_walk, mm_heap_check).
 *
 * The owners of frames are the page tables. A frame is owned by the entry
 * that points at it: CR3 owns the PML4, each table entry the table below it,
 * each leaf outside the physmap the frames it maps (the heap, stacks, cells,
 * nano_core's image). Physmap leaves alias all of RAM by design and own
 * nothing; the tables that hold them are owned like any other. No other
 * sharing exists in nano_core, so a frame claimed twice is a bug: two owners
 * would write over each other.
 */
#include <delos/frame.h>
#include <delos/irqflags.h>
#include <delos/kernel.h>
#include <delos/mm.h>
#include <delos/paging.h>

static bool in_physmap(uint64_t va)
{
	return va >= PHYSMAP_BASE && va - PHYSMAP_BASE < FRAME_MAX_PHYS;
}

static void claim(void *ctx, const struct paging_entry *e)
{
	struct mm_audit *r = ctx;

	if (!e->span) {
		r->tables++;
		frame_audit_claim(&r->frames, e->pa);
		return;
	}
	if (in_physmap(e->va))
		return;
	for (uint64_t off = 0; off < e->span; off += FRAME_SIZE) {
		r->pages++;
		frame_audit_claim(&r->frames, e->pa + off);
	}
}

int mm_audit(struct mm_audit *r)
{
	uint64_t *scratch = kmalloc(frame_audit_bytes() ? frame_audit_bytes() : 8), flags;
	int err;

	*r = (struct mm_audit){ 0 };
	if (!scratch)
		return MM_AUDIT_NO_MEMORY;
	flags = irq_save();
	frame_audit_start(&r->frames, scratch);
	paging_walk(claim, r);
	r->heap = mm_heap_check();
	err = frame_audit_finish(&r->frames);
	irq_restore(flags);
	kfree(scratch);
	return err || r->heap ? MM_AUDIT_FAILED : MM_AUDIT_OK;
}
