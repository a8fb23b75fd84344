/*
 * What the firmware says about the machine, read once at boot from ACPI
 * (nano_core/platform.c), and the interrupt controller chosen from it
 * (nano_core/intc.c): the local APIC and IOAPICs when the MADT is valid,
 * the 8259 PICs otherwise.
 */
#ifndef DELOS_PLATFORM_H
#define DELOS_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/acpi.h>
#include <delos/mb2.h>

/* Parses the ACPI tables the boot loader pointed at; after mm_init. */
void platform_init(const struct mb2_info *boot);
/* The facts found (all absent, zeroed, without ACPI). */
const struct acpi_info *platform_acpi(void);

/*
 * Returns an uncached kernel address for the device registers at physical
 * [pa, pa+len), or NULL if they lie outside the physmap.
 */
volatile uint8_t *mmio_map(uint64_t pa, size_t len);

/*
 * The console UART: the SPCR's if ACPI names one (and a UART answers
 * there), else COM1 with IRQ 4. Grant `port_io`.
 */
void console_uart(uint16_t *port, uint8_t *irq);

/* Picks and programs the interrupt controller; every line starts masked. */
void intc_init(void);
/* True when interrupts go through the local APIC and IOAPIC. */
bool intc_apic(void);
void intc_eoi(uint8_t line);
/*
 * Raises IRQ `line`'s vector again on this CPU (a local APIC self-IPI), taken
 * once interrupts are on; false in 8259 mode, where it cannot be (trap.c's
 * deferred interrupts).
 */
bool intc_reraise(uint8_t line);
/*
 * Delivers ISA IRQ `irq` as an NMI to this CPU (edge-triggered, unmasked)
 * instead of as its vector; *gsi says where it arrives. False without an
 * IOAPIC pin for it (8259 mode). For nano_core's NMI watchdog only.
 */
bool intc_route_nmi(uint8_t irq, uint32_t *gsi);

/* The local APIC's registers (grant `apic`); 0 and ignored without one. */
bool lapic_present(void);
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);

#endif
