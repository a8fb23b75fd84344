/* ACPI facts read once at boot, device register mappings, the console UART. */
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/paging.h>
#include <delos/platform.h>
#include "hal/uart.h"
#include "nano_core/physmap.h"

/* Written once in platform_init, read-only after; owned by nano_core. */
static struct acpi_info acpi;
static uint16_t uart_port = COM1_PORT;
static uint8_t uart_irq = COM1_IRQ;

static const void *map_table(void *ctx, uint64_t pa, uint32_t len)
{
	(void)ctx;
	if (pa + len < pa || !paging_readable((uint64_t)phys_to_virt(pa), len))
		return NULL;
	return phys_to_virt(pa);
}

volatile uint8_t *mmio_map(uint64_t pa, size_t len)
{
	uint64_t first = PAGE_ALIGN_DOWN(pa), end = PAGE_ALIGN_UP(pa + len);

	if (end < first || !paging_readable((uint64_t)phys_to_virt(first), end - first))
		return NULL;
	int err = paging_protect((uint64_t)phys_to_virt(first), end - first, PERM_RW | PERM_MMIO);
	if (err) {
		klog(LOG_ERR, "platform: cannot map device registers at 0x%lx uncached: %s", pa,
		     paging_strerror(err));
		return NULL;
	}
	return phys_to_virt(pa);
}

/* The SPCR's UART if one answers at its port; COM1 otherwise. */
static void pick_console_uart(void)
{
	if (!acpi.has_spcr)
		return;
	if (!uart_present(acpi.spcr_port)) {
		klog(LOG_WARN, "platform: SPCR names a UART at port 0x%x that does not answer; "
		     "keeping COM1", acpi.spcr_port);
		return;
	}
	uart_port = acpi.spcr_port;
	uart_irq = acpi.spcr_irq ? acpi.spcr_irq : COM1_IRQ;
	if (uart_port != COM1_PORT)
		uart_init(uart_port, acpi.spcr_baud ? acpi.spcr_baud : 115200);
	klog(LOG_INFO, "platform: console UART at port 0x%x, IRQ %u (from SPCR)", uart_port,
	     uart_irq);
}

void platform_init(const struct mb2_info *boot)
{
	int err = acpi_parse(boot->acpi_rsdp, boot->acpi_rsdp_len, map_table, NULL, &acpi,
			     log_note, "acpi");

	if (err) {
		klog(LOG_WARN, "platform: no ACPI tables (%s): 8259 PICs, PIT, COM1",
		     acpi_strerror(err));
		return;
	}
	klog(LOG_INFO, "platform: ACPI rev %u via %s (%u tables, %u refused): MADT %s, "
	     "HPET %s, SPCR %s", acpi.revision, acpi.root, acpi.tables, acpi.refused,
	     acpi.has_madt ? "yes" : "no", acpi.has_hpet ? "yes" : "no", acpi.has_spcr ? "yes" : "no");
	if (acpi.has_madt)
		klog(LOG_INFO, "platform: local APIC 0x%lx, %zu IOAPIC%s (first 0x%x), %zu ISA "
		     "override%s, %u CPU%s", acpi.lapic_addr, acpi.ioapic_count,
		     acpi.ioapic_count == 1 ? "" : "s", acpi.ioapic_count ? acpi.ioapics[0].addr : 0,
		     acpi.override_count, acpi.override_count == 1 ? "" : "s", acpi.cpus,
		     acpi.cpus == 1 ? "" : "s");
	pick_console_uart();
}

const struct acpi_info *platform_acpi(void)
{
	return &acpi;
}

void console_uart(uint16_t *port, uint8_t *irq)
{
	*port = uart_port;
	*irq = uart_irq;
}
