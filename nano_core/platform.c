/*
 * The ACPI facts a cell of role=platform gave at boot (platform_set_acpi),
 * device register mappings, the console UART.
 */
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/paging.h>
#include <delos/platform.h>
#include "hal/uart.h"
#include "nano_core/physmap.h"

/* Written once before platform_init (acpi) and in it, read-only after; owned by nano_core. */
static struct acpi_info acpi;
static bool acpi_given, platform_up;
static uint16_t uart_port = COM1_PORT;
static uint8_t uart_irq = COM1_IRQ;

const void *platform_acpi_map(void *ctx, uint64_t pa, uint32_t len)
{
	(void)ctx;
	if (pa + len < pa || !paging_readable((uint64_t)phys_to_virt(pa), len))
		return NULL;
	return phys_to_virt(pa);
}

int platform_set_acpi(const struct acpi_info *facts)
{
	const char *why = platform_up ? "the timers and interrupt controllers are set up already"
			: acpi_given ? "given already" : NULL;

	if (!why && (facts->ioapic_count > ACPI_MAX_IOAPICS || facts->override_count > ACPI_MAX_OVERRIDES ||
		     facts->root[sizeof(facts->root) - 1]))
		why = "more IOAPICs or overrides than there is room for, or an unterminated root name";
	if (why) {
		klog(LOG_ERR, "platform: ACPI facts refused, nothing changed: %s", why);
		return -1;
	}
	acpi = *facts;
	acpi_given = true;
	return 0;
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

void platform_init(void)
{
	platform_up = true;
	if (!acpi_given)
		klog(LOG_WARN, "platform: no ACPI facts (no cell of role=platform gave them): "
		     "8259 PICs, PIT, COM1");
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
