/*
 * A test cell that imports state_db's test hook, statedb_set_fail_point,
 * which cells.manifest guards with the grant test_hooks. Built twice:
 * hook_user@1 is granted test_hooks and loads; bad_hook@1 is not, and the
 * build and the loader refuse it, naming the symbol and the grant.
 */
#include <stddef.h>

#include <delos/state_db.h>

int hook_user_clear(struct state_db *db)
{
	return statedb_set_fail_point(db, NULL, 0);
}
