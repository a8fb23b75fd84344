/*
 * timer@1: the periodic tick. The PIT is programmed here (hardware state,
 * reprogrammed identically by every version); the tick count is in state_db.
 */
#include <delos/cell.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/dispatch.h>
#include <delos/timer.h>
#include "hal/io.h"
#include "hal/pit.h"

#define PIT_CH0      0x40
#define PIT_COMMAND  0x43
#define PIT_CH0_RATE 0x34    /* channel 0, lobyte/hibyte, mode 2 (rate generator), binary */
#define PIT_LINE     0

int cell_swap_in(uint64_t old_version);

static int read_state(struct timer_state *st)
{
	struct statedb_meta m;
	int n = sdb_get(TIMER_RECORD, st, sizeof(*st), &m);

	if (n == (int)sizeof(*st) && m.version == TIMER_LAYOUT)
		return 0;
	return n < 0 ? n : STATEDB_E_CORRUPT;
}

uint64_t timer_ticks(void)
{
	struct timer_state st;

	return read_state(&st) ? 0 : st.ticks;
}

uint64_t timer_hz(void)
{
	return TIMER_HZ;
}

/*
 * The tick through the record's handle h (the route's word, from
 * take_over): the count read in place and its 8 bytes written in place.
 * False if h does not name a timer record (then the caller goes by name).
 */
static bool tick_in_place(statedb_handle h, uint64_t *ticks)
{
	const void *p;
	uint32_t version = 0;

	if (sdb_hview(h, &p, &version) != (int)sizeof(struct timer_state) || version != TIMER_LAYOUT)
		return false;
	*ticks = ((const struct timer_state *)p)->ticks + 1;
	return sdb_hwrite(h, offsetof(struct timer_state, ticks), ticks, sizeof(*ticks)) == 0;
}

int timer_irq(uint64_t h)
{
	struct timer_state st;

	if (!tick_in_place(h, &st.ticks)) {
		if (read_state(&st))
			return -1;
		st.ticks++;
		if (sdb_update(TIMER_RECORD, TIMER_LAYOUT, &st, sizeof(st)))
			return -1;
	}
	if (st.ticks % SDB_SCRUB_EVERY == 0)
		sdb_scrub(SDB_SCRUB_BYTES);	/* state_db's background check (include/delos/sdb.h) */
	dispatch_post(TIMER_EVENT, st.ticks);
	return 0;
}

static void pit_start(uint32_t hz)
{
	uint32_t divisor = (PIT_HZ + hz / 2) / hz;

	hal_outb(PIT_COMMAND, PIT_CH0_RATE);
	hal_outb(PIT_CH0, divisor & 0xff);
	hal_outb(PIT_CH0, (divisor >> 8) & 0xff);
}

/* Keeps the count of an earlier timer cell, starts one otherwise; the tick is the PIT's. */
static int adopt_or_create(uint32_t *old_line)
{
	struct timer_state st = { .ticks = 0, .hz = TIMER_HZ, .line = PIT_LINE };
	statedb_handle h;
	/* Opening verifies it: with a handle, its reads do not. */
	int err = sdb_hopen(TIMER_RECORD, 0, &h);

	if (err == 0 || err == STATEDB_E_NOT_FOUND)
		err = read_state(&st);

	*old_line = PIT_LINE;
	if (err == 0) {
		*old_line = st.line;
		st.hz = TIMER_HZ;
		st.line = PIT_LINE;
		return sdb_update(TIMER_RECORD, TIMER_LAYOUT, &st, sizeof(st));
	}
	if (err != STATEDB_E_NOT_FOUND) {
		klog(LOG_ERR, "timer: record '%s': %s; refusing to start", TIMER_RECORD,
		     err == STATEDB_E_CORRUPT ? "wrong size or layout" : sdb_strerror(err));
		return err;
	}
	st.line = PIT_LINE;
	return sdb_create("timer", TIMER_RECORD, TIMER_TYPE, TIMER_LAYOUT, &st, sizeof(st));
}

/*
 * Takes the tick over: from another timer cell if one had it, else from
 * nothing. A PIT already ticking for an earlier timer@1 (a swap of timer@1
 * for itself) is left running: reprogramming it would restart its period
 * and make the next tick up to a period late.
 */
static int take_over(bool swapping)
{
	statedb_handle h;
	uint32_t old_line;
	int err = adopt_or_create(&old_line);

	/* Written at every tick: with a handle, in place. */
	if (err || (err = sdb_hopen(TIMER_RECORD, 0, &h)))
		return err;
	if (!swapping || old_line != PIT_LINE)
		pit_start(TIMER_HZ);
	if ((err = dispatch_route_arg(PIT_LINE, "timer", "timer_irq", h))) {
		klog(LOG_ERR, "timer: cannot route IRQ 0: %d", err);
		return err;
	}
	if (old_line != PIT_LINE)
		dispatch_unroute(old_line);
	klog(LOG_INFO, "timer: PIT channel 0 at %u Hz, tick %lu%s", TIMER_HZ, timer_ticks(),
	     old_line != PIT_LINE ? " (taken over from another timer's line)" : "");
	return 0;
}

int cell_init(void)
{
	return take_over(false);
}

int cell_swap_in(uint64_t old_version)
{
	(void)old_version;
	return take_over(true);
}

void cell_exit(void)
{
	struct timer_state st;

	if (read_state(&st) == 0 && st.line == PIT_LINE)
		dispatch_unroute(PIT_LINE);
}
