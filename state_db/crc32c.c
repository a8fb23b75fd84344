/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Two ways to the same value: the SSE4.2 `crc32` instruction, eight bytes per
 * instruction (a general-purpose-register instruction, so it needs no SSE
 * state and works in cells built -mno-sse), where CPUID says the CPU has it;
 * and slicing-by-8 everywhere else, eight table lookups per eight bytes. The
 * eight 256-entry tables
 * live in .rodata (crc32c_table.h): state_db keeps no writable static data.
 */
#include "state_db/internal.h"

#include "state_db/crc32c_table.h"

/* An unaligned load, inline (a memcpy call would cost more than the lookups). */
static inline uint64_t load64(const unsigned char *b)
{
	uint64_t v;

	__builtin_memcpy(&v, b, sizeof v);
	return v;
}

/* The raw (not inverted) CRC register over n bytes, slicing by 8. */
static uint32_t crc_sw(uint32_t crc, const unsigned char *b, size_t n)
{
	const uint32_t (*t)[256] = sdb_crc32c_table;

	for (; n >= 8; n -= 8, b += 8) {
		uint64_t v = load64(b) ^ crc;

		crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
		      t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^
		      t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
	}
	while (n--)
		crc = (crc >> 8) ^ t[0][(crc ^ *b++) & 0xff];
	return crc;
}

/* The raw register advanced over n zero bytes: four lookups per eight. */
static uint32_t zeros_sw(uint32_t c, size_t n)
{
	const uint32_t (*t)[256] = sdb_crc32c_table;

	for (; n >= 8; n -= 8)
		c = t[7][c & 0xff] ^ t[6][(c >> 8) & 0xff] ^ t[5][(c >> 16) & 0xff] ^ t[4][c >> 24];
	if (n >= 4) {
		c = t[3][c & 0xff] ^ t[2][(c >> 8) & 0xff] ^ t[1][(c >> 16) & 0xff] ^ t[0][c >> 24];
		n -= 4;
	}
	while (n--)
		c = (c >> 8) ^ t[0][c & 0xff];
	return c;
}

/*
 * The raw register from 0 over the n bytes of a ^ b, slicing by 8. A word
 * whose upper four bytes are zero (a change in its low bytes, a pointer or
 * a counter that stays in its range, or no change at all) takes half the
 * lookups: a zero byte's table entry is zero.
 */
static uint32_t xor_sw(const unsigned char *a, const unsigned char *b, size_t n)
{
	const uint32_t (*t)[256] = sdb_crc32c_table;
	uint32_t crc = 0;

	for (; n >= 8; n -= 8, a += 8, b += 8)
		crc = sdb_crc_word_sw(crc, load64(a) ^ load64(b));
	while (n--)
		crc = (crc >> 8) ^ t[0][(crc ^ *a++ ^ *b++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
static uint32_t xor_hw(const unsigned char *a, const unsigned char *b, size_t n)
{
	uint64_t c = 0;

	for (; n >= 8; n -= 8, a += 8, b += 8)
		__asm__("crc32q %1, %0" : "+r"(c) : "r"(load64(a) ^ load64(b)));
	for (; n; n--)
		__asm__("crc32b %1, %k0" : "+r"(c) : "r"((uint8_t)(*a++ ^ *b++)));
	return (uint32_t)c;
}

static uint32_t zeros_hw(uint32_t crc, size_t n)
{
	uint64_t c = crc;

	for (; n >= 8; n -= 8)
		__asm__("crc32q %1, %0" : "+r"(c) : "r"(0ull));
	for (; n; n--)
		__asm__("crc32b %1, %k0" : "+r"(c) : "r"((uint8_t)0));
	return (uint32_t)c;
}

static uint32_t crc_hw(uint32_t crc, const unsigned char *b, size_t n)
{
	uint64_t c = crc;

	for (; n >= 8; n -= 8, b += 8)
		__asm__("crc32q %1, %0" : "+r"(c) : "r"(load64(b)));
	for (; n; n--, b++)
		__asm__("crc32b %1, %k0" : "+r"(c) : "r"(*b));
	return (uint32_t)c;
}

bool sdb_cpu_has_crc32(void)
{
	uint32_t a = 1, bx, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(bx), "+c"(c), "=d"(d));
	return (c >> 20) & 1u;	/* CPUID.1:ECX.SSE4_2 */
}
#else
static uint32_t crc_hw(uint32_t crc, const unsigned char *b, size_t n)
{
	return crc_sw(crc, b, n);
}

static uint32_t xor_hw(const unsigned char *a, const unsigned char *b, size_t n)
{
	return xor_sw(a, b, n);
}

static uint32_t zeros_hw(uint32_t crc, size_t n)
{
	return zeros_sw(crc, n);
}

bool sdb_cpu_has_crc32(void)
{
	return false;
}
#endif

uint32_t statedb_crc32c(uint32_t crc, const void *p, size_t n)
{
	return ~crc_sw(~crc, p, n);
}

uint32_t sdb_crc32c_hw(uint32_t crc, const void *p, size_t n)
{
	return ~crc_hw(~crc, p, n);
}

uint32_t sdb_crc(const struct state_db *db, uint32_t crc, const void *p, size_t n)
{
	return db->hw_crc ? ~crc_hw(~crc, p, n) : ~crc_sw(~crc, p, n);
}

static inline uint32_t apply(const uint32_t t[4][256], uint32_t c)
{
	return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

/* Builds db->shift (each level from the one below, squared); nothing if out of memory. */
void sdb_shift_build(struct state_db *db)
{
	struct sdb_shift *s;

	if (db->shift || !(s = sdb_alloc(db, sizeof *s)))
		return;
	for (uint32_t j = 0; j < 4; j++)
		for (uint32_t b = 0; b < 256; b++)
			s->t[0][j][b] = zeros_sw(b << (8 * j), 16);
	for (uint32_t k = 1; k < SDB_SHIFT_LEVELS; k++)
		for (uint32_t j = 0; j < 4; j++)
			for (uint32_t b = 0; b < 256; b++)
				s->t[k][j][b] = apply(s->t[k - 1], apply(s->t[k - 1], b << (8 * j)));
	/* Byte j of a word is table 7 - j's (crc_sw), then 8 zero bytes follow. */
	for (uint32_t j = 0; j < 8; j++)
		for (uint32_t b = 0; b < 256; b++)
			s->w16[j][b] = zeros_sw(sdb_crc32c_table[7 - j][b], 8);
	db->shift = s;
}

void sdb_shift_free(struct state_db *db)
{
	if (db->shift)
		sdb_free(db, &db->shift->block);
	db->shift = NULL;
}

/* zeros_sw, with the shift tables when there are any. */
static uint32_t zeros(const struct state_db *db, uint32_t c, size_t n)
{
	const struct sdb_shift *s = db->shift;
	const size_t top = (size_t)16 << (SDB_SHIFT_LEVELS - 1);

	if (n == 0 || c == 0)
		return c;	/* the change ends the message, or changed nothing: zeros stay zero */
	if (n < 16)
		return zeros_sw(c, n);	/* below the first level: a few lookups */
	if (!s)
		return db->hw_crc ? zeros_hw(c, n) : zeros_sw(c, n);
	for (; n >= top; n -= top)
		c = apply(s->t[SDB_SHIFT_LEVELS - 1], c);
	for (uint32_t k = SDB_SHIFT_LEVELS - 1; k-- > 0;)
		if (n & ((size_t)16 << k))
			c = apply(s->t[k], c);
	return zeros_sw(c, n & 15);
}

/*
 * CRC-32C is linear: for two messages of one length, crc(M) ^ crc(M') is
 * the raw register over M ^ M' from 0, which is zero up to the first byte
 * that differs. So when n bytes change from old to new with `after` bytes
 * of the message behind them, the new CRC is the old one xor the raw CRC of
 * old ^ new advanced over `after` zero bytes: O(n + after), not O(message).
 * A CRC that did not match its message before still does not (the
 * difference is carried over unchanged): a patch never hides a corruption.
 */
uint32_t sdb_crc_patch(const struct state_db *db, uint32_t crc, const void *old, const void *new,
		       size_t n, size_t after)
{
	return crc ^ zeros(db, db->hw_crc ? xor_hw(old, new, n) : xor_sw(old, new, n), after);
}

/*
 * The same for a whole value: only the span of 8-byte words where old and
 * new differ is patched, with the bytes behind it as `after` (a value whose
 * length is not a multiple of 8 is patched whole). An update that changes
 * one field of a small record then costs the lookups of that field's words.
 */
uint32_t sdb_crc_patch_words(const struct state_db *db, uint32_t crc, const void *old,
			     const void *new, size_t len)
{
	const unsigned char *a = old, *b = new;
	size_t lo = 0, hi = len;

	if (len % 8 || len <= 16)
		return sdb_crc_patch(db, crc, a, b, len, 0);	/* two words: patched whole, cheaper */
	while (lo < hi && load64(a + lo) == load64(b + lo))
		lo += 8;
	while (hi > lo && load64(a + hi - 8) == load64(b + hi - 8))
		hi -= 8;
	if (lo == hi)
		return crc;
	return sdb_crc_patch(db, crc, a + lo, b + lo, hi - lo, len - hi);
}
