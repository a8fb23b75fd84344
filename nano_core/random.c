/*
 * The kernel's randomness (include/delos/random.h): the root key, made once
 * at boot, and the blocks drawn from it. The key and the block counter are
 * nano_core's own data; the counter moves with interrupts off.
 */
#include "nano_core/boot.h"
#include <delos/ctx.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/random.h>
#include <delos/string.h>
#include "hal/cmos.h"
#include "hal/cpu.h"

#define POOL_HW  4   /* 256 bits from RDSEED or RDRAND */
#define POOL_TSC 8   /* TSC readings around them */

/* Written once by random_init; `next` then advances under irq_save. */
static struct {
	bool ready;
	struct random_key key;
	uint64_t next;
	char source[48];
} rnd;

struct pool {
	uint64_t hw[POOL_HW];   /* zero where the CPU gave nothing */
	uint64_t tsc[POOL_TSC];
	uint8_t rtc[8];         /* the wall-clock time: differs between boots, but guessable */
};

static void set_source(const char *s)
{
	snprintf(rnd.source, sizeof(rnd.source), "%s", s);
}

/* Spins a TSC-dependent while, so that readings on real hardware pick up
 * the jitter of the memory system and of interrupts. */
static uint64_t tsc_after_spin(void)
{
	uint64_t t = rdtsc();

	for (uint64_t spin = t & 0x3ff; spin; spin--)
		__asm__ volatile("pause");
	return t;
}

/* Seconds, minutes, hours, weekday, day, month, year, century. */
static const uint8_t rtc_regs[8] = { 0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32 };

/* Fills *p; says where its hardware values came from. */
static enum random_source gather(struct pool *p)
{
	bool has_seed = cpu_has_rdseed(), has_rand = cpu_has_rdrand();
	int from_seed = 0, from_rand = 0;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < POOL_HW; i++) {
		p->tsc[i] = tsc_after_spin();
		if (has_seed && cpu_rdseed64(&p->hw[i]))
			from_seed++;
		else if (has_rand && cpu_rdrand64(&p->hw[i]))
			from_rand++;
		else
			p->hw[i] = 0;
	}
	for (int i = POOL_HW; i < POOL_TSC; i++)
		p->tsc[i] = tsc_after_spin();
	for (unsigned i = 0; i < sizeof(p->rtc); i++)
		p->rtc[i] = cmos_read(rtc_regs[i]);
	if (from_rand)
		return RANDOM_FROM_RDRAND;
	if (from_seed)
		return RANDOM_FROM_RDSEED;
	set_source(has_seed || has_rand ? "tsc+rtc only (rdrand and rdseed failed)"
					: "tsc+rtc only (no rdrand)");
	return RANDOM_FROM_TSC;
}

/* The seed= argument, if there is a valid one. */
static bool seed_arg(uint64_t *seed)
{
	char arg[64];

	if (!cmdline_get("seed", arg, sizeof(arg)))
		return false;
	if (strlen(arg) < sizeof(arg) - 1 && random_parse_seed(arg, seed))
		return true;
	klog(LOG_ERR, "random: seed='%s' is not a decimal or 0x-hex number below 2^64; "
	     "ignoring it", arg);
	return false;
}

void random_init(void)
{
	struct pool p;
	uint64_t seed;

	if (seed_arg(&seed)) {
		random_key_from_seed(seed, &rnd.key);
		snprintf(rnd.source, sizeof(rnd.source), "seed=%lu (reproducible, not secret)", seed);
		klog(LOG_WARN, "random: key from %s", rnd.source);
	} else {
		enum random_source src = gather(&p);
		random_key_from_pool(&p, sizeof(p), &rnd.key);
		memset(&p, 0, sizeof(p));
		if (src == RANDOM_FROM_RDSEED)
			set_source("rdseed+tsc");
		else if (src == RANDOM_FROM_RDRAND)
			set_source("rdrand+tsc");
		klog(src == RANDOM_FROM_TSC ? LOG_WARN : LOG_INFO, "random: key from %s%s",
		     rnd.source, src == RANDOM_FROM_TSC ? "; keys are predictable" : "");
	}
	rnd.next = 0;
	rnd.ready = true;
}

void random_bytes(void *buf, size_t len)
{
	uint8_t *out = buf;

	if (!rnd.ready)
		panic("random: random_bytes called before random_init");
	while (len) {
		uint64_t flags = irq_save(), n = rnd.next++;
		irq_restore(flags);
		uint64_t v = random_block(&rnd.key, n);
		size_t k = len < sizeof(v) ? len : sizeof(v);
		memcpy(out, &v, k);
		out += k;
		len -= k;
	}
}

const char *random_source(void)
{
	return rnd.source;
}
