/* Record names and error mapping for the ramfs logic (see records.h). */
#include "cells/ramfs/fs.h"

#ifdef DELOS_HOST
#include <string.h>
#else
#include <delos/string.h>
#endif

int rfs_name_check(const char *name)
{
	size_t n;

	if (!name)
		return RAMFS_E_INVAL;
	for (n = 0; name[n]; n++)
		if (n == RAMFS_NAME_MAX || name[n] < '!' || name[n] > '~')
			return RAMFS_E_NAME;
	return n ? 0 : RAMFS_E_NAME;
}

/* Appends v in lower-case hex (no leading zeros) at p; returns the end. */
static char *put_hex(char *p, uint64_t v)
{
	int shift = 60;

	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = "0123456789abcdef"[(v >> shift) & 0xf];
	return p;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

void rfs_name_file(char out[RFS_RECNAME_MAX], const char *name)
{
	*put_str(put_str(out, RAMFS_PFX_FILE), name) = '\0';
}

void rfs_name_inode(char out[RFS_RECNAME_MAX], uint32_t id)
{
	*put_hex(put_str(out, RAMFS_PFX_INODE), id) = '\0';
}

/* At most 8 + 8 + 1 + 16 + 1 + 8 = 42 bytes. */
void rfs_name_data(char out[RFS_RECNAME_MAX], uint32_t id, uint64_t gen, uint32_t chunk)
{
	char *p = put_hex(put_str(out, RAMFS_PFX_DATA), id);

	*p++ = '.';
	p = put_hex(p, gen);
	*p++ = '/';
	*put_hex(p, chunk) = '\0';
}

/* FNV-1a: where the search for a free file id starts. */
uint32_t rfs_name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

int rfs_store_error(int err)
{
	switch (err) {
	case STATEDB_OK:          return 0;
	case STATEDB_E_NOT_FOUND: return RAMFS_E_NOT_FOUND;
	case STATEDB_E_EXISTS:    return RAMFS_E_EXISTS;
	case STATEDB_E_NOMEM:     return RAMFS_E_NOMEM;
	case STATEDB_E_FULL:      return RAMFS_E_FULL;
	case STATEDB_E_CORRUPT:   return RAMFS_E_CORRUPT;
	default:                  return RAMFS_E_STORE;
	}
}
