/*
 * A test cell that imports state_db's test hook, statedb_set_fail_point,
 * which cells.manifest guards with the grant test_hooks. Built twice:
 * hook_user@1 is granted test_hooks and loads; bad_hook@1 is not, and the
 * build and the loader refuse it, naming the symbol and the grant.
 *
 * hook_user@1 also arms the fail point for the console tests: it stops one
 * record write made inside a transaction (a swap's hooks, a ramfs call), as
 * a store that runs out of memory there would.
 */
#include <stdbool.h>
#include <stddef.h>

#include <delos/cellref.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/state_db.h>
#include <delos/tasks.h>

bool hook_user_step(uint64_t arg, int step);
int hook_user_clear(struct state_db *db);
int hook_user_fail_second_txn_write(void);
int hook_user_disarm(void);
int hook_user_txn_task(uint64_t arg);
int hook_user_abandon_in_task(void);

int hook_user_clear(struct state_db *db)
{
	return statedb_set_fail_point(db, NULL, 0);
}

/*
 * The fail point: arg points at the number of writes inside a transaction
 * still to let through; the one that brings it to 0 is stopped once its
 * checksum is computed, its last step. Writes outside transactions pass.
 */
bool hook_user_step(uint64_t arg, int step)
{
	uint64_t *left = (uint64_t *)arg;

	if (step != STATEDB_STEP_CHECKSUM || !sdb_txn_open() || *left == 0)
		return false;
	return --*left == 0;
}

/* Stops the second record write made inside a transaction from now on. */
int hook_user_fail_second_txn_write(void)
{
	static const struct cellref step = { "hook_user", "hook_user_step" };
	uint64_t *left = kmalloc(sizeof(*left));

	if (!left)
		return -1;
	hook_user_disarm();
	*left = 2;
	return statedb_set_fail_point(statedb_root(), &step, (uint64_t)left);
}

/* Removes the fail point and frees its counter. */
int hook_user_disarm(void)
{
	struct state_db *db = statedb_root();
	void *left = (void *)db->fail_arg;
	int err = hook_user_clear(db);

	kfree(left);
	return err;
}

/* A task that ends inside a transaction it opened, with one record written. */
int hook_user_txn_task(uint64_t arg)
{
	(void)arg;
	if (sdb_txn_begin() == 0)
		sdb_put("hook_user", "hook_user/abandoned", 1, 1, "lost", 4);
	task_exit(0);
}

int hook_user_abandon_in_task(void)
{
	return task_spawn("abandoner", "hook_user", "hook_user_txn_task", 0) > 0 ? 0 : -1;
}
