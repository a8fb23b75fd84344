/*
 * timer (cell timer@1): PIT channel 0 at TIMER_HZ, routed through dispatch to
 * timer_irq, which counts ticks in state_db and posts the event "timer.tick"
 * with the new tick number (subscribers run in the interrupt, interrupts off).
 *
 * Record "timer/ticks" (owner "timer", type TIMER_TYPE, layout
 * TIMER_LAYOUT = 1): struct timer_state. It outlives the cell, so a reloaded
 * or swapped timer keeps counting from where the old one stopped.
 *
 * Every timer cell (timer@1 on the PIT, apic_timer@1 on the local APIC)
 * provides this interface and the same tick. The one that starts last, by
 * cell_init or by its swap-in hook, takes the tick over: it starts its own
 * hardware, routes its own line, unroutes (so masks) the line named in the
 * record, and writes its own line there.
 */
#ifndef CELLS_TIMER_H
#define CELLS_TIMER_H

#include <stdint.h>

#define TIMER_HZ      100u
#define TIMER_RECORD  "timer/ticks"
#define TIMER_TYPE    0x54494d52u    /* "TIMR" */
#define TIMER_LAYOUT  1u
#define TIMER_EVENT   "timer.tick"

struct timer_state {
	uint64_t ticks;          /* interrupts counted since the first timer cell started */
	uint32_t hz;             /* the rate the PIT was programmed for */
	uint32_t line;           /* the interrupt line the tick arrives on (0: PIT's IRQ 0) */
};

/* Ticks counted so far (0 if the record is missing or corrupt). */
uint64_t timer_ticks(void);
/* The tick rate: TIMER_HZ. */
uint64_t timer_hz(void);
/* The tick's handler, called by dispatch: counts the tick and posts TIMER_EVENT. */
int timer_irq(uint64_t irq);

#endif
