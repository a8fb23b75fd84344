/* Error names and messages of state_db. */
#include "state_db/internal.h"

const char *statedb_strerror(int err)
{
	switch (err) {
	case STATEDB_OK:          return "success";
	case STATEDB_E_ROOT:      return "not an initialized state_db root of this layout";
	case STATEDB_E_INVAL:     return "invalid argument (NULL pointer, or NULL data with a length)";
	case STATEDB_E_NAME:      return "bad record name (1 to 47 bytes, each '!' to '~')";
	case STATEDB_E_OWNER:     return "bad owner name (1 to 31 bytes, each '!' to '~')";
	case STATEDB_E_TOO_BIG:   return "data larger than the 1 MiB limit";
	case STATEDB_E_EXISTS:    return "a record of that name already exists";
	case STATEDB_E_NOT_FOUND: return "no record of that name";
	case STATEDB_E_NOMEM:     return "out of memory";
	case STATEDB_E_FULL:      return "the store holds the most records it can (65536)";
	case STATEDB_E_CORRUPT:   return "checksum mismatch: the record is corrupt and its data withheld";
	case STATEDB_E_NOSPACE:   return "buffer smaller than the record's data";
	case STATEDB_E_ABORTED:   return "stopped by the fail point";
	case STATEDB_E_TXN:       return "not an open transaction of this store";
	case STATEDB_E_CONFLICT:  return "a record the transaction touched changed since; nothing committed";
	case STATEDB_E_TXN_FULL:  return "the transaction touches the most records it can (4096)";
	case STATEDB_E_STALE:     return "stale handle: its record was deleted, or it is not a handle";
	case STATEDB_E_BUSY:      return "the record is being written in place; retry";
	case STATEDB_E_RANGE:     return "the in-place write reaches past the record's data";
	default:                  return "unknown error";
	}
}

/* A bounded string being written; cut messages end in "...". */
struct sdb_msg {
	char *buf;
	size_t cap, len;
};

static void put(struct sdb_msg *m, char c)
{
	if (m->len + 1 < m->cap) {
		m->buf[m->len++] = c;
		m->buf[m->len] = '\0';
	} else if (m->cap >= 4 && m->len + 1 == m->cap) {
		memcpy(m->buf + m->cap - 4, "...", 4);
		m->len = m->cap;
	}
}

static void put_str(struct sdb_msg *m, const char *s)
{
	while (*s)
		put(m, *s++);
}

/* Puts at most STATEDB_NAME_MAX + 1 bytes of name, escaping what a valid
 * name may not hold, so that a bad name is shown as it is. */
static void put_name(struct sdb_msg *m, const char *name)
{
	const char *hex = "0123456789abcdef";
	size_t i;

	for (i = 0; name[i] && i <= STATEDB_NAME_MAX; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c >= '!' && c <= '~' && c != '\\') {
			put(m, (char)c);
			continue;
		}
		put(m, '\\');
		put(m, 'x');
		put(m, hex[c >> 4]);
		put(m, hex[c & 15]);
	}
	if (name[i])
		put_str(m, "...");
}

char *statedb_describe(char *buf, size_t cap, int err, const char *name)
{
	struct sdb_msg m = { buf, cap, 0 };

	if (!buf || !cap)
		return buf;
	buf[0] = '\0';
	put_str(&m, "state_db: ");
	if (name) {
		put_str(&m, "record '");
		put_name(&m, name);
		put_str(&m, "': ");
	}
	put_str(&m, statedb_strerror(err));
	return buf;
}
