/*
 * Local APIC and IOAPIC registers: stateless MMIO access. The caller maps the
 * registers uncached and passes their base; nothing here remembers it.
 */
#ifndef HAL_APIC_H
#define HAL_APIC_H

#include <stdint.h>

/* Local APIC register offsets. */
#define LAPIC_ID          0x020
#define LAPIC_VERSION     0x030
#define LAPIC_TPR         0x080
#define LAPIC_EOI         0x0b0
#define LAPIC_SVR         0x0f0
#define LAPIC_ICR_LO      0x300
#define LAPIC_LVT_TIMER   0x320
#define LAPIC_LVT_LINT0   0x350
#define LAPIC_LVT_LINT1   0x360
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_COUNT 0x390
#define LAPIC_TIMER_DIV   0x3e0

#define LAPIC_SVR_ENABLE   (1u << 8)
#define LAPIC_ICR_SELF     (1u << 18)  /* destination shorthand: self */
#define LAPIC_LVT_MASKED   (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define LAPIC_TIMER_DEADLINE (2u << 17)
#define LAPIC_DIV_16       0x3u

#define MSR_APIC_BASE     0x1bu
#define MSR_TSC_DEADLINE  0x6e0u

static inline uint32_t lapic_reg_read(volatile uint8_t *base, uint32_t reg)
{
	return *(volatile uint32_t *)(base + reg);
}

static inline void lapic_reg_write(volatile uint8_t *base, uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(base + reg) = v;
}

/* Software-enables the local APIC with the given spurious vector; LINT0/1 masked. */
void lapic_enable(volatile uint8_t *base, uint8_t spurious_vector);

/* IOAPIC redirection entry flags (low 32 bits). */
#define IOAPIC_MASKED      (1u << 16)
#define IOAPIC_LEVEL       (1u << 15)
#define IOAPIC_ACTIVE_LOW  (1u << 13)
#define IOAPIC_DELIVER_NMI (4u << 8)	/* NMI delivery: the vector is ignored; edge only */

/* Number of redirection entries (pins) of the IOAPIC at base. */
uint32_t ioapic_pins(volatile uint8_t *base);
/* Writes pin's entry: fixed delivery to APIC id dest, vector, flags as above. */
void ioapic_route(volatile uint8_t *base, uint32_t pin, uint8_t vector, uint32_t flags, uint8_t dest);
/* Sets or clears pin's mask bit, leaving the rest of its entry. */
void ioapic_set_masked(volatile uint8_t *base, uint32_t pin, int masked);

#endif
