#include "nano_core/cpu_tables.h"
#include <delos/trap.h>
#include <stdint.h>

struct __attribute__((packed)) gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};
_Static_assert(sizeof(struct gate) == 16, "IDT gate layout");

#define VECTORS 49	/* exceptions, the 16 ISA IRQs, the local APIC timer */

/* The IDT; owned by nano_core. */
static struct gate idt[256];
extern const uint64_t isr_table[VECTORS];
extern char isr_spurious[];

static void set_gate(int v, uint64_t handler, int ist)
{
	idt[v] = (struct gate){
		.off_lo = handler & 0xffff,
		.sel = KERNEL_CS,
		.ist = ist,
		.type = 0x8e,	/* present, ring 0, 64-bit interrupt gate */
		.off_mid = (handler >> 16) & 0xffff,
		.off_hi = handler >> 32,
	};
}

void idt_init(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } ptr = {
		sizeof(idt) - 1, (uint64_t)idt
	};

	for (int v = 0; v < VECTORS; v++)
		set_gate(v, isr_table[v], 0);
	set_gate(8, isr_table[8], IST_DOUBLE_FAULT);
	set_gate(2, isr_table[2], IST_NMI);
	set_gate(SPURIOUS_VECTOR, (uint64_t)isr_spurious, 0);
	__asm__ volatile("lidt %0" : : "m"(ptr));
}
