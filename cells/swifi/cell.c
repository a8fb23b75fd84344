/* The swifi cell: its state block, the probe slot and the command (cells/swifi/swifi.h). */
#include <delos/cell.h>
#include <delos/inject.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/shell.h>
#include "cells/swifi/swifi.h"

int cell_init(void)
{
	struct swifi_state *st = probe_context();
	int err;

	if (!st) {
		if (!(st = kzalloc(sizeof(*st))))
			return -1;
		st->version = SWIFI_STATE_VERSION;
		if ((err = probe_register("swifi", "swifi_trap", st))) {
			kfree(st);
			return err;
		}
	}
	err = shell_register("swifi", "swifi", "swifi_cmd", "inject|list|clear [ARG...]",
			     "fault injection; also 'fault inject CELL KIND [seed=N] [after=...]'");
	if (err)
		klog(LOG_WARN, "swifi: cannot register 'swifi': %s", shell_strerror(err));
	return 0;
}

/* Unload: every armed probe comes out, and the state goes with the slot. */
void cell_exit(void)
{
	struct swifi_state *st = probe_context();

	shell_unregister("swifi");
	if (!st)
		return;
	swifi_disarm_all(st, false);
	probe_unregister("swifi");
	kfree(st);
}
