/*
 * ramfs@2 is the code of ramfs@1 (cells/ramfs) compiled for layout 2: this
 * file and its neighbours include that folder's files rather than copy them.
 * Keep them in step: a file added to cells/ramfs must be included here too
 * (`make ramfs-v2-check`, a test, says which symbols ramfs@2 then lacks).
 */
#include "cells/ramfs/names.c"
#include "cells/ramfs/inode.c"
#include "cells/ramfs/data.c"
#include "cells/ramfs/ticket.c"
#include "cells/ramfs/file.c"
#include "cells/ramfs/dir.c"
#include "cells/ramfs/migrate.c"
#include "cells/ramfs/errors.c"
