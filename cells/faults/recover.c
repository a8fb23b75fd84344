/*
 * The recovery task and the policy engine (cells/faults/faults.h): one
 * pending fault at a time, in the order they were logged.
 */
#include <delos/cells.h>
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include <delos/trap.h>
#include "cells/faults/faults.h"
#include <delos/tasks.h>

static int cell_state(const char *cell, struct faults_cell *c, char *rec, size_t cap)
{
	int n;

	snprintf(rec, cap, "%s%s", FAULTS_CELL_PREFIX, cell);
	n = sdb_get(rec, c, sizeof(*c), NULL);
	if (n == STATEDB_E_NOT_FOUND) {
		memset(c, 0, sizeof(*c));
		return 0;
	}
	return n == (int)sizeof(*c) ? 0 : n < 0 ? n : STATEDB_E_CORRUPT;
}

/* The policies in escalation order; none stands apart. */
static int ladder_index(enum manifest_policy p)
{
	return p == MANIFEST_RECOVERY_RESTART ? 0 : p == MANIFEST_RECOVERY_RELOAD ? 1 : 2;
}

static const enum manifest_policy ladder[3] = {
	MANIFEST_RECOVERY_RESTART, MANIFEST_RECOVERY_RELOAD, MANIFEST_RECOVERY_FALLBACK,
};

/*
 * Moves the cell's escalation state on for a fault at `at`: the same episode
 * (within the window) escalates one step and counts one more attempt.
 */
static enum manifest_policy escalate(struct faults_cell *c, const struct manifest_recovery *rec,
				     uint64_t window_ms, uint64_t at)
{
	int step;

	if (c->attempts && at - c->last_ns < window_ms * 1000000ull) {
		c->level++;
	} else {
		c->level = 0;
		c->attempts = 0;
		c->failed = 0;
	}
	c->last_ns = at;
	c->attempts++;
	if (rec->policy == MANIFEST_RECOVERY_NONE)
		return MANIFEST_RECOVERY_NONE;
	step = ladder_index(rec->policy) + (int)c->level;
	step = step > 2 ? 2 : step;
	if (ladder[step] == MANIFEST_RECOVERY_FALLBACK && !rec->fallback_name[0])
		return MANIFEST_RECOVERY_RELOAD;
	return ladder[step];
}

struct restart_scan {
	const char *cell;
	int64_t only;     /* restart only this task (> 0), or every task of the cell (0) */
	int restarted, failed;
};

static void restart_one(void *ctx, const struct task_info *t)
{
	struct restart_scan *s = ctx;
	bool blocked = strcmp(t->state, "sleeping") == 0 || strcmp(t->state, "waiting") == 0;
	bool ended = strcmp(t->state, "exited") == 0;

	if (t->id <= 0 || strcmp(t->cell, s->cell) != 0 || (s->only && t->id != s->only))
		return;
	if (!(blocked || ended) || t->id == task_self())
		return;
	/* An exited task is restarted only if a fault ended it, or when it is named. */
	if (ended && !s->only)
		return;
	if (tasks_restart((uint64_t)t->id) == 0)
		s->restarted++;
	else
		s->failed++;
}

/* Restarts task id if it is `cell`'s and ended or blocked (restart_one for one task). */
static void restart_task(struct restart_scan *s, int64_t id)
{
	struct task_info t;

	s->only = id;
	if (tasks_info(id, &t) == 0)
		restart_one(s, &t);
}

/* Restarts the sleeping and waiting tasks of `cell`, and task `ended` if it is the cell's. */
static int restart_tasks(const char *cell, int64_t ended, int *failed)
{
	struct restart_scan s = { cell, 0, 0, 0 };

	tasks_list(restart_one, &s);
	if (ended > 0)
		restart_task(&s, ended);
	*failed = s.failed;
	return s.restarted;
}

static void say(char *buf, size_t cap, const char *fmt, const char *a, uint32_t v)
{
	snprintf(buf, cap, fmt, a, v);
}

#define SWAP_BUSY_TRIES 50
#define SWAP_BUSY_WAIT_MS 10

/* Whether another version of `cell` than `version` is loaded now. */
static bool swapped_out(const char *cell, uint32_t version)
{
	struct manifest_recovery rec;
	uint64_t window;
	uint32_t now;

	return faults_policy(cell, &rec, &now, &window) == 0 && now != version;
}

/*
 * Applies policy p to the charged cell; fills action and outcome. at_once:
 * in the faulting context (faults_recover_now), where nothing may sleep: no
 * waiting for another swap to end.
 */
static void apply(struct faults_entry *e, enum manifest_policy p, const struct manifest_recovery *rec,
		  uint32_t version, bool at_once)
{
	const char *cell = e->r.cell;
	char old_ref[48], new_ref[48];
	int64_t ended = e->r.context == FAULT_CTX_TASK && strcmp(e->task_cell, cell) == 0 ? e->task : 0;
	int failed = 0, n, err;

	snprintf(old_ref, sizeof(old_ref), "%s@%u", cell, version);
	if (p == MANIFEST_RECOVERY_NONE) {
		say(e->action, sizeof(e->action), "none: %s@%u left as it is", cell, version);
		snprintf(e->outcome, sizeof(e->outcome), "stopped (policy none)");
		return;
	}
	if (p == MANIFEST_RECOVERY_RESTART) {
		n = restart_tasks(cell, ended, &failed);
		snprintf(e->action, sizeof(e->action), "restart %s@%u (%d tasks)", cell, version, n);
		snprintf(e->outcome, sizeof(e->outcome), failed ? "failed: %d tasks refused" : "recovered",
			 failed);
		return;
	}
	if (p == MANIFEST_RECOVERY_FALLBACK)
		snprintf(new_ref, sizeof(new_ref), "%s@%u", rec->fallback_name, rec->fallback_version);
	else
		snprintf(new_ref, sizeof(new_ref), "%s", old_ref);
	snprintf(e->action, sizeof(e->action), "%s %s -> %s",
		 p == MANIFEST_RECOVERY_FALLBACK ? "fallback" : "reload", old_ref, new_ref);
	/* Another swap in progress (the console's) refuses this one: it is tried again after it. */
	for (int i = 0; (err = cells_swap_to(old_ref, new_ref)) == LOADER_EBUSY && !at_once &&
			i < SWAP_BUSY_TRIES; i++)
		task_sleep_ms(SWAP_BUSY_WAIT_MS);
	if (err && swapped_out(cell, version)) {
		/* That swap put another version in the faulted one's place: its code no longer runs. */
		snprintf(e->action, sizeof(e->action), "none: %s swapped out by another swap", old_ref);
		snprintf(e->outcome, sizeof(e->outcome), "recovered");
		goto restart;
	}
	if (err) {
		snprintf(e->outcome, sizeof(e->outcome), "failed: the swap was refused (%d)", err);
		return;
	}
restart:
	/* The swap restarted the cell's blocked tasks itself (swap=restart); not the ended one. */
	if (ended > 0) {
		struct restart_scan s = { cell, ended, 0, 0 };

		restart_task(&s, ended);
	}
	snprintf(e->outcome, sizeof(e->outcome), "recovered");
}

/* The task a fault ended is restarted by its own cell's policy (unless that is none). */
static void restart_ended(struct faults_entry *e)
{
	struct manifest_recovery rec;
	uint32_t version;
	uint64_t window;
	int failed = 0;
	size_t len;

	struct task_info t;

	if (e->task > 0 && !e->task_cell[0] && tasks_info(e->task, &t) == 0)
		memcpy(e->task_cell, t.cell, sizeof(e->task_cell));	/* unknown when it faulted (log.c) */
	if (e->r.context != FAULT_CTX_TASK || e->task <= 0 || !e->task_cell[0] ||
	    strcmp(e->task_cell, e->r.cell) == 0)
		return;
	if (e->task == task_self())
		return;	/* recovering at once in the ended task itself: owed to the recovery task */
	len = strlen(e->action);
	if (faults_policy(e->task_cell, &rec, &version, &window) ||
	    rec.policy == MANIFEST_RECOVERY_NONE) {
		snprintf(e->action + len, sizeof(e->action) - len, "; task %ld left ended", e->task);
		return;
	}
	struct restart_scan s = { e->task_cell, e->task, 0, 0 };
	restart_task(&s, e->task);
	failed = s.failed || !s.restarted;
	snprintf(e->action + len, sizeof(e->action) - len, "; task %ld %s", e->task,
		 failed ? "not restarted" : "restarted");
}

/* A task ended in the charged cell's own code, within an incident already recovered. */
static void restart_same_incident(struct faults_entry *e)
{
	struct manifest_recovery rec;
	uint32_t version;
	uint64_t window;
	int failed = 0;

	if (e->r.context == FAULT_CTX_TASK && e->task > 0 && strcmp(e->task_cell, e->r.cell) == 0 &&
	    faults_policy(e->r.cell, &rec, &version, &window) == 0 &&
	    rec.policy != MANIFEST_RECOVERY_NONE && restart_tasks(e->r.cell, e->task, &failed) > 0) {
		size_t len = strlen(e->action);

		snprintf(e->action + len, sizeof(e->action) - len, "; task %ld restarted", e->task);
	}
	restart_ended(e);
}

static uint64_t backoff_ms(const struct manifest_recovery *rec, uint32_t attempts)
{
	uint64_t ms = rec->backoff_ms;

	if (attempts <= 1 || !ms)
		return 0;
	for (uint32_t i = 2; i < attempts && ms < FAULTS_BACKOFF_CAP_MS; i++)
		ms *= 2;
	return ms < FAULTS_BACKOFF_CAP_MS ? ms : FAULTS_BACKOFF_CAP_MS;
}

/* An abandoned IRQ route's line was masked by nano_core: back on once the cell is recovered. */
static void reopen_line(struct faults_entry *e)
{
	size_t len = strlen(e->action);

	if (e->r.context != FAULT_CTX_IRQ || e->r.irq < 0)
		return;
	if (strcmp(e->outcome, "recovered") == 0) {
		irq_unmask((uint64_t)e->r.irq);
		snprintf(e->action + len, sizeof(e->action) - len, "; IRQ %ld unmasked", e->r.irq);
	} else {
		snprintf(e->action + len, sizeof(e->action) - len, "; IRQ %ld left masked", e->r.irq);
	}
}

static void recover_cell(struct faults_entry *e, bool at_once);

void faults_recover(struct faults_entry *e, bool at_once)
{
	recover_cell(e, at_once);
	reopen_line(e);
}

/*
 * A fault in cell_init or a swap-in hook is its caller's to undo: the load is
 * refused, the swap rolled back; the cell is not live to recover. Says so.
 */
static bool not_live(struct faults_entry *e)
{
	if (e->r.context != FAULT_CTX_INIT && e->r.context != FAULT_CTX_HOOK)
		return false;
	snprintf(e->action, sizeof(e->action), "none: %s@%s was not live", e->r.cell, e->r.cell_version);
	snprintf(e->outcome, sizeof(e->outcome), "%s",
		 e->r.context == FAULT_CTX_INIT ? "load refused" : "swap rolled back");
	return true;
}

/* at_once: in the faulting context, where nothing may sleep (no backoff; apply). */
static void recover_cell(struct faults_entry *e, bool at_once)
{
	if (not_live(e))
		return;
	if (e->action[0]) {	/* recovered at once (faults_recover_now); the ended task's restart owed */
		restart_same_incident(e);
		return;
	}
	struct manifest_recovery rec;
	struct faults_cell c;
	char rec_name[64];
	uint32_t version;
	uint64_t window, wait;
	enum manifest_policy p;
	int err;

	if (faults_policy(e->r.cell, &rec, &version, &window)) {
		snprintf(e->action, sizeof(e->action), "none: %s is no longer loaded", e->r.cell);
		snprintf(e->outcome, sizeof(e->outcome), "cell gone");
		restart_ended(e);
		return;
	}
	if ((err = cell_state(e->r.cell, &c, rec_name, sizeof(rec_name)))) {
		snprintf(e->outcome, sizeof(e->outcome), "failed: %s", sdb_strerror(err));
		return;
	}
	if (c.attempts && e->r.time_ns < c.recovered_ns) {
		snprintf(e->action, sizeof(e->action), "none: part of the recovery before");
		snprintf(e->outcome, sizeof(e->outcome), "recovered");
		restart_same_incident(e);
		return;
	}
	p = escalate(&c, &rec, window ? window : FAULTS_WINDOW_MS, e->r.time_ns);
	if (rec.tries && c.attempts > rec.tries)
		c.failed = 1;
	sdb_put("faults", rec_name, FAULTS_CELL_TYPE, FAULTS_LAYOUT, &c, sizeof(c));
	if (c.failed) {
		snprintf(e->action, sizeof(e->action), "none: %s@%u gave up after %u tries", e->r.cell,
			 version, rec.tries);
		snprintf(e->outcome, sizeof(e->outcome), "cell failed");
		restart_ended(e);
		return;
	}
	if (!at_once && (wait = backoff_ms(&rec, c.attempts))) {
		uint64_t t0 = time_ns();

		task_sleep_ms(wait);
		e->backoff_ns = time_ns() - t0;
	}
	/*
	 * Faults detected from here on are new: the action may make the cell run
	 * again (a restarted task) before this task gets the CPU back.
	 */
	c.recovered_ns = time_ns();
	sdb_put("faults", rec_name, FAULTS_CELL_TYPE, FAULTS_LAYOUT, &c, sizeof(c));
	apply(e, p, &rec, version, at_once);
	restart_ended(e);
}

/* Takes the oldest fault not yet dealt with, or returns false. */
static bool next_pending(struct faults_entry *e)
{
	struct faults_log log;
	uint64_t flags = irq_save();
	bool found = false;

	if (faults_log_get(&log) == 0)
		while (!found && log.done < log.count) {
			uint32_t seq = ++log.done;

			found = faults_entry_get(seq, e) == 0 && e->state == FAULT_PENDING;
			faults_log_put(&log);
		}
	irq_restore(flags);
	return found;
}

/*
 * Recovers fault e (taken from the log) and records what was done. owed:
 * it stays pending, for the recovery task to finish (faults_recover_now).
 */
static void recover_entry(struct faults_entry *e, bool at_once, bool owed)
{
	e->backoff_ns = 0;
	faults_recover(e, at_once);
	if (at_once) {
		size_t len = strlen(e->action);

		snprintf(e->action + len, sizeof(e->action) - len, "; at once");
	}
	e->recover_ns = time_ns() - e->r.time_ns;
	e->state = owed ? FAULT_PENDING : FAULT_DONE;
	faults_entry_put(e);
	klog(LOG_INFO, "faults: #%u %s: %s after %lu us (%lu us of backoff)", e->seq, e->action, e->outcome,
	     e->recover_ns / 1000, e->backoff_ns / 1000);
}

int faults_main(uint64_t arg)
{
	struct faults_entry *e = kmalloc(sizeof(*e));

	(void)arg;
	if (!e) {
		klog(LOG_ERR, "faults: the recovery task has no memory; faults are only logged");
		return -1;
	}
	for (;;) {
		uint64_t flags = irq_save();
		struct faults_log log;

		if (faults_log_get(&log) == 0 && log.done >= log.count)
			task_wait(FAULTS_CHANNEL);
		irq_restore(flags);
		while (next_pending(e))
			recover_entry(e, false, false);
	}
}

/*
 * The faults logged so far, recovered in the calling context (nano_core's
 * slot OPS_FAULT_RECOVER_NOW): the cell that switches tasks faulted, and the
 * recovery task may never get the CPU until it is recovered. Interrupts off.
 *
 * A fault that ended the calling task (parked: its end faulted) cannot have
 * that task restarted from inside it; it ends once the cell is recovered.
 * Its fault and those after it are given back to the recovery task, which
 * finds the cell recovered (part of the recovery before) and restarts the
 * ended task by its cell's policy.
 */
int faults_recover_now(uint64_t unused)
{
	struct faults_entry e;
	struct faults_log log;
	int64_t self = task_self();
	uint32_t owed = 0;
	int n = 0;

	(void)unused;
	while (next_pending(&e)) {
		bool mine = e.r.context == FAULT_CTX_TASK && e.task > 0 && e.task == self;

		recover_entry(&e, true, mine);
		if (mine && !owed)
			owed = e.seq;
		n++;
	}
	if (owed && faults_log_get(&log) == 0) {
		log.done = owed - 1;
		faults_log_put(&log);
		task_notify(FAULTS_CHANNEL);
	}
	return n;
}
