/*
 * beater (test cell, not loaded at boot): a task that calls cell_heartbeat()
 * every 20 ms (cells.manifest declares heartbeat=300) and counts its beats
 * in the record "beater/beats". `call beater beater_stall` makes it stop
 * beating once, by waiting on a channel nobody posts: the heartbeat check
 * must see the miss, and the restart policy start the task over.
 */
#include <delos/fault.h>
#include <delos/sdb.h>
#include <delos/tasks.h>

#define STALL "beater/stall"
#define BEATS "beater/beats"
#define TASK "beater/task"
#define TYPE 0x54414542u	/* "BEAT" */

int beater_main(uint64_t arg)
{
	(void)arg;
	for (;;) {
		uint64_t n = 0;

		if (sdb_get(STALL, &n, sizeof(n), NULL) == (int)sizeof(n)) {
			sdb_delete(STALL);
			task_wait("beater.never");
		}
		cell_heartbeat();
		n = 0;
		sdb_get(BEATS, &n, sizeof(n), NULL);
		n++;
		sdb_put("beater", BEATS, TYPE, 1, &n, sizeof(n));
		task_sleep_ms(20);
	}
}

int beater_stall(void)
{
	uint64_t one = 1;

	return sdb_put("beater", STALL, TYPE, 1, &one, sizeof(one)) < 0 ? -1 : 0;
}

int beater_beats(void)
{
	uint64_t n = 0;

	sdb_get(BEATS, &n, sizeof(n), NULL);
	return (int)n;
}

/* The task exists already (a reload of this cell) or is spawned now. */
int cell_init(void)
{
	int64_t id;

	if (sdb_get(TASK, &id, sizeof(id), NULL) == (int)sizeof(id))
		return 0;
	if ((id = task_spawn("beater", "beater", "beater_main", 0)) < 0)
		return (int)id;
	return sdb_put("beater", TASK, TYPE, 1, &id, sizeof(id)) < 0 ? -1 : 0;
}
