#include "nano_core/boot.h"
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/platform.h>
#include <delos/time.h>
#include "hal/cpu.h"
#include "hal/hpet.h"
#include "hal/pit.h"

#define HPET_WINDOW_US 250u	/* 25,000 ticks of QEMU's 100 MHz HPET: 40 ppm */
#define PIT_WINDOW_TICKS 11932u	/* 10 ms of PIT ticks: one tick of error is 0.01% */
#define HPET_MAX_PERIOD_FS 100000000u	/* the ACPI HPET spec's bound: 10 MHz at least */

/* Owned by nano_core; written once here at boot. */
static uint64_t tsc_freq;
static const char *source = "none";
static uint32_t window_us;

/* CPUID 0x15: TSC = crystal * EBX / EAX; 0x16's base frequency stands in for a missing crystal. */
static uint64_t from_cpuid(void)
{
	uint32_t r[4], max, base_mhz = 0;

	cpuid(0, 0, r);
	max = r[0];
	if (max < 0x15)
		return 0;
	if (max >= 0x16) {
		cpuid(0x16, 0, r);
		base_mhz = r[0] & 0xffff;
	}
	cpuid(0x15, 0, r);
	klog(LOG_DEBUG, "time: CPUID 0x15 eax %u ebx %u ecx %u, 0x16 base %u MHz", r[0], r[1],
	     r[2], base_mhz);
	if (r[0] && r[1] && r[2]) {
		source = "CPUID 0x15";
		return (uint64_t)r[2] * r[1] / r[0];
	}
	if (base_mhz) {
		source = "CPUID 0x16";
		return (uint64_t)base_mhz * 1000000;
	}
	return 0;
}

static uint64_t from_hpet(void)
{
	const struct acpi_info *a = platform_acpi();
	volatile uint8_t *hpet;
	uint32_t period;

	if (!a->has_hpet || !(hpet = mmio_map(a->hpet_addr, 0x400)))
		return 0;
	period = hpet_period_fs(hpet);
	if (!period || period > HPET_MAX_PERIOD_FS) {
		klog(LOG_WARN, "time: HPET at 0x%lx reports a period of %u fs; not used",
		     a->hpet_addr, period);
		return 0;
	}
	hpet_start(hpet);
	uint64_t ticks = (uint64_t)HPET_WINDOW_US * 1000000000u / period;
	uint64_t mask = hpet_counter_mask(hpet), h0 = hpet_counter(hpet), t0 = rdtsc(), dh;
	while ((dh = (hpet_counter(hpet) - h0) & mask) < ticks)
		;
	uint64_t cycles = rdtsc() - t0;
	uint64_t ps = dh * period / 1000;	/* under 2^64 for windows up to hours */
	source = "HPET";
	window_us = (uint32_t)(ps / 1000000);
	/* cycles * 10^12 stays under 2^64 while the window holds under 1.8 * 10^7 cycles. */
	return cycles < (1ull << 24) ? cycles * 1000000000000ull / ps
				     : cycles * 1000000ull / (ps / 1000000);
}

static uint64_t from_pit(void)
{
	uint64_t t0 = rdtsc();

	if (!pit_wait_ticks(PIT_WINDOW_TICKS))
		panic("time: no TSC frequency from CPUID, no usable HPET, and the PIT does not "
		      "count: nothing to time the TSC against");
	source = "PIT";
	window_us = (uint32_t)((uint64_t)PIT_WINDOW_TICKS * 1000000 / PIT_HZ);
	return (rdtsc() - t0) * PIT_HZ / PIT_WINDOW_TICKS;
}

static bool invariant_tsc(void)
{
	uint32_t r[4];

	cpuid(0x80000000u, 0, r);
	if (r[0] < 0x80000007u)
		return false;
	cpuid(0x80000007u, 0, r);
	return r[3] & (1u << 8);
}

void time_calibrate(void)
{
	bool measure = cmdline_has("tsc", "measure");

	if (!measure)
		tsc_freq = from_cpuid();
	if (!tsc_freq && !cmdline_has("hpet", "off"))
		tsc_freq = from_hpet();
	if (!tsc_freq)
		tsc_freq = from_pit();
	uint64_t mhz100 = tsc_freq / 10000000;
	if (window_us)
		klog(LOG_INFO, "time: TSC %lu.%02lu MHz from %s over %u us (%s)", tsc_freq / 1000000,
		     tsc_freq / 10000 % 100, source, window_us,
		     invariant_tsc() ? "invariant" : "not invariant");
	else
		klog(LOG_INFO, "time: TSC %lu.%02lu GHz from %s (%s)", mhz100 / 100, mhz100 % 100,
		     source, invariant_tsc() ? "invariant" : "not invariant");
}

const char *tsc_source(void)
{
	return source;
}

uint64_t tsc_hz(void)
{
	return tsc_freq;
}

uint64_t tsc_to_ns(uint64_t cycles)
{
	if (!tsc_freq)
		return 0;
	/* Split so that nothing overflows 64 bits while tsc_freq < 2^34. */
	return cycles / tsc_freq * 1000000000u + cycles % tsc_freq * 1000000000u / tsc_freq;
}

uint64_t time_ns(void)
{
	return tsc_to_ns(rdtsc() - boot_tsc);
}
