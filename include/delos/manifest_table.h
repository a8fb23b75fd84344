/*
 * The manifest as nano_core reads it: a binary table that celltool compiles
 * from cells.manifest at build time (`celltool table`), packed into the ISO
 * as the boot module named "manifest". The text parser (loader/manifest.c)
 * stays on the host; nano_core only checks and reads this table.
 *
 * Layout, little-endian, every field naturally aligned:
 *
 *   struct manifest_table_header
 *   struct manifest_table_entry   entries[entry_count]   (in manifest order)
 *   uint32_t                      boot_order[boot_count] (entry indices)
 *
 * boot_order lists every boot=yes entry once, each after the entries whose
 * exports it imports: celltool computes it from the cells' objects and
 * refuses a dependency cycle among boot cells, naming it. checksum is the
 * FNV-1a 64-bit hash of every byte after the header.
 */
#ifndef DELOS_MANIFEST_TABLE_H
#define DELOS_MANIFEST_TABLE_H

#include <delos/manifest.h>

#define MANIFEST_TABLE_MAGIC   0x54464d44u /* "DMFT" */
#define MANIFEST_TABLE_VERSION 1

struct manifest_table_header {
	uint32_t magic;
	uint16_t version;
	uint16_t header_size;	/* sizeof(struct manifest_table_header) */
	uint32_t entry_size;	/* sizeof(struct manifest_table_entry) */
	uint32_t entry_count;
	uint32_t boot_count;
	uint32_t size;		/* the whole table, header included */
	uint64_t checksum;
};

struct manifest_table_extra {
	char key[MANIFEST_NAME_MAX + 1];
	char value[MANIFEST_VALUE_MAX + 1];
};

/* One entry; strings are NUL-terminated within their arrays. */
struct manifest_table_entry {
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t version;
	uint32_t line;
	char object[MANIFEST_PATH_MAX + 1];
	char grants[MANIFEST_GRANTS_MAX][MANIFEST_NAME_MAX + 1];
	uint32_t grant_count;
	uint32_t boot;			/* 0 or 1 */
	uint32_t policy;		/* enum manifest_policy */
	char fallback_name[MANIFEST_NAME_MAX + 1];
	uint32_t fallback_version;
	uint32_t tries;
	uint32_t backoff_ms;
	char guard_grant[MANIFEST_NAME_MAX + 1];
	char guarded[MANIFEST_GUARDS_MAX][MANIFEST_SYMBOL_MAX + 1];
	uint32_t guarded_count;
	struct manifest_table_extra extras[MANIFEST_EXTRAS_MAX];
	uint32_t extra_count;
};

_Static_assert(sizeof(struct manifest_table_header) == 32, "table header layout");
_Static_assert(sizeof(struct manifest_table_entry) == 2312, "table entry layout");

enum manifest_table_status {
	MANIFEST_TABLE_OK = 0,
	MANIFEST_TABLE_ETRUNCATED = -1, /* shorter than its header says */
	MANIFEST_TABLE_EMAGIC = -2,     /* not a manifest table */
	MANIFEST_TABLE_EVERSION = -3,   /* another format version */
	MANIFEST_TABLE_ECHECKSUM = -4,  /* the bytes were changed */
	MANIFEST_TABLE_EENTRY = -5,     /* an entry or the boot order is malformed */
};

/* The bytes a table of that many entries and boot cells takes. */
size_t manifest_table_size(size_t entry_count, size_t boot_count);

/* FNV-1a 64 over buf[0..len). */
uint64_t manifest_table_checksum(const void *buf, size_t len);

/*
 * Checks buf[0..len): bounds, magic, version, sizes and checksum. On success
 * sets *entry_count and *boot_count, so the caller can size the arrays for
 * manifest_table_read. Otherwise returns a manifest_table_status with
 * err->message saying what is wrong (err may be NULL).
 */
int manifest_table_check(const void *buf, size_t len, size_t *entry_count,
			 size_t *boot_count, struct manifest_error *err);

/*
 * manifest_table_check without the checksum: enough to size the arrays when
 * manifest_table_read, which checks everything, comes next (the checksum is
 * then computed once, not twice).
 */
int manifest_table_header_check(const void *buf, size_t len, size_t *entry_count,
				size_t *boot_count, struct manifest_error *err);

/*
 * Checks the table, then reads its entries into m (capacity at least
 * entry_count) and its boot order into order (boot_count slots) as entry
 * indices. Every entry is checked (strings terminated, counts in range,
 * known policy, no duplicate NAME@VERSION, fallbacks present) and so is the
 * order (each boot entry once). On failure m->count is 0.
 */
int manifest_table_read(const void *buf, size_t len, struct manifest *m,
			uint32_t *order, size_t order_capacity,
			struct manifest_error *err);

/*
 * Encodes m, with the boot order order[0..boot_count), into buf, which holds
 * manifest_table_size(m->count, boot_count) bytes (host only: celltool and
 * the tests).
 */
void manifest_table_write(const struct manifest *m, const uint32_t *order,
			  size_t boot_count, void *buf);

#endif /* DELOS_MANIFEST_TABLE_H */
