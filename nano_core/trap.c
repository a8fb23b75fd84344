#include <delos/cellref.h>
#include <delos/cells.h>
#include "nano_core/cpu_tables.h"
#include <delos/ctx.h>
#include <delos/fault.h>
#include <delos/kernel.h>
#include "nano_core/ksyms.h"
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/paging.h>
#include <delos/platform.h>
#include <delos/string.h>
#include <delos/trap.h>
#include "hal/cpu.h"
#include <delos/time.h>
#include "nano_core/contain.h"
#include "nano_core/probe.h"

#define BACKTRACE_MAX 16

/*
 * One per trap_catch() in progress, on its caller's stack, linked so that
 * several tasks can each be inside one; owned by trap.c (list changes with
 * interrupts off) and catch.S (which fills in rsp).
 */
struct catch_point {
	uint64_t rsp;		/* stack pointer inside trap_catch_enter */
	uint64_t flags;		/* the caller's RFLAGS at trap_catch entry */
	uint64_t context;	/* enum fault_context for trap_contain; 0 for trap_catch */
	uint32_t deferred;	/* IRQ lines that arrived inside it with interrupts wrongly on (in_irqs_off_call) */
	struct trap_info info;
	struct catch_point *next;
};
static struct catch_point *catch_list;
extern char trap_catch_landing[];
int trap_catch_enter(void (*fn)(void *), void *arg, uint64_t *rsp_slot);

/*
 * A fault is caught by the catch point of its own stack: the nearest one
 * above the faulting rsp with only mapped pages between (stacks are
 * separated by unmapped guard pages), within a stack's size.
 */
#define CATCH_STACK_SPAN (64ull << 10)

/* Interrupt routing for nano_core's own handlers; owned by trap.c. */
static irq_handler_fn *irq_handlers[IRQ_LINES];
static int report_depth;
static int irq_depth;		/* interrupt handlers running (nested) */
static int64_t route_line = -1;	/* the IRQ whose route runs now, or -1 */
/*
 * The holder of the irq_route slot faulted in a route while loader_generation
 * was route_down_gen: no interrupt is routed through it until the generation
 * moves (its reload); the lines that came meanwhile are held and raised again
 * then. Owned by trap.c, interrupts off.
 */
static bool route_down;
static uint64_t route_down_gen;
static uint32_t route_held;
extern uint8_t ctx_preempting;
static uint32_t unrouted_seen;
static uint64_t irqs_taken;	/* for the NMI watchdog: an interrupt taken ends a run of samples */
/* trap_set_overflow_stack: where stack overflows are contained; set once at boot. */
static uint64_t overflow_top, overflow_size;

/* An IRQ with neither a nano_core handler nor a dispatch cell: said once per line. */
static void note_unrouted(uint8_t irq)
{
	if (unrouted_seen & (1u << irq))
		return;
	unrouted_seen |= 1u << irq;
	klog(LOG_WARN, "irq: IRQ %u arrived but no cell holds the ops slot irq_route", irq);
}

static const char *const names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack-segment fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 floating point", "#AC alignment check",
	"#MC machine check", "#XM SIMD floating point", "#VE virtualization",
	"#CP control protection", "reserved", "reserved", "reserved", "reserved",
	"reserved", "reserved", "#HV hypervisor injection", "#VC VMM communication",
	"#SX security", "reserved",
};

const char *trap_name(uint64_t vector)
{
	return vector < 32 ? names[vector] : "interrupt";
}

static void print_symbol(uint64_t addr)
{
	uint64_t off;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		kprintf("<%s+0x%lx>", name, off);
	else if (!cells_print_addr(addr))
		kprintf("<?>");
}

bool addr_symbolize(uint64_t addr, char *buf, size_t cap)
{
	struct cells_where w;
	uint64_t off;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		snprintf(buf, cap, "<%s+0x%lx>", name, off);
	else if (cells_addr_owner(addr, &w))
		snprintf(buf, cap, "<%s:%s+0x%lx>", w.cell, w.symbol, w.offset);
	else
		snprintf(buf, cap, "<?>");
	return name || buf[1] != '?';
}

void backtrace_from(uint64_t rip, uint64_t rbp)
{
	kprintf("backtrace:\n  #0  %016lx ", rip);
	print_symbol(rip);
	kprintf("\n");
	for (int i = 1; i < BACKTRACE_MAX && rbp; i++) {
		if ((rbp & 7) || !paging_readable(rbp, 16)) {
			kprintf("  (frame pointer %016lx is not readable; stopping)\n", rbp);
			return;
		}
		uint64_t ret = ((uint64_t *)rbp)[1];
		if (!ret)
			return;
		kprintf("  #%-2d %016lx ", i, ret);
		print_symbol(ret);
		kprintf("\n");
		rbp = ((uint64_t *)rbp)[0];
	}
}

static void print_page_fault_cause(uint64_t err)
{
	kprintf("page fault: %s %s of a %s page%s\n",
		err & 0x10 ? "instruction fetch" : "data",
		err & 0x02 ? "write" : "read",
		err & 0x01 ? "present (protection violation)" : "non-present",
		err & 0x08 ? ", reserved bit set" : "");
}

void trap_report(const struct trap_frame *f)
{
	kprintf("\n*** EXCEPTION %lu %s, error code 0x%lx\n", f->vector, trap_name(f->vector), f->error);
	kprintf("RIP %016lx ", f->rip);
	print_symbol(f->rip);
	kprintf("\nCR2 %016lx  CR3 %016lx  RFLAGS %016lx\n", read_cr2(), read_cr3(), f->rflags);
	if (f->vector == 14)
		print_page_fault_cause(f->error);
	kprintf("RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	kprintf("RSI %016lx RDI %016lx RBP %016lx RSP %016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
	kprintf("R8  %016lx R9  %016lx R10 %016lx R11 %016lx\n", f->r8, f->r9, f->r10, f->r11);
	kprintf("R12 %016lx R13 %016lx R14 %016lx R15 %016lx\n", f->r12, f->r13, f->r14, f->r15);
	kprintf("CS %04lx SS %04lx\n", f->cs, f->ss);
	if (f->vector == 8)
		kprintf("double fault: the CPU could not deliver an exception; "
			"a kernel stack overflow looks like this (RSP near a guard page)\n");
	backtrace_from(f->rip, f->rbp);
}

/*
 * The catch point of the faulting stack: the nearest one above the faulting
 * rsp with only mapped pages between, or NULL. Double faults and NMIs are
 * never caught.
 */
static struct catch_point *catch_for(const struct trap_frame *f)
{
	struct catch_point *best = NULL;

	if (f->vector == 8 || f->vector == 2)
		return NULL;
	for (struct catch_point *c = catch_list; c; c = c->next)
		if (c->rsp && c->rsp >= f->rsp && c->rsp - f->rsp < CATCH_STACK_SPAN &&
		    (!best || c->rsp < best->rsp) && paging_readable(f->rsp, c->rsp - f->rsp))
			best = c;
	return best;
}

/* Resumes trap_catch() or trap_contain() at `best` instead of reporting the fault. */
static void resume_at(struct catch_point *best, struct trap_frame *f)
{
	best->info = (struct trap_info){ f->vector, f->error, f->rip, read_cr2() };
	/*
	 * The caller's flags, not the faulting code's (which may have turned
	 * interrupts off or set DF); interrupts stay off until trap_catch is
	 * back on its own frame and restores them.
	 */
	f->rflags = best->flags & ~RFLAGS_IF;
	f->rip = (uint64_t)trap_catch_landing;
	f->rsp = best->rsp;
	f->rax = f->vector + 1;
}

static void catch_unlink(struct catch_point *cp)
{
	uint64_t flags = irq_save();

	for (struct catch_point **pp = &catch_list; *pp; pp = &(*pp)->next)
		if (*pp == cp) {
			*pp = cp->next;
			break;
		}
	irq_restore(flags);
}

void trap_forget_stack(uint64_t top)
{
	uint64_t flags = irq_save();

	for (struct catch_point **pp = &catch_list; *pp;) {
		uint64_t rsp = (*pp)->rsp;

		if (rsp && rsp < top && top - rsp < CATCH_STACK_SPAN && paging_readable(rsp, top - rsp))
			*pp = (*pp)->next;
		else
			pp = &(*pp)->next;
	}
	irq_restore(flags);
}

static _Noreturn void fatal(struct trap_frame *f);

/*
 * The interrupts that arrived inside a call made with interrupts off, whose
 * code turned them on (in_irqs_off_call), raised again now that it is over:
 * taken when its caller turns interrupts on again, as they would have been.
 * Without a local APIC (8259 mode) they cannot be, and are lost.
 */
static void reraise(struct catch_point *cp)
{
	uint64_t flags;

	if (!cp->deferred)
		return;
	flags = irq_save();
	for (uint8_t line = 0; line < IRQ_LINES; line++)
		if ((cp->deferred & (1u << line)) && !intc_reraise(line))
			klog(LOG_WARN, "irq: IRQ %u, held back during a faulty call, is lost (no local APIC)", line);
	cp->deferred = 0;
	irq_restore(flags);
}

/*
 * A fault abandoned an IRQ route: when it is charged to the router itself
 * (the irq_route slot's holder, through which every line goes), the router is
 * down until the loader generation moves. A driver's fault masks its line only.
 */
static void route_fault(const struct cells_where *w)
{
	const char *router = ops_holder(OPS_IRQ_ROUTE);

	if (router[0] && strcmp(router, w->cell) == 0) {
		route_down = true;
		route_down_gen = loader_generation();
	}
}

/*
 * The fault in `f`, charged to w's cell, abandons the call of catch point
 * cp: reported (a contained call's) with its IRQ line masked (an IRQ
 * route's), then resumed at cp when the trap returns.
 */
static void contain_at(struct catch_point *cp, struct trap_frame *f, const struct cells_where *w)
{
	if (cp->context == FAULT_CTX_IRQ)
		route_fault(w);
	if (cp->context)
		fault_contain(f, w, cp->context, cp->context == FAULT_CTX_IRQ ? route_line : -1);
	resume_at(cp, f);
}

static int catch_run(void (*fn)(void *), void *arg, uint64_t context, struct trap_info *info)
{
	int r;

	struct catch_point cp = { 0 };
	uint64_t flags = irq_save();

	cp.flags = flags;
	cp.context = context;
	cp.next = catch_list;
	catch_list = &cp;
	irq_restore(flags);
	r = trap_catch_enter(fn, arg, &cp.rsp);
	catch_unlink(&cp);
	if (r && context == FAULT_CTX_IRQ && route_line >= 0)
		cp.deferred &= ~(1u << route_line);	/* its line stays masked until the recovery */
	reraise(&cp);
	if (r)
		irq_restore(flags);	/* resume_at left interrupts off */
	if (info)
		*info = cp.info;
	return r;
}

int trap_catch(void (*fn)(void *), void *arg, struct trap_info *info)
{
	return catch_run(fn, arg, 0, info);
}

int trap_contain(void (*fn)(void *), void *arg, uint64_t context, struct trap_info *info)
{
	return catch_run(fn, arg, context ? context : FAULT_CTX_COMMAND, info);
}

/*
 * A fault in a cell is contained (include/delos/fault.h): its contained
 * call abandoned, or its task ended; trap_catch's expected faults resume
 * silently. Anything else is nano_core's and halts.
 */
/*
 * A double fault with RIP in a cell and its stack pointer at an unmapped
 * page: the cell's code ran its stack into the guard page below it. The
 * catch point is looked for from the first mapped page above.
 */
static bool stack_overflow(struct trap_frame *f, uint64_t *probe_rsp)
{
	uint64_t page = f->rsp & ~0xfffull;

	if (f->vector != 8 || paging_readable(f->rsp - 8, 8))
		return false;
	*probe_rsp = paging_readable(page + 0x1000, 8) ? page + 0x1000 : f->rsp;
	return true;
}

void trap_set_overflow_stack(uint64_t top, size_t pages)
{
	overflow_top = top;
	overflow_size = pages * PAGE_SIZE;
}

static bool on_overflow_stack(uint64_t sp)
{
	return overflow_top && sp < overflow_top && sp >= overflow_top - overflow_size;
}

/*
 * A stack overflow arrives as a double fault on its interrupt stack. What
 * contains it may go deep (the fault handler's cell, a task end) and may
 * overflow a stack again, which starts that interrupt stack over, under
 * whatever was running on it. So the trap is handled again, from a copy of
 * its frame on the overflow stack, unless it is already (a second overflow
 * there is handled where it arrives: its catch point is the handler's).
 */
static void redo_on_overflow_stack(struct trap_frame *f)
{
	struct trap_frame *g;

	if (!overflow_top || on_overflow_stack(f->rsp) ||
	    on_overflow_stack((uint64_t)__builtin_frame_address(0)))
		return;
	g = (struct trap_frame *)((overflow_top - sizeof(*g)) & ~15ull);
	*g = *f;
	trap_redo(g);
}

/*
 * A fault in a cell whose stack pointer left the running task's stack
 * [lo, hi) (a corrupted `enter` moved it tens of KB down, into another
 * task's stack): its trap frame went there. It is handled again from a
 * copy on the task's own stack, below what stays live (the catch point it
 * resumes, or for a task end, nothing but the top's start block), so that
 * the containment writes no more into the stack the rsp landed in.
 */
#define OFF_STACK_ROOM 4096	/* what the handling is given below `below` at least */

static void redo_on_task_stack(struct trap_frame *f, uint64_t below, uint64_t lo, uint64_t hi)
{
	uint64_t fp = (uint64_t)__builtin_frame_address(0);
	struct trap_frame *g;

	if ((fp >= lo && fp < hi) || below < lo + OFF_STACK_ROOM + 512 || below > hi)
		return;
	g = (struct trap_frame *)((below - 512 - sizeof(*g)) & ~15ull);
	*g = *f;
	trap_redo(g);
}

extern uint8_t fault_ending;

/*
 * The task end faulted while ending a faulted task: the task is resumed in
 * fault_park instead, on a fresh frame near the top of the task's own stack
 * (nothing of it is live: it is being ended), which ends it once the broken
 * cell is reloaded. For a stack overflow, the task's stack is the one that
 * overflowed first (the second is on the overflow stack).
 */
static uint64_t overflowed_sp;	/* a task stack's first mapped page above its guard, at its overflow */

static bool park_task(struct trap_frame *f)
{
	uint64_t top = (on_overflow_stack(f->rsp) ? overflowed_sp : f->rsp) & ~0xfffull, sp;

	fault_park_wanted = false;
	for (int n = 0; top && n < 64 && paging_readable(top, PAGE_SIZE); n++)
		top += PAGE_SIZE;	/* up to the guard page above the task's stack */
	sp = ((top - 1024) & ~15ull) - 8;	/* below its task_start block */
	if (!top || !paging_readable(sp - 4096, 4104))
		return false;
	trap_forget_stack(top);	/* fault_park's frame overwrites them */
	*(uint64_t *)sp = 0;	/* no return */
	f->rsp = sp;
	f->rbp = 0;
	f->rip = (uint64_t)fault_park;
	f->rdi = loader_generation();
	f->rflags = 0x2;	/* interrupts off: fault_park turns them on */
	fault_ending = 0;
	return true;
}

static void exception(struct trap_frame *f)
{
	struct catch_point *cp;
	struct cells_where w;
	bool in_cell;
	uint64_t probe, lo, hi;

	if (((f->vector == 1 || f->vector == 3) && probe_trap(f)) || ctx_resume_faulted(f))
		return;
	if (f->vector == 6 && f->rip == (uint64_t)fault_raise_ud2)
		fault_take_raised(f);
	in_cell = cells_addr_owner(f->rip, &w) || fault_charge_caller(f, &w) ||
		  fault_charge_no_code(f, &w) || fault_charge_bad_call(f, &w);
	if (in_cell && stack_overflow(f, &probe)) {
		if (!on_overflow_stack(f->rsp))
			overflowed_sp = probe;
		redo_on_overflow_stack(f);	/* returns only where it is to be handled */
		struct trap_frame g = *f;

		g.vector = 14;	/* look the catch point up as for the fault the stack could not take */
		g.rsp = probe;
		fault_mark_overflow();
		cp = catch_for(&g);
	} else if (in_cell && fault_off_task_stack(f, &lo, &hi)) {
		struct trap_frame g = *f;

		g.rsp = lo;	/* the innermost catch point of the task's stack, not one where rsp landed */
		cp = catch_for(&g);
		redo_on_task_stack(f, cp ? cp->rsp : hi - 1024, lo, hi);	/* returns only where handled */
	} else {
		cp = catch_for(f);
	}
	f->vector = fault_raised_vector(f->vector);	/* the NMI watchdog's hang says NMI */

	if (cp && (!cp->context || in_cell)) {
		contain_at(cp, f, &w);
		return;
	}
	if (in_cell && !irq_depth && !report_depth) {
		fault_end_task(f, &w);	/* returns only if there is no task to end */
		if (fault_park_wanted && park_task(f))
			return;
	}
	fatal(f);
}

static _Noreturn void fatal(struct trap_frame *f)
{
	const char *raised = fault_raised_message();

	log_fatal();
	if (raised)
		kprintf("\n*** fault raised by code: %s\n", raised);
	if (report_depth++) {
		kprintf("\n*** EXCEPTION %lu %s while reporting an exception; halting\n", f->vector,
			trap_name(f->vector));
		halt_forever();
	}
	trap_report(f);
	panic("unhandled %s in nano_core", trap_name(f->vector));
}

void irq_set_handler(uint8_t irq, irq_handler_fn *fn)
{
	if (irq >= IRQ_LINES)
		return;
	irq_handlers[irq] = fn;
	irq_unmask(irq);
}

struct irq_route {
	uint64_t irq;
	int unrouted;
};

static void run_route(void *arg)
{
	struct irq_route *r = arg;

	uint64_t fn = ops_resolve(OPS_IRQ_ROUTE);

	r->unrouted = !fn;
	if (fn)
		((int (*)(uint64_t))fn)(r->irq);
}

/*
 * The IRQ route (dispatch and the driver it calls) as a contained call: a
 * fault in it abandons the route. The EOI went out before; the line is
 * masked by fault_contain until the cell's recovery unmasks it.
 */
static void route_irq(uint8_t irq)
{
	struct irq_route r = { irq, 0 };
	int depth = irq_depth;

	if (route_down) {
		if (loader_generation() == route_down_gen) {
			route_held |= 1u << irq;	/* the router faulted and is not yet reloaded */
			return;
		}
		route_down = false;
		for (uint8_t line = 0; line < IRQ_LINES; line++)
			if ((route_held & (1u << line)) && line != irq && !intc_reraise(line))
				klog(LOG_WARN, "irq: IRQ %u, held while the router was down, is lost (no local APIC)",
				     line);
		route_held = 0;
	}

	route_line = irq;
	if (trap_contain(run_route, &r, FAULT_CTX_IRQ, NULL))
		irq_depth = depth;
	else if (r.unrouted)
		note_unrouted(irq);
	route_line = -1;
}

/*
 * A hang found by the watchdog is the interrupted context's fault: its
 * contained call is abandoned (resumed at its catch point when this
 * interrupt returns), or its task is ended from here, as a preemption would
 * switch it out. An abandoned IRQ route masks its line, as a fault in it
 * does: its next interrupt would hang there again before the recovery runs.
 */
static void watch_for_hang(struct trap_frame *f, uint64_t now)
{
	struct catch_point *cp;
	struct cells_where w;
	uint64_t ms;

	if (!watchdog_check(f, &w, &ms, now))
		return;
	fault_mark_hang(ms);
	if ((cp = catch_for(f))) {
		contain_at(cp, f, &w);
		return;
	}
	fault_end_task(f, &w);
	klog(LOG_ERR, "watchdog: %s hangs (%lu ms) and nothing can be abandoned; left running", w.cell, ms);
}

/*
 * The contained call the interrupt landed in, if its caller made it with
 * interrupts off (the tasks cell's calls of the scheduling policy, an IRQ
 * route): the code there turned interrupts on, which it must not (a fault,
 * or a hang that loops with them on). Such an interrupt is not routed and
 * preempts nothing: a tick or a wake-up would re-enter whatever made the
 * call half-way through it (the tasks cell's switch, inside its own policy
 * call), and a switch away from inside an IRQ route would leave the route
 * running in the switched-out task, every other interrupt unrouted. It is
 * held back, raised again when the call is over (reraise), and the watchdog
 * still looks at it. The list is walked past its cheap range check only when a catch
 * point lies just above the interrupted stack pointer.
 */
static struct catch_point *in_irqs_off_call(const struct trap_frame *f)
{
	for (struct catch_point *c = catch_list; c; c = c->next)
		if ((c->context == FAULT_CTX_CALL || c->context == FAULT_CTX_IRQ) && !(c->flags & RFLAGS_IF) &&
		    c->rsp >= f->rsp &&
		    c->rsp - f->rsp < CATCH_STACK_SPAN && catch_for(f) == c)
			return c;
	return NULL;
}

bool trap_in_interrupt(void)
{
	return irq_depth > 0;
}

uint64_t trap_irqs_taken(void)
{
	return irqs_taken;
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == 2 && nmi_watchdog(f))
		return;
	if (f->vector < 32) {
		exception(f);
		return;
	}
	/* A spurious local APIC interrupt is not in service: it takes no EOI. */
	if (f->vector == SPURIOUS_VECTOR || f->vector - IRQ_VECTOR_BASE >= IRQ_LINES)
		return;
	uint8_t irq = (uint8_t)(f->vector - IRQ_VECTOR_BASE);
	struct catch_point *held;
	uint64_t now;

	irqs_taken++;
	/* EOI first: the handler may switch tasks and not come back for a while. */
	intc_eoi(irq);
	if (catch_list && (held = in_irqs_off_call(f))) {
		held->deferred |= 1u << irq;
		watch_for_hang(f, time_ns());
		return;
	}
	irq_depth++;
	/*
	 * Not routed on top of a route still running: that happens only when its
	 * code turned interrupts on (a fault), and each nested route would hang or
	 * fault there again until the stack overflows; the watchdog ends it.
	 */
	if (irq_handlers[irq])
		irq_handlers[irq](irq);
	else if (route_line < 0)
		route_irq(irq);
	irq_depth--;
	now = time_ns();	/* one reading for both checks */
	watch_for_hang(f, now);
	heartbeat_check(now);
	/*
	 * A fault in the cell that switches tasks is recovered here, where no
	 * frame of its code is live on this stack (its calls were abandoned), before
	 * and after the preemption call that goes through it.
	 */
	fault_recover_now();
	/* Preemption happens here, from nano_core's frame, not inside the handlers. */
	trap_preempt_point(irq);
	fault_recover_now();
}

struct irq_exit {
	uint64_t fn, irq;
};

static void run_irq_exit(void *arg)
{
	struct irq_exit *x = arg;

	((int (*)(uint64_t, uint64_t))x->fn)(x->irq, 0);
}

/*
 * The interrupt-exit call is a contained call in context irq: a fault in it
 * (the tasks cell's switch) abandons it, and the interrupted code resumes
 * as if nothing had been switched. Its catch point stays on the task's stack
 * while the task is switched out; ctx_prepare and stack_free forget it when
 * the task is restarted or freed there instead of switched back in.
 */
void trap_preempt_point(uint64_t irq)
{
	struct irq_exit x = { ops_resolve(OPS_IRQ_EXIT), irq };

	/*
	 * Not from inside a preemption call that has not switched yet: that only
	 * happens when the scheduler's code turned interrupts on (a fault), and
	 * each nested interrupt would call it again until the stack overflows.
	 */
	if (x.fn && !ctx_preempting) {
		ctx_preempting = 1;	/* a switch in here is a preemption (watchdog.c) */
		trap_contain(run_irq_exit, &x, FAULT_CTX_IRQ, NULL);
		ctx_preempting = 0;
	}
}
