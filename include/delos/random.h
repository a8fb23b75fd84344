/*
 * Randomness: the one place every random value in the kernel comes from (the
 * token key, the stack-protector canary, anything a cell asks for).
 *
 * At boot nano_core makes one 128-bit root key. Without `seed=` it hashes a
 * pool of RDSEED values (or RDRAND values, when the CPU has only RDRAND)
 * together with TSC readings taken around them and the CMOS clock's time. A
 * CPU with neither instruction leaves the TSC and the clock, which differ
 * between boots but are guessable (under QEMU's -icount the TSC is the same
 * every boot), and the log says so. With `seed=N` on the kernel command line the
 * root key comes from N alone, so every random value of the boot is the same
 * on every boot with that N: for experiments only, since anyone who knows N
 * can forge tokens.
 *
 * random_bytes() hands out SipHash-2-4(root key, n) for n = 0, 1, 2, ...:
 * values that cannot be told from random nor traced back to the key without
 * the key. The sequence depends only on the key and on the order of calls,
 * so a deterministic boot under `seed=` draws the same values.
 */
#ifndef DELOS_RANDOM_H
#define DELOS_RANDOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct random_key {
	uint64_t k0, k1;
};

/* Where the root key came from. */
enum random_source {
	RANDOM_FROM_SEED,   /* seed=N on the command line: reproducible, not secret */
	RANDOM_FROM_RDSEED, /* RDSEED values mixed with the TSC */
	RANDOM_FROM_RDRAND, /* RDRAND values mixed with the TSC */
	RANDOM_FROM_TSC,    /* the TSC and the clock only: the CPU offers neither */
};

/*
 * Makes the root key; nano_core calls it once at boot, after reading the
 * command line and before anything random is drawn. A `seed=` value that is
 * not a decimal or 0x-hex 64-bit number is refused with a message and
 * ignored (the key then comes from the hardware).
 */
void random_init(void);

/* Fills buf with len random bytes. Callable from any context once
 * random_init ran (it panics before: a nano_core bug). */
void random_bytes(void *buf, size_t len);

/* Says where the root key came from, e.g. "rdseed+tsc", "rdrand+tsc",
 * "tsc+rtc only (no rdrand)" or "seed=42 (reproducible, not secret)". */
const char *random_source(void);

/*
 * The pure parts (nano_core/random_mix.c, also built into the host tests).
 *
 * random_key_from_pool: the root key from len bytes of gathered entropy,
 *   ( H(C, 0x00 || pool), H(C, 0x01 || pool) ) with C the fixed key
 *   "Delos random key" and H SipHash-2-4.
 * random_key_from_seed: the root key for seed=N, the same construction over
 *   the label 0x02 and N's 8 little-endian bytes, so no seed gives the key of
 *   a gathered pool by accident of layout.
 * random_block: the n-th 64-bit output under key k, H(k, n as 8 bytes).
 * random_parse_seed: reads a decimal or 0x-hex number that fits 64 bits, with
 *   nothing after it; false (leaving *out untouched) otherwise.
 */
void random_key_from_pool(const void *pool, size_t len, struct random_key *out);
void random_key_from_seed(uint64_t seed, struct random_key *out);
uint64_t random_block(const struct random_key *k, uint64_t n);
bool random_parse_seed(const char *s, uint64_t *out);

#endif
