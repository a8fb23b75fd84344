/* Reading the task table: tasks_list and tasks_stats. */
#include <delos/ctx.h>
#include <delos/ops.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/tasks/records.h"

struct id_set {
	int64_t ids[TASKS_MAX];
	int n;
};

/* Collects the ids of "task/ID" records, kept sorted. */
static bool collect_id(void *ctx, const struct statedb_meta *m)
{
	struct id_set *s = ctx;
	int64_t id = 0;
	const char *p = m->name + sizeof(TASK_RECORD_PREFIX) - 1;
	int i;

	if (!*p || s->n == TASKS_MAX)
		return s->n < TASKS_MAX;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return true;
		id = id * 10 + (*p - '0');
	}
	for (i = s->n++; i > 0 && s->ids[i - 1] > id; i--)
		s->ids[i] = s->ids[i - 1];
	s->ids[i] = id;
	return true;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	n = n < cap - 1 ? n : cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Fills *t from the record of task id, interrupts off; false if it is gone. */
static bool info_of(int64_t id, struct task_info *t)
{
	struct tasks_cpu cpu;
	struct task_rec r;

	if (rec_get(id, &r) || cpu_get(&cpu))
		return false;
	bool running = id == cpu.current;
	memset(t, 0, sizeof(*t));
	t->id = r.id;
	copy_str(t->name, sizeof(t->name), r.name);
	copy_str(t->state, sizeof(t->state), task_state_name(running ? TASK_RUNNING : r.state));
	copy_str(t->cell, sizeof(t->cell), r.entry.cell);
	copy_str(t->sym, sizeof(t->sym), r.entry.sym);
	t->runs = r.runs + running;
	t->cpu_ticks = r.cpu_ticks + (running ? turn_ticks(&cpu) : 0);
	if (!running && r.saved_rsp) {	/* the running task's rsp is live, not saved */
		t->saved_rsp = r.saved_rsp;
		t->saved_rip = *(const uint64_t *)(r.saved_rsp + CTX_FRAME_RET_OFFSET);
	}
	t->stack_lo = r.stack_lo;
	t->stack_hi = r.stack_hi;
	t->prio = r.prio;
	return true;
}

int tasks_list(void (*fn)(void *ctx, const struct task_info *t), void *ctx)
{
	struct id_set s = { .n = 0 };
	struct task_info t;
	int shown = 0;

	if (!fn)
		return TASKS_E_INVAL;
	if (sdb_list(TASK_RECORD_PREFIX, collect_id, &s) < 0)
		return TASKS_E_STATE;
	for (int i = 0; i < s.n; i++) {
		uint64_t flags = irq_save();
		tasks_finish_switch();	/* so that the last task switched away shows its rsp */
		bool ok = info_of(s.ids[i], &t);
		irq_restore(flags);
		if (ok) {
			fn(ctx, &t);
			shown++;
		}
	}
	return shown;
}

int tasks_info(int64_t id, struct task_info *t)
{
	uint64_t flags;
	bool ok;

	if (!t)
		return TASKS_E_INVAL;
	flags = irq_save();
	tasks_finish_switch();
	ok = info_of(id, t);
	irq_restore(flags);
	return ok ? 0 : TASKS_E_NOT_FOUND;
}

int tasks_stats(struct tasks_stats *st)
{
	struct tasks_table t;
	struct tasks_cpu cpu;
	uint64_t flags;
	int err;

	if (!st)
		return TASKS_E_INVAL;
	flags = irq_save();
	if ((err = cpu_get(&cpu)) == 0 && (err = table_get(&t)) == 0) {
		st->switches = cpu.switches;
		st->ticks = cpu.ticks;
		st->idle_ticks = idle_ticks(&cpu);
		st->live = t.live;
		st->current = cpu.current;
	}
	irq_restore(flags);
	return err;
}

/* Walks one task's stack for tasks_inside; reports it if it is inside a range. */
static int check_one(const struct ops_inside_query *q, const struct task_rec *r, bool self)
{
	struct ops_task_inside t;
	uint64_t at;
	int range;

	if (self)
		range = ctx_frames_inside(q->ranges, q->n, q->self_rip, q->self_rbp, r->stack_lo,
					  r->stack_hi, &at);
	else if (r->saved_rsp)
		range = ctx_frames_inside(q->ranges, q->n, 0, r->saved_rsp + 8 * CTX_RBP,
					  r->stack_lo, r->stack_hi, &at);
	else
		return 0;
	if (range < 0)
		return 0;
	t = (struct ops_task_inside){
		.id = r->id, .name = r->name, .entry_cell = r->entry.cell,
		.blocked = r->state == TASK_SLEEPING || r->state == TASK_WAITING,
		.self = self, .range = (size_t)range, .at = at,
	};
	q->found(q->ctx, &t);
	return 1;
}

/*
 * OPS_TASKS_INSIDE (include/delos/ops.h), with the world stopped: every
 * task through the handles in tasks/table, no record looked up by name.
 * Nothing writes while the world is stopped, so the table is read in
 * place (a copy only when it has no handle).
 */
int tasks_inside(struct ops_inside_query *q)
{
	const struct tasks_cpu *cv;
	const struct tasks_table *tv;
	struct tasks_table t;
	struct tasks_cpu cpu;
	const struct task_rec *v;
	struct task_rec r;
	statedb_handle h;
	int found = 0;

	if (!q || !q->found)
		return TASKS_E_INVAL;
	tasks_finish_switch();	/* the last task switched away gets its rsp */
	if (cpu_get_view(&cpu, &cv))
		return TASKS_E_STATE;
	if (!(tv = table_view_of(cv))) {
		if (table_get(&t))
			return TASKS_E_STATE;
		tv = &t;
	}
	for (int i = 0; i < TASKS_MAX; i++) {
		if (tv->slot[i].id < 0)
			continue;
		if (rec_view_in(tv, tv->slot[i].id, &v, &h)) {	/* no handle: by name */
			if (rec_hget(tv->slot[i].h, tv->slot[i].id, &r))
				continue;
			v = &r;
		}
		found += check_one(q, v, v->id == cpu.current);
	}
	return found;
}
