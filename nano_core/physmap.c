/* The physmap's permissions, and text_poke: see nano_core/physmap.h. */
#include <delos/ctx.h>
#include <delos/kernel.h>
#include <delos/loader.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/paging.h>
#include <delos/string.h>
#include "hal/cpu.h"
#include "nano_core/physmap.h"

void *phys_to_virt(uint64_t pa)
{
	return (void *)(pa + PHYSMAP_BASE);
}

uint64_t virt_to_phys_physmap(const void *va)
{
	return (uint64_t)va - PHYSMAP_BASE;
}

/* Gives the physmap alias of every frame behind the mapped range [va, va+size) `perm`. */
static int protect_aliases(uint64_t va, uint64_t size, unsigned perm)
{
	uint64_t pa;

	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		if (!paging_translate(va + off, &pa))
			return PAGING_E_UNMAPPED;
		int err = paging_protect((uint64_t)phys_to_virt(PAGE_ALIGN_DOWN(pa)), PAGE_SIZE, perm);
		if (err)
			return err;
	}
	return PAGING_OK;
}

int physmap_protect(uint64_t va, uint64_t size, unsigned perm)
{
	bool writable = (perm & PERM_RW) != 0;
	int err;

	if ((va | size) & (PAGE_SIZE - 1))
		return PAGING_E_ALIGN;
	if (!paging_readable(va, size))
		return PAGING_E_UNMAPPED;
	/* The alias is tightened before the range may execute, loosened once it cannot. */
	if (!writable && (err = protect_aliases(va, size, PERM_R)))
		return err;
	if ((err = paging_protect(va, size, perm)))
		return err;
	return writable ? protect_aliases(va, size, PERM_RW) : PAGING_OK;
}

bool physmap_unmap_free(uint64_t va, uint64_t size)
{
	int err = paging_protect(va, size, PERM_R);

	if (!err)
		err = protect_aliases(va, size, PERM_RW);
	if (err) {
		klog(LOG_ERR, "physmap: cannot give back the aliases of %016lx+%lx: %s; "
		     "its frames are not freed", va, size, paging_strerror(err));
		return false;
	}
	return mm_unmap_free(va, size);
}

int text_poke(void *dst, const void *src, size_t len)
{
	uint64_t va = (uint64_t)dst, pa;
	const uint8_t *s = src;

	if (va + len < va || !paging_readable(va, len))
		return -1;
	while (len) {
		uint64_t off = va & (PAGE_SIZE - 1);
		size_t chunk = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
		uint64_t flags = irq_save();

		paging_translate(va, &pa);
		paging_poke_window(PAGE_ALIGN_DOWN(pa));
		memcpy((void *)(POKE_VA + off), s, chunk);
		paging_poke_window(0);
		irq_restore(flags);
		va += chunk, s += chunk, len -= chunk;
	}
	/*
	 * The bytes went in through another address than the one they run at:
	 * cpuid serializes, so nothing fetched before the write runs after it.
	 */
	uint32_t regs[4];
	cpuid(0, 0, regs);
	return 0;
}

/* The writes come sorted by address, many to one page: each page is translated once. */
void text_poke_plan(struct loader_poke *p, size_t n)
{
	uint64_t page = ~0ull, where = 0, pa;

	for (size_t k = 0; k < n; k++) {
		uint64_t va = PAGE_ALIGN_DOWN((uint64_t)p[k].mem);

		if (va != page) {
			page = va;
			where = paging_translate(va, &pa) ? PAGE_ALIGN_DOWN(pa) : 0;
		}
		p[k].where = where;
	}
}

int text_poke_batch(const struct loader_poke *p, size_t n)
{
	uint64_t page = ~0ull, flags = irq_save(), pa;
	uint32_t regs[4];
	int err = 0;

	for (size_t k = 0; k < n && !err; k++) {
		uint64_t va = (uint64_t)p[k].mem;
		const uint8_t *s = p[k].bytes;
		size_t len = p[k].len <= sizeof(p[k].bytes) ? p[k].len : 0;

		if (!len || va + len < va)
			err = -1;
		while (len && !err) {
			uint64_t off = va & (PAGE_SIZE - 1);
			size_t chunk = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
			if (PAGE_ALIGN_DOWN(va) != page) {
				if (page != ~0ull)
					paging_poke_window(0);
				page = ~0ull;
				if (va == (uint64_t)p[k].mem && p[k].where)
					pa = p[k].where;	/* text_poke_plan's */
				else if (!paging_translate(va, &pa)) {
					err = -1;
					break;
				}
				paging_poke_window(PAGE_ALIGN_DOWN(pa));
				page = PAGE_ALIGN_DOWN(va);
			}
			if (chunk == 8)		/* an absolute site: one store */
				__builtin_memcpy((void *)(POKE_VA + off), s, 8);
			else if (chunk == 4)	/* a PC-relative one */
				__builtin_memcpy((void *)(POKE_VA + off), s, 4);
			else
				memcpy((void *)(POKE_VA + off), s, chunk);
			va += chunk, s += chunk, len -= chunk;
		}
	}
	if (page != ~0ull)
		paging_poke_window(0);
	irq_restore(flags);
	cpuid(0, 0, regs);	/* as in text_poke */
	return err;
}
