/*
 * Opaque client-held tokens: Theseus's "opaque exportation" for Delos cells.
 *
 * A server cell that must remember a client's progress between calls does not
 * keep it: it seals the progress into a token, hands the token to the client,
 * and opens it when the client brings it back. The server keeps nothing per
 * client, so it can be swapped or restarted between any two calls. A token is
 * TOKEN_SIZE bytes and carries up to TOKEN_PAYLOAD_MAX bytes of payload.
 *
 * What a token guarantees: a token that opens was sealed, unchanged, by this
 * boot's kernel, for the server that opens it. Any change to any bit is
 * refused, as is a token sealed for another server or under another key.
 * What it does not: the payload is authenticated, not encrypted (the client
 * can read it, and must not interpret it); a token can be replayed, so a
 * server that must refuse an old token checks the nonce it put in, against
 * state it keeps in state_db.
 *
 * Keys. One master struct token_key per boot, made by token_key_derive() from
 * seed bytes (the kernel's randomness, include/delos/random.h) and kept in state_db;
 * this code keeps no writable static data, so the caller always passes it.
 * Everything else comes from the master key K by SipHash-2-4 with a one-byte
 * label in front, so no two uses share an input:
 *   K          = ( H(C, 0x00 || seed), H(C, 0x01 || seed) ),
 *                C = (TOKEN_DERIVE_K0, TOKEN_DERIVE_K1), the bytes "Delos token key!"
 *   server id  = low 32 bits of H(K, 0x01 || name)
 *   server key = ( H(K, 0x02 || name), H(K, 0x03 || name) )
 *   kernel key = ( H(K, 0x04), H(K, 0x05) )
 *   fingerprint = low 32 bits of H(K, 0x06), safe to log
 * where name is the server's name without its NUL.
 *
 * Layout (private to token.c; host byte order, tokens never leave the machine):
 *    0  u16  magic "TK"              (unauthenticated check: "not a token")
 *    2  u8   format version, 1       (unauthenticated check)
 *    3  u8   payload length, 0..32
 *    4  u32  server id
 *    8  u64  nonce, from the caller
 *   16  u8[32] payload, unused bytes zero
 *   48  u64  server tag = H(server key, bytes 0..47)
 *   56  u64  kernel tag = H(kernel key, bytes 0..55)
 * The two tags form a 128-bit MAC. The kernel tag covers everything, the
 * server tag included, under a key common to all servers: when it fails the
 * token was forged or altered. When it holds, the token is genuine, and a
 * server id or server tag that is not the opener's means the token was sealed
 * for another server (the server tag also tells apart two names whose 32-bit
 * ids collide). So TOKEN_E_WRONG_SERVER is only ever said of genuine tokens
 * and tells a forger nothing. Both tags are always computed and compared
 * without early exit, so timing shows only the outcome.
 *
 * Every function checks all its input before writing anything: on any error,
 * no output (token, payload buffer, length, nonce) is touched.
 */
#ifndef DELOS_TOKEN_H
#define DELOS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_SIZE        64
#define TOKEN_PAYLOAD_MAX 32
#define TOKEN_VERSION     1
/* token_key_derive() wants at least this many seed bytes. */
#define TOKEN_SEED_MIN    16

/* The fixed SipHash key that turns seed bytes into a master key. */
#define TOKEN_DERIVE_K0 0x6f7420736f6c6544ull /* "Delos to" */
#define TOKEN_DERIVE_K1 0x2179656b206e656bull /* "ken key!" */

/* The master key. All zero means "not set": sealing and opening refuse it. */
struct token_key {
	uint64_t k0, k1;
};

/* A token as the client holds it: bytes with no alignment requirement. */
struct token {
	uint8_t bytes[TOKEN_SIZE];
};

_Static_assert(sizeof(struct token) == TOKEN_SIZE, "a token is TOKEN_SIZE bytes");

/* Errors are negative; token_strerror() names each. */
enum token_error {
	TOKEN_OK             = 0,
	TOKEN_E_INVAL        = -1,  /* NULL pointer, empty server name, short seed */
	TOKEN_E_NO_KEY       = -2,  /* the master key is all zero */
	TOKEN_E_TOO_BIG      = -3,  /* seal: payload longer than TOKEN_PAYLOAD_MAX */
	TOKEN_E_TRUNCATED    = -4,  /* open: fewer than TOKEN_SIZE bytes received */
	TOKEN_E_BAD_MAGIC    = -5,  /* open: not a token at all */
	TOKEN_E_BAD_VERSION  = -6,  /* open: a token format this code does not know */
	TOKEN_E_FORGED       = -7,  /* open: not sealed by this kernel, or altered */
	TOKEN_E_WRONG_SERVER = -8,  /* open: genuine, but sealed for another server */
	TOKEN_E_NO_ROOM      = -9,  /* open: payload longer than the caller's buffer */
};

/*
 * Makes the master key from len >= TOKEN_SEED_MIN seed bytes (see the top of
 * this file). The same seed always gives the same key. Returns TOKEN_OK, or
 * TOKEN_E_INVAL for a NULL pointer or a seed shorter than TOKEN_SEED_MIN.
 */
int token_key_derive(const void *seed, size_t len, struct token_key *out);

/* A 32-bit fingerprint of k that may be logged: it tells two keys apart
 * (say, two boots with the same seed=) and says nothing usable about k.
 * 0 if k is NULL. */
uint32_t token_key_fingerprint(const struct token_key *k);

/* The 32-bit id that tokens for `server` carry under key k (0 if k or server
 * is NULL). Ids of different names may collide; tokens still tell them apart. */
uint32_t token_server_id(const struct token_key *k, const char *server);

/*
 * Seals len bytes of payload (payload may be NULL when len is 0) and the
 * caller's nonce into *out, for the server named `server` (a non-empty NUL-
 * terminated name). Returns TOKEN_OK, TOKEN_E_INVAL, TOKEN_E_NO_KEY, or
 * TOKEN_E_TOO_BIG when len > TOKEN_PAYLOAD_MAX.
 */
int token_seal(const struct token_key *k, const char *server, const void *payload,
	       size_t len, uint64_t nonce, struct token *out);

/*
 * Opens a token that a client handed back to `server`: t points at the
 * token_size_received bytes the client gave. The token is copied once before
 * it is checked, so a client changing it meanwhile cannot race the checks;
 * bytes past TOKEN_SIZE are not read. On success copies the payload to
 * payload (cap bytes there; payload may be NULL when cap is 0), sets *len to
 * its length and returns TOKEN_OK. Otherwise returns, checked in this order:
 *   TOKEN_E_INVAL, TOKEN_E_NO_KEY    bad arguments (len must not be NULL)
 *   TOKEN_E_TRUNCATED                token_size_received < TOKEN_SIZE
 *   TOKEN_E_BAD_MAGIC, _BAD_VERSION  not a token of this format
 *   TOKEN_E_FORGED                   altered, or not sealed under k
 *   TOKEN_E_WRONG_SERVER             genuine but sealed for another server
 *   TOKEN_E_NO_ROOM                  genuine, but the payload exceeds cap
 */
int token_open(const struct token_key *k, const char *server, const struct token *t,
	       size_t token_size_received, void *payload, size_t cap, size_t *len);

/* token_open(), and on success also sets *nonce (if not NULL) to the nonce
 * given to token_seal(). */
int token_open_nonce(const struct token_key *k, const char *server, const struct token *t,
		     size_t token_size_received, void *payload, size_t cap, size_t *len,
		     uint64_t *nonce);

/*
 * Finds which of n server names a genuine token was sealed for, to name it in
 * a message after TOKEN_E_WRONG_SERVER. Returns its index (0..n-1), or
 * TOKEN_E_WRONG_SERVER if the token is genuine but none of the names owns it,
 * or the error token_open() would give for a token that is not genuine
 * (TOKEN_E_INVAL, _NO_KEY, _TRUNCATED, _BAD_MAGIC, _BAD_VERSION, _FORGED).
 * NULL entries in servers are skipped.
 */
int token_owner(const struct token_key *k, const struct token *t, size_t token_size_received,
		const char *const *servers, size_t n);

/* A fixed message for err, e.g. "token forged or altered". Never NULL. */
const char *token_strerror(int err);

/*
 * Writes a message for err, as opened by `server`, into buf (cap bytes,
 * always NUL-terminated when cap > 0, cut short if needed) and returns the
 * message's length as written. For TOKEN_E_WRONG_SERVER with a known owner:
 * "token belongs to server 'ramfs', not 'log'"; without (owner NULL):
 * "token belongs to another server, not 'log'". Otherwise
 * "log: " followed by token_strerror(err), or just the latter if server is NULL.
 */
size_t token_describe(char *buf, size_t cap, int err, const char *server, const char *owner);

#endif
