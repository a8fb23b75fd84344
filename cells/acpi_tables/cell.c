/*
 * The ACPI tables cell (role=platform): loaded at boot before nano_core sets
 * up its timers and interrupt controllers, it parses the tables the boot
 * loader pointed at (acpi.c) and hands nano_core the facts
 * (platform_set_acpi); nano_core then unloads it. A fault in the parser is
 * this cell's: its cell_init is abandoned and nano_core goes on without
 * ACPI (8259 PICs, PIT, COM1).
 */
#include <delos/cell.h>
#include <delos/log.h>
#include <delos/platform.h>

int cell_init(void)
{
	struct acpi_info a;
	const void *rsdp;
	uint32_t len;
	int err;

	platform_rsdp(&rsdp, &len);
	if ((err = acpi_parse(rsdp, len, platform_acpi_map, NULL, &a, log_note, "acpi"))) {
		klog(LOG_WARN, "platform: no ACPI tables (%s): 8259 PICs, PIT, COM1", acpi_strerror(err));
		return 0;
	}
	klog(LOG_INFO, "platform: ACPI rev %u via %s (%u tables, %u refused): MADT %s, "
	     "HPET %s, SPCR %s", a.revision, a.root, a.tables, a.refused,
	     a.has_madt ? "yes" : "no", a.has_hpet ? "yes" : "no", a.has_spcr ? "yes" : "no");
	if (a.has_madt)
		klog(LOG_INFO, "platform: local APIC 0x%lx, %zu IOAPIC%s (first 0x%x), %zu ISA "
		     "override%s, %u CPU%s", a.lapic_addr, a.ioapic_count,
		     a.ioapic_count == 1 ? "" : "s", a.ioapic_count ? a.ioapics[0].addr : 0,
		     a.override_count, a.override_count == 1 ? "" : "s", a.cpus, a.cpus == 1 ? "" : "s");
	return platform_set_acpi(&a) ? -1 : 0;
}
