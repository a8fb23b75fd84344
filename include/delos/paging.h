/*
 * nano_core's 4-level page tables: the kernel image with W^X, the physmap,
 * and an API to map, protect and unmap ranges of the one address space.
 */
#ifndef DELOS_PAGING_H
#define DELOS_PAGING_H

#include <stdbool.h>
#include <stdint.h>

/* Permissions of a mapping: read is implied; W and X are never granted together. */
enum page_perm {
	PERM_R  = 0,
	PERM_RW = 1,
	PERM_RX = 2,
	PERM_MMIO = 4,	/* with PERM_RW: uncached device memory */
};

enum paging_error {
	PAGING_OK = 0,
	PAGING_E_ALIGN = -1,	/* address or size not page aligned */
	PAGING_E_NOMEM = -2,	/* no frame for a page table */
	PAGING_E_MAPPED = -3,	/* the range is already mapped */
	PAGING_E_UNMAPPED = -4,	/* part of the range is not mapped */
	PAGING_E_HUGE = -5,	/* the range lies in a 2 MiB mapping */
	PAGING_E_PERM = -6,	/* writable and executable at once */
};

/*
 * Builds the final page tables (kernel sections with W^X, physmap of all
 * memory up to max_phys and at least 4 GiB) and switches to them, which drops
 * the boot loader's identity mapping.
 */
void paging_init(uint64_t max_phys);

/* Maps [va, va+size) to [pa, pa+size). Fails without change if any page is mapped. */
int paging_map(uint64_t va, uint64_t pa, uint64_t size, unsigned perm);
/*
 * Changes the permissions of a mapped range. A 2 MiB page (the physmap) that
 * the range touches is split into 4 KiB pages first, unless the whole range
 * lies in 2 MiB pages that have these permissions already.
 */
int paging_protect(uint64_t va, uint64_t size, unsigned perm);
/* Removes the mappings and returns the frames they pointed at through free_frame (if set). */
int paging_unmap(uint64_t va, uint64_t size, void (*free_frame)(uint64_t pa));
/* Stores the physical address behind va; false if va is not mapped. */
bool paging_translate(uint64_t va, uint64_t *pa);
/* True if reading `len` bytes at va would not fault. */
bool paging_readable(uint64_t va, uint64_t len);
const char *paging_strerror(int err);

/*
 * One present entry of the page tables. A leaf maps [va, va + span) to
 * [pa, pa + span) (span 4 KiB, 2 MiB or 1 GiB); a table entry (span 0) at
 * `level` 2 to 4 points at the next-level table in frame pa and covers va
 * upward; level 5 stands for CR3, pointing at the PML4.
 */
struct paging_entry {
	uint64_t va, pa, span;
	int level;
};
typedef void paging_visit_fn(void *ctx, const struct paging_entry *e);

/*
 * Calls fn for CR3 and then every present entry, parents before children, in
 * address order. Run it inside an irq_save() section: the tables must not
 * change meanwhile.
 */
void paging_walk(paging_visit_fn *fn, void *ctx);

#endif
