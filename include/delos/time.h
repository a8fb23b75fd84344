/* Time from the TSC, calibrated against the PIT at boot. */
#ifndef DELOS_TIME_H
#define DELOS_TIME_H

#include <stdint.h>

/* TSC value read at the first instruction after the boot loader's hand-off. */
extern uint64_t boot_tsc;

/* Measures the TSC frequency over 10 ms of PIT channel 2. */
void time_calibrate(void);
uint64_t tsc_hz(void);
/* Nanoseconds since boot_tsc (0 before calibration). */
uint64_t time_ns(void);
uint64_t tsc_to_ns(uint64_t cycles);

#endif
