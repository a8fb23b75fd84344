/* The console commands of ramfs@2: the same as ramfs@1's (see logic.c). */
#include "cells/ramfs/commands.c"
#include "cells/ramfs/tokcheck.c"
