/* Refused by celltool and the loader: a static counter is a state spill. */
#include <delos/cell.h>

static int counter;

int bad_spill_bump(void)
{
	return ++counter;
}

int cell_init(void)
{
	return 0;
}
