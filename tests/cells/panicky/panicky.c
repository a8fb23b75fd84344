/*
 * Faults that code raises, for tests: cell_panic, a stack-protector failure
 * (smash.c is built with -fstack-protector-all), a stack overflow, a bad
 * pointer handed to nano_core's memcpy (charged to this cell, the caller), a
 * fault with a frame pointer outside the canonical address space, and a call
 * to no code.
 */
#include <delos/fault.h>
#include <delos/string.h>
#include <stdint.h>

int panicky_panic(void)
{
	cell_panic("panicky: the answer is not 42");
}

/* Never reached; volatile so the compiler must keep the recursion. */
static volatile const uint64_t depth_limit = ~0ull;

static int recurse(uint64_t depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	if (depth < depth_limit)
		recurse(depth + 1);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
	return pad[0];
}

int panicky_overflow(void)
{
	return recurse(0);
}

/* A size the compiler cannot see, so memcpy is called, not inlined. */
static volatile const size_t copy_len = 16;

int panicky_bad_memcpy(void)
{
	char buf[16];

	memcpy(buf, (const void *)0xdead0000ull, copy_len);
	return buf[0];
}

/*
 * A #UD with rbp non-canonical (the stack pointer with bit 48 flipped, as a
 * corrupted address computation leaves it): walking the fault's frames must
 * stop there, not take a #GP. The catch point restores rbp.
 */
int panicky_bad_rbp(void)
{
	__asm__ volatile("movq %%rsp, %%rbp\n\tbtcq $48, %%rbp\n\tud2" ::: "memory");
	return 0;
}

/* A call through a corrupted function pointer: to an address that is no code. */
int panicky_call_nowhere(void)
{
	int (*volatile fn)(void) = (int (*)(void))0x10;

	return fn() + 1;	/* not a tail call: the return address stays on the stack */
}
