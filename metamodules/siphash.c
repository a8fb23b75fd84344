/*
 * SipHash-2-4, written from the paper's description: four 64-bit words of
 * state, two SipRounds per 8-byte message word, four after the final block.
 * The contract is in include/delos/siphash.h.
 */
#include <delos/siphash.h>

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < 8; i++)
		x |= (uint64_t)p[i] << (8 * i);
	return x;
}

/* One SipRound on the state (v0, v1, v2, v3). */
static inline void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl64(v[1], 13) ^ v[0];
	v[0] = rotl64(v[0], 32);
	v[2] += v[3];
	v[3] = rotl64(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl64(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl64(v[1], 17) ^ v[2];
	v[2] = rotl64(v[2], 32);
}

/* Compresses one message word m with c = 2 SipRounds. */
static void compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

static void state_load(const struct siphash_state *s, uint64_t v[4])
{
	v[0] = s->v0;
	v[1] = s->v1;
	v[2] = s->v2;
	v[3] = s->v3;
}

static void state_store(struct siphash_state *s, const uint64_t v[4])
{
	s->v0 = v[0];
	s->v1 = v[1];
	s->v2 = v[2];
	s->v3 = v[3];
}

void siphash24_init(struct siphash_state *s, uint64_t k0, uint64_t k1)
{
	/* "somepseudorandomlygeneratedbytes" */
	s->v0 = k0 ^ 0x736f6d6570736575ull;
	s->v1 = k1 ^ 0x646f72616e646f6dull;
	s->v2 = k0 ^ 0x6c7967656e657261ull;
	s->v3 = k1 ^ 0x7465646279746573ull;
	s->tail = 0;
	s->len = 0;
}

void siphash24_update(struct siphash_state *s, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t v[4];

	state_load(s, v);
	/* Bytes go into the tail until it holds a whole word; whole words in
	 * the input skip the tail. */
	while (n > 0) {
		if (s->len % 8 == 0 && n >= 8) {
			compress(v, load_le64(p));
			p += 8;
			n -= 8;
			s->len += 8;
			continue;
		}
		s->tail |= (uint64_t)*p++ << (8 * (s->len % 8));
		n--;
		if (++s->len % 8 == 0) {
			compress(v, s->tail);
			s->tail = 0;
		}
	}
	state_store(s, v);
}

uint64_t siphash24_final(const struct siphash_state *s)
{
	/* The last block is the tail with the length's low byte on top. */
	uint64_t b = s->tail | (s->len << 56);
	uint64_t v[4];

	state_load(s, v);
	compress(v, b);
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t siphash24(uint64_t k0, uint64_t k1, const void *data, size_t n)
{
	struct siphash_state s;

	siphash24_init(&s, k0, k1);
	siphash24_update(&s, data, n);
	return siphash24_final(&s);
}
