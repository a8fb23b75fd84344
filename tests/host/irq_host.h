/* What the host's irq_save/irq_restore (tests/host/irq_host.c) have seen. */
#ifndef TESTS_HOST_IRQ_HOST_H
#define TESTS_HOST_IRQ_HOST_H

#include <stdbool.h>
#include <stdint.h>

struct irq_host {
	bool flag;		/* the simulated interrupt flag */
	uint64_t saves, restores;
	int depth, max_depth;	/* sections open now, and at most so far */
};
extern struct irq_host irq_host;

#endif
