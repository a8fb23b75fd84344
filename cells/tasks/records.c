/* Typed access to the tasks records (layouts in records.h). */
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
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

int rec_get(int64_t id, struct task_rec *r)
{
	char name[32];

	task_record_name(id, name);
	return get_fixed(name, r, sizeof(*r));
}

int rec_put(const struct task_rec *r)
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

int cpu_get(struct tasks_cpu *c)
{
	int err = get_fixed(TASKS_CPU_RECORD, c, sizeof(*c));

	return err == TASKS_E_NOT_FOUND ? TASKS_E_DOWN : err;
}

int cpu_put(const struct tasks_cpu *c)
{
	return put(TASKS_CPU_RECORD, TASKS_CPU_TYPE, c, sizeof(*c));
}

int table_get(struct tasks_table *t)
{
	int err = get_fixed(TASKS_TABLE_RECORD, t, sizeof(*t));

	return err == TASKS_E_NOT_FOUND ? TASKS_E_DOWN : err;
}

int table_put(const struct tasks_table *t)
{
	return put(TASKS_TABLE_RECORD, TASKS_TABLE_TYPE, t, sizeof(*t));
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
static int blocked_view(const struct tasks_blocked_entry **e, int *n)
{
	struct statedb_meta m;
	const void *data;
	int size = sdb_view(TASKS_BLOCKED_RECORD, &data, &m);

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
	if (add)
		out[m++] = *add;
	return put(TASKS_BLOCKED_RECORD, TASKS_BLOCKED_TYPE, out, (size_t)m * sizeof(out[0]));
}

int blocked_add(int64_t id, uint64_t wake_ns, const char *channel)
{
	struct tasks_blocked_entry add = { .id = id, .wake_ns = wake_ns };
	const struct tasks_blocked_entry *e;
	int n, err = blocked_view(&e, &n);

	if (err)
		return err;
	if (n == TASKS_MAX)
		return TASKS_E_FULL;
	if (channel)
		memcpy(add.channel, channel, strlen(channel) + 1);
	return blocked_rewrite(e, n, -1, &add);
}

int blocked_remove(int64_t id)
{
	const struct tasks_blocked_entry *e;
	int n, err = blocked_view(&e, &n);

	if (err)
		return err;
	for (int i = 0; i < n; i++)
		if (e[i].id == id)
			return blocked_rewrite(e, n, i, NULL);
	return TASKS_E_NOT_FOUND;
}

int blocked_due(uint64_t now_ns, const char *channel, int64_t *ids, int max)
{
	const struct tasks_blocked_entry *e;
	int n, found = 0, err = blocked_view(&e, &n);

	if (err)
		return err;
	for (int i = 0; i < n && found < max; i++) {
		bool due = channel ? !e[i].wake_ns && !strcmp(e[i].channel, channel)
				   : e[i].wake_ns && e[i].wake_ns <= now_ns;
		if (due)
			ids[found++] = e[i].id;
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
