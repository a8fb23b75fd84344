/*
 * nano_core's side of live swap: stopping the world and checking that no
 * task runs in or will return into an old cell, the swap-in hook, the swap
 * log, and the `swap` / `swaps` commands. The transaction is loader/swap.c.
 */
#include <delos/cellref.h>
#include <delos/cells.h>
#include <delos/fault.h>
#include <delos/ctx.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/paging.h>
#include <delos/string.h>
#include <delos/swap.h>
#include <delos/tasks.h>
#include <delos/time.h>
#include <delos/trap.h>
#include "hal/cpu.h"

#define QUIESCE_TIMEOUT_NS (200ull * 1000 * 1000)
#define LOG_ENTRIES 32
#define FRAMES_MAX 64
#define RESTART_MAX 16

/* The swap log and the state of a swap in progress; owned by nano_core. */
static struct {
	struct swap_log_entry {
		uint64_t when_ns;
		char what[96];
		int status;
		struct swap_result res;
	} log[LOG_ENTRIES];
	uint64_t count;
	uint64_t irq_flags;	/* interrupt flag to restore on resume */
	/* The swap in progress: which old cells restart their blocked tasks, and which tasks. */
	bool restartable[SWAP_MAX_PAIRS];
	int64_t restart_ids[RESTART_MAX];
	size_t nrestart;
	bool restart_self;
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

/*
 * Lets the busy tasks move on: first by yielding the CPU to them (a task
 * preempted inside the old cell leaves it at once, instead of a tick later),
 * then, every other try, by waiting for an interrupt. A caller that is not a
 * task (task 0, or no tasks cell) only waits.
 */
static void let_tasks_run(const struct quiesce *q, unsigned tries)
{
	static const struct cellref block = { "tasks", "tasks_block" };
	uint64_t fn = q->self > 0 && tries % 2 == 0 ? cellref_resolve(&block) : 0;

	if (fn)
		((int (*)(uint64_t, uint64_t))fn)(TASKS_OP_YIELD, 0);
	else
		cpu_sti_hlt();
}

/* Stops the world and checks; retries (with the world running) for a bounded time. */
static int stop_and_check(void *ctx, const struct swap_pair *pairs, size_t n, char *why, size_t cap,
			  uint64_t *stopped_ns)
{
	struct quiesce q = { .pairs = pairs, .n = n, .self = -1, .why = why, .cap = cap };
	uint64_t deadline = time_ns() + QUIESCE_TIMEOUT_NS;

	(void)ctx;
	for (unsigned tries = 0;; tries++) {
		sw.irq_flags = irq_save();
		*stopped_ns = time_ns();
		if (!check_all(&q))
			return 0;
		irq_restore(sw.irq_flags);
		if (time_ns() > deadline)
			return -1;
		let_tasks_run(&q, tries);
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
	static const struct cellref restart = { "tasks", "tasks_restart" };

	(void)ctx;
	cells_changed();	/* before the world resumes: trap.c's remembered addresses go stale */
	for (size_t i = 0; i < sw.nrestart; i++)
		if (cellref_call(&restart, (uint64_t)sw.restart_ids[i], NULL))
			klog(LOG_ERR, "swap: cannot restart task %ld", sw.restart_ids[i]);
}

/*
 * The hooks' transaction is the state_db cell's (include/delos/sdb.h): the
 * calling task's, so every record a hook writes goes into it.
 */
static int state_begin(void *ctx, char *why, size_t cap)
{
	static const struct cellref begin = { "state_db", "sdb_txn_begin" };
	int err;

	(void)ctx;
	if (!cellref_resolve(&begin))
		return 0;	/* no state_db cell: the hooks cannot write records either */
	if (cellref_call(&begin, 0, &err) || err) {
		snprintf(why, cap, "sdb_txn_begin returned %d", err);
		return -1;
	}
	return 0;
}

static int state_end(void *ctx, bool commit, char *why, size_t cap)
{
	static const struct cellref end = { "state_db", "sdb_txn_end" };
	int err = 0;

	(void)ctx;
	if (!cellref_resolve(&end))
		return 0;
	if (cellref_call(&end, commit, &err) || err) {
		if (why)
			snprintf(why, cap, "sdb_txn_end returned %d", err);
		return -1;
	}
	return 0;
}

static const struct swap_hooks kernel_hooks = {
	stop_and_check, resume, swap_in, now_ns, committed, NULL, state_begin, state_end,
};

static void log_swap(const char *what, int status, const struct swap_result *res)
{
	struct swap_log_entry *e = &sw.log[sw.count++ % LOG_ENTRIES];

	e->when_ns = time_ns();
	snprintf(e->what, sizeof(e->what), "%s", what);
	e->status = status;
	e->res = *res;
}

int cells_swap(struct swap_pair *pairs, const bool *restart, size_t n, const char *what,
	       struct swap_result *res)
{
	int err;

	for (size_t i = 0; i < SWAP_MAX_PAIRS; i++)
		sw.restartable[i] = i < n && restart[i];
	sw.nrestart = 0, sw.restart_self = false;
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
	static const struct cellref self = { "tasks", "tasks_restart_self" };

	if (!sw.restart_self)
		return;
	sw.restart_self = false;
	cellref_call(&self, 0, NULL);
	klog(LOG_ERR, "swap: the calling task could not restart; halting it");
	for (;;)
		cpu_sti_hlt();
}

static void print_steps(const struct swap_result *r)
{
	for (int s = 0; s < SWAP_STEPS; s++)
		kprintf("  %-9s %8lu ns\n", swap_step_name(s), r->step_ns[s]);
	kprintf("  pause     %8lu ns (world stopped)\n  unmap     %8lu ns (old cells, world running)\n"
		"  total     %8lu ns\n", r->pause_ns, r->reap_ns, r->total_ns);
	kprintf("  relocations rewritten %zu (in %zu imports)\n", r->relocs_rewritten, r->imports_moved);
}

void kcmd_swaps(int argc, char **argv)
{
	uint64_t first = sw.count > LOG_ENTRIES ? sw.count - LOG_ENTRIES : 0;

	(void)argv;
	if (argc != 1) {
		kprintf("usage: swaps\n");
		return;
	}
	if (!sw.count)
		kprintf("no swaps yet\n");
	for (uint64_t i = first; i < sw.count; i++) {
		const struct swap_log_entry *e = &sw.log[i % LOG_ENTRIES];
		kprintf("#%lu at %lu.%06lu s: %s: %s\n", i + 1, e->when_ns / 1000000000,
			e->when_ns / 1000 % 1000000, e->what, e->status ? e->res.message : "ok");
		if (!e->status)
			print_steps(&e->res);
	}
}

void swap_print_result(int err, const struct swap_result *res, bool verbose)
{
	if (err) {
		kprintf("%s\nswap refused at step '%s'; nothing changed\n", res->message,
			swap_step_name(res->failed_step));
		return;
	}
	kprintf("swap: done in %lu us (world stopped %lu us, %zu relocations rewritten)\n",
		res->total_ns / 1000, res->pause_ns / 1000, res->relocs_rewritten);
	if (verbose)
		print_steps(res);
}
