/* Typed access to the tasks records (layouts in records.h). */
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/sched.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "metamodules/hot_write.h"
#include "cells/tasks/records.h"

#define OWNER "tasks"

/* "task/ID", without snprintf: it is built on every switch. */
static void task_record_name(int64_t id, char name[32])
{
	char digits[24];
	size_t n = 0, at = sizeof(TASK_RECORD_PREFIX) - 1;
	uint64_t v = id < 0 ? 0 - (uint64_t)id : (uint64_t)id;

	memcpy(name, TASK_RECORD_PREFIX, at);
	if (id < 0)
		name[at++] = '-';
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		name[at++] = digits[--n];
	name[at] = '\0';
}

/* Reads a fixed-size record of layout TASKS_LAYOUT; complains once per failure. */
static int get_fixed(const char *name, void *buf, size_t size)
{
	struct statedb_meta m;
	int n = sdb_get(name, buf, size, &m);

	if (n == STATEDB_E_NOT_FOUND)
		return TASKS_E_NOT_FOUND;
	if (n == (int)size && m.version == TASKS_LAYOUT)
		return 0;
	klog(LOG_ERR, "tasks: record '%s': %s", name,
	     n < 0 ? sdb_strerror(n) : "wrong size or layout version");
	return TASKS_E_STATE;
}

static int put(const char *name, uint32_t type, const void *buf, size_t size)
{
	int err = sdb_put(OWNER, name, type, TASKS_LAYOUT, buf, size);

	if (err)
		klog(LOG_ERR, "tasks: cannot write record '%s': %s", name, sdb_strerror(err));
	return err == STATEDB_E_NOMEM ? TASKS_E_NOMEM : err ? TASKS_E_STATE : 0;
}

static int rec_get_named(int64_t id, struct task_rec *r)
{
	char name[32];

	task_record_name(id, name);
	return get_fixed(name, r, sizeof(*r));
}

static int rec_put_named(const struct task_rec *r)
{
	char name[32];

	task_record_name(r->id, name);
	return put(name, TASK_TYPE, r, sizeof(*r));
}

int rec_create(const struct task_rec *r, statedb_handle *h)
{
	char name[32];
	int err;

	task_record_name(r->id, name);
	err = sdb_create(OWNER, name, TASK_TYPE, TASKS_LAYOUT, r, sizeof(*r));
	if (err == 0 && (err = sdb_hopen(name, 0, h)))	/* in place from now on */
		sdb_delete(name);
	if (err)
		klog(LOG_ERR, "tasks: cannot create record '%s': %s", name, sdb_strerror(err));
	return err == STATEDB_E_NOMEM ? TASKS_E_NOMEM : err ? TASKS_E_STATE : 0;
}

int rec_hget(statedb_handle h, int64_t id, struct task_rec *r)
{
	if (sdb_hget(h, r, sizeof(*r)) == (int)sizeof(*r) && r->id == id)
		return 0;
	return rec_get(id, r);
}

int rec_delete(int64_t id)
{
	char name[32];

	task_record_name(id, name);
	return sdb_delete(name) ? TASKS_E_NOT_FOUND : 0;
}

/*
 * The hot path: every record the switch and the tick touch is reached
 * through its handle (the CPU record's in the ops slot, the others in the
 * CPU record), read in place and written back with only the bytes that
 * changed (sdb_hstore). By name only when a handle is missing or stale:
 * while cell_init opens them, or after a record was made again.
 */
static statedb_handle cpu_handle(void)
{
	return ops_data(OPS_TASKS_INSIDE);
}

/* Points *p at a fixed-size record of layout TASKS_LAYOUT through h; -1 if it cannot. */
static int view_fixed(statedb_handle h, const void **p, size_t size)
{
	uint32_t version = 0;

	if (!h || sdb_hview(h, p, &version) != (int)size || version != TASKS_LAYOUT)
		return -1;
	return 0;
}

const struct tasks_cpu *cpu_view(void)
{
	const void *p;

	return view_fixed(cpu_handle(), &p, sizeof(struct tasks_cpu)) ? NULL : p;
}

int cpu_get(struct tasks_cpu *c)
{
	return cpu_get_view(c, NULL);
}

int cpu_get_view(struct tasks_cpu *c, const struct tasks_cpu **view)
{
	const struct tasks_cpu *v = cpu_view();
	int err;

	if (view)
		*view = v;
	if (v) {
		memcpy(c, v, sizeof(*c));
		return 0;
	}
	err = get_fixed(TASKS_CPU_RECORD, c, sizeof(*c));
	return err == TASKS_E_NOT_FOUND ? TASKS_E_DOWN : err;
}

int cpu_put(const struct tasks_cpu *c)
{
	return cpu_put_over(cpu_view(), c);
}

int cpu_put_policy_down(uint32_t down)
{
	uint64_t flags = irq_save();	/* a tick between the read and the write would be lost */
	struct tasks_cpu cpu;
	int err = cpu_get(&cpu);

	if (err == 0) {
		cpu.policy_down = down;
		err = cpu_put(&cpu);
	}
	irq_restore(flags);
	return err;
}

int cpu_put_ticks(uint64_t ticks)
{
	return sdb_hwrite(cpu_handle(), offsetof(struct tasks_cpu, ticks), &ticks, sizeof(ticks)) ? TASKS_E_STATE : 0;
}

int cpu_put_over(const struct tasks_cpu *v, const struct tasks_cpu *c)
{
	_Static_assert(sizeof(*c) % 8 == 0, "tasks/current in whole words");

	if (v && hot_write_changed(cpu_handle(), 0, v, c, sizeof(*c)) == 0)
		return 0;
	return put(TASKS_CPU_RECORD, TASKS_CPU_TYPE, c, sizeof(*c));
}

const struct tasks_table *table_view_of(const struct tasks_cpu *c)
{
	const void *p;

	return c && !view_fixed(c->table_h, &p, sizeof(struct tasks_table)) ? p : NULL;
}

static const struct tasks_table *table_view(void)
{
	return table_view_of(cpu_view());
}

int table_get(struct tasks_table *t)
{
	const struct tasks_table *v = table_view();
	int err;

	if (v) {
		memcpy(t, v, sizeof(*t));
		return 0;
	}
	err = get_fixed(TASKS_TABLE_RECORD, t, sizeof(*t));
	return err == TASKS_E_NOT_FOUND ? TASKS_E_DOWN : err;
}

int table_put(const struct tasks_table *t)
{
	const struct tasks_cpu *c = cpu_view();

	if (c && c->table_h && sdb_hstore(c->table_h, t, sizeof(*t)) == 0)
		return 0;
	return put(TASKS_TABLE_RECORD, TASKS_TABLE_TYPE, t, sizeof(*t));
}

/* The handle of task id's record from tasks/table (t), or 0. */
static statedb_handle handle_in(const struct tasks_table *t, int64_t id)
{
	if (!t || id < 0)
		return 0;
	for (int k = 0; k < TASKS_MAX; k++) {
		const struct tasks_slot *s = &t->slot[(uint64_t)(id + k) % TASKS_MAX];

		if (s->id == id)
			return s->h;
	}
	return 0;
}

static statedb_handle task_handle(int64_t id)
{
	return handle_in(table_view(), id);
}

int rec_view_in(const struct tasks_table *t, int64_t id, const struct task_rec **r,
		statedb_handle *h)
{
	const void *p;

	*h = handle_in(t, id);
	if (view_fixed(*h, &p, sizeof(**r)) || ((const struct task_rec *)p)->id != id)
		return TASKS_E_NOT_FOUND;
	*r = p;
	return 0;
}

int rec_view(int64_t id, const struct task_rec **r, statedb_handle *h)
{
	return rec_view_in(table_view(), id, r, h);
}

int rec_put_hot(statedb_handle h, const struct task_hot *was, const struct task_hot *hot)
{
	_Static_assert(sizeof(*hot) % 8 == 0 && TASK_HOT_AT % 8 == 0, "hot fields in whole words");
	return hot_write_changed(h, TASK_HOT_AT, was, hot, sizeof(*hot)) ? TASKS_E_STATE : 0;
}

int rec_get(int64_t id, struct task_rec *r)
{
	const void *p;

	if (!view_fixed(task_handle(id), &p, sizeof(*r)) && ((const struct task_rec *)p)->id == id) {
		memcpy(r, p, sizeof(*r));
		return 0;
	}
	return rec_get_named(id, r);
}

int rec_put(const struct task_rec *r)
{
	statedb_handle h = task_handle(r->id);

	if (h && sdb_hstore(h, r, sizeof(*r)) == 0)
		return 0;
	return rec_put_named(r);
}

/* c->rq_h, opened again (in c and in the record) if it went stale. */
static statedb_handle rq_reopen(struct tasks_cpu *c)
{
	statedb_handle h;

	if (sdb_hopen(SCHED_RQ_RECORD, 0, &h))
		return c->rq_h;
	c->rq_h = h;
	cpu_put(c);
	return h;
}

statedb_handle tasks_rq(void)
{
	const struct tasks_cpu *c = cpu_view();
	struct tasks_cpu cpu;
	const void *p;
	uint32_t version;

	if (!c)
		return 0;
	if (sdb_hview(c->rq_h, &p, &version) >= 0)
		return c->rq_h;
	cpu = *c;	/* the policy made its record again: open it again */
	return rq_reopen(&cpu);
}

bool tasks_rq_empty(const struct tasks_cpu *c)
{
	const void *p;
	uint32_t version = 0;
	int n = sdb_hview(c->rq_h, &p, &version);

	return n >= (int)sizeof(struct sched_runqueue) && version == SCHED_RQ_LAYOUT &&
	       ((const struct sched_runqueue *)p)->count == 0;
}

statedb_handle tasks_rq_of(struct tasks_cpu *c, bool stale)
{
	return stale || !c->rq_h ? rq_reopen(c) : c->rq_h;
}

int tasks_open_handles(void)
{
	struct tasks_cpu cpu;
	statedb_handle h;
	int err;

	if ((err = sdb_hopen(TASKS_CPU_RECORD, 0, &h)) ||
	    (err = sdb_hopen(TASKS_TABLE_RECORD, 0, &cpu.table_h)))
		goto bad;
	err = sdb_create(OWNER, TASKS_BLOCKED_RECORD, TASKS_BLOCKED_TYPE, TASKS_LAYOUT, NULL, 0);
	if (err && err != STATEDB_E_EXISTS)
		goto bad;
	if ((err = sdb_hopen(TASKS_BLOCKED_RECORD, TASKS_MAX * sizeof(struct tasks_blocked_entry),
			     &cpu.blocked_h)))
		goto bad;
	if (sdb_hopen(SCHED_RQ_RECORD, 0, &cpu.rq_h))
		cpu.rq_h = 0;	/* no policy yet: tasks_rq opens it when there is one */
	{
		statedb_handle table_h = cpu.table_h, blocked_h = cpu.blocked_h, rq_h = cpu.rq_h;

		if ((err = get_fixed(TASKS_CPU_RECORD, &cpu, sizeof(cpu))))
			return err;
		cpu.table_h = table_h, cpu.blocked_h = blocked_h, cpu.rq_h = rq_h;
	}
	if ((err = put(TASKS_CPU_RECORD, TASKS_CPU_TYPE, &cpu, sizeof(cpu))))
		return err;
	/* A swap asks here whether a task is inside the cells it replaces (quiesce.c). */
	if (ops_register(OPS_TASKS_INSIDE, "tasks", "tasks_inside", OPS_TYPE_TASKS_INSIDE) ||
	    ops_set_data(OPS_TASKS_INSIDE, "tasks", h)) {
		klog(LOG_ERR, "tasks: cannot hold the tasks ops slot");
		return TASKS_E_STATE;
	}
	return 0;
bad:
	klog(LOG_ERR, "tasks: cannot open the hot records: %s", sdb_strerror(err));
	return TASKS_E_STATE;
}

void table_init(struct tasks_table *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < TASKS_MAX; i++)
		t->slot[i].id = -1;
}

int table_add(struct tasks_table *t, int64_t id, statedb_handle h)
{
	for (int k = 0; k < TASKS_MAX; k++) {
		struct tasks_slot *s = &t->slot[(uint64_t)(id + k) % TASKS_MAX];

		if (s->id < 0) {
			s->id = id;
			s->h = h;
			return 0;
		}
	}
	return TASKS_E_FULL;
}

void table_remove(struct tasks_table *t, int64_t id)
{
	for (int k = 0; k < TASKS_MAX; k++) {
		struct tasks_slot *s = &t->slot[(uint64_t)(id + k) % TASKS_MAX];

		if (s->id == id) {
			s->id = -1;
			s->h = 0;
			return;
		}
	}
}

/* The blocked list in place (read-only) and its length; 0 entries if absent. */
static int blocked_view(const struct tasks_cpu *c, const struct tasks_blocked_entry **e, int *n)
{
	if (!c)
		c = cpu_view();
	struct statedb_meta m;
	const void *data;
	int size = c ? sdb_hview(c->blocked_h, &data, &m.version) : STATEDB_E_STALE;

	if (size == STATEDB_E_STALE)
		size = sdb_view(TASKS_BLOCKED_RECORD, &data, &m);
	*e = data;
	*n = 0;
	if (size == STATEDB_E_NOT_FOUND)
		return 0;
	if (size < 0 || m.version != TASKS_LAYOUT || size % sizeof(**e) ||
	    size / sizeof(**e) > TASKS_MAX) {
		klog(LOG_ERR, "tasks: record '%s' is corrupt or of another layout", TASKS_BLOCKED_RECORD);
		return TASKS_E_STATE;
	}
	*n = size / (int)sizeof(**e);
	return 0;
}

/* Writes the list with entry `skip` left out (-1: none) and `add` appended (NULL: none). */
static int blocked_rewrite(const struct tasks_blocked_entry *e, int n, int skip,
			   const struct tasks_blocked_entry *add)
{
	struct tasks_blocked_entry out[TASKS_MAX];
	int m = 0;

	for (int i = 0; i < n; i++)
		if (i != skip)
			out[m++] = e[i];
	const struct tasks_cpu *c = cpu_view();

	if (add)
		out[m++] = *add;
	if (c && sdb_hupdate(c->blocked_h, out, (size_t)m * sizeof(out[0])) == 0)
		return 0;
	return put(TASKS_BLOCKED_RECORD, TASKS_BLOCKED_TYPE, out, (size_t)m * sizeof(out[0]));
}

/* Lowers tasks_cpu.wake_ns to a new sleeper's deadline. */
static int wake_by(uint64_t wake_ns)
{
	struct tasks_cpu cpu;
	int err = cpu_get(&cpu);

	if (err || wake_ns >= cpu.wake_ns)
		return err;
	cpu.wake_ns = wake_ns;
	return cpu_put(&cpu);
}

int blocked_add(int64_t id, uint64_t wake_ns, const char *channel)
{
	struct tasks_blocked_entry add = { .id = id, .wake_ns = wake_ns };
	const struct tasks_blocked_entry *e;
	int n, err = blocked_view(NULL, &e, &n);

	if (err)
		return err;
	if (n == TASKS_MAX)
		return TASKS_E_FULL;
	if (channel)
		memcpy(add.channel, channel, strlen(channel) + 1);
	if (wake_ns && (err = wake_by(wake_ns)))
		return err;
	return blocked_rewrite(e, n, -1, &add);
}

int blocked_remove(int64_t id)
{
	const struct tasks_blocked_entry *e;
	int n, err = blocked_view(NULL, &e, &n);

	if (err)
		return err;
	for (int i = 0; i < n; i++)
		if (e[i].id == id)
			return blocked_rewrite(e, n, i, NULL);
	return TASKS_E_NOT_FOUND;
}

int blocked_due(const struct tasks_cpu *c, uint64_t now_ns, const char *channel, int64_t *ids,
		int max, uint64_t *later)
{
	const struct tasks_blocked_entry *e;
	int n, found = 0, err = blocked_view(c, &e, &n);

	if (later)
		*later = UINT64_MAX;
	if (err)
		return err;
	for (int i = 0; i < n; i++) {
		bool due = channel ? !e[i].wake_ns && !strcmp(e[i].channel, channel)
				   : e[i].wake_ns && e[i].wake_ns <= now_ns;
		if (due && found < max)
			ids[found++] = e[i].id;
		else if (later && e[i].wake_ns && e[i].wake_ns < *later)
			*later = e[i].wake_ns;
	}
	return found;
}

const char *task_state_name(uint32_t state)
{
	static const char *const names[] = {
		[TASK_READY] = "ready", [TASK_RUNNING] = "running", [TASK_SLEEPING] = "sleeping",
		[TASK_WAITING] = "waiting", [TASK_EXITED] = "exited",
	};

	return state < sizeof(names) / sizeof(names[0]) && names[state] ? names[state] : "?";
}
