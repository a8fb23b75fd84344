/*
 * The manifest table reader and the lookups over a manifest. Freestanding:
 * it builds into nano_core and, with -DDELOS_HOST, into celltool and the
 * host tests. The format is in include/delos/manifest_table.h.
 */
#include <delos/manifest_table.h>

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static size_t ref_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* Eight bytes a step, then the tail: a table is tens of KiB of fixed-size
 * entries, read once at every boot. */
static void copy_bytes(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	for (; n >= 8; n -= 8, d += 8, s += 8) {
		uint64_t w;
		__builtin_memcpy(&w, s, 8);
		__builtin_memcpy(d, &w, 8);
	}
	while (n--)
		*d++ = *s++;
}

/* "manifest table: WHAT" plus, when index >= 0, " (entry INDEX)". */
static int fail(struct manifest_error *err, int code, const char *what, long index)
{
	static const char prefix[] = "manifest table: ";
	char digits[12];
	size_t n = 0, d = 0;

	if (!err)
		return code;
	err->line = 0;
	for (const char *s = prefix; *s && n + 1 < sizeof(err->message); s++)
		err->message[n++] = *s;
	for (const char *s = what; *s && n + 1 < sizeof(err->message); s++)
		err->message[n++] = *s;
	if (index >= 0) {
		const char *open = " (entry ";
		for (const char *s = open; *s && n + 1 < sizeof(err->message); s++)
			err->message[n++] = *s;
		do
			digits[d++] = (char)('0' + index % 10);
		while ((index /= 10) && d < sizeof(digits));
		while (d && n + 2 < sizeof(err->message))
			err->message[n++] = digits[--d];
		err->message[n++] = ')';
	}
	err->message[n] = '\0';
	return code;
}

size_t manifest_table_size(size_t entry_count, size_t boot_count)
{
	return sizeof(struct manifest_table_header) +
	       entry_count * sizeof(struct manifest_table_entry) + boot_count * sizeof(uint32_t);
}

#define FNV_PRIME 0x100000001b3ull

/*
 * FNV-1a, byte by byte, except that eight zero bytes (most of a table: its
 * fields are fixed-size, mostly unused) take one multiplication by the
 * prime's eighth power, since xor with a zero byte changes nothing: the same
 * value for about a fifth of the instructions.
 */
uint64_t manifest_table_checksum(const void *buf, size_t len)
{
	static const uint64_t prime8 = FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME *
				       FNV_PRIME * FNV_PRIME * FNV_PRIME * FNV_PRIME;
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ull;

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w;
		__builtin_memcpy(&w, p, 8);
		if (w == 0) {
			h *= prime8;
			continue;
		}
		for (int i = 0; i < 8; i++)
			h = (h ^ p[i]) * FNV_PRIME;
	}
	while (len--)
		h = (h ^ *p++) * FNV_PRIME;
	return h;
}

int manifest_table_header_check(const void *buf, size_t len, size_t *entry_count,
				size_t *boot_count, struct manifest_error *err)
{
	struct manifest_table_header h;

	if (len < sizeof(h))
		return fail(err, MANIFEST_TABLE_ETRUNCATED, "shorter than its header", -1);
	copy_bytes(&h, buf, sizeof(h));
	if (h.magic != MANIFEST_TABLE_MAGIC)
		return fail(err, MANIFEST_TABLE_EMAGIC,
			    "bad magic: not a table from `celltool table`", -1);
	if (h.version != MANIFEST_TABLE_VERSION)
		return fail(err, MANIFEST_TABLE_EVERSION,
			    "format version differs from this nano_core's", -1);
	if (h.header_size != sizeof(h) || h.entry_size != sizeof(struct manifest_table_entry))
		return fail(err, MANIFEST_TABLE_EVERSION, "header or entry size differs", -1);
	if (h.boot_count > h.entry_count || h.entry_count > (1u << 20) ||
	    h.size != manifest_table_size(h.entry_count, h.boot_count))
		return fail(err, MANIFEST_TABLE_EENTRY, "counts disagree with its size", -1);
	if (h.size > len)
		return fail(err, MANIFEST_TABLE_ETRUNCATED, "truncated: shorter than its size", -1);
	*entry_count = h.entry_count;
	*boot_count = h.boot_count;
	return MANIFEST_TABLE_OK;
}

int manifest_table_check(const void *buf, size_t len, size_t *entry_count,
			 size_t *boot_count, struct manifest_error *err)
{
	struct manifest_table_header h;
	int rc = manifest_table_header_check(buf, len, entry_count, boot_count, err);

	if (rc)
		return rc;
	copy_bytes(&h, buf, sizeof(h));
	if (manifest_table_checksum((const char *)buf + sizeof(h), h.size - sizeof(h)) != h.checksum)
		return fail(err, MANIFEST_TABLE_ECHECKSUM, "checksum mismatch: the table was changed",
			    -1);
	return MANIFEST_TABLE_OK;
}

/* A string field holds its NUL; a name field is not empty. */
static bool terminated(const char *s, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (s[i] == '\0')
			return true;
	return false;
}

#define TERMINATED(field) terminated((field), sizeof(field))

static const char *check_entry(const struct manifest_table_entry *t)
{
	if (!TERMINATED(t->name) || !t->name[0] || t->version == 0)
		return "bad NAME@VERSION";
	if (!TERMINATED(t->object) || !TERMINATED(t->guard_grant) || !TERMINATED(t->fallback_name))
		return "unterminated string";
	if (t->grant_count > MANIFEST_GRANTS_MAX || t->guarded_count > MANIFEST_GUARDS_MAX ||
	    t->extra_count > MANIFEST_EXTRAS_MAX)
		return "count out of range";
	for (uint32_t i = 0; i < t->grant_count; i++)
		if (!TERMINATED(t->grants[i]) || !t->grants[i][0])
			return "bad grant";
	for (uint32_t i = 0; i < t->guarded_count; i++)
		if (!TERMINATED(t->guarded[i]) || !t->guarded[i][0])
			return "bad guarded symbol";
	for (uint32_t i = 0; i < t->extra_count; i++)
		if (!TERMINATED(t->extras[i].key) || !t->extras[i].key[0] ||
		    !TERMINATED(t->extras[i].value))
			return "bad extra field";
	if (t->boot > 1)
		return "boot is neither 0 nor 1";
	if (t->policy > MANIFEST_RECOVERY_FALLBACK)
		return "unknown recovery policy";
	if (t->policy == MANIFEST_RECOVERY_FALLBACK && (!t->fallback_name[0] || !t->fallback_version))
		return "fallback without NAME@VERSION";
	return NULL;
}

static void read_entry(const struct manifest_table_entry *t, struct manifest_entry *e)
{
	copy_bytes(e->name, t->name, sizeof(e->name));
	e->version = t->version;
	e->line = t->line;
	copy_bytes(e->object, t->object, sizeof(e->object));
	copy_bytes(e->grants, t->grants, sizeof(e->grants));
	e->grant_count = t->grant_count;
	e->boot = t->boot;
	e->recovery.policy = (enum manifest_policy)t->policy;
	copy_bytes(e->recovery.fallback_name, t->fallback_name, sizeof(e->recovery.fallback_name));
	e->recovery.fallback_version = t->fallback_version;
	e->recovery.tries = t->tries;
	e->recovery.backoff_ms = t->backoff_ms;
	copy_bytes(e->guard_grant, t->guard_grant, sizeof(e->guard_grant));
	copy_bytes(e->guarded, t->guarded, sizeof(e->guarded));
	e->guarded_count = t->guarded_count;
	for (uint32_t i = 0; i < MANIFEST_EXTRAS_MAX; i++) {
		copy_bytes(e->extras[i].key, t->extras[i].key, sizeof(e->extras[i].key));
		copy_bytes(e->extras[i].value, t->extras[i].value, sizeof(e->extras[i].value));
	}
	e->extra_count = t->extra_count;
}

/* Entries are read; checks what relates them: unique refs, fallbacks, the order. */
static int check_relations(struct manifest *m, const uint32_t *order, size_t boot_count,
			   struct manifest_error *err)
{
	size_t boots = 0;

	for (size_t i = 0; i < m->count; i++)
		if (manifest_find(m, m->entries[i].name, m->entries[i].version) != &m->entries[i])
			return fail(err, MANIFEST_TABLE_EENTRY, "duplicate NAME@VERSION", (long)i);
	for (size_t i = 0; i < m->count; i++) {
		const struct manifest_entry *e = &m->entries[i];
		const struct manifest_recovery *r = &e->recovery;
		if (r->policy == MANIFEST_RECOVERY_FALLBACK &&
		    !manifest_find(m, r->fallback_name, r->fallback_version))
			return fail(err, MANIFEST_TABLE_EENTRY, "fallback to a missing entry", (long)i);
		boots += e->boot;
	}
	if (boots != boot_count)
		return fail(err, MANIFEST_TABLE_EENTRY, "boot order does not list every boot entry",
			    -1);
	for (size_t i = 0; i < boot_count; i++) {
		if (order[i] >= m->count || !m->entries[order[i]].boot)
			return fail(err, MANIFEST_TABLE_EENTRY, "boot order names a non-boot entry",
				    (long)order[i]);
		for (size_t j = 0; j < i; j++)
			if (order[j] == order[i])
				return fail(err, MANIFEST_TABLE_EENTRY,
					    "boot order lists an entry twice", (long)order[i]);
	}
	return MANIFEST_TABLE_OK;
}

int manifest_table_read(const void *buf, size_t len, struct manifest *m,
			uint32_t *order, size_t order_capacity,
			struct manifest_error *err)
{
	const char *p = buf;
	struct manifest_table_entry t;
	size_t count, boot_count;
	int rc;

	m->count = 0;
	rc = manifest_table_check(buf, len, &count, &boot_count, err);
	if (rc)
		return rc;
	if (count > m->capacity || boot_count > order_capacity)
		return fail(err, MANIFEST_TABLE_EENTRY, "more entries than the caller made room for",
			    -1);
	p += sizeof(struct manifest_table_header);
	for (size_t i = 0; i < count; i++, p += sizeof(t)) {
		copy_bytes(&t, p, sizeof(t));
		const char *why = check_entry(&t);
		if (why)
			return fail(err, MANIFEST_TABLE_EENTRY, why, (long)i);
		read_entry(&t, &m->entries[i]);
	}
	copy_bytes(order, p, boot_count * sizeof(*order));
	m->count = count;
	rc = check_relations(m, order, boot_count, err);
	if (rc)
		m->count = 0;
	return rc;
}

/* Lookups, shared with the text parser. */

void manifest_init(struct manifest *m, struct manifest_entry *entries, size_t capacity)
{
	m->entries = entries;
	m->capacity = capacity;
	m->count = 0;
}

int manifest_parse_ref(const char *s, size_t len, char *name, uint32_t *version)
{
	size_t at = 0;
	uint32_t v = 0;

	while (at < len && s[at] != '@')
		at++;
	if (at == 0 || at > MANIFEST_NAME_MAX || at + 1 >= len || s[at + 1] == '0')
		return MANIFEST_ESYNTAX;
	for (size_t i = 0; i < at; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && (i == 0 || c < '0' || c > '9'))
			return MANIFEST_ESYNTAX;
	}
	for (size_t i = at + 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT32_MAX - 9) / 10)
			return MANIFEST_ESYNTAX;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	copy_bytes(name, s, at);
	name[at] = '\0';
	*version = v;
	return MANIFEST_OK;
}

const struct manifest_entry *manifest_find(const struct manifest *m,
					   const char *name, uint32_t version)
{
	size_t i;

	for (i = 0; i < m->count; i++)
		if (m->entries[i].version == version &&
		    str_eq(m->entries[i].name, name))
			return &m->entries[i];
	return NULL;
}

const struct manifest_entry *manifest_find_ref(const struct manifest *m,
					       const char *ref)
{
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t version;

	if (manifest_parse_ref(ref, ref_len(ref), name, &version))
		return NULL;
	return manifest_find(m, name, version);
}

size_t manifest_versions(const struct manifest *m, const char *name,
			 uint32_t *versions, size_t max)
{
	size_t total = 0, i, j;
	uint32_t v;

	for (i = 0; i < m->count; i++) {
		if (!str_eq(m->entries[i].name, name))
			continue;
		v = m->entries[i].version;
		/* Insertion into the sorted prefix, dropping what falls off. */
		j = total < max ? total : max;
		for (; j > 0 && versions[j - 1] > v; j--)
			if (j < max)
				versions[j] = versions[j - 1];
		if (j < max)
			versions[j] = v;
		total++;
	}
	return total;
}

const char *manifest_extra(const struct manifest_entry *e, const char *key)
{
	uint32_t i;

	for (i = 0; i < e->extra_count; i++)
		if (str_eq(e->extras[i].key, key))
			return e->extras[i].value;
	return NULL;
}

bool manifest_has_grant(const struct manifest_entry *e, const char *grant)
{
	uint32_t i;

	for (i = 0; i < e->grant_count; i++)
		if (str_eq(e->grants[i], grant))
			return true;
	return false;
}

const char *manifest_guard(const struct manifest_entry *e, const char *symbol)
{
	uint32_t i;

	for (i = 0; i < e->guarded_count; i++)
		if (str_eq(e->guarded[i], symbol))
			return e->guard_grant;
	return NULL;
}

const char *manifest_policy_name(enum manifest_policy policy)
{
	switch (policy) {
	case MANIFEST_RECOVERY_NONE: return "none";
	case MANIFEST_RECOVERY_RESTART: return "restart";
	case MANIFEST_RECOVERY_RELOAD: return "reload";
	case MANIFEST_RECOVERY_FALLBACK: return "fallback";
	}
	return "?";
}
