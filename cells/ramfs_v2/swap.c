/*
 * ramfs@2's swap hooks. The migration (every layout 1 inode rewritten in
 * layout 2) runs at the swap's check step, with the world running, in the
 * swap's background transaction; the swap-in hook, called once every user
 * of ramfs@1 has been relinked to this cell and before ramfs@1 is unloaded,
 * with the world stopped, then has nothing to do, unless the store changed
 * in between and the migration must run again there (ramfs_migrate).
 * Nothing else needs handing over: the files are in state_db, the token key
 * is the tokens cell's, and every open file's state is in its client's
 * token, which layout 2 code opens as it is.
 */
#include <stdint.h>

#include <delos/cell.h>
#include <delos/log.h>
#include <delos/ramfs.h>

int cell_swap_prepare(uint64_t old_version);
int cell_swap_in(uint64_t old_version);

/* Logs a migration's outcome; returns 0 or the error. */
static int migrated(uint64_t old_version, int n)
{
	if (n < 0) {
		klog(LOG_ERR, "ramfs: cannot migrate the files of ramfs@%lu to layout 2: %s",
		     old_version, ramfs_strerror(n));
		return n;
	}
	klog(LOG_INFO, "ramfs: took over from ramfs@%lu; %d file%s migrated to layout 2",
	     old_version, n, n == 1 ? "" : "s");
	return 0;
}

/*
 * Before the world stops: the migration, into the swap's background
 * transaction (nothing of it is seen unless the swap commits), one inode at
 * a time with interrupts on between. Kept for the swap-in hook: it is done.
 */
int cell_swap_prepare(uint64_t old_version)
{
	int err = migrated(old_version, ramfs_migrate_stepwise());

	if (!err)
		cell_swap_keep(1);
	return err;
}

/*
 * In the pause: nothing left to do when the prepare's transaction became
 * the swap's (the store did not change since; else nano_core dropped it,
 * with what the prepare kept, and the migration runs here, whole).
 */
int cell_swap_in(uint64_t old_version)
{
	uint64_t done;

	if (cell_swap_kept(&done))
		return 0;
	return migrated(old_version, ramfs_migrate());
}
