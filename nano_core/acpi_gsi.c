/* The MADT's ISA IRQ to GSI mapping (delos/acpi.h): nano_core's, from the facts the platform cell gave. */
#include <delos/acpi.h>

uint32_t acpi_isa_gsi(const struct acpi_info *info, uint8_t irq, uint16_t *flags)
{
	for (size_t i = 0; i < info->override_count; i++)
		if (info->overrides[i].irq == irq) {
			*flags = info->overrides[i].flags;
			return info->overrides[i].gsi;
		}
	*flags = 0;
	for (size_t i = 0; i < info->override_count; i++)
		if (info->overrides[i].gsi == irq)
			return ACPI_NO_GSI;	/* another IRQ took this one's pin (IRQ 0 takes 2's) */
	return irq;
}
