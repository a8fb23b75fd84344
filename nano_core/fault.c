/* Deliberate CPU exceptions for tests (`fault KIND`). Each must really happen. */
#include "nano_core/console.h"
#include <delos/log.h>
#include <delos/string.h>
#include <stdint.h>

static void fault_pf(void)
{
	*(volatile uint64_t *)0xdead0000ull = 1;
}

static void fault_gpf(void)
{
	/* A non-canonical address raises #GP rather than #PF. */
	(void)*(volatile uint64_t *)0x8000000000000000ull;
}

static void fault_div0(void)
{
	volatile unsigned zero = 0;
	unsigned r;

	__asm__ volatile("xorl %%edx, %%edx; movl $1, %%eax; divl %%ecx" : "=a"(r) : "c"(zero) : "rdx");
	(void)r;
}

static void fault_ud(void)
{
	__asm__ volatile("ud2");
}

/* Never reached; volatile so the compiler must keep the recursion. */
static volatile uint64_t recursion_limit = ~0ull;

/* Recurses until the stack runs into its guard page. */
static void fault_stack_recurse(uint64_t depth)
{
	volatile char pad[256];

	pad[0] = (char)depth;
	if (depth < recursion_limit)
		fault_stack_recurse(depth + 1);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

static void fault_stack(void)
{
	fault_stack_recurse(0);
}

static const struct {
	const char *name;
	void (*raise)(void);
} kinds[] = {
	{ "pf", fault_pf }, { "gpf", fault_gpf }, { "div0", fault_div0 },
	{ "ud", fault_ud }, { "stack", fault_stack },
};

void kcmd_fault(int argc, char **argv)
{
	for (size_t i = 0; argc == 2 && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(argv[1], kinds[i].name) == 0) {
			kprintf("fault: raising %s\n", kinds[i].name);
			kinds[i].raise();
			kprintf("fault: %s did not fault\n", kinds[i].name);
			return;
		}
	kprintf("usage: fault pf|gpf|div0|ud|stack\n");
}
