/* The ramfs token payload (struct ramfs_ticket), sealed for RAMFS_SERVER. */
#include "cells/ramfs/fs.h"

#define MODE_BITS (RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_APPEND)

int rfs_key_check(const struct rfs *fs)
{
	return fs->key.k0 || fs->key.k1 ? 0 : RAMFS_E_NO_KEY;
}

static int from_token_error(int err)
{
	switch (err) {
	case TOKEN_E_FORGED:       return RAMFS_E_FORGED;
	case TOKEN_E_WRONG_SERVER: return RAMFS_E_WRONG_SERVER;
	case TOKEN_E_NO_KEY:       return RAMFS_E_NO_KEY;
	case TOKEN_E_INVAL:        return RAMFS_E_INVAL;
	default:                   return RAMFS_E_NOT_TOKEN;
	}
}

int rfs_ticket_open(const struct rfs *fs, const struct token *t, struct ramfs_ticket *tk)
{
	struct ramfs_ticket got;
	size_t len;
	int err;

	if (!t)
		return RAMFS_E_INVAL;
	err = token_open(&fs->key, RAMFS_SERVER, t, TOKEN_SIZE, &got, sizeof(got), &len);
	if (err)
		return from_token_error(err);
	if (len != sizeof(got) || got.format != RAMFS_TICKET_FORMAT || got.reserved ||
	    (got.mode & ~MODE_BITS) || got.pos > RAMFS_FILE_MAX)
		return RAMFS_E_NOT_TOKEN;
	*tk = got;
	return 0;
}

int rfs_ticket_seal(const struct rfs *fs, const struct ramfs_ticket *tk, struct token *out)
{
	int err = token_seal(&fs->key, RAMFS_SERVER, tk, sizeof(*tk), 0, out);

	return err ? from_token_error(err) : 0;
}
