/* Refused by the loader: nothing defines no_such_function. */
#include <delos/cell.h>

void no_such_function(void);

int cell_init(void)
{
	no_such_function();
	return 0;
}
