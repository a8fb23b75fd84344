#include <delos/frame.h>
#include <delos/irqflags.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/paging.h>
#include <delos/string.h>
#include "hal/cpu.h"
#include "nano_core/physmap.h"

#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_PWT  (1ull << 3)
#define PTE_PCD  (1ull << 4)
#define PTE_PS   (1ull << 7)
#define PTE_G    (1ull << 8)
#define PTE_NX   (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define PTE_PERM (PTE_W | PTE_PWT | PTE_PCD | PTE_NX)
#define HUGE_2M  (2ull << 20)

/*
 * The root of the one address space; owned by nano_core. The tables change
 * only inside an irq_save() section (paging_map, paging_protect,
 * paging_unmap), so that two walks never create the same table or race
 * between checking a range and mapping it. Tables are never freed, so
 * paging_translate reads them without one.
 */
static uint64_t *pml4;
static uint64_t *poke_pte;	/* the PTE of the text_poke window, found once at paging_init */

static unsigned index_at(uint64_t va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

static uint64_t perm_bits(unsigned perm)
{
	uint64_t bits = PTE_P | PTE_G;

	if (perm & PERM_RW)
		bits |= PTE_W;
	if (!(perm & PERM_RX))
		bits |= PTE_NX;
	if (perm & PERM_MMIO)
		bits |= PTE_PCD | PTE_PWT;
	return bits;
}

static uint64_t *new_table(void)
{
	uint64_t pa = frame_alloc();

	if (!pa)
		return NULL;
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return phys_to_virt(pa);
}

/*
 * Returns the entry for va at `level` (1 = 4 KiB PTE, 2 = 2 MiB PDE),
 * creating missing tables when `create`, or NULL. *huge is set when a 2 MiB
 * page was met above the requested level.
 */
static uint64_t *walk(uint64_t va, int level, bool create, bool *huge)
{
	uint64_t *table = pml4;

	*huge = false;
	for (int l = 4; l > level; l--) {
		uint64_t *e = &table[index_at(va, l)];
		if (*e & PTE_PS) {
			*huge = true;
			return NULL;
		}
		if (!(*e & PTE_P)) {
			uint64_t *t = create ? new_table() : NULL;
			if (!t)
				return NULL;
			*e = virt_to_phys_physmap(t) | PTE_P | PTE_W;
		}
		table = phys_to_virt(*e & PTE_ADDR);
	}
	return &table[index_at(va, level)];
}

/* The entry of the 2 MiB page that maps va, or NULL if va is not in one. */
static uint64_t *huge_entry(uint64_t va)
{
	bool huge;
	uint64_t *e = walk(va, 2, false, &huge);

	return e && (*e & PTE_P) && (*e & PTE_PS) ? e : NULL;
}

/* Replaces the 2 MiB page at *pde (which maps va) by 512 4 KiB pages with the same frames and bits. */
static int split_huge(uint64_t *pde, uint64_t va)
{
	uint64_t *pt = new_table();
	uint64_t base = *pde & PTE_ADDR & ~(HUGE_2M - 1), bits = *pde & (PTE_NX | 0xfff) & ~PTE_PS;

	if (!pt)
		return PAGING_E_NOMEM;
	for (unsigned i = 0; i < 512; i++)
		pt[i] = (base + i * PAGE_SIZE) | bits;
	*pde = virt_to_phys_physmap(pt) | PTE_P | PTE_W;
	invlpg(va);	/* drops the 2 MiB TLB entry */
	return PAGING_OK;
}

/*
 * Splits the 2 MiB pages that [va, va+size) touches, unless all of it lies in
 * 2 MiB pages that already have the permission bits `bits` (*unchanged).
 */
static int split_for_protect(uint64_t va, uint64_t size, uint64_t bits, bool *unchanged)
{
	uint64_t first = va & ~(HUGE_2M - 1), n = ((va - first) + size + HUGE_2M - 1) / HUGE_2M;
	uint64_t *e;

	*unchanged = true;
	for (uint64_t i = 0; *unchanged && i < n; i++)
		if (!(e = huge_entry(first + i * HUGE_2M)) || (*e & PTE_PERM) != (bits & PTE_PERM))
			*unchanged = false;
	for (uint64_t i = 0; !*unchanged && i < n; i++) {
		e = huge_entry(first + i * HUGE_2M);
		int err = e ? split_huge(e, first + i * HUGE_2M) : PAGING_OK;
		if (err)
			return err;
	}
	return PAGING_OK;
}

static int check_range(uint64_t va, uint64_t size, unsigned perm)
{
	if ((va | size) & (PAGE_SIZE - 1))
		return PAGING_E_ALIGN;
	if ((perm & PERM_RW) && (perm & PERM_RX))
		return PAGING_E_PERM;
	return PAGING_OK;
}

static int map_range(uint64_t va, uint64_t pa, uint64_t size, unsigned perm)
{
	bool huge;

	for (uint64_t off = 0; off < size; off += PAGE_SIZE)
		if (paging_translate(va + off, &(uint64_t){ 0 }))
			return PAGING_E_MAPPED;
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		uint64_t *e = walk(va + off, 1, true, &huge);
		if (!e) {
			paging_unmap(va, off, NULL);
			return huge ? PAGING_E_HUGE : PAGING_E_NOMEM;
		}
		*e = (pa + off) | perm_bits(perm);
	}
	return PAGING_OK;
}

int paging_map(uint64_t va, uint64_t pa, uint64_t size, unsigned perm)
{
	int err = check_range(va, size, perm);
	uint64_t flags;

	if (err || (pa & (PAGE_SIZE - 1)))
		return err ? err : PAGING_E_ALIGN;
	flags = irq_save();
	err = map_range(va, pa, size, perm);
	irq_restore(flags);
	return err;
}

/* Visits the 4 KiB entries of a range that must be wholly mapped, in one section. */
static int for_each_pte(uint64_t va, uint64_t size, void (*fn)(uint64_t va, uint64_t *e, void *arg),
			void *arg)
{
	uint64_t flags = irq_save();
	int err = PAGING_OK;
	bool huge;

	for (uint64_t off = 0; off < size && !err; off += PAGE_SIZE) {
		uint64_t *e = walk(va + off, 1, false, &huge);
		if (huge)
			err = PAGING_E_HUGE;
		else if (!e || !(*e & PTE_P))
			err = PAGING_E_UNMAPPED;
	}
	for (uint64_t off = 0; off < size && !err; off += PAGE_SIZE)
		fn(va + off, walk(va + off, 1, false, &huge), arg);
	irq_restore(flags);
	return err;
}

static void set_perm(uint64_t va, uint64_t *e, void *arg)
{
	*e = (*e & PTE_ADDR) | perm_bits(*(unsigned *)arg);
	invlpg(va);
}

int paging_protect(uint64_t va, uint64_t size, unsigned perm)
{
	bool unchanged = false;
	int err = check_range(va, size, perm);

	if (!err)
		err = split_for_protect(va, size, perm_bits(perm), &unchanged);
	return err || unchanged ? err : for_each_pte(va, size, set_perm, &perm);
}

/*
 * Counts the pages made not present (unmaps and the poke window), before
 * each one goes: paging_readable remembers the last page it found mapped
 * with this count, and believes it only while the count stays the same.
 */
static uint64_t unmapped;
static struct {
	uint64_t page, at;          /* at: unmapped when page was found mapped; UINT64_MAX: none */
} readable_seen = { 0, UINT64_MAX };

static void note_unmap(void)
{
	__atomic_store_n(&unmapped, unmapped + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void clear_pte(uint64_t va, uint64_t *e, void *arg)
{
	void (*free_frame)(uint64_t) = (void (*)(uint64_t))arg;
	uint64_t pa = *e & PTE_ADDR;

	note_unmap();
	*e = 0;
	invlpg(va);
	if (free_frame)
		free_frame(pa);
}

int paging_unmap(uint64_t va, uint64_t size, void (*free_frame)(uint64_t pa))
{
	int err = check_range(va, size, PERM_R);

	return err ? err : for_each_pte(va, size, clear_pte, (void *)free_frame);
}

bool paging_translate(uint64_t va, uint64_t *pa)
{
	uint64_t *table = pml4;

	for (int l = 4; l >= 1; l--) {
		uint64_t e = table[index_at(va, l)];
		if (!(e & PTE_P))
			return false;
		if (l == 1 || (e & PTE_PS)) {
			uint64_t span = 1ull << (12 + 9 * (l - 1));
			*pa = (e & PTE_ADDR & ~(span - 1)) | (va & (span - 1));
			return true;
		}
		table = phys_to_virt(e & PTE_ADDR);
	}
	return false;
}

void paging_poke_window(uint64_t pa)
{
	if (pa) {
		*poke_pte = (pa & PTE_ADDR) | perm_bits(PERM_RW);
	} else {
		note_unmap();
		*poke_pte = 0;
		invlpg(POKE_VA);
	}
}

bool paging_readable(uint64_t va, uint64_t len)
{
	uint64_t pa;

	if (len == 0)
		return true;
	if (va + len < va)
		return false;
	/*
	 * Canonical (bits 63-47 alike) and in one half, or the walk below, which
	 * reads bits 47-12 only, would call an address readable that takes a #GP.
	 */
	uint64_t last = va + len - 1, page = PAGE_ALIGN_DOWN(va);
	if ((uint64_t)((int64_t)(va << 16) >> 16) != va || ((va ^ last) >> 47))
		return false;
	/* One page, the one found mapped last, with nothing unmapped since: no walk. */
	uint64_t at = __atomic_load_n(&unmapped, __ATOMIC_RELAXED);
	bool one = PAGE_ALIGN_DOWN(last) == page;
	if (one && __atomic_load_n(&readable_seen.at, __ATOMIC_RELAXED) == at &&
	    __atomic_load_n(&readable_seen.page, __ATOMIC_RELAXED) == page)
		return true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	for (uint64_t p = page; p < va + len; p += PAGE_SIZE)
		if (!paging_translate(p, &pa))
			return false;
	if (one) {
		/* Interrupts may look in between: never a page with a count it was not found at. */
		__atomic_store_n(&readable_seen.at, UINT64_MAX, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&readable_seen.page, page, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&readable_seen.at, at, __ATOMIC_RELAXED);
	}
	return true;
}

/* Visits the present entries of the table at level `level` that maps va_base upward. */
static void walk_table(const uint64_t *table, int level, uint64_t va_base, paging_visit_fn *fn,
		       void *ctx)
{
	uint64_t span = 1ull << (12 + 9 * (level - 1));

	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = table[i], va = va_base + i * span;
		if (!(e & PTE_P))
			continue;
		if (level == 4 && (va & (1ull << 47)))
			va |= 0xffff000000000000ull;	/* canonical upper half */
		bool leaf = level == 1 || (e & PTE_PS);
		uint64_t pa = e & PTE_ADDR & (leaf ? ~(span - 1) : ~0ull);
		fn(ctx, &(struct paging_entry){ va, pa, leaf ? span : 0, level });
		if (!leaf)
			walk_table(phys_to_virt(pa), level - 1, va, fn, ctx);
	}
}

void paging_walk(paging_visit_fn *fn, void *ctx)
{
	fn(ctx, &(struct paging_entry){ 0, virt_to_phys_physmap(pml4), 0, 5 });
	walk_table(pml4, 4, 0, fn, ctx);
}

const char *paging_strerror(int err)
{
	switch (err) {
	case PAGING_OK: return "ok";
	case PAGING_E_ALIGN: return "address or size not page aligned";
	case PAGING_E_NOMEM: return "out of frames for page tables";
	case PAGING_E_MAPPED: return "range already mapped";
	case PAGING_E_UNMAPPED: return "range not mapped";
	case PAGING_E_HUGE: return "range inside a 2 MiB mapping";
	case PAGING_E_PERM: return "writable and executable at once";
	}
	return "unknown paging error";
}

static void map_section(const char *name, char *start, char *end, unsigned perm)
{
	uint64_t va = (uint64_t)start, size = (uint64_t)(end - start);
	int err = paging_map(va, va - KERNEL_VMA, size, perm);

	/* Code and read-only data are read-only through the physmap too. */
	if (!err && perm != PERM_RW)
		err = paging_protect((uint64_t)phys_to_virt(va - KERNEL_VMA), size, PERM_R);
	if (err)
		panic("paging: cannot map nano_core %s: %s", name, paging_strerror(err));
	klog(LOG_INFO, "paging: %-7s %p-%p %s", name, start, end,
	     perm == PERM_RX ? "r-x, physmap r--" : perm == PERM_RW ? "rw- nx" : "r-- nx, physmap r--");
}

/* One walk per page directory, then its 2 MiB entries in a row. */
static void map_physmap(uint64_t max_phys)
{
	uint64_t pa = 0;

	while (pa < max_phys) {
		bool huge;
		uint64_t *e = walk(PHYSMAP_BASE + pa, 2, true, &huge);
		if (!e)
			panic("paging: out of frames building the physmap");
		for (unsigned i = index_at(PHYSMAP_BASE + pa, 2); i < 512 && pa < max_phys;
		     i++, pa += HUGE_2M)
			*e++ = pa | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX;
	}
}

void paging_init(uint64_t max_phys)
{
	if (max_phys < (4ull << 30))
		max_phys = 4ull << 30;
	max_phys = (max_phys + HUGE_2M - 1) & ~(HUGE_2M - 1);
	pml4 = new_table();
	if (!pml4)
		panic("paging: no frame for the PML4");
	map_physmap(max_phys);
	map_section("text", __text_start, __text_end, PERM_RX);
	map_section("rodata", __rodata_start, __rodata_end, PERM_R);
	map_section("data", __data_start, __data_end, PERM_RW);
	map_section("ksyms", __ksyms_start, __ksyms_end, PERM_R);
	if (!(poke_pte = walk(POKE_VA, 1, true, &(bool){ false })))
		panic("paging: out of frames for the text_poke window's page tables");
	write_cr4(read_cr4() | CR4_PGE);
	write_cr3(virt_to_phys_physmap(pml4));
	klog(LOG_INFO, "paging: on own tables (physmap %lu MiB); identity mapping dropped",
	     max_phys >> 20);
}
