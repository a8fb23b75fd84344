/* Host tests for the ACPI table parser (cells/acpi_tables/acpi.c) and nano_core/acpi_gsi.c. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <delos/acpi.h>

/* A fake physical address space [PHYS_BASE, PHYS_BASE + sizeof mem) holding the tables. */
#define PHYS_BASE 0xe0000u
static uint8_t mem[16384];
static uint32_t used;
static uint8_t rsdp[36];
static char notes[4096];

static const void *map(void *ctx, uint64_t pa, uint32_t len)
{
	(void)ctx;
	if (pa < PHYS_BASE || pa - PHYS_BASE > sizeof mem || len > sizeof mem - (pa - PHYS_BASE))
		return NULL;
	return mem + (pa - PHYS_BASE);
}

static void note(void *ctx, int level, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(notes);

	(void)ctx;
	(void)level;
	va_start(ap, fmt);
	vsnprintf(notes + n, sizeof notes - n, fmt, ap);
	va_end(ap);
	strncat(notes, "\n", sizeof notes - strlen(notes) - 1);
}

static uint8_t *at(uint32_t pa)
{
	return mem + (pa - PHYS_BASE);
}

static void fix_sum(uint8_t *p, uint32_t len, uint32_t sum_off)
{
	uint8_t s = 0;

	p[sum_off] = 0;
	for (uint32_t i = 0; i < len; i++)
		s += p[i];
	p[sum_off] = (uint8_t)-s;
}

/* Appends a table with a good checksum; returns its physical address. */
static uint32_t table(const char *sig, const void *body, uint32_t body_len)
{
	uint32_t pa = PHYS_BASE + used, len = 36 + body_len;
	uint8_t *t = at(pa);

	cr_assert(used + len <= sizeof mem);
	memcpy(t, sig, 4);
	memcpy(t + 4, &len, 4);
	t[8] = 1;
	memcpy(t + 10, "DELOS ", 6);
	memcpy(t + 36, body, body_len);
	fix_sum(t, len, 9);
	used += (len + 15) & ~15u;
	return pa;
}

static uint32_t madt_qemu(void)
{
	uint8_t b[8 + 8 + 12 + 10 + 10] = { 0 };
	uint32_t lapic = 0xfee00000, ioapic = 0xfec00000, gsi2 = 2, gsi9 = 9;

	memcpy(b, &lapic, 4);
	b[4] = 1;				/* PCAT_COMPAT */
	b[8] = 0, b[9] = 8, b[10] = 0, b[11] = 0, b[12] = 1;	/* LAPIC 0 enabled */
	b[16] = 1, b[17] = 12, b[18] = 0;	/* IOAPIC id 0 */
	memcpy(b + 20, &ioapic, 4);
	b[28] = 2, b[29] = 10, b[30] = 0, b[31] = 0;	/* ISA IRQ0 -> GSI2 */
	memcpy(b + 32, &gsi2, 4);
	b[38] = 2, b[39] = 10, b[40] = 0, b[41] = 9;	/* ISA IRQ9 -> GSI9 level/high */
	memcpy(b + 42, &gsi9, 4);
	b[46] = 0x0d;
	return table("APIC", b, sizeof b);
}

static uint32_t hpet_qemu(void)
{
	uint8_t b[20] = { 0 };
	uint64_t base = 0xfed00000;

	memcpy(b + 8, &base, 8);		/* GAS: space 0 (memory) */
	b[17] = 0x80;				/* minimum tick 128 */
	return table("HPET", b, sizeof b);
}

static uint32_t spcr_com2(void)
{
	uint8_t b[44] = { 0 };
	uint64_t port = 0x2f8;

	b[0] = 0;				/* full 16550 */
	b[4] = 1, b[5] = 8;			/* GAS: I/O, 8 bits */
	memcpy(b + 8, &port, 8);
	b[16] = 1, b[17] = 3;			/* PC-AT interrupt, IRQ 3 */
	b[22] = 7;				/* 115200 */
	return table("SPCR", b, sizeof b);
}

static uint32_t root(const char *sig, const uint32_t *pas, int n)
{
	uint8_t b[64];
	int w = sig[0] == 'X' ? 8 : 4;

	for (int i = 0; i < n; i++) {
		uint64_t v = pas[i];
		memcpy(b + i * w, &v, w);
	}
	return table(sig, b, n * w);
}

static void make_rsdp(uint32_t rsdt, uint32_t xsdt)
{
	uint32_t len = 36;
	uint64_t x = xsdt;

	memset(rsdp, 0, sizeof rsdp);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "DELOS ", 6);
	rsdp[15] = xsdt ? 2 : 0;
	memcpy(rsdp + 16, &rsdt, 4);
	fix_sum(rsdp, 20, 8);
	if (xsdt) {
		memcpy(rsdp + 20, &len, 4);
		memcpy(rsdp + 24, &x, 8);
		fix_sum(rsdp, 36, 32);
	}
}

static struct acpi_info info;

static int parse(void)
{
	notes[0] = 0;
	return acpi_parse(rsdp, sizeof rsdp, map, NULL, &info, note, NULL);
}

static void reset(void)
{
	memset(mem, 0, sizeof mem);
	used = 0;
	notes[0] = 0;
}

TestSuite(acpi, .init = reset);

Test(acpi, rsdt_madt_hpet_spcr)
{
	uint32_t t[3] = { madt_qemu(), hpet_qemu(), spcr_com2() };

	make_rsdp(root("RSDT", t, 3), 0);
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert_str_eq(info.root, "RSDT");
	cr_assert_eq(info.tables, 3);
	cr_assert_eq(info.refused, 0, "%s", notes);
	cr_assert(info.has_madt);
	cr_assert_eq(info.lapic_addr, 0xfee00000);
	cr_assert(info.legacy_pics);
	cr_assert_eq(info.cpus, 1);
	cr_assert_eq(info.ioapic_count, 1);
	cr_assert_eq(info.ioapics[0].addr, 0xfec00000);
	cr_assert_eq(info.ioapics[0].gsi_base, 0);
	cr_assert(info.has_hpet);
	cr_assert_eq(info.hpet_addr, 0xfed00000);
	cr_assert_eq(info.hpet_min_tick, 128);
	cr_assert(info.has_spcr);
	cr_assert_eq(info.spcr_port, 0x2f8);
	cr_assert_eq(info.spcr_irq, 3);
	cr_assert_eq(info.spcr_baud, 115200);
}

Test(acpi, overrides)
{
	uint32_t t[1] = { madt_qemu() };
	uint16_t flags;

	make_rsdp(root("RSDT", t, 1), 0);
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert_eq(info.override_count, 2);
	cr_assert_eq(acpi_isa_gsi(&info, 0, &flags), 2, "IRQ0 must arrive on GSI2");
	cr_assert_eq(flags, 0);
	cr_assert_eq(acpi_isa_gsi(&info, 9, &flags), 9);
	cr_assert_eq(flags & ACPI_TRIGGER_MASK, ACPI_TRIGGER_LEVEL);
	cr_assert_eq(acpi_isa_gsi(&info, 4, &flags), 4, "no override: the identity");
	cr_assert_eq(flags, 0);
	cr_assert_eq(acpi_isa_gsi(&info, 2, &flags), ACPI_NO_GSI, "IRQ0 took IRQ2's GSI");
	cr_assert_not(info.has_hpet, "no HPET table, no HPET");
}

Test(acpi, xsdt_wins_over_rsdt)
{
	uint32_t madt = madt_qemu(), hpet = hpet_qemu();
	uint32_t only_madt[1] = { madt }, both[2] = { madt, hpet };
	uint32_t rsdt = root("RSDT", only_madt, 1);

	make_rsdp(rsdt, root("XSDT", both, 2));
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert_str_eq(info.root, "XSDT");
	cr_assert(info.has_hpet, "the XSDT lists the HPET; the RSDT does not");
}

Test(acpi, bad_xsdt_falls_back_to_rsdt)
{
	uint32_t t[1] = { madt_qemu() };
	uint32_t rsdt = root("RSDT", t, 1), xsdt = root("XSDT", t, 1);

	at(xsdt)[20] ^= 0x55;			/* corrupt the OEM table id: checksum now wrong */
	make_rsdp(rsdt, xsdt);
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert_str_eq(info.root, "RSDT");
	cr_assert(info.has_madt);
	cr_assert_eq(info.refused, 1);
	cr_assert(strstr(notes, "XSDT") && strstr(notes, "bad checksum"), "%s", notes);
}

Test(acpi, bad_checksum_refuses_the_table)
{
	uint32_t madt = madt_qemu(), hpet = hpet_qemu();
	uint32_t t[2] = { madt, hpet };

	at(hpet)[50] ^= 1;
	make_rsdp(root("RSDT", t, 2), 0);
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert(info.has_madt, "the other tables are still used");
	cr_assert_not(info.has_hpet, "a bad HPET table gives no HPET");
	cr_assert_eq(info.hpet_addr, 0);
	cr_assert_eq(info.refused, 1);
	cr_assert(strstr(notes, "acpi: HPET at 0x") && strstr(notes, "bad checksum"), "%s", notes);
}

Test(acpi, truncated_length_refused)
{
	uint32_t madt = madt_qemu();
	uint32_t t[1] = { madt };
	uint32_t len = 40;			/* under the MADT's 44 fixed bytes */

	memcpy(at(madt) + 4, &len, 4);
	fix_sum(at(madt), len, 9);
	make_rsdp(root("RSDT", t, 1), 0);
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert_not(info.has_madt);
	cr_assert_eq(info.ioapic_count, 0);
	cr_assert(strstr(notes, "APIC at 0x") && strstr(notes, "length 40"), "%s", notes);
}

Test(acpi, length_past_readable_memory_refused)
{
	uint32_t madt = madt_qemu();
	uint32_t t[1] = { madt };
	uint32_t len = 1u << 19;		/* within ACPI_MAX_TABLE, past the fake memory */

	memcpy(at(madt) + 4, &len, 4);
	make_rsdp(root("RSDT", t, 1), 0);
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert_not(info.has_madt);
	cr_assert(strstr(notes, "not readable"), "%s", notes);
}

Test(acpi, madt_entry_past_table_refused)
{
	uint32_t madt = madt_qemu();
	uint32_t t[1] = { madt };

	at(madt)[44 + 8 + 1] = 200;		/* the IOAPIC entry claims 200 bytes */
	fix_sum(at(madt), 36 + 48, 9);
	make_rsdp(root("RSDT", t, 1), 0);
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert_not(info.has_madt);
	cr_assert_eq(info.ioapic_count, 0, "a refused MADT leaves nothing behind");
	cr_assert_eq(info.override_count, 0);
	cr_assert(strstr(notes, "MADT") && strstr(notes, "runs past"), "%s", notes);
}

Test(acpi, bad_root_signature)
{
	uint32_t t[1] = { madt_qemu() };
	uint32_t rsdt = root("RSDT", t, 1);

	memcpy(at(rsdt), "RSDX", 4);
	fix_sum(at(rsdt), 40, 9);
	make_rsdp(rsdt, 0);
	cr_assert_eq(parse(), ACPI_E_ROOT);
	cr_assert_not(info.has_madt);
	cr_assert(strstr(notes, "signature 'RSDX'"), "%s", notes);
}

Test(acpi, bad_rsdp)
{
	uint32_t t[1] = { madt_qemu() };

	make_rsdp(root("RSDT", t, 1), 0);
	rsdp[0] = 'X';
	cr_assert_eq(parse(), ACPI_E_RSDP);
	make_rsdp(root("RSDT", t, 1), 0);
	rsdp[16] ^= 1;
	cr_assert_eq(parse(), ACPI_E_RSDP, "a wrong RSDP checksum is refused");
	cr_assert_eq(acpi_parse(NULL, 0, map, NULL, &info, note, NULL), ACPI_E_NO_RSDP);
}

Test(acpi, spcr_not_on_io_ports_refused)
{
	uint32_t spcr = spcr_com2();
	uint32_t t[1] = { spcr };

	at(spcr)[40] = 0;			/* memory-mapped UART */
	fix_sum(at(spcr), 80, 9);
	make_rsdp(root("RSDT", t, 1), 0);
	cr_assert_eq(parse(), ACPI_OK, "%s", notes);
	cr_assert_not(info.has_spcr);
	cr_assert(strstr(notes, "SPCR") && strstr(notes, "I/O ports"), "%s", notes);
}
