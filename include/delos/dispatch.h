/*
 * dispatch (cell dispatch@1): IRQ and event routing kept in state_db and
 * pointing at cellrefs, so a driver can be replaced without losing its
 * interrupts and nothing holds a raw pointer into a cell.
 *
 * Records: "dispatch/irq/N" (layout 2) holds a struct dispatch_route: a
 * cellref and the word its handler is called with; "dispatch/ev/NAME"
 * (layout 1) holds up to DISPATCH_SUBSCRIBERS struct cellrefs.
 * Handlers are `int fn(uint64_t arg)`: for IRQs arg is the route's word
 * (the IRQ number unless dispatch_route_arg gave another; the PIC has
 * already been sent its EOI), for events the posted value.
 */
#ifndef CELLS_DISPATCH_H
#define CELLS_DISPATCH_H

#include <stdint.h>

#include <delos/cellref.h>

#define DISPATCH_SUBSCRIBERS 8
#define DISPATCH_EVENT_MAX 31

/*
 * Routes interrupt line irq (0-15: ISA IRQs; IRQ_LAPIC_TIMER, see
 * delos/trap.h) to cell:sym and unmasks the line; replaces any route.
 */
int dispatch_route(uint64_t irq, const char *cell, const char *sym);
/*
 * The same, with the handler called with arg instead of the IRQ number: a
 * driver hands itself what its interrupt needs at once (the timer, the
 * handle of its record), since a cell keeps no data of its own.
 */
int dispatch_route_arg(uint64_t irq, const char *cell, const char *sym, uint64_t arg);

struct dispatch_route {
	struct cellref ref;
	uint64_t arg;
};
/* Removes the route and masks the line. */
int dispatch_unroute(uint64_t irq);
/* Adds cell:sym to event's subscribers (once). */
int dispatch_subscribe(const char *event, const char *cell, const char *sym);
int dispatch_unsubscribe(const char *event, const char *cell, const char *sym);
/*
 * Calls every subscriber of event with arg; returns how many took it, or -1
 * if the event has no subscribers. A subscriber that returns a negative value
 * refuses arg (it has no room for it now), so the poster may keep it and post
 * it again later; a subscriber that does not resolve has not taken it either.
 */
int dispatch_post(const char *event, uint64_t arg);

/* nano_core calls this for every IRQ it has no handler for, through the ops slot irq_route. */
int dispatch_irq(uint64_t irq);

#endif
