/*
 * ACPI table parser: from the RSDP that the boot loader copied into the
 * multiboot2 information, through the XSDT (or RSDT), to the three tables
 * nano_core needs to find its timers and interrupt controllers: the MADT
 * ("APIC"), the HPET table and the SPCR (serial port console redirection).
 *
 * acpi_parse() is freestanding and allocates nothing. It reads physical
 * memory only through the caller's map function, and every table through a
 * header first (36 bytes) and then its full length, after checking that
 * length. A table with a wrong signature, a length too short for its fields
 * or past ACPI_MAX_TABLE, a checksum that does not sum to zero, or an entry
 * that runs past its table is refused as a whole with a note naming it, and
 * the facts it would have given stay absent, so the caller falls back (no
 * MADT: 8259 PICs; no HPET: PIT calibration; no SPCR: COM1).
 */
#ifndef DELOS_ACPI_H
#define DELOS_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/note.h>

#define ACPI_MAX_TABLE     (1u << 20)	/* bigger tables are refused as absurd */
#define ACPI_MAX_IOAPICS   8
#define ACPI_MAX_OVERRIDES 16

/* MADT interrupt source override flags (MPS INTI flags). */
#define ACPI_POLARITY_MASK 0x3u
#define ACPI_POLARITY_LOW  0x3u
#define ACPI_TRIGGER_MASK  0xcu
#define ACPI_TRIGGER_LEVEL 0xcu

enum acpi_error {
	ACPI_OK = 0,
	ACPI_E_NO_RSDP = -1,	/* no RSDP given, or too short */
	ACPI_E_RSDP = -2,	/* bad RSDP signature or checksum */
	ACPI_E_ROOT = -3,	/* neither the XSDT nor the RSDT is valid */
};

/*
 * Returns a pointer to the len bytes at physical address pa, or NULL if they
 * cannot be read. The parser never reads outside what it was handed.
 */
typedef const void *acpi_map_fn(void *ctx, uint64_t pa, uint32_t len);

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;		/* physical MMIO base */
	uint32_t gsi_base;	/* first global system interrupt it handles */
};

/* An ISA IRQ that is wired to another GSI or with other flags than edge/high. */
struct acpi_override {
	uint8_t irq;
	uint32_t gsi;
	uint16_t flags;		/* ACPI_POLARITY_* | ACPI_TRIGGER_* */
};

struct acpi_info {
	uint8_t revision;	/* of the RSDP: 0 for ACPI 1.0, 2 and up for an XSDT */
	char root[5];		/* "XSDT" or "RSDT": the root table used */
	uint32_t tables;	/* entries of the root table */
	uint32_t refused;	/* tables refused (each one noted) */

	bool has_madt;
	uint64_t lapic_addr;	/* local APIC base, with any 64-bit override */
	bool legacy_pics;	/* PCAT_COMPAT: 8259s are present and must be masked */
	uint32_t cpus;		/* enabled local APICs */
	size_t ioapic_count;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	size_t override_count;
	struct acpi_override overrides[ACPI_MAX_OVERRIDES];

	bool has_hpet;
	uint64_t hpet_addr;	/* physical MMIO base of the HPET's registers */
	uint16_t hpet_min_tick;

	bool has_spcr;
	uint8_t spcr_type;	/* interface type (0 and 1: 16550 family, 0x12: 16550 by GAS) */
	uint16_t spcr_port;	/* I/O port base of the console UART */
	uint8_t spcr_irq;	/* its ISA IRQ, 0 if the table gives none */
	uint32_t spcr_baud;	/* 0: leave as the firmware set it */
};

/*
 * Parses the tables reached from the RSDP copy at rsdp (rsdp_len bytes) into
 * *out, which is zeroed first. Returns ACPI_OK even when some tables were
 * refused (out->refused counts them); a negative enum acpi_error, with a note
 * at NOTE_ERROR and *out zeroed, when no root table is usable at all.
 */
int acpi_parse(const void *rsdp, uint32_t rsdp_len, acpi_map_fn *map, void *map_ctx,
	       struct acpi_info *out, note_fn *note, void *note_ctx);

#define ACPI_NO_GSI 0xffffffffu

/*
 * The GSI that ISA IRQ irq arrives on, and its flags in *flags: the MADT's
 * override if there is one, else the identity with edge/high (flags 0), or
 * ACPI_NO_GSI when another IRQ's override took the identity GSI (under QEMU
 * and most PCs IRQ 0 arrives on GSI 2, so IRQ 2 has no line).
 */
uint32_t acpi_isa_gsi(const struct acpi_info *info, uint8_t irq, uint16_t *flags);

const char *acpi_strerror(int err);

#endif
