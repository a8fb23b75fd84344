/*
 * What the firmware says about the machine, read once at boot from ACPI
 * (by a cell of role=platform, kept by nano_core/platform.c), and the interrupt controller chosen from it
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

/*
 * The ACPI tables are parsed by a cell of role=platform (cells/acpi_tables),
 * loaded at boot before the platform is set up and unloaded once its
 * cell_init has handed over the facts; so a fault in the parser is the
 * cell's, and nano_core goes on without ACPI. Grant `platform`:
 */
/* The RSDP copy the boot loader gave (NULL, 0: none). */
void platform_rsdp(const void **rsdp, uint32_t *len);
/* The len bytes at physical address pa, or NULL if they cannot all be read (an acpi_map_fn). */
const void *platform_acpi_map(void *ctx, uint64_t pa, uint32_t len);
/*
 * Hands over what the tables say, once a boot, before platform_init; a
 * second call, one after platform_init, or facts with more IOAPICs or
 * overrides than ACPI_MAX_* allow are refused (-1), changing nothing.
 */
int platform_set_acpi(const struct acpi_info *facts);

/* Picks the console UART from the facts given (none: COM1, PICs, PIT); after cells_start. */
void platform_init(void);
/* The facts given (all absent, zeroed, without them). */
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
