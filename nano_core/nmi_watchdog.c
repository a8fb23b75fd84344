/*
 * The NMI watchdog: catches a cell that spins with interrupts off, which the
 * hang watchdog (watchdog.c) cannot see, since it samples at interrupts.
 *
 * The source is the CMOS RTC's periodic interrupt (ISA IRQ 8) at 4 Hz (faster
 * when the watchdog= boot argument sets a short bound: nmi_rate),
 * delivered through the IOAPIC in NMI delivery mode. It needs no counter
 * the CPU may lack: QEMU's TCG has no performance counters, and the local
 * APIC timer's LVT has no delivery mode on real CPUs; every PC chipset has
 * the RTC and an IOAPIC that delivers NMIs. The PIT and the local APIC timer
 * stay free for the tick. After boot nano_core owns the RTC's index port;
 * the handler acknowledges each interrupt by reading register C, and an NMI
 * that finds no periodic flag there is not the watchdog's (it is reported
 * and halts, as before).
 *
 * A sample is an NMI that lands in a cell's code with interrupts off. A hang
 * is a run of samples in one cell on one stack with no interrupt taken and
 * no voluntary context switch between them, lasting longer than the cell's
 * bound: its watchdog=MS, at most FAULT_NMI_WATCHDOG_MAX_MS (0: not watched).
 * So it is caught within that bound plus one NMI period.
 *
 * Containment happens outside NMI context: the handler saves the interrupted
 * frame and makes the NMI return into nmi_hang_raise, a few hundred bytes
 * below on the same stack, with interrupts still off. There it raises a
 * fault as if the cell's code had faulted at the interrupted instruction,
 * with its registers, so a contained call is abandoned and a task is ended
 * as for any CPU exception, and the fault handler never runs inside an NMI.
 */
#include <delos/cells.h>
#include <delos/fault.h>
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/platform.h>
#include <delos/string.h>
#include <delos/time.h>
#include <delos/trap.h>
#include "hal/cmos.h"
#include "hal/cpu.h"
#include "hal/io.h"
#include "nano_core/contain.h"

#define NMI_IRQ 8		/* the RTC's ISA IRQ */
#define NMI_RATE 14		/* RTC rate select: 32768 >> (14 - 1) = 4 Hz */
#define NMI_RATE_FASTEST 6	/* 1024 Hz */
#define NMI_SAMPLES 4		/* samples at least within the smallest watchdog= boot bound */
#define NMI_SAME_STACK (32ull << 10)
#define NMI_RAISE_GAP 512	/* bytes below the interrupted rsp where nmi_hang_raise runs */

extern uint64_t ctx_vol_count;

/* Owned by the NMI handler (NMIs do not nest); `on` written once at boot. */
static struct {
	bool on;
	uint64_t nmis;
	bool tracking;
	char cell[32];
	uint64_t rsp, since_ns, bound_ns, irqs, switches;
} nw;
/* The interrupted frame of a hang, for nmi_hang_raise; one at a time (interrupts off). */
static struct trap_frame hang_frame;
static char hang_msg[80];

/*
 * NMI_RATE, or a faster one when the watchdog= boot argument sets a bound
 * shorter than NMI_SAMPLES periods of it, so that the bound holds there too.
 */
static uint8_t nmi_rate(void)
{
	uint64_t min = cells_watchdog_arg_min_ms();
	uint8_t r = NMI_RATE;

	while (min && r > NMI_RATE_FASTEST && (32768u >> (r - 1)) * min < NMI_SAMPLES * 1000u)
		r--;
	return r;
}

bool nmi_watchdog_init(void)
{
	uint32_t gsi;
	uint8_t a, b, rate = nmi_rate();

	if (!intc_route_nmi(NMI_IRQ, &gsi)) {
		klog(LOG_WARN, "watchdog: no NMI watchdog (no IOAPIC pin for the RTC's IRQ 8); "
		     "a cell spinning with interrupts off is not caught");
		return false;
	}
	a = cmos_read_nmi_on(CMOS_RTC_A);
	cmos_write_nmi_on(CMOS_RTC_A, (uint8_t)((a & ~CMOS_RTC_A_RATE) | rate));
	b = cmos_read_nmi_on(CMOS_RTC_B);
	/* On before the interrupt is: a flag already up (likelier at a fast rate) sends an NMI at once. */
	nw.on = true;
	cmos_write_nmi_on(CMOS_RTC_B, b | CMOS_RTC_B_PIE);
	(void)cmos_read_nmi_on(CMOS_RTC_C);	/* a flag already up would hold the line high */
	klog(LOG_INFO, "watchdog: NMI watchdog from the RTC at %u Hz (IRQ %u, GSI %u, as NMI "
	     "through the IOAPIC); interrupts-off bound %u ms at most", 32768u >> (rate - 1), NMI_IRQ, gsi,
	     FAULT_NMI_WATCHDOG_MAX_MS);
	return true;
}

uint64_t nmi_watchdog_count(void)
{
	return nw.nmis;
}

/* Starts a new run of samples at this one. */
static void track(const struct trap_frame *f, const struct cells_where *w, uint64_t now)
{
	uint64_t bound = cells_watchdog_ms(w->cell);

	nw.tracking = true;
	memcpy(nw.cell, w->cell, sizeof(nw.cell));
	nw.rsp = f->rsp;
	nw.since_ns = now;
	nw.bound_ns = (bound < FAULT_NMI_WATCHDOG_MAX_MS ? bound : FAULT_NMI_WATCHDOG_MAX_MS) * 1000000ull;
	nw.irqs = trap_irqs_taken();
	nw.switches = ctx_vol_count;
}

static bool same_run(const struct trap_frame *f, const struct cells_where *w)
{
	uint64_t d = f->rsp > nw.rsp ? f->rsp - nw.rsp : nw.rsp - f->rsp;

	return nw.tracking && d < NMI_SAME_STACK && strcmp(nw.cell, w->cell) == 0 &&
	       nw.irqs == trap_irqs_taken() && nw.switches == ctx_vol_count;
}

/* Returns into nmi_hang_raise on the interrupted stack, interrupts off. */
static void redirect(struct trap_frame *f, const struct cells_where *w, uint64_t ms)
{
	hang_frame = *f;
	snprintf(hang_msg, sizeof(hang_msg), "hang (interrupts off): %lu ms in %s", ms, w->cell);
	/* As if called: rsp 8 off 16-byte alignment at the entry. */
	f->rsp = ((f->rsp - NMI_RAISE_GAP) & ~15ull) - 8;
	f->rip = (uint64_t)nmi_hang_raise;
	f->rflags &= ~RFLAGS_IF;
}

_Noreturn void nmi_hang_raise(void)
{
	fault_raise_frame(FAULT_KIND_HANG, hang_msg, &hang_frame);
}

bool nmi_watchdog(struct trap_frame *f)
{
	struct cells_where w;
	uint64_t now;

	if (!nw.on)
		return false;
	if (!(cmos_read_nmi_on(CMOS_RTC_C) & CMOS_RTC_C_PF)) {
		/*
		 * Not the RTC's flag: an NMI the IOAPIC delivered again for an
		 * interrupt whose flag an earlier NMI's read cleared (seen under
		 * QEMU), unless system control port B shows a hardware error
		 * (bit 7: SERR#/parity, bit 6: IOCHK), which still halts. Not
		 * logged: the NMI may have interrupted the log's own lock.
		 */
		return !(inb(0x61) & 0xc0);
	}
	nw.nmis++;
	if ((f->rflags & RFLAGS_IF) || !cells_addr_owner(f->rip, &w)) {
		/* nano_core code the tracked cell called, with interrupts still off: its time counts. */
		if (!(f->rflags & RFLAGS_IF) && nw.tracking && watchdog_called_from(f, nw.cell))
			return true;
		nw.tracking = false;
		return true;
	}
	now = time_ns();
	if (!same_run(f, &w)) {
		track(f, &w, now);
		return true;
	}
	if (!nw.bound_ns || now - nw.since_ns < nw.bound_ns)
		return true;
	nw.tracking = false;
	redirect(f, &w, (now - nw.since_ns) / 1000000ull);
	return true;
}
