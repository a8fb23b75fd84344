/*
 * The canary and failure handler that -fstack-protector code expects. Cells
 * built with it link against these (grant `core`); nano_core itself is built
 * without it, since the canary is only chosen once the kernel's randomness
 * is up (include/delos/random.h), before the first cell loads.
 */
#include <delos/cells.h>
#include <delos/fault.h>
#include <delos/kernel.h>
#include "nano_core/ksyms.h"
#include <delos/random.h>
#include <stdint.h>
#include "nano_core/contain.h"

uint64_t __stack_chk_guard = 0x595e9fbd94fda766ull;

void stack_protector_init(void)
{
	uint64_t canary;

	/* A zero low byte stops overruns by string functions. */
	random_bytes(&canary, sizeof(canary));
	__stack_chk_guard = canary & ~0xffull;
}

/*
 * In a cell, the failure is that cell's fault (include/delos/fault.h): the
 * function whose canary was overwritten is abandoned with what it ran in.
 */
_Noreturn void __stack_chk_fail(void)
{
	uint64_t off = 0, ret = (uint64_t)__builtin_return_address(0);
	const char *fn = ksym_lookup(ret, &off);
	struct cells_where w;

	if (cells_addr_owner(ret - 1, &w))
		fault_raise(FAULT_KIND_STACK_SMASH, "stack-protector: stack smashing detected", ret - 1,
			    *(uint64_t *)__builtin_frame_address(0));

	panic("stack smashing detected in code calling from %016lx <%s+0x%lx>", ret,
	      fn ? fn : "?", off);
}
