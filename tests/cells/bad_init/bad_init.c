/* A cell whose cell_init faults: its load must be refused and leave nothing behind. */
#include <delos/cell.h>

int bad_init_answer(void)
{
	return 7;
}

int cell_init(void)
{
	__asm__ volatile("ud2");
	return 0;
}
