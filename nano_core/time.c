#include <delos/time.h>
#include "hal/cpu.h"
#include "hal/pit.h"

#define CAL_TICKS 11932u	/* 10 ms of PIT ticks: one tick of error is 0.01% */

/* Owned by nano_core; written once here at boot. */
static uint64_t tsc_freq;

void time_calibrate(void)
{
	uint64_t t0 = rdtsc();

	pit_wait_ticks(CAL_TICKS);
	tsc_freq = (rdtsc() - t0) * PIT_HZ / CAL_TICKS;
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
