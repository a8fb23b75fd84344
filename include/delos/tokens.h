/*
 * tokens (cell tokens@1): this boot's master token key (include/delos/token.h).
 *
 * cell_init makes the key once per boot from 32 bytes of the kernel's
 * randomness (include/delos/random.h: RDSEED or RDRAND mixed with the TSC,
 * or the boot's seed= argument), logs where they came from and a
 * fingerprint of the key (token_key_fingerprint), and stores it in the state_db record TOKENS_KEY_RECORD (struct token_key,
 * owner "tokens", type TOKENS_KEY_TYPE, layout TOKENS_LAYOUT). The key lives
 * in state_db, not in this cell, so it survives swaps and reloads of this
 * cell and of every server that seals tokens with it: a client's token stays
 * good across them. A reloaded cell keeps the key it finds; only a missing
 * or corrupt record is replaced (which makes every outstanding token fail
 * to open, as forged).
 *
 * Any cell may read the key: tokens guard against clients that hold tokens,
 * not against cells, which are all trusted kernel code.
 */
#ifndef CELLS_TOKENS_H
#define CELLS_TOKENS_H

#include <delos/token.h>

#define TOKENS_KEY_RECORD "tokens/key"
#define TOKENS_KEY_TYPE   0x59454b54u   /* "TKEY" */
#define TOKENS_LAYOUT     1u

enum tokens_error {
	TOKENS_E_INVAL   = -1,   /* out is NULL */
	TOKENS_E_NO_KEY  = -2,   /* no key record (tokens@1 never ran), or an all-zero key */
	TOKENS_E_CORRUPT = -3,   /* the record fails its checksum or is not a key */
};

/* Copies this boot's key into *out. Returns 0 or a negative tokens_error,
 * leaving *out untouched. Callable from any context. */
int tokens_key(struct token_key *out);

#endif
