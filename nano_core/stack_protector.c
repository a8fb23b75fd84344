/*
 * The canary and failure handler that -fstack-protector code expects. Cells
 * built with it link against these (grant `core`); nano_core itself is built
 * without it, since the canary is only chosen once the TSC can be read.
 */
#include <delos/kernel.h>
#include <delos/ksyms.h>
#include <stdint.h>
#include "hal/cpu.h"

uint64_t __stack_chk_guard = 0x595e9fbd94fda766ull;

void stack_protector_init(void)
{
	uint64_t seed = rdtsc();

	/* xorshift-multiply mix of the TSC; a zero low byte stops string overruns. */
	seed ^= seed >> 33;
	seed *= 0xff51afd7ed558ccdull;
	seed ^= seed >> 33;
	__stack_chk_guard = seed & ~0xffull;
}

_Noreturn void __stack_chk_fail(void)
{
	uint64_t off = 0, ret = (uint64_t)__builtin_return_address(0);
	const char *fn = ksym_lookup(ret, &off);

	panic("stack smashing detected in code calling from %016lx <%s+0x%lx>", ret,
	      fn ? fn : "?", off);
}
