/*
 * The interrupt controller, chosen once at boot: with a valid MADT, the
 * local APIC and the IOAPIC(s) route the 16 ISA IRQs (through the MADT's
 * overrides, e.g. IRQ 0 on GSI 2) with the 8259 PICs remapped and fully
 * masked; without one, the PICs as before. Line IRQ_LAPIC_TIMER is the
 * local APIC timer, which exists only in APIC mode.
 */
#include "nano_core/boot.h"
#include <delos/log.h>
#include <delos/platform.h>
#include <delos/trap.h>
#include "hal/apic.h"
#include "hal/cpu.h"
#include "hal/pic.h"

struct isa_line {
	volatile uint8_t *ioapic;	/* NULL: no IOAPIC handles the line's GSI */
	uint32_t pin, gsi;
};

/* Written once in intc_init (and the masks by intc_mask/unmask); owned by nano_core. */
static volatile uint8_t *lapic;
static struct isa_line isa[16];

bool intc_apic(void)
{
	return lapic != NULL;
}

bool lapic_present(void)
{
	return lapic != NULL;
}

uint32_t lapic_read(uint32_t reg)
{
	return lapic && reg < 0x400 && !(reg & 0xf) ? lapic_reg_read(lapic, reg) : 0;
}

void lapic_write(uint32_t reg, uint32_t value)
{
	if (lapic && reg < 0x400 && !(reg & 0xf))
		lapic_reg_write(lapic, reg, value);
}

static volatile uint8_t *ioapic_for(const struct acpi_info *a, uint32_t gsi, uint32_t *pin)
{
	for (size_t i = 0; i < a->ioapic_count; i++) {
		volatile uint8_t *base = mmio_map(a->ioapics[i].addr, 0x20);
		if (!base)
			continue;
		uint32_t first = a->ioapics[i].gsi_base;
		if (gsi >= first && gsi - first < ioapic_pins(base)) {
			*pin = gsi - first;
			return base;
		}
	}
	return NULL;
}

/* Programs one masked redirection entry per ISA IRQ, to vector IRQ_VECTOR_BASE + irq. */
static void route_isa(const struct acpi_info *a, uint8_t dest)
{
	for (uint8_t irq = 0; irq < 16; irq++) {
		uint16_t flags;
		uint32_t gsi = acpi_isa_gsi(a, irq, &flags), bits = IOAPIC_MASKED;

		if (gsi == ACPI_NO_GSI)
			continue;
		isa[irq].ioapic = ioapic_for(a, gsi, &isa[irq].pin);
		isa[irq].gsi = gsi;
		if (!isa[irq].ioapic)
			continue;
		if ((flags & ACPI_POLARITY_MASK) == ACPI_POLARITY_LOW)
			bits |= IOAPIC_ACTIVE_LOW;
		if ((flags & ACPI_TRIGGER_MASK) == ACPI_TRIGGER_LEVEL)
			bits |= IOAPIC_LEVEL;
		ioapic_route(isa[irq].ioapic, isa[irq].pin, IRQ_VECTOR_BASE + irq, bits, dest);
		if (gsi != irq)
			klog(LOG_INFO, "intc: ISA IRQ %u arrives on GSI %u", irq, gsi);
	}
}

void intc_init(void)
{
	const struct acpi_info *a = platform_acpi();

	pic_init();	/* remapped and masked, so that a stray 8259 interrupt is not an exception */
	if (cmdline_has("apic", "off") || !a->has_madt || !a->ioapic_count) {
		klog(LOG_INFO, "intc: 8259 PICs (%s)", !a->has_madt ? "no valid MADT" :
		     !a->ioapic_count ? "the MADT lists no IOAPIC" : "apic=off");
		return;
	}
	volatile uint8_t *base = mmio_map(a->lapic_addr, 0x400);
	if (!base) {
		klog(LOG_WARN, "intc: local APIC at 0x%lx cannot be mapped; 8259 PICs", a->lapic_addr);
		return;
	}
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));	/* globally enabled */
	lapic_enable(base, SPURIOUS_VECTOR);
	route_isa(a, (uint8_t)(lapic_reg_read(base, LAPIC_ID) >> 24));
	lapic = base;
	klog(LOG_INFO, "intc: local APIC and IOAPIC, 8259 PICs masked");
}

bool intc_route_nmi(uint8_t irq, uint32_t *gsi)
{
	if (!lapic || irq >= 16 || !isa[irq].ioapic)
		return false;
	/* NMI delivery is edge-triggered whatever the line's own trigger mode. */
	ioapic_route(isa[irq].ioapic, isa[irq].pin, 0, IOAPIC_DELIVER_NMI,
		     (uint8_t)(lapic_reg_read(lapic, LAPIC_ID) >> 24));
	*gsi = isa[irq].gsi;
	return true;
}

void irq_unmask(uint64_t line)
{
	if (lapic && line < 16 && isa[line].ioapic)
		ioapic_set_masked(isa[line].ioapic, isa[line].pin, 0);
	else if (lapic && line == IRQ_LAPIC_TIMER)
		lapic_reg_write(lapic, LAPIC_LVT_TIMER,
				lapic_reg_read(lapic, LAPIC_LVT_TIMER) & ~LAPIC_LVT_MASKED);
	else if (!lapic && line < 16)
		pic_unmask((uint8_t)line);
}

void irq_mask(uint64_t line)
{
	if (lapic && line < 16 && isa[line].ioapic)
		ioapic_set_masked(isa[line].ioapic, isa[line].pin, 1);
	else if (lapic && line == IRQ_LAPIC_TIMER)
		lapic_reg_write(lapic, LAPIC_LVT_TIMER,
				lapic_reg_read(lapic, LAPIC_LVT_TIMER) | LAPIC_LVT_MASKED);
	else if (!lapic && line < 16)
		pic_mask((uint8_t)line);
}

bool intc_reraise(uint8_t line)
{
	if (!lapic)
		return false;
	/* Fixed delivery, edge, destination shorthand "self": pended until interrupts are on. */
	lapic_reg_write(lapic, LAPIC_ICR_LO, LAPIC_ICR_SELF | (IRQ_VECTOR_BASE + line));
	return true;
}

void intc_eoi(uint8_t line)
{
	if (lapic)
		lapic_reg_write(lapic, LAPIC_EOI, 0);
	else
		pic_eoi(line);
}
