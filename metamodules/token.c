/*
 * Sealing and opening opaque client-held tokens. The contract, the key
 * derivations and the token layout are described in include/delos/token.h;
 * messages are in token_msg.c.
 *
 * No writable static data: keys come from the caller, everything else lives
 * on the stack for one call.
 */
#include <delos/siphash.h>
#include <delos/token.h>

#include <stdbool.h>

#ifdef DELOS_HOST
#include <string.h>
#else
#include <delos/string.h>
#endif

#define TOKEN_MAGIC 0x4b54 /* "TK" in memory */

/* The one-byte labels that separate the keys derived from the master key,
 * and the two halves of the master key derived from the seed. */
enum label {
	LABEL_SEED_K0   = 0x00,
	LABEL_SEED_K1   = 0x01,
	LABEL_SERVER_ID = 0x01,
	LABEL_SERVER_K0 = 0x02,
	LABEL_SERVER_K1 = 0x03,
	LABEL_KERNEL_K0 = 0x04,
	LABEL_KERNEL_K1 = 0x05,
	LABEL_FINGERPRINT = 0x06,
};

/* The token as sealed. No padding: every byte is covered by the tags. */
struct token_fields {
	uint16_t magic;
	uint8_t version;
	uint8_t len;
	uint32_t server_id;
	uint64_t nonce;
	uint8_t payload[TOKEN_PAYLOAD_MAX];
	uint64_t server_tag; /* over bytes 0..47 */
	uint64_t kernel_tag; /* over bytes 0..55, the server tag included */
};

_Static_assert(sizeof(struct token_fields) == TOKEN_SIZE, "token layout is TOKEN_SIZE bytes");
_Static_assert(offsetof(struct token_fields, server_id) == 4, "token layout");
_Static_assert(offsetof(struct token_fields, nonce) == 8, "token layout");
_Static_assert(offsetof(struct token_fields, payload) == 16, "token layout");
_Static_assert(offsetof(struct token_fields, server_tag) == 48, "token layout");
_Static_assert(offsetof(struct token_fields, kernel_tag) == 56, "token layout");
_Static_assert(TOKEN_PAYLOAD_MAX <= UINT8_MAX, "payload length fits its byte");

/* What one server needs to seal or open: derived from the master key and
 * its name for the length of one call. */
struct server_keys {
	uint32_t id;
	struct token_key server; /* keys the server tag */
	struct token_key kernel; /* keys the kernel tag; the same for every server */
};

/* H(key, label || data). */
static uint64_t labelled_hash(const struct token_key *key, uint8_t label, const void *data,
			      size_t n)
{
	struct siphash_state s;

	siphash24_init(&s, key->k0, key->k1);
	siphash24_update(&s, &label, 1);
	siphash24_update(&s, data, n);
	return siphash24_final(&s);
}

static void derive_kernel_key(const struct token_key *k, struct token_key *out)
{
	out->k0 = labelled_hash(k, LABEL_KERNEL_K0, NULL, 0);
	out->k1 = labelled_hash(k, LABEL_KERNEL_K1, NULL, 0);
}

static void derive_server_keys(const struct token_key *k, const char *server,
			       struct server_keys *out)
{
	size_t n = strlen(server);

	out->id = (uint32_t)labelled_hash(k, LABEL_SERVER_ID, server, n);
	out->server.k0 = labelled_hash(k, LABEL_SERVER_K0, server, n);
	out->server.k1 = labelled_hash(k, LABEL_SERVER_K1, server, n);
	derive_kernel_key(k, &out->kernel);
}

static uint64_t server_tag(const struct token_key *sk, const struct token_fields *f)
{
	return siphash24(sk->k0, sk->k1, f, offsetof(struct token_fields, server_tag));
}

static uint64_t kernel_tag(const struct token_key *kk, const struct token_fields *f)
{
	return siphash24(kk->k0, kk->k1, f, offsetof(struct token_fields, kernel_tag));
}

/* Checks the key and the server name every call needs. */
static int check_key_and_server(const struct token_key *k, const char *server)
{
	if (!k || !server || !server[0])
		return TOKEN_E_INVAL;
	if ((k->k0 | k->k1) == 0)
		return TOKEN_E_NO_KEY;
	return TOKEN_OK;
}

int token_key_derive(const void *seed, size_t len, struct token_key *out)
{
	const struct token_key c = { TOKEN_DERIVE_K0, TOKEN_DERIVE_K1 };

	if (!seed || !out || len < TOKEN_SEED_MIN)
		return TOKEN_E_INVAL;
	out->k0 = labelled_hash(&c, LABEL_SEED_K0, seed, len);
	out->k1 = labelled_hash(&c, LABEL_SEED_K1, seed, len);
	return TOKEN_OK;
}

uint32_t token_key_fingerprint(const struct token_key *k)
{
	return k ? (uint32_t)labelled_hash(k, LABEL_FINGERPRINT, NULL, 0) : 0;
}

uint32_t token_server_id(const struct token_key *k, const char *server)
{
	if (!k || !server)
		return 0;
	return (uint32_t)labelled_hash(k, LABEL_SERVER_ID, server, strlen(server));
}

int token_seal(const struct token_key *k, const char *server, const void *payload,
	       size_t len, uint64_t nonce, struct token *out)
{
	struct server_keys sk;
	struct token_fields f;
	int err = check_key_and_server(k, server);

	if (err)
		return err;
	if (!out || (len > 0 && !payload))
		return TOKEN_E_INVAL;
	if (len > TOKEN_PAYLOAD_MAX)
		return TOKEN_E_TOO_BIG;

	derive_server_keys(k, server, &sk);
	memset(&f, 0, sizeof(f));
	f.magic = TOKEN_MAGIC;
	f.version = TOKEN_VERSION;
	f.len = (uint8_t)len;
	f.server_id = sk.id;
	f.nonce = nonce;
	if (len > 0)
		memcpy(f.payload, payload, len);
	f.server_tag = server_tag(&sk.server, &f);
	f.kernel_tag = kernel_tag(&sk.kernel, &f);
	memcpy(out, &f, sizeof(f));
	return TOKEN_OK;
}

/*
 * Takes one private copy of what the client handed over and checks its
 * unauthenticated header. A length past TOKEN_PAYLOAD_MAX can only come from
 * an altered token (the tags cover it), so it is reported as one.
 */
static int snapshot(const struct token *t, size_t size, struct token_fields *f)
{
	if (size < TOKEN_SIZE)
		return TOKEN_E_TRUNCATED;
	memcpy(f, t, sizeof(*f));
	if (f->magic != TOKEN_MAGIC)
		return TOKEN_E_BAD_MAGIC;
	if (f->version != TOKEN_VERSION)
		return TOKEN_E_BAD_VERSION;
	if (f->len > TOKEN_PAYLOAD_MAX)
		return TOKEN_E_FORGED;
	return TOKEN_OK;
}

/*
 * Checks both tags. Both are computed and folded into differences before
 * either is looked at, and the differences are compared whole, so the time
 * taken does not depend on where a tag is wrong.
 */
static int verify(const struct token_fields *f, const struct server_keys *sk)
{
	uint64_t kernel_diff = f->kernel_tag ^ kernel_tag(&sk->kernel, f);
	uint64_t server_diff = (f->server_tag ^ server_tag(&sk->server, f)) |
			       (uint64_t)(f->server_id ^ sk->id);

	if (kernel_diff != 0)
		return TOKEN_E_FORGED;
	if (server_diff != 0)
		return TOKEN_E_WRONG_SERVER;
	return TOKEN_OK;
}

int token_open_nonce(const struct token_key *k, const char *server, const struct token *t,
		     size_t token_size_received, void *payload, size_t cap, size_t *len,
		     uint64_t *nonce)
{
	struct server_keys sk;
	struct token_fields f;
	int err = check_key_and_server(k, server);

	if (err)
		return err;
	if (!t || !len || (cap > 0 && !payload))
		return TOKEN_E_INVAL;
	err = snapshot(t, token_size_received, &f);
	if (err)
		return err;
	derive_server_keys(k, server, &sk);
	err = verify(&f, &sk);
	if (err)
		return err;
	if (f.len > cap)
		return TOKEN_E_NO_ROOM;

	if (f.len > 0)
		memcpy(payload, f.payload, f.len);
	*len = f.len;
	if (nonce)
		*nonce = f.nonce;
	return TOKEN_OK;
}

int token_open(const struct token_key *k, const char *server, const struct token *t,
	       size_t token_size_received, void *payload, size_t cap, size_t *len)
{
	return token_open_nonce(k, server, t, token_size_received, payload, cap, len, NULL);
}

/* Whether a genuine token f was sealed for `server`. */
static bool owned_by(const struct token_key *k, const struct token_fields *f, const char *server)
{
	struct server_keys sk;

	derive_server_keys(k, server, &sk);
	return verify(f, &sk) == TOKEN_OK;
}

int token_owner(const struct token_key *k, const struct token *t, size_t token_size_received,
		const char *const *servers, size_t n)
{
	struct token_key kernel;
	struct token_fields f;
	int err;

	if (!k || !t || (n > 0 && !servers))
		return TOKEN_E_INVAL;
	if ((k->k0 | k->k1) == 0)
		return TOKEN_E_NO_KEY;
	err = snapshot(t, token_size_received, &f);
	if (err)
		return err;
	derive_kernel_key(k, &kernel);
	if ((f.kernel_tag ^ kernel_tag(&kernel, &f)) != 0)
		return TOKEN_E_FORGED;
	for (size_t i = 0; i < n && i <= INT32_MAX; i++)
		if (servers[i] && servers[i][0] && owned_by(k, &f, servers[i]))
			return (int)i;
	return TOKEN_E_WRONG_SERVER;
}
