/*
 * Physical frame allocator: hands out 4 KiB frames of RAM, one at a time or
 * as aligned contiguous runs.
 *
 * State is global to nano_core and kept in three bitmaps with one bit per
 * frame from the lowest to the highest usable frame: "usable" (inside an
 * available memory map entry), "reserved" (usable but never handed out) and
 * "used" (not free: a hole, reserved, or allocated). The bitmaps live in
 * usable memory that frame_init() carves out for them. Single frames are found
 * next-fit, scanning a word of 64 frames at a time from just after the last
 * allocation, so the common case touches one or two words. Each call after
 * frame_init runs in an irq_save() critical section (delos/irqflags.h), so
 * interrupt handlers and preempted tasks may all allocate and free; none may
 * from an NMI or exception handler, which that section does not keep out.
 */
#ifndef DELOS_FRAME_H
#define DELOS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/mb2.h>

#define FRAME_SIZE 4096ull

/* Memory at or above this physical address is ignored. */
#define FRAME_MAX_PHYS (64ull << 30)

enum frame_error {
	FRAME_OK = 0,
	FRAME_E_ARG = -1,         /* NULL map or phys_to_virt, n == 0, or count == 0 */
	FRAME_E_NO_MEMORY = -2,   /* no whole available frame below FRAME_MAX_PHYS */
	FRAME_E_NO_ROOM = -3,     /* no free run of usable memory can hold the bitmaps */
	FRAME_E_ALIGN = -4,       /* address is not a multiple of FRAME_SIZE */
	FRAME_E_UNMANAGED = -5,   /* address is outside the available memory managed here */
	FRAME_E_RESERVED = -6,    /* frame is reserved (or is frame 0 or the bitmaps) */
	FRAME_E_NOT_ALLOCATED = -7 /* frame is already free: a double free */
};

/* A half-open physical range [base, end) that must never be handed out. */
struct frame_range {
	uint64_t base, end;
};

struct frame_stats {
	uint64_t total_frames;     /* usable frames tracked (available memory) */
	uint64_t free_frames;      /* usable frames that frame_alloc may return */
	uint64_t reserved_frames;  /* usable frames never handed out, bitmaps included */
	uint64_t allocated_frames; /* frames handed out and not yet freed */
	uint64_t bitmap_bytes;     /* bytes of the three bitmaps (a whole number of frames) */
	uint64_t base, limit;      /* physical range the bitmaps cover */
};

/*
 * (Re)initializes the allocator from the n memory map entries in map. Only
 * MB2_MEM_AVAILABLE entries count, rounded inward to whole frames and cut at
 * FRAME_MAX_PHYS; where an entry of another type overlaps an available one,
 * the other type wins, whatever their order. Frames touching any of the nres
 * reserved ranges (rounded outward to whole frames), frame 0, and the frames
 * that hold the bitmaps are reserved and never handed out. The bitmaps go in
 * the lowest free run of one available entry that fits, and are written
 * through phys_to_virt(phys), which must return a writable mapping of it.
 * Returns FRAME_OK, or a negative enum frame_error with the allocator left
 * empty (every allocation returns 0, every free is refused).
 */
int frame_init(const struct mb2_region *map, size_t n, const struct frame_range *reserved,
	       size_t nres, void *(*phys_to_virt)(uint64_t phys));

/* Returns the physical address of a free frame, now allocated, or 0 if none is left. */
uint64_t frame_alloc(void);

/*
 * Returns the physical address of count free, physically contiguous frames,
 * now allocated, the first of which is a multiple of align_frames frames
 * (a power of two; 0 means 1). Returns 0 if count is 0, align_frames is not a
 * power of two, or no such run is free. The search is first-fit and linear.
 */
uint64_t frame_alloc_contig(size_t count, size_t align_frames);

/*
 * Frees the frame at phys. Returns FRAME_OK, or a negative enum frame_error
 * without changing anything if phys is misaligned, outside the managed
 * memory, reserved, or not allocated.
 */
int frame_free(uint64_t phys);

/*
 * Frees count contiguous frames starting at phys. Every frame is checked
 * first, as frame_free() would; if any would be refused, none is freed and
 * that frame's error is returned.
 */
int frame_free_contig(uint64_t phys, size_t count);

/* Returns false only if the frame holding phys is free; true if it is allocated, reserved or unmanaged. */
bool frame_is_used(uint64_t phys);

/* Fills *s; total_frames == free_frames + reserved_frames + allocated_frames always holds. */
void frame_stats(struct frame_stats *s);

/*
 * The allocator's bitmaps and counters as they are, read-only, for the
 * ownership audit (grant `system`); read inside an irq_save() section.
 */
struct frame_view {
	const uint64_t *usable, *reserved, *used;  /* bit i: frame first + i */
	uint64_t first, nframes, nwords;
	uint64_t total, free, reserved_count, allocated;
};
void frame_get_view(struct frame_view *v);

/*
 * Ownership audit (metamodules/frame_audit.c, over frame_get_view; not part
 * of nano_core): checks that every frame someone holds is held exactly
 * once, given the list of holders. The caller claims, one by one, every frame
 * that something in the system owns (nano_core claims each page table and
 * each frame behind a 4 KiB mapping outside the physmap), between
 * frame_audit_start and frame_audit_finish, all inside one irq_save()
 * section so that nothing allocates or frees meanwhile. scratch must hold
 * frame_audit_bytes() bytes; the audit keeps one bit per frame there.
 */
struct frame_audit {
	uint64_t *seen;                 /* scratch: bit set once a frame was claimed */
	uint64_t claims;                /* frame_audit_claim calls */
	uint64_t unmanaged;             /* claims of frames outside the bitmaps (device memory) */
	uint64_t twice, first_twice;    /* claims of a frame already claimed; the first one */
	uint64_t free_claimed, first_free_claimed; /* claims of a frame the bitmap says is free */
	uint64_t leaked, first_leaked;  /* allocated frames nobody claimed (frame_audit_finish) */
	bool counters_ok;               /* free/allocated/reserved counters match the bits */
	struct frame_view view;         /* the bitmaps, from frame_audit_start */
};

size_t frame_audit_bytes(void);
void frame_audit_start(struct frame_audit *a, uint64_t *scratch);
void frame_audit_claim(struct frame_audit *a, uint64_t phys);
/*
 * Counts the allocated frames that were not claimed and checks the counters
 * against the bitmaps. Returns 0 if no frame was claimed twice, none claimed
 * while free, none leaked and the counters agree; -1 otherwise, with *a
 * saying which and naming the first frame of each kind.
 */
int frame_audit_finish(struct frame_audit *a);

/* Returns a sentence naming the cause of err, or "unknown error". */
const char *frame_strerror(int err);

#endif
