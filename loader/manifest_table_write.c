/*
 * Encodes a parsed manifest and its boot order as the table nano_core reads
 * (include/delos/manifest_table.h). Host only: celltool and the tests.
 */
#include <delos/manifest_table.h>

#include <string.h>

static void write_entry(const struct manifest_entry *e, struct manifest_table_entry *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->name, e->name, sizeof(t->name));
	t->version = e->version;
	t->line = e->line;
	memcpy(t->object, e->object, sizeof(t->object));
	memcpy(t->grants, e->grants, sizeof(t->grants));
	t->grant_count = e->grant_count;
	t->boot = e->boot;
	t->policy = e->recovery.policy;
	memcpy(t->fallback_name, e->recovery.fallback_name, sizeof(t->fallback_name));
	t->fallback_version = e->recovery.fallback_version;
	t->tries = e->recovery.tries;
	t->backoff_ms = e->recovery.backoff_ms;
	memcpy(t->guard_grant, e->guard_grant, sizeof(t->guard_grant));
	memcpy(t->guarded, e->guarded, sizeof(t->guarded));
	t->guarded_count = e->guarded_count;
	for (uint32_t i = 0; i < MANIFEST_EXTRAS_MAX; i++) {
		memcpy(t->extras[i].key, e->extras[i].key, sizeof(t->extras[i].key));
		memcpy(t->extras[i].value, e->extras[i].value, sizeof(t->extras[i].value));
	}
	t->extra_count = e->extra_count;
}

void manifest_table_write(const struct manifest *m, const uint32_t *order,
			  size_t boot_count, void *buf)
{
	struct manifest_table_header h = {
		.magic = MANIFEST_TABLE_MAGIC,
		.version = MANIFEST_TABLE_VERSION,
		.header_size = sizeof(h),
		.entry_size = sizeof(struct manifest_table_entry),
		.entry_count = (uint32_t)m->count,
		.boot_count = (uint32_t)boot_count,
		.size = (uint32_t)manifest_table_size(m->count, boot_count),
	};
	char *p = (char *)buf + sizeof(h);
	struct manifest_table_entry t;

	for (size_t i = 0; i < m->count; i++, p += sizeof(t)) {
		write_entry(&m->entries[i], &t);
		memcpy(p, &t, sizeof(t));
	}
	memcpy(p, order, boot_count * sizeof(*order));
	h.checksum = manifest_table_checksum((char *)buf + sizeof(h), h.size - sizeof(h));
	memcpy(buf, &h, sizeof(h));
}
