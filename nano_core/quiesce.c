/*
 * nano_core's side of live swap: stopping the world and checking that no
 * task runs in or will return into an old cell, the swap-in hook and the
 * swap log (printed by the console commands). The transaction is loader/swap.c.
 */
#include <delos/cellref.h>
#include <delos/cells.h>
#include <delos/fault.h>
#include <delos/ctx.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/paging.h>
#include <delos/string.h>
#include <delos/swap.h>
#include <delos/system.h>
#include <delos/time.h>
#include <delos/trap.h>
#include "hal/cpu.h"
#include "nano_core/ops_core.h"

#define QUIESCE_TIMEOUT_NS (200ull * 1000 * 1000)
#define LOG_ENTRIES SYSTEM_SWAP_LOG
#define FRAMES_MAX 64
#define RESTART_MAX 16

/* The swap log and the state of a swap in progress; owned by nano_core. */
static struct {
	struct swap_log_entry log[LOG_ENTRIES];
	uint64_t count;
	uint64_t irq_flags;	/* interrupt flag to restore on resume */
	/* The swap in progress: which old cells restart their blocked tasks, and which tasks. */
	bool restartable[SWAP_MAX_PAIRS];
	int64_t restart_ids[RESTART_MAX];
	size_t nrestart;
	bool restart_self;
	const struct swap_pair *pairs;	/* the swap in progress, for the ops slots */
	size_t npairs;
} sw;

/* Mirrors the tasks cell's struct task_info (cells/tasks/tasks.h). */
struct task_view {
	int64_t id;
	char name[24], state[12], cell[32], sym[48];
	uint64_t runs, cpu_ticks, saved_rip, stack_lo, stack_hi, saved_rsp;
	int prio;
};

struct quiesce {
	const struct swap_pair *pairs;
	size_t n;
	int64_t self;
	uint64_t self_rbp;
	char *why;
	size_t cap, len;
	int busy;
};

static const struct swap_pair *old_holding(const struct quiesce *q, uint64_t addr)
{
	for (size_t i = 0; i < q->n; i++) {
		struct loader_cell_info ci;
		loader_cell_info(q->pairs[i].old, &ci);
		if (addr >= ci.start && addr < ci.end)
			return &q->pairs[i];
	}
	return NULL;
}

static void note_busy(struct quiesce *q, const char *task, const struct swap_pair *p, uint64_t at)
{
	struct loader_cell_info ci;

	loader_cell_info(p->old, &ci);
	if (q->len < q->cap)
		q->len += snprintf(q->why + q->len, q->cap - q->len, "%stask '%s' is in %s (%016lx)",
				   q->busy ? "; " : "", task, ci.name, at);
	q->busy++;
}

extern char trap_dispatch_return[];

/*
 * rbp is the frame record isr.S makes over an interrupt frame. An interrupt
 * taken in a function's prologue or epilogue leaves its caller's return
 * address at the interrupted rsp, outside the frame-pointer chain: check the
 * two words there too.
 */
static const struct swap_pair *interrupted_prologue(struct quiesce *q, uint64_t rbp, uint64_t *at)
{
	const struct trap_frame *f = (const struct trap_frame *)(rbp + 16);
	const struct swap_pair *p = NULL;

	if (!paging_readable((uint64_t)f, sizeof(*f)) || !paging_readable(f->rsp, 16))
		return NULL;
	for (int i = 0; i < 2 && !p; i++) {
		*at = ((const uint64_t *)f->rsp)[i];
		p = old_holding(q, *at);
	}
	return p;
}

/*
 * Walks a frame-pointer chain inside [lo, hi); returns the first old cell
 * holding a return address (and that address in *at), or NULL.
 */
static const struct swap_pair *walk_frames(struct quiesce *q, uint64_t rip, uint64_t rbp,
					   uint64_t lo, uint64_t hi, uint64_t *at)
{
	const struct swap_pair *p = old_holding(q, rip);

	for (int i = 0; !p && rbp && i < FRAMES_MAX; i++) {
		if (rbp < lo || rbp + 16 > hi || (rbp & 7) || !paging_readable(rbp, 16))
			break;
		if (rip == (uint64_t)trap_dispatch_return)
			p = interrupted_prologue(q, rbp, &rip);
		if (p)
			break;
		rip = ((uint64_t *)rbp)[1];
		rbp = ((uint64_t *)rbp)[0];
		p = old_holding(q, rip);
	}
	*at = rip;
	return p;
}

/*
 * A task inside an old cell may still let the swap go on when that cell
 * restarts its tasks (swap=restart), the task entered through it, and it is
 * blocked (its state is all in state_db) or is the one running the swap.
 */
static bool restartable(const struct quiesce *q, const struct task_view *t, const struct swap_pair *p)
{
	struct loader_cell_info ci;
	bool blocked = !strcmp(t->state, "sleeping") || !strcmp(t->state, "waiting");

	loader_cell_info(p->old, &ci);
	if (!sw.restartable[p - q->pairs] || strcmp(t->cell, ci.name) || (!blocked && t->id != q->self))
		return false;
	if (t->id == q->self)
		sw.restart_self = true;
	else if (sw.nrestart < RESTART_MAX)
		sw.restart_ids[sw.nrestart++] = t->id;
	else
		return false;
	return true;
}

/* A switched-out task's stack starts with ctx_switch's frame: r15 r14 r13 r12 rbx rbp ret. */
static void check_task(void *ctx, const struct task_view *t)
{
	struct quiesce *q = ctx;
	const struct swap_pair *p;
	uint64_t at, *frame = (uint64_t *)t->saved_rsp;

	if (t->id == q->self)
		p = walk_frames(q, (uint64_t)check_task, q->self_rbp, t->stack_lo, t->stack_hi, &at);
	else if (t->saved_rsp && paging_readable(t->saved_rsp, 56))
		p = walk_frames(q, frame[6], frame[5], t->stack_lo, t->stack_hi, &at);
	else
		return;
	if (p && !restartable(q, t, p))
		note_busy(q, t->name, p, at);
}

/* Without a tasks cell there is one context: the caller's. */
static void check_caller_only(struct quiesce *q)
{
	uint64_t at;
	const struct swap_pair *p = walk_frames(q, (uint64_t)check_caller_only, q->self_rbp,
						 q->self_rbp, ~0ull, &at);

	if (p)
		note_busy(q, "the calling context", p, at);
}

static int check_all(struct quiesce *q)
{
	static const struct cellref list = { "tasks", "tasks_list" }, self = { "tasks", "task_self" };
	uint64_t fn = cellref_resolve(&list), selfn = cellref_resolve(&self);

	q->busy = 0, q->len = 0;
	sw.nrestart = 0, sw.restart_self = false;
	q->self = selfn ? ((int64_t (*)(void))selfn)() : -1;
	__asm__ volatile("mov %%rbp, %0" : "=r"(q->self_rbp));
	if (fn)
		((int (*)(void (*)(void *, const struct task_view *), void *))fn)(check_task, q);
	else
		check_caller_only(q);
	return q->busy;
}

/* Stops the world and checks; retries (with the world running) for a bounded time. */
static int stop_and_check(void *ctx, const struct swap_pair *pairs, size_t n, char *why, size_t cap,
			  uint64_t *stopped_ns)
{
	struct quiesce q = { .pairs = pairs, .n = n, .self = -1, .why = why, .cap = cap };
	uint64_t deadline = time_ns() + QUIESCE_TIMEOUT_NS;

	(void)ctx;
	for (;;) {
		sw.irq_flags = irq_save();
		*stopped_ns = time_ns();
		if (!check_all(&q))
			return 0;
		irq_restore(sw.irq_flags);
		if (time_ns() > deadline)
			return -1;
		cpu_sti_hlt();	/* let the tasks move on for a tick */
	}
}

static void resume(void *ctx)
{
	(void)ctx;
	irq_restore(sw.irq_flags);
}

static uint64_t version_number(const char *v)
{
	uint64_t n = 0;

	while (*v >= '0' && *v <= '9')
		n = n * 10 + (uint64_t)(*v++ - '0');
	return n;
}

static int swap_in(void *ctx, struct loader_cell *new, const char *old_version, char *why, size_t cap)
{
	struct trap_info ti;
	uint64_t fn;
	int result;

	(void)ctx;
	if (loader_cell_lookup(new, "cell_swap_in", &fn))
		return 0;
	if (cells_call_in(FAULT_CTX_HOOK, fn, version_number(old_version), &result, &ti)) {
		snprintf(why, cap, "raised %s at %016lx", trap_name(ti.vector), ti.rip);
		return -1;
	}
	if (result)
		snprintf(why, cap, "returned %d", result);
	return result;
}

static uint64_t now_ns(void *ctx)
{
	(void)ctx;
	return time_ns();
}

/* With the world still stopped: blocked tasks of restartable cells start over in the new code. */
static void committed(void *ctx)
{
	uint64_t restart;

	(void)ctx;
	ops_swap_commit(sw.pairs, sw.npairs);
	cells_changed();	/* before the world resumes: trap.c's remembered addresses go stale */
	restart = ops_resolve(OPS_TASK_RESTART);
	for (size_t i = 0; i < sw.nrestart; i++)
		if (!restart || ((int (*)(uint64_t))restart)((uint64_t)sw.restart_ids[i]))
			klog(LOG_ERR, "swap: cannot restart task %ld", sw.restart_ids[i]);
}

/* The check step's last word: no required ops slot may end up empty. */
static int check_slots(void *ctx, const struct swap_pair *pairs, size_t n, char *why, size_t cap)
{
	(void)ctx;
	return ops_swap_check(pairs, n, why, cap);
}

/*
 * The hooks' transaction is the one the ops slots state_begin / state_end
 * open and end (the state_db cell's): the calling task's, so every record a
 * hook writes goes into it.
 */
static int state_begin(void *ctx, char *why, size_t cap)
{
	uint64_t begin = ops_resolve(OPS_STATE_BEGIN);
	int err;

	(void)ctx;
	if (!begin)
		return 0;	/* no state store: the hooks cannot write records either */
	if ((err = ((int (*)(uint64_t))begin)(0))) {
		snprintf(why, cap, "the state transaction's begin (%s:%s) returned %d",
			 ops_holder(OPS_STATE_BEGIN), ops_symbol(OPS_STATE_BEGIN), err);
		return -1;
	}
	return 0;
}

static int state_end(void *ctx, bool commit, char *why, size_t cap)
{
	uint64_t end = ops_resolve(OPS_STATE_END);
	int err;

	(void)ctx;
	if (!end)
		return 0;
	if ((err = ((int (*)(uint64_t))end)(commit))) {
		if (why)
			snprintf(why, cap, "the state transaction's end (%s:%s) returned %d",
				 ops_holder(OPS_STATE_END), ops_symbol(OPS_STATE_END), err);
		return -1;
	}
	return 0;
}

static const struct swap_hooks kernel_hooks = {
	stop_and_check, resume, swap_in, now_ns, committed, NULL, state_begin, state_end,
	check_slots,
};

static void log_swap(const char *what, int status, const struct swap_result *res)
{
	struct swap_log_entry *e = &sw.log[sw.count++ % LOG_ENTRIES];

	e->when_ns = time_ns();
	snprintf(e->what, sizeof(e->what), "%s", what);
	e->status = status;
	e->res = *res;
}

uint64_t system_swap_log(uint64_t n, struct swap_log_entry *e, bool *kept)
{
	*kept = n < sw.count && n + LOG_ENTRIES >= sw.count;
	if (*kept)
		*e = sw.log[n % LOG_ENTRIES];
	return sw.count;
}

int cells_swap(struct swap_pair *pairs, const bool *restart, size_t n, const char *what,
	       struct swap_result *res)
{
	int err;

	for (size_t i = 0; i < SWAP_MAX_PAIRS; i++)
		sw.restartable[i] = i < n && restart[i];
	sw.nrestart = 0, sw.restart_self = false;
	sw.pairs = pairs, sw.npairs = n;
	err = loader_swap(cells_loader(), pairs, n, &kernel_hooks, res);
	log_swap(what, err, res);
	if (!err)
		cells_changed();
	if (!err && sw.nrestart)
		kprintf("swap: %zu blocked task%s start%s over in the new code\n", sw.nrestart,
			sw.nrestart == 1 ? "" : "s", sw.nrestart == 1 ? "s" : "");
	if (!err && sw.restart_self)
		kprintf("swap: this task starts over in the new code\n");
	return err;
}

void swap_restart_self_if_needed(void)
{
	uint64_t self = ops_resolve(OPS_TASK_RESTART_SELF);

	if (!sw.restart_self)
		return;
	sw.restart_self = false;
	if (self)
		((int (*)(uint64_t))self)(0);
	klog(LOG_ERR, "swap: the calling task could not restart; halting it");
	for (;;)
		cpu_sti_hlt();
}
