/*
 * ramfs@2's swap-in hook. The swap calls it once every user of ramfs@1 has
 * been relinked to this cell and before ramfs@1 is unloaded, with the world
 * stopped. It rewrites every layout 1 inode in layout 2 (ramfs_migrate).
 * Nothing else needs handing over: the files are in state_db, the token key
 * is the tokens cell's, and every open file's state is in its client's
 * token, which layout 2 code opens as it is.
 */
#include <stdint.h>

#include <delos/log.h>
#include <delos/ramfs.h>

int cell_swap_in(uint64_t old_version);

int cell_swap_in(uint64_t old_version)
{
	int n = ramfs_migrate();

	if (n < 0) {
		klog(LOG_ERR, "ramfs: cannot migrate the files of ramfs@%lu to layout 2: %s",
		     old_version, ramfs_strerror(n));
		return n;
	}
	klog(LOG_INFO, "ramfs: took over from ramfs@%lu; %d file%s migrated to layout 2",
	     old_version, n, n == 1 ? "" : "s");
	return 0;
}
