/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed 64-bit pseudo-random function, used by Delos as a MAC and to
 * derive keys. Freestanding; it builds into cells and, with -DDELOS_HOST, into
 * the host tests.
 *
 * The 128-bit key is two 64-bit words: k0 is key bytes 0..7 and k1 key bytes
 * 8..15, each read little-endian, as in the reference implementation. The
 * result is the 64-bit value whose little-endian bytes are the reference
 * implementation's 8 output bytes.
 *
 * Nothing here keeps state between calls: the incremental interface works on
 * a struct siphash_state that the caller owns (usually on its stack).
 */
#ifndef DELOS_SIPHASH_H
#define DELOS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* A hash in progress. Callers treat the fields as private. */
struct siphash_state {
	uint64_t v0, v1, v2, v3;
	uint64_t tail; /* the last len % 8 bytes, not yet compressed */
	uint64_t len;  /* bytes fed so far */
};

/* Starts a hash under key (k0, k1). */
void siphash24_init(struct siphash_state *s, uint64_t k0, uint64_t k1);

/* Feeds n bytes at data (data may be NULL when n is 0). Feeding a message in
 * pieces gives the same result as feeding it at once. */
void siphash24_update(struct siphash_state *s, const void *data, size_t n);

/* Returns the hash of everything fed so far. s is not changed, so a caller
 * may keep feeding and finish again. */
uint64_t siphash24_final(const struct siphash_state *s);

/* The hash of n bytes at data under key (k0, k1), in one call. */
uint64_t siphash24(uint64_t k0, uint64_t k1, const void *data, size_t n);

#endif
