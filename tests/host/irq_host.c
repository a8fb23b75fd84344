/*
 * Host version of nano_core's interrupt-flag section (delos/irqflags.h) for
 * unit tests of nano_core code: a simulated interrupt flag, starting on,
 * and counters the tests read through irq_host.h.
 */
#include <delos/irqflags.h>
#include "tests/host/irq_host.h"

struct irq_host irq_host = { .flag = true };

uint64_t irq_save(void)
{
	uint64_t flags = irq_host.flag ? RFLAGS_IF : 0;

	irq_host.flag = false;
	irq_host.saves++;
	irq_host.depth++;
	if (irq_host.depth > irq_host.max_depth)
		irq_host.max_depth = irq_host.depth;
	return flags;
}

void irq_restore(uint64_t flags)
{
	irq_host.restores++;
	irq_host.depth--;
	irq_host.flag = (flags & RFLAGS_IF) != 0;
}
