/* Containing faults in cells: the report, the handler slot and its fallback. */
#include <delos/fault.h>
#include <delos/irqflags.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/paging.h>
#include <delos/string.h>
#include <delos/time.h>
#include "hal/cpu.h"
#include "nano_core/contain.h"

/*
 * Set while a faulted task is being ended, until the next context is switched
 * in (ctx.S clears it on every resume): a fault in the task end itself halts.
 */
uint8_t fault_ending;
/* Set while the handler runs, so a fault it raises cannot call it again; owned by contain.c. */
static bool in_handler;
/* The report being handed over; one at a time, interrupts off. */
static struct fault_report report;
/* A fault raised by fault_raise, until its #UD is handled; interrupts off between. */
static struct {
	bool pending, taken;
	uint32_t kind;
	char msg[80];
	uint64_t rip, rbp;
} raised;
static bool overflow;	/* the fault being handled is a stack overflow */
static uint64_t hang_ms;	/* the fault being handled is a hang of this long */

/*
 * The message as far as it is readable, printable bytes only: a cell may pass
 * cell_panic any pointer (a corrupted one, an injected panic's), and reading
 * it must not fault in nano_core.
 */
static void copy_message(char *dst, size_t cap, const char *msg)
{
	size_t i = 0;

	if (!msg)
		msg = "(no message)";
	for (; i + 1 < cap; i++) {
		char c;

		if (!paging_readable((uint64_t)(msg + i), 1)) {
			if (!i) {
				snprintf(dst, cap, "(message at %016lx unreadable)", (uint64_t)msg);
				return;
			}
			break;
		}
		if (!(c = msg[i]))
			break;
		dst[i] = c >= ' ' && c < 0x7f ? c : '?';
	}
	dst[i] = '\0';
}

__attribute__((noinline)) _Noreturn void fault_raise(uint32_t kind, const char *msg, uint64_t rip,
						     uint64_t rbp)
{
	irq_save();
	raised.pending = true;
	raised.kind = kind;
	copy_message(raised.msg, sizeof(raised.msg), msg);
	raised.rip = rip;
	raised.rbp = rbp;
	__asm__ volatile(".globl fault_raise_ud2\nfault_raise_ud2: ud2" ::: "memory");
	__builtin_unreachable();
}

_Noreturn void cell_panic(const char *msg)
{
	/* ret - 1 lies in the call itself, which may be its function's last instruction. */
	fault_raise(FAULT_KIND_PANIC, msg, (uint64_t)__builtin_return_address(0) - 1,
		    *(uint64_t *)__builtin_frame_address(0));
}

bool fault_take_raised(struct trap_frame *f)
{
	if (!raised.pending)
		return false;
	raised.pending = false;
	raised.taken = true;
	f->rip = raised.rip;
	f->rbp = raised.rbp;
	return true;
}

const char *fault_raised_message(void)
{
	return raised.taken ? raised.msg : NULL;
}

void fault_mark_overflow(void)
{
	overflow = true;
}

void fault_mark_hang(uint64_t ms)
{
	hang_ms = ms ? ms : 1;
}

const char *fault_context_name(uint64_t context)
{
	static const char *const names[] = { "?", "task", "irq", "init", "hook", "command" };

	return context < sizeof(names) / sizeof(names[0]) ? names[context] : "?";
}

static void walk_frames(struct fault_report *r, uint64_t rbp)
{
	r->nframes = 0;
	while (r->nframes < FAULT_FRAMES && rbp && !(rbp & 7) && paging_readable(rbp, 16)) {
		uint64_t ret = ((uint64_t *)rbp)[1];

		if (!ret)
			break;
		r->frames[r->nframes++] = ret;
		rbp = ((uint64_t *)rbp)[0];
	}
}

static void fill_report(struct fault_report *r, const struct trap_frame *f,
			const struct cells_where *w, uint64_t context)
{
	memset(r, 0, sizeof(*r));
	r->version = FAULT_REPORT_VERSION;
	r->context = (uint32_t)context;
	r->kind = FAULT_KIND_EXCEPTION;
	memcpy(r->cell, w->cell, sizeof(r->cell));
	memcpy(r->cell_version, w->version, sizeof(r->cell_version));
	memcpy(r->symbol, w->symbol, sizeof(r->symbol));
	r->offset = w->offset;
	r->vector = f->vector;
	r->error = f->error;
	r->rip = f->rip;
	r->cr2 = read_cr2();
	r->time_ns = time_ns();
	r->regs = *f;
	walk_frames(r, f->rbp);
	if (raised.taken) {
		r->kind = raised.kind;
		memcpy(r->message, raised.msg, sizeof(r->message));
		raised.taken = false;
	} else if (overflow) {
		r->kind = FAULT_KIND_STACK_OVERFLOW;
		snprintf(r->message, sizeof(r->message), "stack overflow (rsp %016lx)", f->rsp);
		overflow = false;
	} else if (hang_ms) {
		r->kind = FAULT_KIND_HANG;
		snprintf(r->message, sizeof(r->message), "hang: %lu ms in %s without a switch", hang_ms,
			 w->cell);
		hang_ms = 0;
	}
}

struct handler_call {
	uint64_t fn;
	const struct fault_report *r;
};

static void run_handler(void *arg)
{
	struct handler_call *c = arg;

	((int (*)(const struct fault_report *))c->fn)(c->r);
}

/*
 * The handler runs under trap_catch: a fault in the fault handler's own cell
 * is caught silently (not contained again), and nano_core falls back to
 * logging, so it never loops.
 */
static void notify(const struct fault_report *r)
{
	struct handler_call c = { ops_resolve(OPS_FAULT_HANDLER), r };
	struct trap_info ti;
	bool logged = false;

	if (c.fn && !in_handler) {
		in_handler = true;
		if (trap_catch(run_handler, &c, &ti))
			klog(LOG_ERR, "fault: the fault handler (%s) raised %s at %016lx; falling back",
			     ops_holder(OPS_FAULT_HANDLER), trap_name(ti.vector), ti.rip);
		else
			logged = true;
		in_handler = false;
	}
	if (!logged)
		klog(LOG_ERR, "fault: %s in %s@%s at %s+0x%lx (%s context); abandoned%s",
		     r->message[0] ? r->message : trap_name(r->vector), r->cell, r->cell_version, r->symbol, r->offset,
		     fault_context_name(r->context), r->irq >= 0 ? ", its IRQ line masked" : "");
}

void fault_contain(const struct trap_frame *f, const struct cells_where *w, uint64_t context,
		   int64_t irq)
{
	fill_report(&report, f, w, context);
	report.irq = irq;
	if (irq >= 0)
		irq_mask((uint64_t)irq);
	notify(&report);
}

void fault_end_task(const struct trap_frame *f, const struct cells_where *w)
{
	uint64_t end = ops_resolve(OPS_TASK_END);
	int err;

	if (fault_ending) {
		kprintf("fault: %s in %s:%s+0x%lx while ending a faulted task\n", trap_name(f->vector),
			w->cell, w->symbol, w->offset);
		return;
	}
	if (!end) {
		kprintf("fault: %s in %s:%s+0x%lx, and no task end is registered\n",
			trap_name(f->vector), w->cell, w->symbol, w->offset);
		return;
	}
	fill_report(&report, f, w, FAULT_CTX_TASK);
	report.irq = -1;
	notify(&report);
	fault_ending = 1;
	err = ((int (*)(uint64_t))end)((uint64_t)(int64_t)FAULT_EXIT_CODE);
	fault_ending = 0;
	kprintf("fault: %s in %s:%s+0x%lx, and the running task cannot be ended (%d)\n",
		trap_name(f->vector), w->cell, w->symbol, w->offset, err);
}
