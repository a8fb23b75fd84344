/* The token metamodule in ramfs@2, hidden as in ramfs@1 (see logic.c). */
#include "cells/ramfs/siphash_code.c"
#include "cells/ramfs/token_code.c"
