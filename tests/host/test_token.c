/* Host tests for SipHash-2-4 and opaque tokens (metamodules/siphash.c, token.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/siphash.h>
#include <delos/token.h>

/* SipHash-2-4 of bytes 00, 01, ..., n-1 under key bytes 00..0f, for n = 0..63:
 * the reference vectors (vectors.h, vectors_sip64), as little-endian words. */
static const uint64_t sip_vectors[64] = {
	0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
	0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
	0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
	0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
	0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
	0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
	0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
	0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
	0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
	0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
	0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
	0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
	0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
	0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
	0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
	0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

static const uint64_t SIP_K0 = 0x0706050403020100ull, SIP_K1 = 0x0f0e0d0c0b0a0908ull;

static uint8_t msg[64];

static void fill_msg(void)
{
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
}

/* A fixed-seed generator (splitmix64), so failures reproduce. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_bytes(void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng();
}

/* SipHash. */

Test(siphash, reference_vectors)
{
	fill_msg();
	for (size_t n = 0; n < 64; n++)
		cr_assert_eq(siphash24(SIP_K0, SIP_K1, msg, n), sip_vectors[n],
			     "length %zu: got %016llx", n,
			     (unsigned long long)siphash24(SIP_K0, SIP_K1, msg, n));
}

Test(siphash, paper_vector_15_bytes)
{
	fill_msg();
	cr_assert_eq(siphash24(SIP_K0, SIP_K1, msg, 15), 0xa129ca6149be45e5ull);
}

/* Feeding a message in two pieces, split anywhere, gives the one-shot result. */
Test(siphash, incremental_any_split)
{
	fill_msg();
	for (size_t n = 0; n < 64; n++) {
		for (size_t cut = 0; cut <= n; cut++) {
			struct siphash_state s;

			siphash24_init(&s, SIP_K0, SIP_K1);
			siphash24_update(&s, msg, cut);
			siphash24_update(&s, msg + cut, n - cut);
			cr_assert_eq(siphash24_final(&s), sip_vectors[n], "length %zu cut at %zu", n, cut);
		}
	}
}

/* final() leaves the state as it was: byte by byte, each prefix's hash. */
Test(siphash, final_keeps_state)
{
	struct siphash_state s;

	fill_msg();
	siphash24_init(&s, SIP_K0, SIP_K1);
	for (size_t n = 0; n < 64; n++) {
		cr_assert_eq(siphash24_final(&s), sip_vectors[n], "prefix of length %zu", n);
		siphash24_update(&s, &msg[n], 1);
	}
}

Test(siphash, key_matters)
{
	fill_msg();
	cr_assert_neq(siphash24(SIP_K0 ^ 1, SIP_K1, msg, 15), sip_vectors[15]);
	cr_assert_neq(siphash24(SIP_K0, SIP_K1 ^ (1ull << 63), msg, 15), sip_vectors[15]);
}

/* Tokens: fixtures and helpers. */

static struct token_key key, other_key;

static void setup(void)
{
	uint8_t seed[32], seed2[32];

	rng_state = 0x5eed;
	rng_bytes(seed, sizeof(seed));
	memcpy(seed2, seed, sizeof(seed));
	seed2[31] ^= 1;
	cr_assert_eq(token_key_derive(seed, sizeof(seed), &key), TOKEN_OK);
	cr_assert_eq(token_key_derive(seed2, sizeof(seed2), &other_key), TOKEN_OK);
}

TestSuite(token, .init = setup);

#define SENTINEL  0xa5
#define LEN_UNSET ((size_t)0xdeadbeef)
#define NONCE_UNSET 0x1122334455667788ull

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Opens t (size bytes) as `server` and expects refusal with err, leaving the
 * payload buffer, the length and the nonce as they were. */
static void expect_refused(const struct token_key *k, const char *server, const void *t,
			   size_t size, int err, const char *what)
{
	uint8_t buf[TOKEN_PAYLOAD_MAX + 8];
	size_t len = LEN_UNSET;
	uint64_t nonce = NONCE_UNSET;
	int got;

	memset(buf, SENTINEL, sizeof(buf));
	got = token_open_nonce(k, server, t, size, buf, sizeof(buf), &len, &nonce);
	cr_assert_eq(got, err, "%s: got %d (%s), want %d (%s)", what, got, token_strerror(got), err,
		     token_strerror(err));
	cr_assert(all_bytes(buf, sizeof(buf), SENTINEL), "%s: payload buffer written", what);
	cr_assert_eq(len, LEN_UNSET, "%s: length written", what);
	cr_assert_eq(nonce, NONCE_UNSET, "%s: nonce written", what);
}

static struct token seal_ok(const struct token_key *k, const char *server, const void *p,
			    size_t n, uint64_t nonce)
{
	struct token t;

	cr_assert_eq(token_seal(k, server, p, n, nonce, &t), TOKEN_OK);
	return t;
}

/* Key derivation. */

Test(token, derive_follows_documented_formula)
{
	uint8_t seed[24];
	struct token_key a, b;
	struct siphash_state s;
	uint8_t label;

	rng_bytes(seed, sizeof(seed));
	cr_assert_eq(token_key_derive(seed, sizeof(seed), &a), TOKEN_OK);
	cr_assert_eq(token_key_derive(seed, sizeof(seed), &b), TOKEN_OK);
	cr_assert(a.k0 == b.k0 && a.k1 == b.k1, "same seed, different keys");
	for (label = 0; label < 2; label++) {
		siphash24_init(&s, TOKEN_DERIVE_K0, TOKEN_DERIVE_K1);
		siphash24_update(&s, &label, 1);
		siphash24_update(&s, seed, sizeof(seed));
		cr_assert_eq(label ? a.k1 : a.k0, siphash24_final(&s), "key word %d", label);
	}
}

Test(token, derive_constant_spells_its_name)
{
	const uint64_t c[2] = { TOKEN_DERIVE_K0, TOKEN_DERIVE_K1 };

	cr_assert(memcmp(c, "Delos token key!", 16) == 0);
}

Test(token, derive_every_seed_bit_matters)
{
	uint8_t seed[TOKEN_SEED_MIN];
	struct token_key base, k;

	rng_bytes(seed, sizeof(seed));
	token_key_derive(seed, sizeof(seed), &base);
	for (size_t bit = 0; bit < 8 * sizeof(seed); bit++) {
		seed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		token_key_derive(seed, sizeof(seed), &k);
		seed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert(k.k0 != base.k0 && k.k1 != base.k1, "seed bit %zu", bit);
	}
}

Test(token, derive_refuses_short_seed_and_null)
{
	uint8_t seed[TOKEN_SEED_MIN] = { 1 };
	struct token_key k = { 7, 9 };

	cr_assert_eq(token_key_derive(seed, TOKEN_SEED_MIN - 1, &k), TOKEN_E_INVAL);
	cr_assert_eq(token_key_derive(NULL, TOKEN_SEED_MIN, &k), TOKEN_E_INVAL);
	cr_assert_eq(token_key_derive(seed, TOKEN_SEED_MIN, NULL), TOKEN_E_INVAL);
	cr_assert(k.k0 == 7 && k.k1 == 9, "key written on refusal");
}

/* Sealing and opening. */

Test(token, round_trip_every_size)
{
	for (size_t n = 0; n <= TOKEN_PAYLOAD_MAX; n++) {
		uint8_t in[TOKEN_PAYLOAD_MAX], out[TOKEN_PAYLOAD_MAX + 1];
		uint8_t *exact = malloc(n ? n : 1); /* ASan: seal reads only n bytes */
		uint64_t nonce = rng(), got_nonce = 0;
		struct token t;
		size_t len = LEN_UNSET;

		rng_bytes(in, n);
		memcpy(exact, in, n);
		t = seal_ok(&key, "ramfs", exact, n, nonce);
		free(exact);
		memset(out, SENTINEL, sizeof(out));
		cr_assert_eq(token_open_nonce(&key, "ramfs", &t, sizeof(t), out, n, &len, &got_nonce),
			     TOKEN_OK, "size %zu", n);
		cr_assert_eq(len, n);
		cr_assert_eq(got_nonce, nonce);
		cr_assert(memcmp(in, out, n) == 0, "size %zu: payload differs", n);
		cr_assert(all_bytes(out + n, sizeof(out) - n, SENTINEL), "wrote past the payload");
	}
}

Test(token, open_needs_no_alignment)
{
	uint8_t raw[TOKEN_SIZE + 1], out[4];
	struct token t = seal_ok(&key, "ramfs", "abcd", 4, 1);
	size_t len;

	memcpy(raw + 1, &t, sizeof(t));
	cr_assert_eq(token_open(&key, "ramfs", (const struct token *)(raw + 1), TOKEN_SIZE, out,
				sizeof(out), &len),
		     TOKEN_OK);
	cr_assert(len == 4 && memcmp(out, "abcd", 4) == 0);
}

Test(token, longer_buffer_is_read_to_token_size_only)
{
	uint8_t raw[TOKEN_SIZE + 16], out[4];
	struct token t = seal_ok(&key, "ramfs", "abcd", 4, 1);
	size_t len;

	memset(raw, 0xee, sizeof(raw));
	memcpy(raw, &t, sizeof(t));
	cr_assert_eq(token_open(&key, "ramfs", (const struct token *)raw, sizeof(raw), out,
				sizeof(out), &len),
		     TOKEN_OK);
}

Test(token, sealing_is_deterministic_and_nonce_bound)
{
	struct token a = seal_ok(&key, "ramfs", "xyz", 3, 42);
	struct token b = seal_ok(&key, "ramfs", "xyz", 3, 42);
	struct token c = seal_ok(&key, "ramfs", "xyz", 3, 43);

	cr_assert(memcmp(&a, &b, sizeof(a)) == 0, "same input, different tokens");
	cr_assert(memcmp(&a.bytes[48], &c.bytes[48], 16) != 0, "nonce does not change the MAC");
}

/* The layout documented in token.h. */
Test(token, layout_is_as_documented)
{
	struct token t = seal_ok(&key, "ramfs", "abc", 3, 0x0102030405060708ull);
	uint64_t nonce;
	uint32_t id;

	memcpy(&id, &t.bytes[4], 4);
	memcpy(&nonce, &t.bytes[8], 8);
	cr_assert(memcmp(t.bytes, "TK", 2) == 0, "magic");
	cr_assert_eq(t.bytes[2], TOKEN_VERSION);
	cr_assert_eq(t.bytes[3], 3);
	cr_assert_eq(id, token_server_id(&key, "ramfs"));
	cr_assert_eq(nonce, 0x0102030405060708ull);
	cr_assert(memcmp(&t.bytes[16], "abc", 3) == 0);
	cr_assert(all_bytes(&t.bytes[19], 48 - 19, 0), "unused payload bytes not zero");
}

/* H(k, label || name), as token.h writes the derivations. */
static uint64_t labelled(const struct token_key *k, uint8_t label, const char *name)
{
	struct siphash_state s;

	siphash24_init(&s, k->k0, k->k1);
	siphash24_update(&s, &label, 1);
	siphash24_update(&s, name, strlen(name));
	return siphash24_final(&s);
}

/* The server id and both tags, recomputed from the formulas in token.h. */
Test(token, tags_follow_documented_formula)
{
	struct token t = seal_ok(&key, "ramfs", "abc", 3, 99);
	struct token_key server = { labelled(&key, 2, "ramfs"), labelled(&key, 3, "ramfs") };
	struct token_key kernel = { labelled(&key, 4, ""), labelled(&key, 5, "") };
	uint64_t server_tag, kernel_tag;

	memcpy(&server_tag, &t.bytes[48], 8);
	memcpy(&kernel_tag, &t.bytes[56], 8);
	cr_assert_eq(token_server_id(&key, "ramfs"), (uint32_t)labelled(&key, 1, "ramfs"));
	cr_assert_eq(server_tag, siphash24(server.k0, server.k1, t.bytes, 48));
	cr_assert_eq(kernel_tag, siphash24(kernel.k0, kernel.k1, t.bytes, 56));
}

Test(token, payload_larger_than_buffer_is_refused)
{
	uint8_t in[TOKEN_PAYLOAD_MAX];

	rng_bytes(in, sizeof(in));
	for (size_t n = 1; n <= TOKEN_PAYLOAD_MAX; n++) {
		struct token t = seal_ok(&key, "ramfs", in, n, 5);
		uint8_t out[TOKEN_PAYLOAD_MAX];
		size_t len = LEN_UNSET;

		memset(out, SENTINEL, sizeof(out));
		cr_assert_eq(token_open(&key, "ramfs", &t, sizeof(t), out, n - 1, &len),
			     TOKEN_E_NO_ROOM, "payload %zu, room %zu", n, n - 1);
		cr_assert(all_bytes(out, sizeof(out), SENTINEL) && len == LEN_UNSET);
	}
}

/* Every single-bit change is refused, with the error that names it. */
Test(token, every_bit_flip_is_refused)
{
	static const size_t sizes[] = { 0, 20, TOKEN_PAYLOAD_MAX };
	uint8_t in[TOKEN_PAYLOAD_MAX];

	rng_bytes(in, sizeof(in));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct token t = seal_ok(&key, "ramfs", in, sizes[s], rng());

		for (size_t bit = 0; bit < 8 * TOKEN_SIZE; bit++) {
			struct token bad = t;
			size_t byte = bit / 8;
			int want = byte < 2 ? TOKEN_E_BAD_MAGIC :
				   byte == 2 ? TOKEN_E_BAD_VERSION : TOKEN_E_FORGED;
			char what[64];

			bad.bytes[byte] ^= (uint8_t)(1u << (bit % 8));
			snprintf(what, sizeof(what), "payload %zu, bit %zu", sizes[s], bit);
			expect_refused(&key, "ramfs", &bad, sizeof(bad), want, what);
		}
	}
}

Test(token, other_server_is_refused)
{
	const char *const servers[] = { "log", "timer", "ramfs" };
	struct token t = seal_ok(&key, "ramfs", "fd=3", 4, 9);
	char msg[128];
	int owner;

	expect_refused(&key, "log", &t, sizeof(t), TOKEN_E_WRONG_SERVER, "ramfs token to log");
	expect_refused(&key, "ramfs2", &t, sizeof(t), TOKEN_E_WRONG_SERVER, "ramfs token to ramfs2");
	expect_refused(&key, "ramf", &t, sizeof(t), TOKEN_E_WRONG_SERVER, "ramfs token to ramf");
	owner = token_owner(&key, &t, sizeof(t), servers, 3);
	cr_assert_eq(owner, 2);
	token_describe(msg, sizeof(msg), TOKEN_E_WRONG_SERVER, "log", servers[owner]);
	cr_assert_str_eq(msg, "token belongs to server 'ramfs', not 'log'");
	cr_assert_eq(token_owner(&key, &t, sizeof(t), servers, 2), TOKEN_E_WRONG_SERVER);
}

Test(token, server_id_depends_on_key_and_name)
{
	uint32_t a = token_server_id(&key, "ramfs");

	cr_assert_eq(a, token_server_id(&key, "ramfs"));
	cr_assert_neq(a, token_server_id(&key, "log"));
	cr_assert_neq(a, token_server_id(&other_key, "ramfs"));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Two names whose 32-bit ids collide still do not share tokens. */
Test(token, colliding_server_ids_are_told_apart)
{
	enum { N = 300000 };
	uint64_t *ids = malloc(N * sizeof(*ids));
	char a[16], b[16];
	struct token t;
	size_t i;

	for (i = 0; i < N; i++) {
		snprintf(a, sizeof(a), "srv%zu", i);
		ids[i] = (uint64_t)token_server_id(&key, a) << 32 | i;
	}
	qsort(ids, N, sizeof(*ids), cmp_u64);
	for (i = 1; i < N && ids[i] >> 32 != ids[i - 1] >> 32; i++)
		;
	cr_assert_lt(i, N, "no id collision among %d names; raise N", N);
	snprintf(a, sizeof(a), "srv%u", (unsigned)ids[i - 1]);
	snprintf(b, sizeof(b), "srv%u", (unsigned)ids[i]);
	free(ids);
	cr_assert_eq(token_server_id(&key, a), token_server_id(&key, b));
	cr_assert_str_neq(a, b);
	t = seal_ok(&key, a, "x", 1, 1);
	expect_refused(&key, b, &t, sizeof(t), TOKEN_E_WRONG_SERVER, "colliding id");
}

Test(token, other_key_is_refused)
{
	struct token t = seal_ok(&other_key, "ramfs", "fd=3", 4, 9);
	const char *const servers[] = { "ramfs" };

	expect_refused(&key, "ramfs", &t, sizeof(t), TOKEN_E_FORGED, "token under another key");
	cr_assert_eq(token_owner(&key, &t, sizeof(t), servers, 1), TOKEN_E_FORGED);
}

/* Truncated tokens are refused without reading past what was received. */
Test(token, truncated_is_refused)
{
	struct token t = seal_ok(&key, "ramfs", "fd=3", 4, 9);

	for (size_t n = 0; n < TOKEN_SIZE; n++) {
		uint8_t *exact = malloc(n ? n : 1);
		char what[32];

		memcpy(exact, &t, n);
		snprintf(what, sizeof(what), "%zu bytes", n);
		expect_refused(&key, "ramfs", exact, n, TOKEN_E_TRUNCATED, what);
		free(exact);
	}
}

Test(token, oversize_payload_is_refused_on_seal)
{
	uint8_t in[300] = { 0 };
	struct token t;

	memset(&t, SENTINEL, sizeof(t));
	for (size_t n = TOKEN_PAYLOAD_MAX + 1; n < sizeof(in); n++)
		cr_assert_eq(token_seal(&key, "ramfs", in, n, 0, &t), TOKEN_E_TOO_BIG, "%zu", n);
	cr_assert_eq(token_seal(&key, "ramfs", in, SIZE_MAX, 0, &t), TOKEN_E_TOO_BIG);
	cr_assert(all_bytes(t.bytes, sizeof(t), SENTINEL), "token written on refusal");
}

/* Random blobs never open: first fully random ones, then ones with a valid
 * header (magic, version, length, server id) copied from a genuine token, so
 * that they reach the MAC check. The first thousand of each also check that a
 * refusal writes nothing. */
static int open_blob(const struct token *t, int i, int want)
{
	uint8_t buf[TOKEN_PAYLOAD_MAX];
	size_t len;

	if (i < 1000 && want != TOKEN_OK) {
		expect_refused(&key, "ramfs", t, sizeof(*t), want, "random blob");
		return want;
	}
	return token_open(&key, "ramfs", t, sizeof(*t), buf, sizeof(buf), &len);
}

Test(token, random_forgeries_are_refused)
{
	struct token genuine = seal_ok(&key, "ramfs", "hello", 5, 77);
	struct token t;

	for (int i = 0; i < 100000; i++) {
		rng_bytes(&t, sizeof(t));
		int want = memcmp(t.bytes, "TK", 2) ? TOKEN_E_BAD_MAGIC : TOKEN_OK;

		cr_assert_neq(open_blob(&t, i, want), TOKEN_OK, "blob %d opened", i);
	}
	for (int i = 0; i < 100000; i++) {
		rng_bytes(&t, sizeof(t));
		memcpy(t.bytes, genuine.bytes, 8);
		if (i % 2)
			t.bytes[3] = (uint8_t)(i % (TOKEN_PAYLOAD_MAX + 1));
		cr_assert_eq(open_blob(&t, i, TOKEN_E_FORGED), TOKEN_E_FORGED, "blob %d", i);
	}
}

/* Arguments. */

Test(token, zero_key_is_refused)
{
	const struct token_key zero = { 0, 0 };
	struct token t = seal_ok(&key, "ramfs", "x", 1, 1), out;

	memset(&out, SENTINEL, sizeof(out));
	cr_assert_eq(token_seal(&zero, "ramfs", "x", 1, 1, &out), TOKEN_E_NO_KEY);
	cr_assert(all_bytes(out.bytes, sizeof(out), SENTINEL));
	expect_refused(&zero, "ramfs", &t, sizeof(t), TOKEN_E_NO_KEY, "zero key");
}

Test(token, bad_arguments_are_refused)
{
	struct token t = seal_ok(&key, "ramfs", "x", 1, 1);
	uint8_t buf[4];
	size_t len;

	cr_assert_eq(token_seal(NULL, "ramfs", "x", 1, 1, &t), TOKEN_E_INVAL);
	cr_assert_eq(token_seal(&key, NULL, "x", 1, 1, &t), TOKEN_E_INVAL);
	cr_assert_eq(token_seal(&key, "", "x", 1, 1, &t), TOKEN_E_INVAL);
	cr_assert_eq(token_seal(&key, "ramfs", NULL, 1, 1, &t), TOKEN_E_INVAL);
	cr_assert_eq(token_seal(&key, "ramfs", "x", 1, 1, NULL), TOKEN_E_INVAL);
	cr_assert_eq(token_seal(&key, "ramfs", NULL, 0, 1, &t), TOKEN_OK);
	expect_refused(&key, "", &t, sizeof(t), TOKEN_E_INVAL, "empty server");
	expect_refused(&key, NULL, &t, sizeof(t), TOKEN_E_INVAL, "NULL server");
	expect_refused(&key, "ramfs", NULL, sizeof(t), TOKEN_E_INVAL, "NULL token");
	cr_assert_eq(token_open(&key, "ramfs", &t, sizeof(t), buf, sizeof(buf), NULL), TOKEN_E_INVAL);
	cr_assert_eq(token_open(&key, "ramfs", &t, sizeof(t), NULL, 4, &len), TOKEN_E_INVAL);
	cr_assert_eq(token_open(&key, "ramfs", &t, sizeof(t), NULL, 0, &len), TOKEN_OK);
	cr_assert_eq(len, 0);
}

/* Messages. */

Test(token, every_error_has_its_own_message)
{
	for (int a = TOKEN_E_NO_ROOM; a <= TOKEN_OK; a++) {
		cr_assert_str_neq(token_strerror(a), "unknown token error", "%d", a);
		for (int b = a + 1; b <= TOKEN_OK; b++)
			cr_assert_str_neq(token_strerror(a), token_strerror(b), "%d and %d", a, b);
	}
	cr_assert_str_eq(token_strerror(-100), "unknown token error");
	cr_assert_str_eq(token_strerror(TOKEN_E_FORGED), "token forged or altered");
	cr_assert_str_eq(token_strerror(TOKEN_E_TOO_BIG),
			 "payload too big for a token (at most 32 bytes)");
}

Test(token, describe_names_the_servers)
{
	char msg[128];
	size_t n;

	n = token_describe(msg, sizeof(msg), TOKEN_E_FORGED, "log", NULL);
	cr_assert_str_eq(msg, "log: token forged or altered");
	cr_assert_eq(n, strlen(msg));
	token_describe(msg, sizeof(msg), TOKEN_E_WRONG_SERVER, "log", NULL);
	cr_assert_str_eq(msg, "token belongs to another server, not 'log'");
	token_describe(msg, sizeof(msg), TOKEN_E_TRUNCATED, NULL, NULL);
	cr_assert_str_eq(msg, "token truncated (fewer than 64 bytes received)");
	token_describe(msg, sizeof(msg), TOKEN_E_WRONG_SERVER, "log",
		       "a_server_name_that_goes_on_and_on_and_on_forever");
	cr_assert_str_eq(msg, "token belongs to server 'a_server_name_that_goes_on_and_on_and_on...', "
			      "not 'log'");
}

Test(token, describe_cuts_short_and_terminates)
{
	char msg[8];

	memset(msg, 'z', sizeof(msg));
	cr_assert_eq(token_describe(msg, sizeof(msg), TOKEN_E_FORGED, "log", NULL), 7);
	cr_assert_str_eq(msg, "log: to");
	cr_assert_eq(token_describe(msg, 0, TOKEN_E_FORGED, "log", NULL), 0);
	cr_assert_eq(msg[0], 'l', "wrote with cap 0");
	cr_assert_eq(token_describe(msg, 1, TOKEN_E_FORGED, "log", NULL), 0);
	cr_assert_eq(msg[0], '\0');
}

/* The fingerprint is the documented H(K, 0x06), cut to 32 bits, and tells
 * keys apart. */
Test(token, fingerprint_is_the_labelled_hash)
{
	struct token_key a = { 0x0123456789abcdefull, 0xfedcba9876543210ull }, b = a;
	uint8_t label = 0x06;

	cr_assert_eq(token_key_fingerprint(&a), (uint32_t)siphash24(a.k0, a.k1, &label, 1));
	b.k1 ^= 1;
	cr_assert_neq(token_key_fingerprint(&a), token_key_fingerprint(&b));
	cr_assert_eq(token_key_fingerprint(NULL), 0);
}
