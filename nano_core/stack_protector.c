/*
 * The canary and failure handler that -fstack-protector code expects. Cells
 * built with it link against these (grant `core`); nano_core itself is built
 * without it, since the canary is only chosen once the kernel's randomness
 * is up (include/delos/random.h), before the first cell loads.
 */
#include <delos/kernel.h>
#include "nano_core/ksyms.h"
#include <delos/random.h>
#include <stdint.h>

uint64_t __stack_chk_guard = 0x595e9fbd94fda766ull;

void stack_protector_init(void)
{
	uint64_t canary;

	/* A zero low byte stops overruns by string functions. */
	random_bytes(&canary, sizeof(canary));
	__stack_chk_guard = canary & ~0xffull;
}

_Noreturn void __stack_chk_fail(void)
{
	uint64_t off = 0, ret = (uint64_t)__builtin_return_address(0);
	const char *fn = ksym_lookup(ret, &off);

	panic("stack smashing detected in code calling from %016lx <%s+0x%lx>", ret,
	      fn ? fn : "?", off);
}
