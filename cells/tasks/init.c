/*
 * Starting the tasks cell: adopt the boot context as task 0 "idle" and
 * subscribe to the timer's tick; or, when the records exist already (a
 * reload or swap of this cell), take them over as they are.
 */
#include <delos/cell.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/dispatch.h>
#include <delos/sched.h>
#include "cells/tasks/records.h"
#include <delos/timer.h>

static int open_hot_records(void);

/* nano_core's boot stack, checked against the running frame; unknown (0, 0) if that fails. */
static void boot_stack(struct task_rec *r)
{
	uint64_t fp = (uint64_t)__builtin_frame_address(0), lo, hi;

	ctx_boot_stack(&lo, &hi);
	if (fp >= lo && fp < hi) {
		r->stack_lo = lo;
		r->stack_hi = hi;
	} else {
		klog(LOG_WARN, "tasks: running on %016lx, not nano_core's boot stack; task 0's stack unknown", fp);
	}
}

static int adopt_boot_context(void)
{
	struct tasks_cpu cpu = { .current = 0, .pending = -1, .current_prio = SCHED_PRIO_MIN };
	struct tasks_table t;
	struct task_rec idle;
	statedb_handle h;
	int err;

	table_init(&t);
	t.next_id = 1;
	t.live = 1;
	memset(&idle, 0, sizeof(idle));
	memcpy(idle.name, "idle", 5);
	idle.state = TASK_READY;	/* running, as tasks/current says */
	idle.prio = SCHED_PRIO_MIN;
	boot_stack(&idle);
	if ((err = rec_create(&idle, &h)) || (err = table_add(&t, 0, h)) || (err = table_put(&t)) ||
	    (err = cpu_put(&cpu)) ||
	    (err = open_hot_records()))
		return err;
	klog(LOG_INFO, "tasks: boot context adopted as task 0 (idle), policy '%s'", sched_name());
	return 0;
}

static bool count_corrupt(void *ctx, const struct statedb_meta *m)
{
	if (!m->checksum_ok) {
		klog(LOG_ERR, "tasks: record '%s' fails its checksum", m->name);
		++*(int *)ctx;
	}
	return true;
}

/*
 * A previous tasks cell left its records: verify them (their reads do not:
 * they have handles) and check they are of our layout.
 */
static int take_over(void)
{
	struct tasks_table t;
	struct tasks_cpu cpu;
	int err, bad = 0;

	if ((err = open_hot_records()))
		return err;
	if (sdb_list(TASK_RECORD_PREFIX, count_corrupt, &bad) < 0 || bad) {
		klog(LOG_ERR, "tasks: cannot take over the task records: %d corrupt", bad);
		return TASKS_E_STATE;
	}
	if ((err = table_get(&t)) || (err = cpu_get(&cpu))) {
		klog(LOG_ERR, "tasks: cannot take over the existing records: %s", tasks_strerror(err));
		return err;
	}
	klog(LOG_INFO, "tasks: took over %lu task records (task %ld running), policy '%s'", t.live,
	     cpu.current, sched_name());
	return 0;
}

/* Gives the hot records their handles (records.c, tasks_open_handles); opening verifies them. */
static int open_hot_records(void)
{
	return tasks_open_handles();
}

/* What nano_core calls the tasks cell for (include/delos/ops.h). */
static const struct {
	uint64_t slot, type;
	const char *sym;
} slots[] = {
	{ OPS_IRQ_EXIT, OPS_TYPE_IRQ_EXIT, "tasks_irq_exit" },
	{ OPS_IDLE_NEXT, OPS_TYPE_IDLE_NEXT, "tasks_idle_next" },
	{ OPS_TASK_RESTART, OPS_TYPE_TASK_RESTART, "tasks_restart" },
	{ OPS_TASK_RESTART_SELF, OPS_TYPE_RESTART_SELF, "tasks_restart_self" },
	/* A swap waiting for a busy task lets it move on through here (quiesce.c). */
	{ OPS_TASK_YIELD, OPS_TYPE_TASK_YIELD, "tasks_yield_self" },
};

int cell_init(void)
{
	struct tasks_cpu cpu;
	int err = cpu_get(&cpu) == TASKS_E_DOWN ? adopt_boot_context() : take_over();

	if (err)
		return err;
	if (dispatch_subscribe(TIMER_EVENT, "tasks", "tasks_tick") < 0) {
		klog(LOG_ERR, "tasks: cannot subscribe to '%s'", TIMER_EVENT);
		return -1;
	}
	/* A task that faults in a cell is ended through here (include/delos/fault.h). */
	if (ops_register(OPS_TASK_END, "tasks", "tasks_end_faulted", OPS_TYPE_TASK_END))
		klog(LOG_WARN, "tasks: a task that faults will halt Delos");
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if ((err = ops_register(slots[i].slot, "tasks", slots[i].sym, slots[i].type)))
			return err;
	return 0;
}

/*
 * This copy was swapped in (a reload after a fault, say). A switch the old
 * code abandoned half-way may have taken a ready task off the policy's queue
 * without switching to it (the recovery task, woken by the fault): the next
 * policy call makes the queue hold exactly the ready tasks again, as after a
 * fault in the policy (policy.c).
 */
int cell_swap_done(uint64_t old_version)
{
	uint32_t down;

	(void)old_version;
	policy_requeue_later(&down);
	return cpu_put_policy_down(down);
}

void cell_exit(void)
{
	dispatch_unsubscribe(TIMER_EVENT, "tasks", "tasks_tick");
	ops_unregister(OPS_TASK_END, "tasks");
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		ops_unregister(slots[i].slot, "tasks");
	ops_unregister(OPS_TASKS_INSIDE, "tasks");
}
