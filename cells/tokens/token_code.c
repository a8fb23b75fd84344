/* The token metamodule, compiled into this cell (see the included file). */
#include "metamodules/token_cell.inc"
