/*
 * ACPI table parser: RSDP → XSDT/RSDT → MADT, HPET, SPCR. See delos/acpi.h.
 * Every table is checked whole (signature, length, checksum, entries) before
 * any fact from it is copied out, so a refused table leaves nothing behind.
 */
#include <delos/acpi.h>

#define SDT_HEADER 36
#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36

#define MADT_FIXED 44
#define HPET_FIXED 56
#define SPCR_FIXED 80

#define GAS_MEMORY 0
#define GAS_IO     1

enum madt_type {
	MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_OVERRIDE = 2, MADT_LAPIC_ADDR = 5,
};

struct parser {
	acpi_map_fn *map;
	void *map_ctx;
	note_fn *note;
	void *note_ctx;
	struct acpi_info *out;
};

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof v);
	return v;
}

static uint8_t sum(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static bool sig_is(const uint8_t *p, const char *sig)
{
	return __builtin_memcmp(p, sig, 4) == 0;
}

/* Prints a signature safely, whatever bytes it holds. */
static void sig_text(const uint8_t *p, char out[5])
{
	for (int i = 0; i < 4; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[4] = 0;
}

/*
 * Maps the table at pa and checks it: signature sig (NULL: any), length from
 * min to ACPI_MAX_TABLE, checksum zero. Returns it, or NULL after a note.
 */
static const uint8_t *map_table(struct parser *p, uint64_t pa, const char *sig, uint32_t min)
{
	const uint8_t *h = p->map(p->map_ctx, pa, SDT_HEADER);
	char got[5];
	const char *want = sig ? sig : "table";

	if (!h) {
		NOTE(p->note, p->note_ctx, NOTE_WARN, "acpi: %s at 0x%lx is not readable; refused",
		     want, pa);
		return NULL;
	}
	sig_text(h, got);
	if (sig && !sig_is(h, sig)) {
		NOTE(p->note, p->note_ctx, NOTE_WARN,
		     "acpi: %s at 0x%lx has signature '%s'; refused", sig, pa, got);
		return NULL;
	}
	uint32_t len = rd32(h + 4);
	if (len < min || len > ACPI_MAX_TABLE) {
		NOTE(p->note, p->note_ctx, NOTE_WARN,
		     "acpi: %s at 0x%lx has length %u (needs %u to %u); refused",
		     got, pa, len, min, ACPI_MAX_TABLE);
		return NULL;
	}
	const uint8_t *t = p->map(p->map_ctx, pa, len);
	if (!t) {
		NOTE(p->note, p->note_ctx, NOTE_WARN,
		     "acpi: %s at 0x%lx: its %u bytes are not readable; refused", got, pa, len);
		return NULL;
	}
	if (sum(t, len)) {
		NOTE(p->note, p->note_ctx, NOTE_WARN,
		     "acpi: %s at 0x%lx: bad checksum (bytes sum to 0x%x, not 0); refused",
		     got, pa, sum(t, len));
		return NULL;
	}
	return t;
}

static void refuse(struct parser *p, const char *what, uint64_t pa, const char *why, uint32_t at)
{
	p->out->refused++;
	NOTE(p->note, p->note_ctx, NOTE_WARN, "acpi: %s at 0x%lx: %s at offset %u; refused",
	     what, pa, why, at);
}

/* Checks every MADT entry's length before anything is copied. */
static bool madt_entries_fit(struct parser *p, const uint8_t *t, uint32_t len, uint64_t pa)
{
	static const uint8_t need[] = {
		[MADT_LAPIC] = 8, [MADT_IOAPIC] = 12, [MADT_OVERRIDE] = 10, [MADT_LAPIC_ADDR] = 12,
	};
	uint32_t io = 0, ov = 0;

	for (uint32_t off = MADT_FIXED; off < len;) {
		if (len - off < 2 || t[off + 1] < 2 || t[off + 1] > len - off) {
			refuse(p, "MADT", pa, "an entry runs past the table", off);
			return false;
		}
		uint8_t type = t[off], elen = t[off + 1];
		if (type < sizeof need && need[type] && elen < need[type]) {
			refuse(p, "MADT", pa, "an entry is too short for its type", off);
			return false;
		}
		io += type == MADT_IOAPIC;
		ov += type == MADT_OVERRIDE;
		off += elen;
	}
	if (io > ACPI_MAX_IOAPICS || ov > ACPI_MAX_OVERRIDES) {
		refuse(p, "MADT", pa, "more IOAPICs or overrides than this parser holds", MADT_FIXED);
		return false;
	}
	return true;
}

static void madt_entry(struct acpi_info *o, const uint8_t *e)
{
	switch (e[0]) {
	case MADT_LAPIC:
		o->cpus += (rd32(e + 4) & 1) != 0;
		break;
	case MADT_IOAPIC:
		o->ioapics[o->ioapic_count++] = (struct acpi_ioapic){ e[2], rd32(e + 4), rd32(e + 8) };
		break;
	case MADT_OVERRIDE:
		if (e[2] == 0)	/* bus 0 is ISA, the only one defined */
			o->overrides[o->override_count++] =
				(struct acpi_override){ e[3], rd32(e + 4), rd16(e + 8) };
		break;
	case MADT_LAPIC_ADDR:
		o->lapic_addr = rd64(e + 4);
		break;
	}
}

static void parse_madt(struct parser *p, const uint8_t *t, uint64_t pa)
{
	struct acpi_info *o = p->out;
	uint32_t len = rd32(t + 4);

	if (o->has_madt || !madt_entries_fit(p, t, len, pa))
		return;
	o->lapic_addr = rd32(t + 36);
	o->legacy_pics = rd32(t + 40) & 1;
	for (uint32_t off = MADT_FIXED; off < len; off += t[off + 1])
		madt_entry(o, t + off);
	if (!o->ioapic_count)
		NOTE(p->note, p->note_ctx, NOTE_WARN, "acpi: MADT at 0x%lx lists no IOAPIC", pa);
	o->has_madt = true;
}

static void parse_hpet(struct parser *p, const uint8_t *t, uint64_t pa)
{
	uint64_t base = rd64(t + 44);

	if (p->out->has_hpet)
		return;
	if (t[40] != GAS_MEMORY || !base || (base & 0x3ff)) {
		refuse(p, "HPET", pa, "base address is not 1 KiB-aligned system memory", 40);
		return;
	}
	p->out->has_hpet = true;
	p->out->hpet_addr = base;
	p->out->hpet_min_tick = rd16(t + 53);
}

/* SPCR baud rate codes 3, 4, 6 and 7; 0 means "as the firmware left it". */
static uint32_t spcr_baud(uint8_t code)
{
	switch (code) {
	case 3: return 9600;
	case 4: return 19200;
	case 6: return 57600;
	case 7: return 115200;
	default: return 0;
	}
}

static void parse_spcr(struct parser *p, const uint8_t *t, uint64_t pa)
{
	uint8_t type = t[36], space = t[40], int_type = t[52];
	uint64_t base = rd64(t + 44);

	if (p->out->has_spcr)
		return;
	if (type != 0 && type != 1 && type != 0x12) {
		refuse(p, "SPCR", pa, "the console is not a 16550-family UART", 36);
		return;
	}
	if (space != GAS_IO || !base || base > 0xfff8) {
		refuse(p, "SPCR", pa, "the UART is not on I/O ports", 40);
		return;
	}
	p->out->has_spcr = true;
	p->out->spcr_type = type;
	p->out->spcr_port = (uint16_t)base;
	p->out->spcr_irq = (int_type & 1) && t[53] < 16 ? t[53] : 0;
	p->out->spcr_baud = spcr_baud(t[58]);
}

struct table_kind {
	const char *sig;
	uint32_t min;
	void (*parse)(struct parser *p, const uint8_t *t, uint64_t pa);
};

static const struct table_kind kinds[] = {
	{ "APIC", MADT_FIXED, parse_madt },
	{ "HPET", HPET_FIXED, parse_hpet },
	{ "SPCR", SPCR_FIXED, parse_spcr },
};

/* Looks at one root table entry; tables other than the three are left unread. */
static void visit(struct parser *p, uint64_t pa)
{
	const uint8_t *h = p->map(p->map_ctx, pa, SDT_HEADER);

	if (!h) {
		p->out->refused++;
		NOTE(p->note, p->note_ctx, NOTE_WARN,
		     "acpi: root table entry 0x%lx is not readable; skipped", pa);
		return;
	}
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (!sig_is(h, kinds[i].sig))
			continue;
		const uint8_t *t = map_table(p, pa, kinds[i].sig, kinds[i].min);
		if (t)
			kinds[i].parse(p, t, pa);
		else
			p->out->refused++;
		return;
	}
}

static int walk_root(struct parser *p, const uint8_t *root, uint32_t width)
{
	uint32_t n = (rd32(root + 4) - SDT_HEADER) / width;

	p->out->tables = n;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = root + SDT_HEADER + i * width;
		visit(p, width == 8 ? rd64(e) : rd32(e));
	}
	return ACPI_OK;
}

/* Checks the RSDP; stores the XSDT's address in *xsdt (0 if none usable) and the RSDT's in *rsdt. */
static int check_rsdp(struct parser *p, const uint8_t *r, uint32_t len, uint64_t *xsdt, uint64_t *rsdt)
{
	if (!r || len < RSDP_V1_LEN) {
		NOTE(p->note, p->note_ctx, NOTE_ERROR, "acpi: no RSDP from the boot loader");
		return ACPI_E_NO_RSDP;
	}
	if (__builtin_memcmp(r, "RSD PTR ", 8) || sum(r, RSDP_V1_LEN)) {
		NOTE(p->note, p->note_ctx, NOTE_ERROR,
		     "acpi: RSDP has a bad signature or checksum; refused");
		return ACPI_E_RSDP;
	}
	p->out->revision = r[15];
	*rsdt = rd32(r + 16);
	*xsdt = 0;
	if (r[15] < 2)
		return ACPI_OK;
	if (len < RSDP_V2_LEN || rd32(r + 20) < RSDP_V2_LEN || rd32(r + 20) > len ||
	    sum(r, rd32(r + 20)))
		NOTE(p->note, p->note_ctx, NOTE_WARN,
		     "acpi: RSDP revision %u has a bad length or extended checksum; using the RSDT",
		     r[15]);
	else
		*xsdt = rd64(r + 24);
	return ACPI_OK;
}

int acpi_parse(const void *rsdp, uint32_t rsdp_len, acpi_map_fn *map, void *map_ctx,
	       struct acpi_info *out, note_fn *note, void *note_ctx)
{
	struct parser p = { map, map_ctx, note, note_ctx, out };
	uint64_t xsdt, rsdt;
	const uint8_t *root = NULL;

	__builtin_memset(out, 0, sizeof *out);
	int err = check_rsdp(&p, rsdp, rsdp_len, &xsdt, &rsdt);
	if (err)
		return err;
	if (xsdt && (root = map_table(&p, xsdt, "XSDT", SDT_HEADER)))
		__builtin_memcpy(out->root, "XSDT", 5);
	else if (xsdt)
		out->refused++;
	if (!root && rsdt && (root = map_table(&p, rsdt, "RSDT", SDT_HEADER)))
		__builtin_memcpy(out->root, "RSDT", 5);
	if (!root) {
		NOTE(note, note_ctx, NOTE_ERROR, "acpi: no valid XSDT or RSDT");
		__builtin_memset(out, 0, sizeof *out);
		return ACPI_E_ROOT;
	}
	return walk_root(&p, root, out->root[0] == 'X' ? 8 : 4);
}

const char *acpi_strerror(int err)
{
	switch (err) {
	case ACPI_OK: return "success";
	case ACPI_E_NO_RSDP: return "no RSDP from the boot loader";
	case ACPI_E_RSDP: return "the RSDP's signature or checksum is wrong";
	case ACPI_E_ROOT: return "neither the XSDT nor the RSDT is valid";
	default: return "unknown error";
	}
}
