/* The breakpoint probe (include/delos/inject.h); private to nano_core. */
#ifndef NANO_CORE_PROBE_H
#define NANO_CORE_PROBE_H

#include <stdbool.h>

#include <delos/trap.h>

/* Offers a #BP or #DB to the probe slot; true when the probe took it (resume f). */
bool probe_trap(struct trap_frame *f);

#endif
