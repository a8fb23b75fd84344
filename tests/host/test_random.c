/* Host tests for the kernel's random key mixing (nano_core/random_mix.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include <delos/random.h>
#include <delos/siphash.h>

/* The fixed mixing key of include/delos/random.h: "Delos random key". */
static void mix_key(uint64_t *k0, uint64_t *k1)
{
	const char text[16] = "Delos random key";

	memcpy(k0, text, 8);
	memcpy(k1, text + 8, 8);
}

/* H(C, label || data), spelled out from the header's description. */
static uint64_t spec_mix(uint8_t label, const void *data, size_t n)
{
	uint8_t buf[256];
	uint64_t k0, k1;

	cr_assert_lt(n, sizeof(buf));
	buf[0] = label;
	memcpy(buf + 1, data, n);
	mix_key(&k0, &k1);
	return siphash24(k0, k1, buf, n + 1);
}

static void le64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

Test(random, seed_key_follows_the_documented_construction)
{
	uint64_t seeds[] = { 0, 1, 42, 0xdeadbeefull, UINT64_MAX };

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct random_key a, b;
		uint8_t b8[8];
		le64(b8, seeds[i]);
		random_key_from_seed(seeds[i], &a);
		random_key_from_seed(seeds[i], &b);
		cr_assert(a.k0 == b.k0 && a.k1 == b.k1, "seed %lu: two calls, two keys", seeds[i]);
		cr_assert_eq(a.k0, spec_mix(0x02, b8, 8), "seed %lu: k0", seeds[i]);
		cr_assert_eq(a.k1, spec_mix(0x03, b8, 8), "seed %lu: k1", seeds[i]);
	}
}

Test(random, different_seeds_give_different_keys)
{
	enum { N = 4096 };
	static uint64_t k0[N];

	for (uint64_t s = 0; s < N; s++) {
		struct random_key k;
		random_key_from_seed(s, &k);
		cr_assert_neq(k.k0, k.k1, "seed %lu: equal halves", s);
		k0[s] = k.k0;
		for (uint64_t t = 0; t < s; t++)
			cr_assert_neq(k0[t], k.k0, "seeds %lu and %lu share a key", t, s);
	}
}

Test(random, pool_key_follows_the_documented_construction)
{
	uint8_t pool[96];
	struct random_key k;

	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)(i * 37 + 5);
	random_key_from_pool(pool, sizeof(pool), &k);
	cr_assert_eq(k.k0, spec_mix(0x00, pool, sizeof(pool)));
	cr_assert_eq(k.k1, spec_mix(0x01, pool, sizeof(pool)));
}

/* A change to any one bit of the gathered entropy changes both key halves:
 * one good hardware value is enough, wherever it sits in the pool. */
Test(random, every_pool_bit_changes_the_key)
{
	uint8_t pool[96] = { 0 };
	struct random_key base, k;

	random_key_from_pool(pool, sizeof(pool), &base);
	for (size_t bit = 0; bit < 8 * sizeof(pool); bit++) {
		pool[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		random_key_from_pool(pool, sizeof(pool), &k);
		pool[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert(k.k0 != base.k0 && k.k1 != base.k1, "pool bit %zu", bit);
	}
}

/* A seed never gives the key of a pool holding the same bytes. */
Test(random, seeds_and_pools_are_kept_apart)
{
	for (uint64_t s = 0; s < 256; s++) {
		struct random_key a, b;
		uint8_t b8[8];
		le64(b8, s);
		random_key_from_seed(s, &a);
		random_key_from_pool(b8, sizeof(b8), &b);
		cr_assert(a.k0 != b.k0 && a.k1 != b.k1, "seed %lu", s);
	}
}

Test(random, blocks_are_the_prf_of_their_index)
{
	struct random_key k, other;
	enum { N = 2048 };
	static uint64_t seen[N];

	random_key_from_seed(42, &k);
	random_key_from_seed(43, &other);
	for (uint64_t n = 0; n < N; n++) {
		uint8_t b8[8];
		le64(b8, n);
		seen[n] = random_block(&k, n);
		cr_assert_eq(seen[n], siphash24(k.k0, k.k1, b8, 8), "block %lu", n);
		cr_assert_neq(seen[n], random_block(&other, n), "block %lu under seeds 42 and 43", n);
		for (uint64_t m = 0; m < n; m++)
			cr_assert_neq(seen[m], seen[n], "blocks %lu and %lu", m, n);
	}
}

Test(random, parse_seed_accepts_decimal_and_hex)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "0", 0 }, { "42", 42 }, { "0x2a", 42 }, { "0X2A", 42 }, { "007", 7 },
		{ "18446744073709551615", UINT64_MAX }, { "0xffffffffffffffff", UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 1234;
		cr_assert(random_parse_seed(good[i].s, &v), "'%s' refused", good[i].s);
		cr_assert_eq(v, good[i].v, "'%s'", good[i].s);
	}
}

Test(random, parse_seed_refuses_the_rest_and_changes_nothing)
{
	static const char *const bad[] = {
		"", "0x", "-1", "+1", "12a", "4 2", "0x12g", "ff", "1.5",
		"18446744073709551616", "99999999999999999999", "0x10000000000000000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 1234;
		cr_assert(!random_parse_seed(bad[i], &v), "'%s' accepted", bad[i]);
		cr_assert_eq(v, 1234, "'%s' changed the output", bad[i]);
	}
	cr_assert(!random_parse_seed(NULL, &(uint64_t){ 0 }));
}
