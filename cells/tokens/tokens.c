/* The tokens cell: makes this boot's token key once and hands it out (tokens.h). */
#include <stdbool.h>
#include <stdint.h>

#include <delos/cell.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/tokens/tokens.h"

int tokens_key(struct token_key *out)
{
	struct token_key k;
	struct statedb_meta meta;
	int n;

	if (!out)
		return TOKENS_E_INVAL;
	n = sdb_get(TOKENS_KEY_RECORD, &k, sizeof(k), &meta);
	if (n == STATEDB_E_NOT_FOUND)
		return TOKENS_E_NO_KEY;
	if (n != (int)sizeof(k) || meta.type != TOKENS_KEY_TYPE || meta.version != TOKENS_LAYOUT)
		return TOKENS_E_CORRUPT;
	if (!k.k0 && !k.k1)
		return TOKENS_E_NO_KEY;
	*out = k;
	return 0;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* CPUID.01H:ECX bit 30. */
static bool has_rdrand(void)
{
	uint32_t a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (c >> 30) & 1;
}

/* One RDRAND value, retrying as Intel advises; false if the CPU gave none. */
static bool rdrand64(uint64_t *v)
{
	for (int i = 0; i < 10; i++) {
		uint8_t ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return true;
	}
	return false;
}

struct seed {
	uint64_t tsc[8];        /* TSC readings around uneven amounts of work */
	uint64_t time_ns, tsc_hz;
	uint64_t rdrand[4];     /* zero without RDRAND */
};

/* Fills *s; returns how many RDRAND values it got. */
static int gather(struct seed *s)
{
	int got = 0;

	memset(s, 0, sizeof(*s));
	s->tsc_hz = tsc_hz();
	for (int i = 0; i < 8; i++) {
		s->tsc[i] = rdtsc();
		for (uint64_t spin = s->tsc[i] & 0x3ff; spin; spin--)
			__asm__ volatile("pause");
	}
	s->time_ns = time_ns();
	if (has_rdrand())
		for (int i = 0; i < 4; i++)
			got += rdrand64(&s->rdrand[i]);
	return got;
}

static int make_key(void)
{
	struct seed s;
	struct token_key k;
	int rdrand = gather(&s), err;

	err = token_key_derive(&s, sizeof(s), &k);
	memset(&s, 0, sizeof(s));
	if (err)
		return err;
	err = sdb_create("tokens", TOKENS_KEY_RECORD, TOKENS_KEY_TYPE, TOKENS_LAYOUT, &k, sizeof(k));
	memset(&k, 0, sizeof(k));
	if (err) {
		klog(LOG_ERR, "tokens: cannot store the key: %s", sdb_strerror(err));
		return err;
	}
	klog(LOG_INFO, "tokens: new key for this boot, from the TSC%s", rdrand ? " and RDRAND" : "");
	return 0;
}

int cell_init(void)
{
	struct token_key k;
	int err = tokens_key(&k);

	memset(&k, 0, sizeof(k));
	if (err == 0) {
		klog(LOG_INFO, "tokens: keeping this boot's key");
		return 0;
	}
	if (err == TOKENS_E_CORRUPT || err == TOKENS_E_NO_KEY) {
		if (sdb_delete(TOKENS_KEY_RECORD) == 0)
			klog(LOG_WARN, "tokens: the key record was bad; outstanding tokens are void");
	}
	return make_key();
}
