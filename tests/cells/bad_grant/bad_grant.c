/* Refused by celltool and the loader: port I/O without the port_io grant. */
#include <delos/cell.h>
#include "hal/io.h"

int cell_init(void)
{
	hal_outb(0x80, 0);
	return 0;
}
