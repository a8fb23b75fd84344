/*
 * `tokcheck`: shows on the console that the ramfs refuses tokens it did not
 * hand out. It opens a scratch file, then reads with every single-bit
 * alteration of the token, with the same payload sealed for another server
 * ("log"), and with the genuine token, and reports what each got.
 */
#include <delos/string.h>
#include "cells/ramfs/commands.h"
#include "cells/ramfs/fs.h"
#include <delos/shell.h>
#include <delos/tokens.h>

#define SCRATCH "tokcheck.tmp"
#define TEXT "token check\n"
#define SHOWN_BIT (8 * 20)   /* a bit of the payload: the file id */

/* Reads with each of the 8 * TOKEN_SIZE one-bit changes of t; returns how
 * many were refused, and in *shown the error of SHOWN_BIT's. */
static int flip_every_bit(const struct token *t, int *shown)
{
	int refused = 0;
	char c;

	for (int bit = 0; bit < 8 * TOKEN_SIZE; bit++) {
		struct token bad = *t;
		bad.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int64_t r = ramfs_read(&bad, &c, 1);
		refused += r < 0;
		if (bit == SHOWN_BIT)
			*shown = (int)r;
	}
	return refused;
}

/* The genuine token's payload, sealed for "log" instead of "ramfs". */
static int foreign_token(const struct token *t, struct token *out)
{
	struct rfs fs = { .layout = 1 };
	struct ramfs_ticket tk;
	int err = tokens_key(&fs.key);

	if (!err)
		err = rfs_ticket_open(&fs, t, &tk);
	if (!err)
		err = token_seal(&fs.key, "log", &tk, sizeof(tk), 0, out);
	memset(&fs.key, 0, sizeof(fs.key));
	return err;
}

static bool check_tokens(const struct token *t)
{
	struct token foreign, genuine = *t;
	char buf[sizeof(TEXT)];
	int shown = 0, refused = flip_every_bit(t, &shown);
	int64_t r;
	bool ok = refused == 8 * TOKEN_SIZE && shown == RAMFS_E_FORGED;

	shell_printf("tokcheck: read with a forged token (bit %d flipped): %s\n", SHOWN_BIT,
		     shown < 0 ? ramfs_strerror(shown) : "ACCEPTED");
	shell_printf("tokcheck: %d of %d single-bit changes refused\n", refused, 8 * TOKEN_SIZE);
	if (foreign_token(t, &foreign) == 0) {
		r = ramfs_read(&foreign, buf, 1);
		ok = ok && r == RAMFS_E_WRONG_SERVER;
		shell_printf("tokcheck: read with a token sealed for 'log': %s\n",
			     r < 0 ? ramfs_strerror((int)r) : "ACCEPTED");
	} else {
		ok = false;
		shell_printf("tokcheck: cannot make a token for 'log'\n");
	}
	r = ramfs_read(&genuine, buf, sizeof(buf));
	ok = ok && r == (int64_t)sizeof(TEXT) - 1;
	shell_printf("tokcheck: the genuine token reads %ld bytes\n", r);
	return ok;
}

void ramfs_cmd_tokcheck(int argc, char **argv)
{
	struct token t;
	int64_t w;
	int err = ramfs_open(SCRATCH, RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_CREATE | RAMFS_O_TRUNC,
			     &t);

	(void)argc, (void)argv;
	if (err) {
		shell_printf("tokcheck: %s: %s\n", SCRATCH, ramfs_strerror(err));
		return;
	}
	w = ramfs_write(&t, TEXT, sizeof(TEXT) - 1);
	if (w != (int64_t)sizeof(TEXT) - 1 || ramfs_seek(&t, 0, RAMFS_SEEK_SET) != 0) {
		shell_printf("tokcheck: cannot write %s\n", SCRATCH);
		ramfs_remove(SCRATCH);
		return;
	}
	bool ok = check_tokens(&t);
	ramfs_remove(SCRATCH);
	shell_printf("tokcheck: %s\n", ok ? "ok" : "FAILED");
}
