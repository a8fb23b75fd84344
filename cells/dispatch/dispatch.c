/*
 * dispatch@1: routes IRQs and named events to cellrefs kept in state_db.
 * The cell keeps nothing itself; a route survives the swap of the driver it
 * points at (resolved by name on every interrupt) and of this cell.
 *
 * The hot path: record "dispatch/hot" (layout 1, struct hot) holds the
 * handles of every line's route and of the events subscribed to, so an
 * interrupt and a post look no record up by name; its own handle is the
 * data word of the OPS_IRQ_ROUTE slot, which outlives swaps of this cell.
 * A handle that is missing or stale (its record was deleted, or written in
 * a transaction that had not committed when it was opened) only sends the
 * call the slow way, by name.
 */
#include <delos/cell.h>
#include <delos/cellref.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/trap.h>
#include <delos/dispatch.h>
#include <delos/irqflags.h>

#define ROUTE_TYPE 0x44495251u	/* "DIRQ" */
#define EVENT_TYPE 0x44455654u	/* "DEVT" */
#define LAYOUT 1
#define ROUTE_LAYOUT 2

struct subscribers {
	uint32_t count;
	struct cellref refs[DISPATCH_SUBSCRIBERS];
};

#define HOT_RECORD "dispatch/hot"
#define HOT_TYPE   0x44484f54u	/* "DHOT" */
#define HOT_EVENTS 8

struct hot {
	statedb_handle line[IRQ_LINES];
	struct {
		char name[DISPATCH_EVENT_MAX + 1];	/* "" when free */
		statedb_handle h;
	} ev[HOT_EVENTS];
};

/*
 * Whether a hot entry's name (its buffer of DISPATCH_EVENT_MAX + 1 bytes)
 * is event: inline and bounded by the buffer, for the tick's post.
 */
static bool is_event(const char *name, const char *event)
{
	for (size_t i = 0; i <= DISPATCH_EVENT_MAX; i++) {
		if (name[i] != event[i])
			return false;
		if (!name[i])
			return true;
	}
	return false;
}

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

static const struct hot *hot_view(void)
{
	const void *p;
	uint32_t version = 0;

	if (sdb_hview(ops_data(OPS_IRQ_ROUTE), &p, &version) != (int)sizeof(struct hot) ||
	    version != LAYOUT)
		return NULL;
	return p;
}

/*
 * Opens name's handle and keeps it in the hot record, as line irq's route
 * or (event not NULL) as event's subscribers. Opening verifies the record;
 * with a handle, its reads skip the checksum (include/delos/state_db.h,
 * "The hot path").
 */
static void make_hot(const char *name, uint64_t irq, const char *event)
{
	const struct hot *v = hot_view();
	statedb_handle h;
	struct hot hot;
	int at = -1;

	if (sdb_hopen(name, 0, &h) || !v)
		return;
	hot = *v;
	if (!event) {
		hot.line[irq] = h;
	} else {
		for (int i = 0; i < HOT_EVENTS; i++) {
			if (is_event(hot.ev[i].name, event)) {
				at = i;
				break;
			}
			if (at < 0 && !hot.ev[i].name[0])
				at = i;	/* the first free one, unless event has one further on */
		}
		if (at < 0)
			return;	/* more events than room: this one goes by name */
		memcpy(hot.ev[at].name, event, strlen(event) + 1);
		hot.ev[at].h = h;
	}
	sdb_hstore(ops_data(OPS_IRQ_ROUTE), &hot, sizeof(hot));
}

/* The handle kept for event, or 0. */
static statedb_handle event_handle(const char *event)
{
	const struct hot *v = hot_view();

	for (int i = 0; v && i < HOT_EVENTS; i++)
		if (is_event(v->ev[i].name, event))
			return v->ev[i].h;
	return 0;
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
		make_hot(name, irq, NULL);
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

/* Line irq's route through its handle, or by name. */
static int route_of(uint64_t irq, struct dispatch_route *r)
{
	const struct hot *v = hot_view();
	const void *data;
	char name[32];
	uint32_t version;

	if (v && sdb_hview(v->line[irq], &data, &version) == (int)sizeof(*r) && version == ROUTE_LAYOUT) {
		*r = *(const struct dispatch_route *)data;
		return 0;
	}
	irq_record(irq, name);
	if (sdb_view(name, &data, NULL) != (int)sizeof(*r))
		return -1;
	*r = *(const struct dispatch_route *)data;
	return 0;
}

int dispatch_irq(uint64_t irq)
{
	struct dispatch_route r;
	int result;

	if (irq >= IRQ_LINES || route_of(irq, &r) || cellref_call(&r.ref, r.arg, &result))
		return -1;
	return result;
}

/*
 * Copies the subscribers in use of the record h names into *s (its count
 * and that many cellrefs: an event has a few, the record room for
 * DISPATCH_SUBSCRIBERS), from the record in place with interrupts off;
 * -1 if h is stale or the record is not a subscriber list.
 */
static int copy_subscribers(statedb_handle h, struct subscribers *s)
{
	uint64_t flags = irq_save();
	const struct subscribers *v;
	const void *data;
	uint32_t version = 0;
	int n = sdb_hview(h, &data, &version);

	if (n != (int)sizeof(*s) || version != LAYOUT) {
		irq_restore(flags);
		return -1;
	}
	v = data;
	s->count = v->count < DISPATCH_SUBSCRIBERS ? v->count : DISPATCH_SUBSCRIBERS;
	memcpy(s->refs, v->refs, s->count * sizeof(s->refs[0]));
	irq_restore(flags);
	return 0;
}

/*
 * Reads event's subscribers into *s (none if it has no record), through its
 * handle if it has one; fills name with its record's name unless it is
 * NULL (then only a read by name builds it).
 */
static int read_subscribers(const char *event, char *name, struct subscribers *s)
{
	char own[48];
	statedb_handle h;
	int n;

	if (!name && (h = event_handle(event)) && copy_subscribers(h, s) == 0)
		return 0;	/* the tick's way: no name built, only the subscribers in use copied */
	if (!name)
		name = own;
	if (!event_record(event, name))
		return -1;
	if ((h = event_handle(event)) && sdb_hget(h, s, sizeof(*s)) == (int)sizeof(*s))
		return 0;
	memset(s, 0, sizeof(*s));
	n = sdb_get(name, s, sizeof(*s), NULL);
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
		make_hot(name, 0, event);
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
	int took = 0;

	if (read_subscribers(event, NULL, &s))
		return -1;
	for (uint32_t i = 0; i < s.count; i++) {
		int result;
		took += cellref_call(&s.refs[i], arg, &result) == 0 && result >= 0;
	}
	return took;
}

/* nano_core routes every IRQ it has no handler for here (ops slot irq_route). */
/*
 * Opens name again (which verifies it, as a new version of this cell takes
 * it over) into *h; a record gone leaves 0. Returns 0, or the error of a
 * record that cannot be opened, having logged it.
 */
static int reopen(const char *name, statedb_handle *h)
{
	int err = sdb_hopen(name, 0, h);

	if (err == STATEDB_E_NOT_FOUND)
		return 0;
	if (err)
		klog(LOG_ERR, "dispatch: record '%s': %s; refusing to start", name, sdb_strerror(err));
	return err;
}

/* Verifies every route and subscriber record hot view v names, into *hot with their handles. */
static int hot_reopened(const struct hot *v, struct hot *hot)
{
	char name[48];
	int err = 0;

	if (!v)
		return STATEDB_E_CORRUPT;
	*hot = *v;
	for (uint64_t i = 0; i < IRQ_LINES && !err; i++) {
		hot->line[i] = 0;
		irq_record(i, name);
		err = reopen(name, &hot->line[i]);
	}
	for (int i = 0; i < HOT_EVENTS && !err; i++) {
		hot->ev[i].h = 0;
		if (hot->ev[i].name[0] && event_record(hot->ev[i].name, name))
			err = reopen(name, &hot->ev[i].h);
	}
	return err;
}

/* Verifies every route and subscriber record the hot record names, refreshing their handles. */
static int take_over_hot(statedb_handle hot_h)
{
	struct hot hot;
	int err = hot_reopened(hot_view(), &hot);

	return err ? err : sdb_hstore(hot_h, &hot, sizeof(hot));
}

/*
 * Takes the hot record over (opening verifies it, and every record it
 * names) or makes an empty one, and keeps its handle in the slot. Returns 0,
 * or the error of a corrupt record (then this version refuses to start).
 * Without the hot record everything goes by name.
 */
static int open_hot(void)
{
	struct hot empty;
	statedb_handle h;
	int err = sdb_hopen(HOT_RECORD, 0, &h);

	if (err == STATEDB_E_NOT_FOUND) {
		memset(&empty, 0, sizeof(empty));
		err = sdb_create("dispatch", HOT_RECORD, HOT_TYPE, LAYOUT, &empty, sizeof(empty));
		if (err == 0)
			err = sdb_hopen(HOT_RECORD, 0, &h);
	}
	if (err == 0 && ops_set_data(OPS_IRQ_ROUTE, "dispatch", h))
		err = STATEDB_E_INVAL;
	if (err == 0)
		return take_over_hot(h);
	klog(LOG_ERR, "dispatch: record '%s': %s; refusing to start", HOT_RECORD, sdb_strerror(err));
	return err;
}

int cell_init(void)
{
	int err = ops_register(OPS_IRQ_ROUTE, "dispatch", "dispatch_irq", OPS_TYPE_IRQ_ROUTE);

	if (!err && (err = open_hot()))
		ops_unregister(OPS_IRQ_ROUTE, "dispatch");
	if (!err)
		klog(LOG_INFO, "dispatch: routing IRQs and events through state_db");
	return err;
}

int cell_swap_prepare(uint64_t old_version);
int cell_swap_in(uint64_t old_version);

/*
 * Before the world stops: the hot record and every record it names are
 * verified (opened again), as the swap-in hook would. When that leaves the
 * hot record as it is, in the slot the old version keeps, the store's
 * change count is kept: unchanged in the pause, there is nothing to redo.
 * Writes nothing.
 */
int cell_swap_prepare(uint64_t old_version)
{
	uint64_t before = sdb_changes();
	const struct hot *v;
	statedb_handle h;
	struct hot hot;
	int err;

	(void)old_version;
	if ((err = sdb_hopen(HOT_RECORD, 0, &h)) == STATEDB_E_NOT_FOUND)
		return 0;	/* the swap-in hook makes it */
	if (err) {
		klog(LOG_ERR, "dispatch: record '%s': %s; refusing to start", HOT_RECORD,
		     sdb_strerror(err));
		return err;
	}
	if ((err = hot_reopened(v = hot_view(), &hot)))
		return err;
	if (h == ops_data(OPS_IRQ_ROUTE) && !memcmp(&hot, v, sizeof(hot)) && sdb_changes() == before)
		cell_swap_keep(before);
	return 0;
}

/*
 * A new version takes the routes over: verified, as cell_init does, unless
 * its cell_swap_prepare did that and nothing in the store changed since.
 */
int cell_swap_in(uint64_t old_version)
{
	uint64_t at;

	(void)old_version;
	if (cell_swap_kept(&at) && at == sdb_changes())
		return ops_set_data(OPS_IRQ_ROUTE, "dispatch", ops_data(OPS_IRQ_ROUTE)) ? -1 : 0;
	return open_hot();
}

void cell_exit(void)
{
	ops_unregister(OPS_IRQ_ROUTE, "dispatch");
}
