/*
 * Host tests for the manifest table (loader/manifest_table.c): a table that
 * celltool's writer made reads back whole; a wrong magic, a changed byte, a
 * short buffer and malformed entries or boot orders are refused with a
 * message naming the cause, and leave no entries behind.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <delos/manifest_table.h>

#define CAPACITY 8

static const char text[] =
	"cell a@1 grants=core,port_io boot=yes recovery=reload,tries=3,backoff=50\n"
	"cell b@2 grants=core boot=yes recovery=fallback:b@1 guard=test_hooks:b_hook swap=restart\n"
	"cell b@1 boot=no\n";

static struct manifest_entry parsed[CAPACITY], got[CAPACITY];
static struct manifest src, m;
static struct manifest_error err;
static uint32_t order[CAPACITY];
static const uint32_t boot_order[] = { 1, 0 };	/* b@2 before a@1 */

/* A good table of the manifest above, in a heap buffer of exactly its size. */
static unsigned char *make_table(size_t *len)
{
	manifest_init(&src, parsed, CAPACITY);
	cr_assert_eq(manifest_parse(&src, "t.manifest", text, sizeof(text) - 1, NULL), MANIFEST_OK);
	*len = manifest_table_size(src.count, 2);
	unsigned char *t = malloc(*len);
	manifest_table_write(&src, boot_order, 2, t);
	return t;
}

static int read_table(const unsigned char *t, size_t len)
{
	manifest_init(&m, got, CAPACITY);
	memset(order, 0xff, sizeof(order));
	return manifest_table_read(t, len, &m, order, CAPACITY, &err);
}

/* Recomputes the checksum after a test changed an entry, so only the entry check can refuse it. */
static void reseal(unsigned char *t, size_t len)
{
	struct manifest_table_header h;

	memcpy(&h, t, sizeof(h));
	h.checksum = manifest_table_checksum(t + sizeof(h), len - sizeof(h));
	memcpy(t, &h, sizeof(h));
}

static struct manifest_table_entry *entry(unsigned char *t, size_t i)
{
	return (struct manifest_table_entry *)(t + sizeof(struct manifest_table_header)) + i;
}

Test(manifest_table, good_table_reads_back_every_field)
{
	size_t len, count, boots;
	unsigned char *t = make_table(&len);

	cr_assert_eq(manifest_table_check(t, len, &count, &boots, &err), MANIFEST_TABLE_OK);
	cr_assert_eq(count, 3);
	cr_assert_eq(boots, 2);
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_OK, "%s", err.message);
	cr_assert_eq(m.count, 3);
	cr_assert_eq(order[0], 1);
	cr_assert_eq(order[1], 0);
	cr_assert_eq(memcmp(got, parsed, 3 * sizeof(*got)), 0, "an entry changed on the way");
	const struct manifest_entry *b = manifest_find_ref(&m, "b@2");
	cr_assert(b && b->boot && b->recovery.policy == MANIFEST_RECOVERY_FALLBACK);
	cr_assert_str_eq(b->recovery.fallback_name, "b");
	cr_assert_str_eq(manifest_guard(b, "b_hook"), "test_hooks");
	cr_assert_str_eq(manifest_extra(b, "swap"), "restart");
	const struct manifest_entry *a = manifest_find_ref(&m, "a@1");
	cr_assert(a && manifest_has_grant(a, "port_io") && a->recovery.tries == 3 &&
		  a->recovery.backoff_ms == 50);
	free(t);
}

Test(manifest_table, bad_magic_is_refused)
{
	size_t len;
	unsigned char *t = make_table(&len);

	t[0] ^= 0x20;
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_EMAGIC);
	cr_assert_str_eq(err.message, "manifest table: bad magic: not a table from `celltool table`");
	cr_assert_eq(m.count, 0);
	free(t);
}

Test(manifest_table, other_version_is_refused)
{
	size_t len;
	unsigned char *t = make_table(&len);

	t[4] = MANIFEST_TABLE_VERSION + 1;
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_EVERSION);
	cr_assert_eq(m.count, 0);
	free(t);
}

Test(manifest_table, changed_byte_fails_the_checksum)
{
	size_t len;
	unsigned char *t = make_table(&len);

	entry(t, 2)->name[0] = 'c';
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_ECHECKSUM);
	cr_assert_str_eq(err.message, "manifest table: checksum mismatch: the table was changed");
	cr_assert_eq(m.count, 0);
	free(t);
}

Test(manifest_table, truncated_table_is_refused)
{
	size_t len;
	unsigned char *t = make_table(&len);

	for (size_t cut = 0; cut < len; cut += cut < 64 ? 1 : 97) {
		unsigned char *short_copy = malloc(cut ? cut : 1);
		memcpy(short_copy, t, cut);
		cr_assert_eq(read_table(short_copy, cut), MANIFEST_TABLE_ETRUNCATED, "cut at %zu", cut);
		cr_assert_eq(m.count, 0);
		free(short_copy);
	}
	free(t);
}

Test(manifest_table, unterminated_name_is_refused)
{
	size_t len;
	unsigned char *t = make_table(&len);

	memset(entry(t, 0)->name, 'x', sizeof(entry(t, 0)->name));
	reseal(t, len);
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_EENTRY);
	cr_assert_str_eq(err.message, "manifest table: bad NAME@VERSION (entry 0)");
	cr_assert_eq(m.count, 0);
	free(t);
}

Test(manifest_table, count_out_of_range_is_refused)
{
	size_t len;
	unsigned char *t = make_table(&len);

	entry(t, 1)->grant_count = MANIFEST_GRANTS_MAX + 1;
	reseal(t, len);
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_EENTRY);
	cr_assert_str_eq(err.message, "manifest table: count out of range (entry 1)");
	free(t);
}

Test(manifest_table, boot_order_must_name_boot_entries_once)
{
	size_t len;
	unsigned char *t = make_table(&len);
	uint32_t *o = (uint32_t *)(t + len) - 2;

	o[1] = 2;	/* b@1 does not boot */
	reseal(t, len);
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_EENTRY);
	cr_assert_str_eq(err.message, "manifest table: boot order names a non-boot entry (entry 2)");
	o[1] = 1;	/* b@2 twice */
	reseal(t, len);
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_EENTRY);
	cr_assert_str_eq(err.message, "manifest table: boot order lists an entry twice (entry 1)");
	cr_assert_eq(m.count, 0);
	free(t);
}

Test(manifest_table, duplicate_entry_is_refused)
{
	size_t len;
	unsigned char *t = make_table(&len);

	entry(t, 2)->version = 2;	/* a second b@2 */
	reseal(t, len);
	cr_assert_eq(read_table(t, len), MANIFEST_TABLE_EENTRY);
	cr_assert_str_eq(err.message, "manifest table: duplicate NAME@VERSION (entry 2)");
	free(t);
}

Test(manifest_table, too_small_for_the_caller_is_refused)
{
	size_t len;
	unsigned char *t = make_table(&len);

	manifest_init(&m, got, 2);
	cr_assert_eq(manifest_table_read(t, len, &m, order, CAPACITY, &err), MANIFEST_TABLE_EENTRY);
	cr_assert_eq(m.count, 0);
	free(t);
}
