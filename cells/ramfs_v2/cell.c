/* The ramfs.h API and the kernel store for ramfs@2: layout 2 (see logic.c). */
#define RAMFS_CELL_LAYOUT 2u
#include "cells/ramfs/cell.c"
#include "cells/ramfs/store_sdb.c"
