#include "nano_core/cpu_tables.h"
#include <delos/string.h>

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

/* The one CPU's descriptor tables; owned by nano_core. */
static struct tss tss;
static uint64_t gdt[5];

struct __attribute__((packed)) table_ptr {
	uint16_t limit;
	uint64_t base;
};

static void tss_descriptor(uint64_t *slot)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;

	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

void gdt_init(void)
{
	struct table_ptr ptr = { sizeof(gdt) - 1, (uint64_t)gdt };

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull;	/* 64-bit code, ring 0 */
	gdt[2] = 0x00cf92000000ffffull;	/* data */
	memset(&tss, 0, sizeof(tss));
	tss.iomap_base = sizeof(tss);
	tss_descriptor(&gdt[3]);
	__asm__ volatile("lgdt %0" : : "m"(ptr));
	__asm__ volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
			 : : "i"(KERNEL_CS) : "rax", "memory");
	__asm__ volatile("movw %w0, %%ds; movw %w0, %%es; movw %w0, %%ss" : : "r"(KERNEL_DS));
	__asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
}

void gdt_set_ist(int ist, uint64_t top)
{
	if (ist >= 1 && ist <= 7)
		tss.ist[ist - 1] = top;
}

void gdt_set_rsp0(uint64_t top)
{
	tss.rsp[0] = top;
}
