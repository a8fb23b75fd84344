/*
 * dispatch@1: routes IRQs and named events to cellrefs kept in state_db.
 * The cell keeps nothing itself; a route survives the swap of the driver it
 * points at (resolved by name on every interrupt) and of this cell.
 */
#include <delos/cell.h>
#include <delos/cellref.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/trap.h>
#include <delos/dispatch.h>

#define ROUTE_TYPE 0x44495251u	/* "DIRQ" */
#define EVENT_TYPE 0x44455654u	/* "DEVT" */
#define LAYOUT 1
#define ROUTE_LAYOUT 2

struct subscribers {
	uint32_t count;
	struct cellref refs[DISPATCH_SUBSCRIBERS];
};

#define IRQ_PREFIX "dispatch/irq/"
#define EV_PREFIX  "dispatch/ev/"

/* Record names are built on every interrupt: by hand, not with snprintf. */
static void irq_record(uint64_t irq, char *name)
{
	size_t at = sizeof(IRQ_PREFIX) - 1;

	memcpy(name, IRQ_PREFIX, at);
	if (irq >= 10)
		name[at++] = (char)('0' + irq / 10 % 10);
	name[at++] = (char)('0' + irq % 10);
	name[at] = '\0';
}

static bool event_record(const char *event, char *name)
{
	size_t n = event ? strlen(event) : 0;

	if (n == 0 || n > DISPATCH_EVENT_MAX)
		return false;
	memcpy(name, EV_PREFIX, sizeof(EV_PREFIX) - 1);
	memcpy(name + sizeof(EV_PREFIX) - 1, event, n + 1);
	return true;
}

/*
 * Routes are read on every interrupt: with a handle, their reads skip the
 * checksum (include/delos/state_db.h, "The hot path"); opening verifies.
 * The handle only makes reads cheaper: a route written inside a transaction
 * (a swap-in hook's) is not in the committed store yet, so it cannot have
 * one until it is routed again, and the route works without.
 */
static void make_hot(const char *name)
{
	statedb_handle h;

	(void)sdb_hopen(name, 0, &h);
}

int dispatch_route_arg(uint64_t irq, const char *cell, const char *sym, uint64_t arg)
{
	struct dispatch_route r = { .arg = arg };
	char name[32];
	int err;

	if (irq >= IRQ_LINES || !cellref_make(&r.ref, cell, sym))
		return -1;
	irq_record(irq, name);
	err = sdb_put("dispatch", name, ROUTE_TYPE, ROUTE_LAYOUT, &r, sizeof(r));
	if (err == 0) {
		make_hot(name);
		irq_unmask(irq);
	}
	return err;
}

int dispatch_route(uint64_t irq, const char *cell, const char *sym)
{
	return dispatch_route_arg(irq, cell, sym, irq);
}

int dispatch_unroute(uint64_t irq)
{
	char name[32];

	if (irq >= IRQ_LINES)
		return -1;
	irq_mask(irq);
	irq_record(irq, name);
	return sdb_delete(name);
}

int dispatch_irq(uint64_t irq)
{
	const void *data;
	char name[32];
	int result;

	irq_record(irq, name);
	if (sdb_view(name, &data, NULL) != (int)sizeof(struct dispatch_route))
		return -1;
	struct dispatch_route r = *(const struct dispatch_route *)data;
	if (cellref_call(&r.ref, r.arg, &result))
		return -1;
	return result;
}

static int read_subscribers(const char *event, char *name, struct subscribers *s)
{
	memset(s, 0, sizeof(*s));
	if (!event_record(event, name))
		return -1;
	int n = sdb_get(name, s, sizeof(*s), NULL);
	if (n == STATEDB_E_NOT_FOUND)
		return 0;
	return n == (int)sizeof(*s) ? 0 : -1;
}

int dispatch_subscribe(const char *event, const char *cell, const char *sym)
{
	struct subscribers s;
	struct cellref r;
	char name[48];

	if (!cellref_make(&r, cell, sym) || read_subscribers(event, name, &s))
		return -1;
	for (uint32_t i = 0; i < s.count; i++)
		if (!memcmp(&s.refs[i], &r, sizeof(r)))
			return 0;
	if (s.count == DISPATCH_SUBSCRIBERS)
		return -1;
	s.refs[s.count++] = r;
	int err = sdb_put("dispatch", name, EVENT_TYPE, LAYOUT, &s, sizeof(s));

	if (!err)
		make_hot(name);
	return err;
}

int dispatch_unsubscribe(const char *event, const char *cell, const char *sym)
{
	struct subscribers s;
	struct cellref r;
	char name[48];

	if (!cellref_make(&r, cell, sym) || read_subscribers(event, name, &s))
		return -1;
	for (uint32_t i = 0; i < s.count; i++) {
		if (memcmp(&s.refs[i], &r, sizeof(r)))
			continue;
		s.refs[i] = s.refs[--s.count];
		return sdb_put("dispatch", name, EVENT_TYPE, LAYOUT, &s, sizeof(s));
	}
	return -1;
}

int dispatch_post(const char *event, uint64_t arg)
{
	struct subscribers s;
	char name[48];
	int took = 0;

	if (read_subscribers(event, name, &s))
		return -1;
	for (uint32_t i = 0; i < s.count; i++) {
		int result;
		took += cellref_call(&s.refs[i], arg, &result) == 0 && result >= 0;
	}
	return took;
}

/* nano_core routes every IRQ it has no handler for here (ops slot irq_route). */
int cell_init(void)
{
	int err = ops_register(OPS_IRQ_ROUTE, "dispatch", "dispatch_irq", OPS_TYPE_IRQ_ROUTE);

	if (!err)
		klog(LOG_INFO, "dispatch: routing IRQs and events through state_db");
	return err;
}

void cell_exit(void)
{
	ops_unregister(OPS_IRQ_ROUTE, "dispatch");
}
