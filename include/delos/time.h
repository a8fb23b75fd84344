/*
 * Time from the TSC, whose frequency comes from CPUID leaf 0x15 (or 0x16)
 * where the CPU gives it, else from a short measurement against the HPET
 * (found through ACPI), else against the PIT.
 */
#ifndef DELOS_TIME_H
#define DELOS_TIME_H

#include <stdint.h>

/* TSC value read at the first instruction after the boot loader's hand-off. */
extern uint64_t boot_tsc;

/*
 * Finds the TSC frequency (after platform_init, which finds the HPET) and
 * logs which source gave it: "time: TSC ... from CPUID 0x15", "from the HPET
 * over N us" or "from the PIT over N us".
 */
void time_calibrate(void);
/* The source time_calibrate used: "CPUID 0x15", "CPUID 0x16", "HPET" or "PIT". */
const char *tsc_source(void);
uint64_t tsc_hz(void);
/* Nanoseconds since boot_tsc (0 before calibration). */
uint64_t time_ns(void);
uint64_t tsc_to_ns(uint64_t cycles);

#endif
