/* The fault log (cells/faults/faults.h) and the handler that fills it. */
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/faults/faults.h"
#include <delos/tasks.h>
#include <delos/trap.h>

int faults_log_get(struct faults_log *log)
{
	int n = sdb_get(FAULTS_LOG_RECORD, log, sizeof(*log), NULL);

	if (n == STATEDB_E_NOT_FOUND) {
		memset(log, 0, sizeof(*log));
		return 0;
	}
	return n == (int)sizeof(*log) ? 0 : n < 0 ? n : STATEDB_E_CORRUPT;
}

int faults_log_put(const struct faults_log *log)
{
	int n = sdb_put("faults", FAULTS_LOG_RECORD, FAULTS_LOG_TYPE, FAULTS_LAYOUT, log, sizeof(*log));

	return n < 0 ? n : 0;
}

static void entry_name(char *rec, size_t cap, uint32_t seq)
{
	snprintf(rec, cap, "%s%u", FAULTS_ENTRY_PREFIX, (seq - 1) % FAULTS_LOG_MAX);
}

int faults_entry_get(uint32_t seq, struct faults_entry *e)
{
	char rec[32];
	int n;

	if (seq == 0)
		return STATEDB_E_NOT_FOUND;
	entry_name(rec, sizeof(rec), seq);
	n = sdb_get(rec, e, sizeof(*e), NULL);
	if (n == (int)sizeof(*e) && e->seq != seq)
		return STATEDB_E_NOT_FOUND;
	return n == (int)sizeof(*e) ? 0 : n < 0 ? n : STATEDB_E_CORRUPT;
}

int faults_entry_put(const struct faults_entry *e)
{
	char rec[32];
	int n;

	entry_name(rec, sizeof(rec), e->seq);
	n = sdb_put("faults", rec, FAULTS_ENTRY_TYPE, FAULTS_LAYOUT, e, sizeof(*e));
	return n < 0 ? n : 0;
}

/* The running task, which a fault in task context ends. */
static void note_task(struct faults_entry *e)
{
	struct task_info t;
	int64_t id = task_self();

	e->task = id < 0 ? -1 : id;
	if (id > 0 && tasks_info(id, &t) == 0) {
		memcpy(e->task_name, t.name, sizeof(e->task_name));
		memcpy(e->task_cell, t.cell, sizeof(e->task_cell));
	} else if (id == 0) {
		memcpy(e->task_name, "idle", 5);
	}
}

static void run_note_task(void *arg)
{
	note_task(arg);
}

/*
 * note_task calls the tasks cell, whose own code may be what faulted: as a
 * contained call, so that the fault still gets its entry, with the task's
 * id if that much was found (its cell is looked up at recovery, recover.c).
 */
static void note_task_contained(struct faults_entry *e)
{
	e->task = -1;
	if (trap_contain(run_note_task, e, FAULT_CTX_CALL, NULL)) {
		memcpy(e->task_name, "?", 2);
		e->task_cell[0] = '\0';
	}
}

static int log_fault(const struct fault_report *r);

struct log_call {
	const struct fault_report *r;
	int err;
};

static void run_log_fault(void *arg)
{
	struct log_call *c = arg;

	c->err = log_fault(c->r);
}

/*
 * The fault may have struck inside a transaction (a swap-in hook's) that its
 * caller now aborts: the log entry and the recovery task's wake-up are
 * written outside it, so they outlive the abort.
 * The logging is a contained call, so that the outside window always ends:
 * it calls the tasks cell (task_notify), whose own code may be what faulted,
 * and a fault there abandoned this handler half way, leaving state_db's
 * window open for good (every later transaction of every task then found no
 * transaction of its own: STATEDB_E_TXN at its end, STATEDB_E_BUSY after).
 */
int faults_on_fault(const struct fault_report *r)
{
	struct log_call c = { r, 0 };
	uint64_t flags;

	sdb_fault_seen();	/* a fault in the tasks cell's task_self left state_db asking */
	flags = sdb_outside_begin();
	int failed = trap_contain(run_log_fault, &c, FAULT_CTX_CALL, NULL);

	sdb_outside_end(flags);
	if (failed) {
		klog(LOG_ERR, "faults: logging %s in %s was cut short by %s in a call it made",
		     trap_name(r->vector), r->cell, trap_name((uint64_t)failed - 1));
		return -1;
	}
	return c.err;
}

static int log_fault(const struct fault_report *r)
{
	struct faults_entry e;
	struct faults_log log;
	struct faults_entry old;
	int err;

	memset(&e, 0, sizeof(e));
	e.r = *r;
	e.state = FAULT_PENDING;
	if (r->context == FAULT_CTX_HEARTBEAT) {	/* no task was caught: the cell's are restarted */
		e.task = -1;
		memcpy(e.task_name, "-", 2);
	} else {
		note_task_contained(&e);
	}
	if ((err = faults_log_get(&log)))
		goto fail;
	e.seq = ++log.count;
	if (faults_entry_get(e.seq - FAULTS_LOG_MAX, &old) == 0 && old.state == FAULT_PENDING)
		log.dropped++;
	if ((err = faults_entry_put(&e)) || (err = faults_log_put(&log)))
		goto fail;
	klog(LOG_ERR, "faults: #%u %s in %s:%s+0x%lx (%s, task %ld '%s'); recovering", e.seq,
	     r->message[0] ? r->message : trap_name(r->vector), r->cell, r->symbol,
	     r->offset, fault_context_name(r->context), e.task, e.task_name);
	task_notify(FAULTS_CHANNEL);
	return 0;
fail:
	klog(LOG_ERR, "faults: cannot log %s in %s: %s", trap_name(r->vector), r->cell, sdb_strerror(err));
	return err;
}
