/*
 * apic_timer@1: the periodic tick from the local APIC timer, in TSC-deadline
 * mode where CPUID.1:ECX[24] says the CPU has it (each tick arms the next
 * deadline from a fixed origin, so deadlines never drift), in periodic mode
 * otherwise (its count calibrated against the TSC). It provides the timer
 * interface of cells/timer/timer.h with the same record and the same 100 Hz
 * tick, so `swap timer@1 apic_timer@1` and back keep the count going.
 *
 * Record "apic_timer/clock" (owner "apic_timer", layout 1): struct clock,
 * where the deadlines are counted from.
 */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/platform.h>
#include <delos/sdb.h>
#include <delos/time.h>
#include <delos/trap.h>
#include <delos/dispatch.h>
#include <delos/timer.h>
#include "hal/apic.h"
#include "hal/cpu.h"

#define CLOCK_RECORD "apic_timer/clock"
#define CLOCK_TYPE   0x4150434bu	/* "APCK" */
#define CLOCK_LAYOUT 1u
#define LINE         IRQ_LAPIC_TIMER
#define VECTOR       (IRQ_VECTOR_BASE + IRQ_LAPIC_TIMER)
#define CAL_US       250u		/* periodic mode: ~15,600 counts under QEMU, 64 ppm */

enum mode { MODE_PERIODIC = 1, MODE_DEADLINE = 2 };

struct clock {
	uint64_t origin_tsc;	/* TSC of tick origin_tick */
	uint64_t origin_tick;
	uint64_t period;	/* TSC cycles per tick (deadline) or APIC counts (periodic) */
	uint32_t mode;		/* enum mode */
	uint32_t reserved;
};

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

/* Arms the deadline of the tick after `ticks`, counted from the clock's origin. */
static void arm_next(const struct clock *c, uint64_t ticks)
{
	wrmsr(MSR_TSC_DEADLINE, c->origin_tsc + (ticks - c->origin_tick + 1) * c->period);
}

int timer_irq(uint64_t irq)
{
	struct timer_state st;
	const void *data;

	(void)irq;
	if (read_state(&st))
		return -1;
	st.ticks++;
	if (sdb_view(CLOCK_RECORD, &data, NULL) == (int)sizeof(struct clock) &&
	    ((const struct clock *)data)->mode == MODE_DEADLINE)
		arm_next(data, st.ticks);
	if (sdb_update(TIMER_RECORD, TIMER_LAYOUT, &st, sizeof(st)))
		return -1;
	dispatch_post(TIMER_EVENT, st.ticks);
	return 0;
}

static bool has_deadline(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	return r[2] & (1u << 24);
}

/* APIC timer counts (divide by 16) per tick, measured against the TSC with interrupts off. */
static uint64_t periodic_count(void)
{
	uint64_t flags = irq_save(), window = tsc_hz() / 1000000 * CAL_US;

	lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VECTOR);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	uint64_t t0 = rdtsc();
	while (rdtsc() - t0 < window)
		;
	uint32_t counted = 0xffffffffu - lapic_read(LAPIC_TIMER_COUNT);
	uint64_t cycles = rdtsc() - t0;
	lapic_write(LAPIC_TIMER_INIT, 0);
	irq_restore(flags);
	/* counts per tick = counted / cycles * tsc_hz / TIMER_HZ, rounded. */
	return ((uint64_t)counted * (tsc_hz() / TIMER_HZ) + cycles / 2) / cycles;
}

/* Programs the local APIC timer (masked until dispatch routes the line) and records its clock. */
static int start(struct clock *c, uint64_t ticks)
{
	*c = (struct clock){ .origin_tick = ticks };
	if (has_deadline()) {
		c->mode = MODE_DEADLINE;
		c->period = tsc_hz() / TIMER_HZ;
		lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_TIMER_DEADLINE | VECTOR);
		c->origin_tsc = rdtsc();
		arm_next(c, ticks);
	} else {
		c->mode = MODE_PERIODIC;
		c->period = periodic_count();
		if (!c->period || c->period > 0xffffffffu)
			return -1;
		lapic_write(LAPIC_TIMER_DIV, LAPIC_DIV_16);
		lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_TIMER_PERIODIC | VECTOR);
		lapic_write(LAPIC_TIMER_INIT, (uint32_t)c->period);
	}
	return sdb_put("apic_timer", CLOCK_RECORD, CLOCK_TYPE, CLOCK_LAYOUT, c, sizeof(*c));
}

static void stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VECTOR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	wrmsr(MSR_TSC_DEADLINE, 0);
}

/* The timer record, adopted from an earlier timer cell (its line in *old_line) or created. */
static int adopt_or_create(struct timer_state *st, uint32_t *old_line)
{
	int err = read_state(st);

	if (err == STATEDB_E_NOT_FOUND) {
		*st = (struct timer_state){ .ticks = 0, .hz = TIMER_HZ, .line = LINE };
		*old_line = LINE;
		return sdb_create("timer", TIMER_RECORD, TIMER_TYPE, TIMER_LAYOUT, st, sizeof(*st));
	}
	if (err) {
		klog(LOG_ERR, "apic_timer: record '%s': %s; refusing to start", TIMER_RECORD,
		     err == STATEDB_E_CORRUPT ? "wrong size or layout" : sdb_strerror(err));
		return err;
	}
	*old_line = st->line;
	st->hz = TIMER_HZ;
	st->line = LINE;
	return sdb_update(TIMER_RECORD, TIMER_LAYOUT, st, sizeof(*st));
}

/*
 * Takes the tick over with interrupts off: starts the APIC timer, routes its
 * line, then unroutes (masks) the line the previous timer ticked on.
 */
static int take_over(void)
{
	struct timer_state st;
	struct clock c;
	uint32_t old_line;
	int err;

	if (!lapic_present()) {
		klog(LOG_ERR, "apic_timer: nano_core runs on the 8259 PICs (no valid MADT, or "
		     "apic=off); no local APIC timer to drive");
		return -1;
	}
	uint64_t flags = irq_save();
	if ((err = adopt_or_create(&st, &old_line)) || (err = start(&c, st.ticks)) ||
	    (err = dispatch_route(LINE, "apic_timer", "timer_irq"))) {
		stop();
		irq_restore(flags);
		klog(LOG_ERR, "apic_timer: cannot start: %d", err);
		return err;
	}
	if (old_line != LINE)
		dispatch_unroute(old_line);
	irq_restore(flags);
	if (c.mode == MODE_DEADLINE)
		klog(LOG_INFO, "apic_timer: TSC-deadline at %u Hz (%lu TSC cycles a tick), tick %lu",
		     TIMER_HZ, c.period, st.ticks);
	else
		klog(LOG_INFO, "apic_timer: periodic at %u Hz (%lu counts a tick, divide by 16), "
		     "tick %lu", TIMER_HZ, c.period, st.ticks);
	return 0;
}

int cell_init(void)
{
	return take_over();
}

int cell_swap_in(uint64_t old_version)
{
	(void)old_version;
	return take_over();
}

void cell_exit(void)
{
	struct timer_state st;

	if (read_state(&st) == 0 && st.line == LINE) {
		dispatch_unroute(LINE);
		stop();
	}
}
