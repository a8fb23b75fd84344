/*
 * irqoff (test cell, not loaded at boot): functions for the console's `call`
 * that fault with interrupts off, and that tell whether interrupts are on in
 * the caller's context. A caught fault must leave the caller's interrupt
 * flag as it was before the call.
 */
#include <delos/time.h>
#include <delos/timer.h>
#include "hal/cpu.h"

/* Turns interrupts off, then raises #UD: the console catches it. */
int irqoff_cli_fault(void)
{
	cpu_cli();
	__asm__ volatile("ud2");
	return 0;
}

/* 1 if the interrupt flag is set here, else 0. */
int irqoff_enabled(void)
{
	return (read_rflags() & 0x200) != 0;
}

/* 1 if a timer interrupt arrives within a second of TSC time, else 0 (interrupts are off). */
int irqoff_tick_seen(void)
{
	uint64_t start = timer_ticks(), deadline = rdtsc() + tsc_hz();

	while (rdtsc() < deadline)
		if (timer_ticks() != start)
			return 1;
	return 0;
}

/* Turns interrupts off and never returns: only the NMI watchdog ends it. */
int irqoff_spin(void)
{
	cpu_cli();
	for (;;)
		__asm__ volatile("" ::: "memory");
	return 0;
}
