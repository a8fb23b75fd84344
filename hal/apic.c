#include "hal/apic.h"

#define IOREGSEL 0x00
#define IOWIN    0x10
#define IOAPIC_VER 0x01
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))

void lapic_enable(volatile uint8_t *base, uint8_t spurious_vector)
{
	lapic_reg_write(base, LAPIC_TPR, 0);
	lapic_reg_write(base, LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	lapic_reg_write(base, LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
	lapic_reg_write(base, LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_reg_write(base, LAPIC_SVR, LAPIC_SVR_ENABLE | spurious_vector);
}

static uint32_t ioapic_read(volatile uint8_t *base, uint32_t reg)
{
	*(volatile uint32_t *)(base + IOREGSEL) = reg;
	return *(volatile uint32_t *)(base + IOWIN);
}

static void ioapic_write(volatile uint8_t *base, uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(base + IOREGSEL) = reg;
	*(volatile uint32_t *)(base + IOWIN) = v;
}

uint32_t ioapic_pins(volatile uint8_t *base)
{
	return ((ioapic_read(base, IOAPIC_VER) >> 16) & 0xff) + 1;
}

void ioapic_route(volatile uint8_t *base, uint32_t pin, uint8_t vector, uint32_t flags, uint8_t dest)
{
	/* Masked first, so that no half-written entry is ever live. */
	ioapic_write(base, IOAPIC_REDIR(pin), IOAPIC_MASKED);
	ioapic_write(base, IOAPIC_REDIR(pin) + 1, (uint32_t)dest << 24);
	ioapic_write(base, IOAPIC_REDIR(pin), vector | flags);
}

void ioapic_set_masked(volatile uint8_t *base, uint32_t pin, int masked)
{
	uint32_t lo = ioapic_read(base, IOAPIC_REDIR(pin));

	ioapic_write(base, IOAPIC_REDIR(pin), masked ? lo | IOAPIC_MASKED : lo & ~IOAPIC_MASKED);
}
