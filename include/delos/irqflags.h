/*
 * The interrupt flag as nano_core's critical section (grant `core`).
 *
 * Delos runs on one CPU, so code that must not be interrupted or preempted
 * (preemption happens only at the end of an interrupt) brackets itself with
 *
 *	uint64_t flags = irq_save();
 *	...
 *	irq_restore(flags);
 *
 * irq_save returns RFLAGS and clears the interrupt flag; irq_restore sets
 * it again only if `flags` had it. Sections therefore nest: an inner pair
 * leaves interrupts off when the outer one had turned them off (the heap,
 * inside its section, grows through the frame allocator, which takes its own).
 * Both are out-of-line assembler (nano_core/ctx.S) so that the `sti` is the
 * last instruction before the return (see there why that matters to swap).
 *
 * Neither helps against an NMI or a CPU exception, which the interrupt flag
 * does not mask: code running there must not call what these protect.
 *
 * Host builds of nano_core code link tests/host/irq_host.c instead, which
 * counts sections and tracks a simulated flag.
 */
#ifndef DELOS_IRQFLAGS_H
#define DELOS_IRQFLAGS_H

#include <stdint.h>

#define RFLAGS_IF 0x200ull

uint64_t irq_save(void);
void irq_restore(uint64_t flags);

#endif
