/* The faults cell: its registrations and its recovery task (cells/faults/faults.h). */
#include <delos/cell.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/sdb.h>
#include "cells/faults/faults.h"
#include <delos/shell.h>
#include <delos/tasks.h>

/* The recovery task exists already (a reload of this cell) or is spawned now. */
static int start_task(void)
{
	int64_t id;
	int n = sdb_get(FAULTS_TASK_RECORD, &id, sizeof(id), NULL);

	if (n == (int)sizeof(id))
		return 0;
	id = task_spawn("faults", "faults", "faults_main", 0);
	if (id < 0)
		return (int)id;
	n = sdb_put("faults", FAULTS_TASK_RECORD, FAULTS_TASK_TYPE, FAULTS_LAYOUT, &id, sizeof(id));
	return n < 0 ? n : 0;
}

int cell_init(void)
{
	int err;

	faults_watchdog_arg();
	if ((err = start_task())) {
		klog(LOG_ERR, "faults: cannot start the recovery task (%d)", err);
		return err;
	}
	if ((err = ops_register(OPS_FAULT_HANDLER, "faults", "faults_on_fault", OPS_TYPE_FAULT_HANDLER)))
		return err;
	if ((err = ops_register(OPS_FAULT_RECOVER_NOW, "faults", "faults_recover_now", OPS_TYPE_RECOVER_NOW))) {
		ops_unregister(OPS_FAULT_HANDLER, "faults");
		return err;
	}
	err = shell_register("faults", "faults", "faults_cmd", "[-v] [N]",
			     "the fault log; -v N: one fault with its registers and backtrace");
	if (err)
		klog(LOG_WARN, "faults: cannot register 'faults': %s", shell_strerror(err));
	return 0;
}

void cell_exit(void)
{
	ops_unregister(OPS_FAULT_HANDLER, "faults");
	ops_unregister(OPS_FAULT_RECOVER_NOW, "faults");
	shell_unregister("faults");
}
