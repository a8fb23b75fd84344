/* A hello whose swap-in hook faults: a swap to it must roll back completely. */
#include <delos/cell.h>
#include <stdint.h>

int cell_swap_in(uint64_t old_version);

int hello_main(void)
{
	return 88;
}

int cell_swap_in(uint64_t old_version)
{
	(void)old_version;
	__asm__ volatile("ud2");
	return 0;
}
