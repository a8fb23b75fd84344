/* Containing faults in cells: the report, the handler slot and its fallback. */
#include <delos/cellref.h>
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
#include "nano_core/ksyms.h"
#include "nano_core/ops_core.h"

/*
 * Set while a faulted task is being ended, until the next context is switched
 * in (ctx.S clears it on every resume): a fault in the task end itself halts.
 */
uint8_t fault_ending;
/* fault_end_task found the task end itself faulting: trap.c parks the task (fault_park). */
bool fault_park_wanted;
/* Set while the handler runs, so a fault it raises cannot call it again; owned by contain.c. */
static bool in_handler;
/* The report being handed over; one at a time, interrupts off. */
static struct fault_report report;
/* A fault raised by fault_raise, until its #UD is handled; interrupts off between. */
static struct {
	bool pending, taken, has_frame;
	uint32_t kind;
	char msg[80];
	uint64_t rip, rbp;
	struct trap_frame frame;	/* has_frame: every register of the faulting context */
} raised;
static bool overflow;	/* the fault being handled is a stack overflow */
static char charged[80];	/* a fault in nano_core charged to its calling cell: what it was */
static uint64_t hang_ms;	/* the fault being handled is a hang of this long */
/* A fault was reported in a cell ops_switches names: fault_recover_now has work; interrupts off. */
static bool recover_now_wanted;

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
	raised.has_frame = false;
	raised.pending = true;
	raised.kind = kind;
	copy_message(raised.msg, sizeof(raised.msg), msg);
	raised.rip = rip;
	raised.rbp = rbp;
	__asm__ volatile(".globl fault_raise_ud2\nfault_raise_ud2: ud2" ::: "memory");
	__builtin_unreachable();
}

_Noreturn void fault_raise_frame(uint32_t kind, const char *msg, const struct trap_frame *f)
{
	irq_save();
	raised.frame = *f;
	raised.frame.vector = 2;
	raised.frame.error = 0;
	raised.has_frame = true;
	raised.pending = true;
	raised.kind = kind;
	snprintf(raised.msg, sizeof(raised.msg), "%s", msg ? msg : "(no message)");
	raised.rip = f->rip;
	raised.rbp = f->rbp;
	__asm__ volatile("jmp fault_raise_ud2" ::: "memory");
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
	if (raised.has_frame) {
		uint64_t vector = f->vector;

		*f = raised.frame;
		f->vector = vector;	/* looked up as the #UD it is; reported as the NMI (fill_report) */
		return true;
	}
	f->rip = raised.rip;
	f->rbp = raised.rbp;
	return true;
}

uint64_t fault_raised_vector(uint64_t vector)
{
	return raised.taken && raised.has_frame ? raised.frame.vector : vector;
}

const char *fault_raised_message(void)
{
	return raised.taken ? raised.msg : NULL;
}

/*
 * nano_core functions that only touch the memory their caller names, hold no
 * lock and change no nano_core state: abandoning one half-way leaves nano_core
 * as it was, so a fault in one is its caller's (a bad pointer or length).
 */
static const char *const caller_charged[] = {
	"memcpy", "memmove", "memset", "memcmp", "strlen", "strcmp", "strncmp",
	"snprintf", "vsnprintf", "put", "put_padded", "put_number", "parse_spec",
	"take_unsigned", "take_signed", "convert", "console_uart",
	"siphash24", "siphash24_init", "siphash24_update", "siphash24_final",	/* on the caller's state */
};

/*
 * nano_core functions that call out to a cell and hold nothing while it
 * runs (no lock, no nano_core state half-changed): a task's entry and exit
 * are called through cellref_call, so every task stack has one; the others
 * are the calls a catch point makes (trap_catch_enter, and the functions
 * nano_core's own contained calls pass it), abandoned whole by its resume.
 */
static const char *const calls_out[] = {
	"cellref_call", "trap_catch_enter", "run_int_fn", "run_route", "run_cell_command",
};

/* The name of the nano_core function at addr when it is one of names[0..n), else NULL. */
static const char *named(uint64_t addr, const char *const *names, size_t n, uint64_t *off)
{
	const char *name = ksym_lookup(addr, off);

	for (size_t i = 0; name && i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return name;
	return NULL;
}

static const char *charged_to_caller(uint64_t addr, uint64_t *off)
{
	return named(addr, caller_charged, sizeof(caller_charged) / sizeof(caller_charged[0]), off);
}

/* Whether ret is a return address into a nano_core function of calls_out. */
static bool returns_into_call_out(uint64_t ret)
{
	uint64_t off;

	return named(ret - 1, calls_out, sizeof(calls_out) / sizeof(calls_out[0]), &off) != NULL;
}

bool fault_charge_caller(const struct trap_frame *f, struct cells_where *w)
{
	uint64_t off, rbp = f->rbp, skip;
	const char *name = charged_to_caller(f->rip, &off);

	charged[0] = '\0';
	for (int depth = 0; name && depth < 8 && rbp && !(rbp & 7) && paging_readable(rbp, 16); depth++) {
		uint64_t ret = ((uint64_t *)rbp)[1];

		if (cells_addr_owner(ret - 1, w)) {
			snprintf(charged, sizeof(charged), "%s in nano_core's %s+0x%lx, passed a bad argument",
				 trap_name(f->vector), name, off);
			return true;
		}
		if (!charged_to_caller(ret - 1, &skip))
			return false;	/* called from other nano_core code: nano_core's fault */
		rbp = ((uint64_t *)rbp)[0];
	}
	return false;
}

static bool nano_core_text(uint64_t addr)
{
	return addr >= (uint64_t)__text_start && addr < (uint64_t)__text_end;
}

/* Whether v looks like a return address: the instruction before it is a call. */
static bool after_call(uint64_t v)
{
	static const uint8_t back[] = { 2, 3, 6, 7 };	/* lengths of call r/m64 (ff /2) */
	const uint8_t *p = (const uint8_t *)v;

	if (v < 8 || !paging_readable(v - 7, 7))
		return false;
	if (p[-5] == 0xe8)
		return true;
	for (size_t i = 0; i < sizeof(back); i++)
		if (p[-back[i]] == 0xff && ((p[-back[i] + 1] >> 3) & 7) == 2)
			return true;
	return false;
}

/*
 * A fault at an address that is no code: a call, jump or return through a
 * corrupted pointer. When the nearest code address above the stack pointer
 * (within 64 words) is a return address into a cell, the innermost frame
 * still live is that cell's, and no nano_core code is half-way through on
 * that stack: the fault is the cell's. A nano_core return address (one after
 * a call: a nano_core function pointer kept in a frame is data) leaves it
 * nano_core's, unless it returns into a function that holds nothing while
 * the cell it called runs (calls_out: the call of the task's entry, say,
 * when a corrupted jump or return moved the stack pointer up past every
 * frame of the entry's cell): then the cell that ran last below is charged,
 * as follows.
 *
 * A corrupted return or stack adjustment in a cell can move the stack
 * pointer up past the frames of the code that ran (the frames of its task's
 * entry, say). When the nearest code address above is further than
 * NO_CODE_NEAR words (still a cell's, with no nano_core return address
 * before it: the innermost frame still live is a cell's, as above), or there
 * is no code address at all up to the end of the mapped stack (nothing is
 * live on it), the fault is charged to the cell that ran last there: the
 * first return address into a cell below the stack pointer (within
 * NO_CODE_BELOW words: the frames just abandoned), else to the live cell
 * frame above. With neither, it stays nano_core's.
 */
#define NO_CODE_NEAR 64		/* words above rsp within which a cell's return address is its frame's */
#define NO_CODE_ABOVE 1024	/* words looked at above rsp for the end of its stack */
#define NO_CODE_BELOW 256	/* words looked at below rsp for the cell that ran last */

static bool charge_last_below(const struct trap_frame *f, struct cells_where *w)
{
	for (uint64_t sp = f->rsp - 8, n = 0; n < NO_CODE_BELOW; n++, sp -= 8) {
		uint64_t v;

		if (!paging_readable(sp, 8))
			return false;
		v = *(const uint64_t *)sp;
		if (cells_addr_owner(v - 1, w) && after_call(v))
			return true;
	}
	return false;
}

bool fault_off_task_stack(const struct trap_frame *f, uint64_t *lo, uint64_t *hi)
{
	return ctx_running_stack(lo, hi) && (f->rsp < *lo || f->rsp >= *hi);
}

/*
 * The cell that ran last on the running task's stack [lo, hi), when the
 * stack pointer has left it (a corrupted `enter` or stack adjustment): the
 * first return address into a cell above the lowest register that still
 * points into the stack (the innermost frame's locals), else above the
 * stack's bottom.
 */
static bool charge_on_task_stack(const struct trap_frame *f, uint64_t lo, uint64_t hi,
				 struct cells_where *w)
{
	const uint64_t regs[] = { f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp, f->r8, f->r9,
				  f->r10, f->r11, f->r12, f->r13, f->r14, f->r15 };
	uint64_t from = lo;

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i] >= lo && regs[i] < hi && (from == lo || regs[i] < from))
			from = regs[i];
	for (uint64_t sp = from & ~7ull; sp + 8 <= hi && paging_readable(sp, 8); sp += 8) {
		uint64_t v = *(const uint64_t *)sp;

		if (v >= CELL_BASE && v < CELL_LIMIT && cells_addr_owner(v - 1, w) && after_call(v))
			return true;
	}
	return false;
}

bool fault_charge_no_code(const struct trap_frame *f, struct cells_where *w)
{
	struct cells_where at_rip;
	uint64_t lo, hi;

	if (nano_core_text(f->rip) || cells_addr_owner(f->rip, &at_rip))
		return false;
	if (fault_off_task_stack(f, &lo, &hi))
		return charge_on_task_stack(f, lo, hi, w);
	if (f->rsp & 7)
		return false;
	for (uint64_t sp = f->rsp, n = 0; n < NO_CODE_ABOVE; n++, sp += 8) {
		uint64_t v;

		if (!paging_readable(sp, 8))
			return n > 0 && charge_last_below(f, w);	/* the end of the stack: nothing live */
		v = *(const uint64_t *)sp;
		if (nano_core_text(v) && after_call(v))
			return returns_into_call_out(v) && charge_last_below(f, w);
		if (cells_addr_owner(v - 1, w)) {
			struct cells_where above = *w;

			if (n < NO_CODE_NEAR || charge_last_below(f, w))
				return true;
			*w = above;
			return true;
		}	/* the nearest frame; further up, it may not be this stack's */
	}
	return false;
}

bool fault_charge_bad_call(const struct trap_frame *f, struct cells_where *w)
{
	uint64_t ret, off;
	int32_t rel;

	if (!nano_core_text(f->rip) || (f->rsp & 7) || !paging_readable(f->rsp, 8))
		return false;
	ret = *(const uint64_t *)f->rsp;
	if (ret < 5 || !paging_readable(ret - 5, 5) || *(const uint8_t *)(ret - 5) != 0xe8 ||
	    !cells_addr_owner(ret - 1, w))
		return false;	/* not the return address of a cell's call rel32 */
	memcpy(&rel, (const void *)(ret - 4), sizeof(rel));
	return ret + (uint64_t)(int64_t)rel == f->rip && !(ksym_lookup(f->rip, &off) && off == 0);
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
	static const char *const names[] = { "?", "task", "irq", "init", "hook", "command", "heartbeat",
					       "call" };

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
		if (raised.has_frame) {
			r->vector = r->regs.vector = raised.frame.vector;
			r->error = 0;
		}
		r->kind = raised.kind;
		memcpy(r->message, raised.msg, sizeof(r->message));
		raised.taken = false;
	} else if (charged[0]) {
		memcpy(r->message, charged, sizeof(r->message));
		charged[0] = '\0';
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

/*
 * The report, to the handler; a fault in a cell that every task switch goes
 * through is recovered by fault_recover_now as well, since its recovery
 * task may never be switched to.
 */
static void notify_charged(const struct fault_report *r)
{
	notify(r);
	if (ops_switches(r->cell))
		recover_now_wanted = true;
}

static void run_recover_now(void *arg)
{
	uint64_t fn = *(uint64_t *)arg;

	((int (*)(uint64_t))fn)(0);
}

void fault_recover_now(void)
{
	uint64_t fn, flags;
	struct trap_info ti;

	if (!recover_now_wanted || in_handler || trap_in_interrupt())
		return;	/* an outer interrupt's frames may still be in the faulted code */
	flags = irq_save();
	recover_now_wanted = false;
	if ((fn = ops_resolve(OPS_FAULT_RECOVER_NOW))) {
		in_handler = true;
		if (trap_catch(run_recover_now, &fn, &ti))
			klog(LOG_ERR, "fault: the recovery now (%s) raised %s at %016lx; left to the recovery task",
			     ops_holder(OPS_FAULT_RECOVER_NOW), trap_name(ti.vector), ti.rip);
		in_handler = false;
	}
	irq_restore(flags);
}

/*
 * A fault in a cell_init or a swap hook (context init or hook) is the loading
 * or swapped-in cell's, not live yet, and its load or swap is undone. A fault
 * there in the code of another cell, which is live (state_db's, called by
 * ramfs's hook), is charged in context call: that cell is recovered.
 */
static uint64_t charged_context(const struct cells_where *w, uint64_t context)
{
	struct cells_where in;
	uint64_t fn;

	if ((context != FAULT_CTX_INIT && context != FAULT_CTX_HOOK) || !(fn = cells_calling_in()) ||
	    !cells_addr_owner(fn, &in))
		return context;
	return strcmp(in.cell, w->cell) || strcmp(in.version, w->version) ? FAULT_CTX_CALL : context;
}

void fault_contain(const struct trap_frame *f, const struct cells_where *w, uint64_t context,
		   int64_t irq)
{
	struct fault_report nested;
	/* A fault in a call the handler contains: `report` is the one the handler is reading. */
	struct fault_report *r = in_handler ? &nested : &report;

	fill_report(r, f, w, charged_context(w, context));
	r->irq = irq;
	if (irq >= 0)
		irq_mask((uint64_t)irq);
	notify_charged(r);
}

void fault_heartbeat(const char *cell, const char *version, uint64_t ms, uint64_t period_ms,
		     bool progress)
{
	struct trap_frame none = { 0 };
	struct cells_where w = { 0 };

	snprintf(w.cell, sizeof(w.cell), "%s", cell);
	snprintf(w.version, sizeof(w.version), "%s", version);
	snprintf(w.symbol, sizeof(w.symbol), progress ? "(no progress)" : "(no heartbeat)");
	fill_report(&report, &none, &w, FAULT_CTX_HEARTBEAT);
	report.kind = FAULT_KIND_HANG;
	report.irq = -1;
	report.cr2 = 0;
	report.nframes = 0;
	if (progress)
		snprintf(report.message, sizeof(report.message),
			 "hang: no progress on owed work for %lu ms (bound %lu ms)", ms, period_ms);
	else
		snprintf(report.message, sizeof(report.message), "hang: no heartbeat for %lu ms (period %lu ms)",
			 ms, period_ms);
	notify(&report);
}

void fault_end_task(const struct trap_frame *f, const struct cells_where *w)
{
	uint64_t end = ops_resolve(OPS_TASK_END);
	int err;

	if (fault_ending) {
		/*
		 * The task end itself faulted, in a cell (the tasks cell's own exit
		 * path): the fault is reported, so that the cell is recovered, and
		 * the task is parked (fault_park) to be ended once it is.
		 */
		fill_report(&report, f, w, FAULT_CTX_TASK);
		report.irq = -1;
		notify_charged(&report);
		fault_park_wanted = true;
		return;
	}
	if (!end) {
		kprintf("fault: %s in %s:%s+0x%lx, and no task end is registered\n",
			trap_name(f->vector), w->cell, w->symbol, w->offset);
		return;
	}
	fill_report(&report, f, w, FAULT_CTX_TASK);
	report.irq = -1;
	notify_charged(&report);
	fault_ending = 1;
	err = ((int (*)(uint64_t))end)((uint64_t)(int64_t)FAULT_EXIT_CODE);
	fault_ending = 0;
	kprintf("fault: %s in %s:%s+0x%lx, and the running task cannot be ended (%d)\n",
		trap_name(f->vector), w->cell, w->symbol, w->offset, err);
}

/*
 * The context switch refused the resume point the tasks cell gave it
 * (nano_core/ctx.c): a fault of the cell that holds the switch slots (the
 * one idle_next names), in the task it made the running one, which is
 * ended. The report says rip 0 in "(resume point)" and why. Halts only when
 * no cell holds the slot or the task cannot be ended (task 0).
 */
_Noreturn void fault_switch_refused(const char *why, uint64_t rsp, uint64_t ret)
{
	struct trap_frame f = { .vector = 13, .rip = ret, .rsp = rsp };
	struct cells_where w;
	uint64_t fn = ops_resolve(OPS_IDLE_NEXT);

	if (fn && cells_addr_owner(fn, &w)) {
		snprintf(w.symbol, sizeof(w.symbol), "(resume point)");
		w.offset = 0;
		snprintf(charged, sizeof(charged), "%s", why);
		fault_end_task(&f, &w);	/* returns only if the task cannot be ended */
		if (fault_park_wanted) {
			fault_park_wanted = false;
			fault_park(loader_generation());
		}
	}
	panic("context switch: %s, and no task to end for it", why);
}

/*
 * A task whose end faulted in a cell (the cell that ends tasks is broken):
 * it waits here, as the running task, interrupts on, so that the others and
 * the recovery run; each time the set of loaded cells changes (the broken
 * cell reloaded) it asks the task end slot again. nano_core holds nothing
 * while it waits.
 */
_Noreturn void fault_park(uint64_t gen)
{
	klog(LOG_ERR, "fault: the running task's end faulted; parked until the cells change");
	fault_recover_now();	/* nothing of the faulted code is on this stack any more */
	for (;; cpu_sti_hlt()) {
		if (loader_generation() != gen) {
			uint64_t end;

			irq_save();
			gen = loader_generation();
			if ((end = ops_resolve(OPS_TASK_END))) {
				fault_ending = 1;
				((int (*)(uint64_t))end)((uint64_t)(int64_t)FAULT_EXIT_CODE);
				fault_ending = 0;
			}
		}
	}
}
