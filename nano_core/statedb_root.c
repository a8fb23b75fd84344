/*
 * The state_db store's root. Its storage belongs to nano_core, not to the
 * state_db cell whose code manages it, so replacing that cell loses nothing:
 * the new code finds the root initialized and every record in place.
 */
#include <delos/mm.h>
#include <delos/state_db.h>

/*
 * Written only by the state_db cell's code: through statedb_root(), or
 * as the data symbol itself (grant `state`, include/delos/sdb.h), which
 * spares the hot path a call.
 */
struct state_db statedb_store;

struct state_db *statedb_root(void)
{
	return &statedb_store;
}

/*
 * The store's allocator: nano_core's heap, callable with interrupts off. Its
 * blocks belong to the store, never to the task whose call made them.
 */
void *sdb_kalloc(void *ctx, size_t bytes)
{
	(void)ctx;
	return kmalloc_kept(bytes);
}

void sdb_kfree(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}
