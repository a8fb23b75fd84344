/*
 * The pure parts of the kernel's randomness (include/delos/random.h): turning
 * gathered entropy or a seed into the root key, drawing output blocks, and
 * reading a seed= value. No state, no hardware: the host tests build it too.
 */
#include <delos/random.h>
#include <delos/siphash.h>

/* "Delos random key" as two little-endian words. */
#define RANDOM_MIX_K0 0x617220736f6c6544ull
#define RANDOM_MIX_K1 0x79656b206d6f646eull

enum mix_label {
	LABEL_POOL_K0 = 0x00,
	LABEL_POOL_K1 = 0x01,
	LABEL_SEED_K0 = 0x02,
	LABEL_SEED_K1 = 0x03,
};

static uint64_t mix(uint8_t label, const void *data, size_t n)
{
	struct siphash_state s;

	siphash24_init(&s, RANDOM_MIX_K0, RANDOM_MIX_K1);
	siphash24_update(&s, &label, 1);
	siphash24_update(&s, data, n);
	return siphash24_final(&s);
}

static void put_le64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

void random_key_from_pool(const void *pool, size_t len, struct random_key *out)
{
	out->k0 = mix(LABEL_POOL_K0, pool, len);
	out->k1 = mix(LABEL_POOL_K1, pool, len);
}

void random_key_from_seed(uint64_t seed, struct random_key *out)
{
	uint8_t b[8];

	put_le64(b, seed);
	out->k0 = mix(LABEL_SEED_K0, b, sizeof(b));
	out->k1 = mix(LABEL_SEED_K1, b, sizeof(b));
}

uint64_t random_block(const struct random_key *k, uint64_t n)
{
	uint8_t b[8];

	put_le64(b, n);
	return siphash24(k->k0, k->k1, b, sizeof(b));
}

static int digit_value(char c, unsigned base)
{
	int v = c >= '0' && c <= '9' ? c - '0'
		: c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;

	return v < (int)base ? v : -1;
}

bool random_parse_seed(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (!s)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = digit_value(*s, base);
		if (d < 0 || v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
	}
	*out = v;
	return true;
}
