#include <delos/cellref.h>
#include <delos/cells.h>
#include "nano_core/cpu_tables.h"
#include <delos/ctx.h>
#include <delos/kernel.h>
#include "nano_core/ksyms.h"
#include <delos/log.h>
#include <delos/paging.h>
#include <delos/platform.h>
#include <delos/trap.h>
#include "hal/cpu.h"

#define BACKTRACE_MAX 16

/*
 * One per trap_catch() in progress, on its caller's stack, linked so that
 * several tasks can each be inside one; owned by trap.c (list changes with
 * interrupts off) and catch.S (which fills in rsp).
 */
struct catch_point {
	uint64_t rsp;		/* stack pointer inside trap_catch_enter */
	uint64_t flags;		/* the caller's RFLAGS at trap_catch entry */
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
static uint32_t unrouted_seen;
static const struct cellref dispatch_ref = { "dispatch", "dispatch_irq" };
static const struct cellref irq_exit_ref = { "tasks", "tasks_irq_exit" };
static struct cellref_cache dispatch_cache, irq_exit_cache;	/* written with interrupts off */

/* An IRQ with neither a nano_core handler nor a dispatch cell: said once per line. */
static void note_unrouted(uint8_t irq)
{
	if (unrouted_seen & (1u << irq))
		return;
	unrouted_seen |= 1u << irq;
	klog(LOG_WARN, "irq: IRQ %u arrived but the dispatch cell is not loaded", irq);
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

/* Resumes trap_catch() after a fault in its function instead of reporting it. */
static bool try_catch(struct trap_frame *f)
{
	struct catch_point *best = NULL;

	if (f->vector == 8 || f->vector == 2)
		return false;
	for (struct catch_point *c = catch_list; c; c = c->next)
		if (c->rsp && c->rsp >= f->rsp && c->rsp - f->rsp < CATCH_STACK_SPAN &&
		    (!best || c->rsp < best->rsp) && paging_readable(f->rsp, c->rsp - f->rsp))
			best = c;
	if (!best)
		return false;
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
	return true;
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

int trap_catch(void (*fn)(void *), void *arg, struct trap_info *info)
{
	int r;

	struct catch_point cp = { 0 };
	uint64_t flags = irq_save();

	cp.flags = flags;
	cp.next = catch_list;
	catch_list = &cp;
	irq_restore(flags);
	r = trap_catch_enter(fn, arg, &cp.rsp);
	catch_unlink(&cp);
	if (r)
		irq_restore(flags);	/* try_catch left interrupts off */
	if (info)
		*info = cp.info;
	return r;
}

static void exception(struct trap_frame *f)
{
	if (try_catch(f))
		return;
	log_fatal();
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

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector < 32) {
		exception(f);
		return;
	}
	/* A spurious local APIC interrupt is not in service: it takes no EOI. */
	if (f->vector == SPURIOUS_VECTOR || f->vector - IRQ_VECTOR_BASE >= IRQ_LINES)
		return;
	uint8_t irq = (uint8_t)(f->vector - IRQ_VECTOR_BASE);
	/* EOI first: the handler may switch tasks and not come back for a while. */
	intc_eoi(irq);
	uint64_t fn;
	if (irq_handlers[irq])
		irq_handlers[irq](irq);
	else if ((fn = cellref_resolve_cached(&dispatch_ref, &dispatch_cache)))
		((int (*)(uint64_t))fn)(irq);
	else
		note_unrouted(irq);
	/* Preemption happens here, from nano_core's frame, not inside the handlers. */
	trap_preempt_point(irq);
}

void trap_preempt_point(uint64_t irq)
{
	uint64_t exit_fn = cellref_resolve_cached(&irq_exit_ref, &irq_exit_cache);

	if (exit_fn)
		((int (*)(uint64_t, uint64_t))exit_fn)(irq, 0);
}
