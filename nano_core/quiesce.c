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
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/swap.h>
#include <delos/system.h>
#include <delos/time.h>
#include <delos/trap.h>
#include "hal/cpu.h"
#include "nano_core/loader_slot.h"
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
	uint64_t caller_rbp;	/* cells_swap's frame, where the quiescence walk of its task starts */
	/* The swap in progress: which old cells restart their blocked tasks, and which tasks. */
	bool restartable[SWAP_MAX_PAIRS];
	int64_t restart_ids[RESTART_MAX];
	size_t nrestart;
	bool restart_self;
	const struct swap_pair *pairs;	/* the swap in progress, for the ops slots */
	size_t npairs;
	/* Each new cell's hooks, looked up at the check step, before the world stops (0: none). */
	uint64_t swap_in_fn[SWAP_MAX_PAIRS], done_fn[SWAP_MAX_PAIRS], prepare_fn[SWAP_MAX_PAIRS];
	/* The word each new cell's cell_swap_prepare kept for its cell_swap_in (cell_swap_keep). */
	uint64_t kept[SWAP_MAX_PAIRS];
	bool has_kept[SWAP_MAX_PAIRS];
	enum { HOOK_NONE, HOOK_PREPARE, HOOK_SWAP_IN } hook;	/* which hook runs, of pair hook_pair */
	size_t hook_pair;
	bool txn_open;	/* the hooks' state transaction was begun (at the first hook) */
	bool txn_used;	/* ...in this swap: resume lets it free what it replaced */
	bool prep_txn;	/* the prepare hooks' background transaction is open, not yet adopted */
} sw;

struct quiesce {
	const struct swap_pair *pairs;
	struct ops_range ranges[SWAP_MAX_PAIRS + 1];
	size_t n;
	size_t nranges, slot_pair;	/* ranges[n], if any: the calls through the loader slot */
	uint64_t self_rbp;
	char *why;
	size_t cap, len;
	int busy;
};

static int range_holding(const struct ops_range *r, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (addr >= r[i].lo && addr < r[i].hi)
			return (int)i;
	return -1;
}

static void note_busy(struct quiesce *q, const char *task, size_t range, uint64_t at)
{
	struct loader_cell_info ci;

	loader_cell_info(q->pairs[range].old, &ci);
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
static int interrupted_prologue(const struct ops_range *r, size_t n, uint64_t rbp, uint64_t *at)
{
	const struct trap_frame *f = (const struct trap_frame *)(rbp + 16);
	int p = -1;

	if (!paging_readable((uint64_t)f, sizeof(*f)) || !paging_readable(f->rsp, 16))
		return -1;
	for (int i = 0; i < 2 && p < 0; i++) {
		*at = ((const uint64_t *)f->rsp)[i];
		p = range_holding(r, n, *at);
	}
	return p;
}

int ctx_frames_inside(const struct ops_range *r, size_t n, uint64_t rip, uint64_t rbp,
		      uint64_t lo, uint64_t hi, uint64_t *at)
{
	int p = range_holding(r, n, rip);
	uint64_t page = ~0ull;	/* the last stack page found mapped: frames share pages */

	for (int i = 0; p < 0 && rbp && i < FRAMES_MAX; i++) {
		if (rbp < lo || rbp + 16 > hi || (rbp & 7))
			break;
		if ((rbp >> 12) != page || ((rbp + 15) >> 12) != page) {
			if (!paging_readable(rbp, 16))
				break;
			page = (rbp + 15) >> 12 == rbp >> 12 ? rbp >> 12 : ~0ull;
		}
		if (rip == (uint64_t)trap_dispatch_return)
			p = interrupted_prologue(r, n, rbp, &rip);
		if (p >= 0)
			break;
		rip = ((uint64_t *)rbp)[1];
		rbp = ((uint64_t *)rbp)[0];
		p = range_holding(r, n, rip);
	}
	*at = rip;
	return p;
}

/*
 * A task inside an old cell may still let the swap go on when that cell
 * restarts its tasks (swap=restart), the task entered through it, and it is
 * blocked (its state is all in state_db) or is the one running the swap.
 */
static bool restartable(const struct quiesce *q, const struct ops_task_inside *t)
{
	struct loader_cell_info ci;

	loader_cell_info(q->pairs[t->range].old, &ci);
	if (!sw.restartable[t->range] || strcmp(t->entry_cell, ci.name) || (!t->blocked && !t->self))
		return false;
	if (t->self)
		sw.restart_self = true;
	else if (sw.nrestart < RESTART_MAX)
		sw.restart_ids[sw.nrestart++] = t->id;
	else
		return false;
	return true;
}

static void found_inside(void *ctx, const struct ops_task_inside *t)
{
	struct quiesce *q = ctx;
	struct ops_task_inside u = *t;

	if (t->range >= q->nranges)
		return;
	u.range = t->range < q->n ? t->range : q->slot_pair;	/* the slot's calls: the loader's */
	if (!restartable(q, &u))
		note_busy(q, u.name, u.range, u.at);
}

/* Without a tasks cell there is one context: the caller's. */
static void check_caller_only(struct quiesce *q)
{
	uint64_t at;
	int p = ctx_frames_inside(q->ranges, q->nranges, (uint64_t)cells_swap, q->self_rbp,
				  q->self_rbp, ~0ull, &at);

	if (p >= 0)
		note_busy(q, "the calling context", (size_t)p < q->n ? (size_t)p : q->slot_pair, at);
}

/* The tasks cell answers through its ops slot (include/delos/ops.h). */
static int check_all(struct quiesce *q)
{
	uint64_t fn = ops_resolve(OPS_TASKS_INSIDE);
	struct ops_inside_query oq = { q->ranges, q->nranges, 0, 0, found_inside, q };

	q->busy = 0, q->len = 0;
	sw.nrestart = 0, sw.restart_self = false;
	/*
	 * The asking task's walk starts at cells_swap's frame: what lies below
	 * it is this swap's own (quiesce.c and the loader running the swap,
	 * which may be an old cell itself: the loader swapping itself).
	 */
	q->self_rbp = sw.caller_rbp;
	oq.self_rip = (uint64_t)cells_swap;
	oq.self_rbp = q->self_rbp;
	if (!fn || ((int (*)(struct ops_inside_query *))fn)(&oq) < 0) {
		q->busy = 0, q->len = 0;
		check_caller_only(q);
	}
	return q->busy;
}

/*
 * Lets the busy tasks move on: first by yielding the CPU to them (a task
 * preempted inside the old cell leaves it at once, instead of a tick later),
 * then, every other try, by waiting for an interrupt. A caller that is not a
 * task (task 0, or no tasks cell) only waits.
 */
static void let_tasks_run(unsigned tries)
{
	uint64_t fn = tries % 2 == 0 ? ops_resolve(OPS_TASK_YIELD) : 0;

	if (!fn || ((int (*)(uint64_t))fn)(0) < 0)
		cpu_sti_hlt();
}

/* Stops the world and checks; retries (with the world running) for a bounded time. */
static int stop_and_check(void *ctx, const struct swap_pair *pairs, size_t n, char *why, size_t cap,
			  uint64_t *stopped_ns)
{
	struct quiesce q = { .pairs = pairs, .n = n, .why = why, .cap = cap };
	uint64_t deadline = time_ns() + QUIESCE_TIMEOUT_NS;

	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		struct loader_cell_info ci;

		loader_cell_info(pairs[i].old, &ci);
		q.ranges[i] = (struct ops_range){ ci.start, ci.end };
	}
	q.nranges = n;
	if (loader_slot_moving(&q.slot_pair, &q.ranges[n].lo, &q.ranges[n].hi))
		q.nranges++;
	for (unsigned tries = 0;; tries++) {
		sw.irq_flags = irq_save();
		*stopped_ns = time_ns();
		if (!check_all(&q))
			return 0;
		irq_restore(sw.irq_flags);
		/* A caller with interrupts off (a recovery done at once) lets nothing run: no wait helps. */
		if (time_ns() > deadline || !(sw.irq_flags & RFLAGS_IF))
			return -1;
		let_tasks_run(tries);
	}
}

/*
 * Calls the state store's transaction slot (OPS_STATE_BEGIN or OPS_STATE_END,
 * both int (uint64_t)) contained, as part of the swap: a fault in it is the
 * state_db cell's, never nano_core's. Returns 1 when the slot is empty, -1
 * when the call faulted (the reason in why), else 0 with its answer in *got.
 */
static int state_call(uint64_t slot, uint64_t arg, int *got, char *why, size_t cap)
{
	uint64_t fn = ops_resolve(slot);
	struct trap_info ti;

	*got = 0;
	if (!fn)
		return 1;
	if (cells_call_in(FAULT_CTX_HOOK, fn, arg, got, &ti)) {
		if (why)
			snprintf(why, cap, "the state transaction's %s (%s:%s) raised %s at %016lx",
				 slot == OPS_STATE_BEGIN ? "begin" : "end", ops_holder(slot), ops_symbol(slot),
				 trap_name(ti.vector), ti.rip);
		return -1;
	}
	return 0;
}

/*
 * The world runs again; the state store frees what the hooks' transaction
 * replaced (its commit, in the pause, only retired it).
 */
static void resume(void *ctx)
{
	int got;

	(void)ctx;
	irq_restore(sw.irq_flags);
	if (sw.txn_used)
		state_call(OPS_STATE_BEGIN, SDB_TXN_RESUMED, &got, NULL, 0);
	sw.txn_used = false;
}

static uint64_t version_number(const char *v)
{
	uint64_t n = 0;

	while (*v >= '0' && *v <= '9')
		n = n * 10 + (uint64_t)(*v++ - '0');
	return n;
}

static int txn_begin(char *why, size_t cap);

/* The pair whose new cell is `new` (sw.npairs if none). */
static size_t pair_of(const struct loader_cell *new)
{
	size_t i = 0;

	while (i < sw.npairs && sw.pairs[i].new != new)
		i++;
	return i;
}

/* Runs hook fn of pair i as `kind`, with arg; 0, or -1 with the reason in why. */
static int run_hook(int kind, size_t i, uint64_t fn, uint64_t arg, char *why, size_t cap)
{
	struct trap_info ti;
	int result, err;

	sw.hook = kind, sw.hook_pair = i;
	err = cells_call_in(FAULT_CTX_HOOK, fn, arg, &result, &ti);
	sw.hook = HOOK_NONE;
	if (err) {
		snprintf(why, cap, "raised %s at %016lx", trap_name(ti.vector), ti.rip);
		return -1;
	}
	if (result)
		snprintf(why, cap, "returned %d", result);
	return result ? -1 : 0;
}

int cell_swap_keep(uint64_t word)
{
	if (sw.hook != HOOK_PREPARE || sw.hook_pair >= SWAP_MAX_PAIRS)
		return -1;
	sw.kept[sw.hook_pair] = word;
	sw.has_kept[sw.hook_pair] = true;
	return 0;
}

bool cell_swap_kept(uint64_t *word)
{
	if (sw.hook != HOOK_SWAP_IN || sw.hook_pair >= SWAP_MAX_PAIRS || !sw.has_kept[sw.hook_pair])
		return false;
	*word = sw.kept[sw.hook_pair];
	return true;
}

static int swap_in(void *ctx, struct loader_cell *new, const char *old_version, char *why, size_t cap)
{
	size_t i = pair_of(new);
	uint64_t fn = i < SWAP_MAX_PAIRS ? sw.swap_in_fn[i] : 0;

	(void)ctx;
	if (!fn)
		return 0;
	if (txn_begin(why, cap))
		return -1;
	return run_hook(HOOK_SWAP_IN, i, fn, version_number(old_version), why, cap);
}

static uint64_t now_ns(void *ctx)
{
	(void)ctx;
	return time_ns();
}

/*
 * A new cell's cell_swap_done(old_version), if it exports one, runs once the
 * swap has committed: what cannot be taken back (a screen mode switched, a
 * device reprogrammed) waits for it, while cell_swap_in only checks and
 * writes records. It cannot refuse the swap any more: a failure or a fault
 * is logged (and a fault is the cell's, as in any hook).
 */
static void run_done_hooks(void)
{
	struct loader_cell_info oi, ni;
	struct trap_info ti;
	uint64_t fn;
	int result;

	for (size_t i = 0; i < sw.npairs; i++) {
		if (!(fn = sw.done_fn[i]))
			continue;
		loader_cell_info(sw.pairs[i].old, &oi);
		loader_cell_info(sw.pairs[i].new, &ni);
		if (cells_call_in(FAULT_CTX_HOOK, fn, version_number(oi.version), &result, &ti))
			klog(LOG_ERR, "swap: %s@%s's cell_swap_done raised %s at %016lx", ni.name,
			     ni.version, trap_name(ti.vector), ti.rip);
		else if (result)
			klog(LOG_ERR, "swap: %s@%s's cell_swap_done returned %d", ni.name, ni.version,
			     result);
	}
}

/* With the world still stopped: blocked tasks of restartable cells start over in the new code. */
static void committed(void *ctx)
{
	uint64_t restart;

	(void)ctx;
	loader_slot_swap_commit();	/* first: what runs from here on calls the new loader */
	ops_swap_commit(sw.pairs, sw.npairs);
	cells_changed();	/* before the world resumes: trap.c's remembered addresses go stale */
	run_done_hooks();
	restart = sw.nrestart ? ops_resolve(OPS_TASK_RESTART) : 0;
	for (size_t i = 0; i < sw.nrestart; i++)
		if (!restart || ((int (*)(uint64_t))restart)((uint64_t)sw.restart_ids[i]))
			klog(LOG_ERR, "swap: cannot restart task %ld", sw.restart_ids[i]);
}

static int prep_txn_begin(char *why, size_t cap);
static void prep_txn_abort(void);

/*
 * New cell c's swap hooks (pair i), in one pass over its symbols: each the
 * global function of that name, as loader_cell_lookup finds it, or 0.
 */
static void find_hooks(const struct loader_cell *c, size_t i)
{
	static const char pfx[] = "cell_swap_";
	size_t n = loader_cell_nsyms(c);
	struct loader_sym s;

	sw.swap_in_fn[i] = sw.done_fn[i] = sw.prepare_fn[i] = 0;
	for (size_t k = 0; k < n; k++) {
		loader_cell_sym(c, k, &s);
		if (!s.func || s.bind == LOADER_LOCAL || strncmp(s.name, pfx, sizeof(pfx) - 1))
			continue;
		const char *rest = s.name + sizeof(pfx) - 1;
		uint64_t *slot = !strcmp(rest, "in")        ? &sw.swap_in_fn[i]
			       : !strcmp(rest, "done")    ? &sw.done_fn[i]
			       : !strcmp(rest, "prepare") ? &sw.prepare_fn[i] : NULL;
		if (slot && !*slot)
			*slot = s.addr;
	}
}

/*
 * The check step's last word: no required ops slot may end up empty. It
 * also looks the new cells' hooks up, so that the pause only calls them,
 * resolves the ops slots the pause calls (their cache holds until the
 * commit changes the cells), and runs each new cell's cell_swap_prepare,
 * with the world running: what a swap-in hook would verify is verified
 * here, and the hook only confirms it in the pause (include/delos/cell.h).
 */
static int check_slots(void *ctx, const struct swap_pair *pairs, size_t n, char *why, size_t cap)
{
	struct loader_cell_info oi, ni;
	char hwhy[160];

	(void)ctx;
	for (size_t i = 0; i < n && i < SWAP_MAX_PAIRS; i++)
		find_hooks(pairs[i].new, i);
	bool any = false;

	if (ops_swap_check(pairs, n, why, cap) || loader_slot_swap_check(pairs, n, why, cap))
		return -1;
	ops_resolve(OPS_TASKS_INSIDE);
	ops_resolve(OPS_STATE_BEGIN);
	ops_resolve(OPS_STATE_END);
	for (size_t i = 0; i < n && i < SWAP_MAX_PAIRS; i++)
		any |= sw.prepare_fn[i] != 0;
	if (any && prep_txn_begin(why, cap))
		return -1;
	for (size_t i = 0; i < n && i < SWAP_MAX_PAIRS; i++) {
		if (!sw.prepare_fn[i])
			continue;
		loader_cell_info(pairs[i].old, &oi);
		hwhy[0] = '\0';
		if (run_hook(HOOK_PREPARE, i, sw.prepare_fn[i], version_number(oi.version), hwhy,
			     sizeof(hwhy))) {
			loader_cell_info(pairs[i].new, &ni);
			snprintf(why, cap, "%s@%s's cell_swap_prepare %s", ni.name, ni.version, hwhy);
			prep_txn_abort();
			return -1;
		}
	}
	/* Until the pause adopts it, the swap's own task writes around it (and makes it stale). */
	int got;

	if (sw.prep_txn && state_call(OPS_STATE_BEGIN, SDB_TXN_SUSPEND, &got, why, cap) < 0) {
		prep_txn_abort();
		return -1;
	}
	return 0;
}

/*
 * The hooks' transaction is the state_db cell's (include/delos/sdb.h): the
 * calling task's, so every record a hook writes goes into it. It is begun
 * right before the first swap-in hook runs: a swap whose new cells have no
 * hook writes no record and keeps the world stopped for less.
 */
static int txn_begin(char *why, size_t cap)
{
	int err, called;

	if (sw.txn_open)
		return 0;
	if ((called = state_call(OPS_STATE_BEGIN, SDB_TXN_ADOPT, &err, why, cap)) > 0)
		return 0;	/* no state store: the hooks cannot write records either */
	if (called < 0)
		return -1;
	if (err < 0) {
		snprintf(why, cap, "the state transaction's begin (%s:%s) returned %d",
			 ops_holder(OPS_STATE_BEGIN), ops_symbol(OPS_STATE_BEGIN), err);
		return -1;
	}
	sw.txn_open = sw.txn_used = true;
	return 0;
}

/*
 * The prepare hooks write into a background transaction (include/delos/sdb.h),
 * begun here at the check step with the world running: a refused swap
 * aborts it, and the pause adopts it if nothing outside it changed since.
 */
static int prep_txn_begin(char *why, size_t cap)
{
	int err, called;

	sw.prep_txn = false;
	if ((called = state_call(OPS_STATE_BEGIN, SDB_TXN_BACKGROUND, &err, why, cap)) > 0)
		return 0;	/* no state store: the hooks cannot write records either */
	if (called < 0)
		return -1;
	if (err) {
		snprintf(why, cap, "the prepare hooks' state transaction (%s:%s) returned %d",
			 ops_holder(OPS_STATE_BEGIN), ops_symbol(OPS_STATE_BEGIN), err);
		return -1;
	}
	sw.prep_txn = true;
	return 0;
}

static void prep_txn_abort(void)
{
	int got;

	if (sw.prep_txn)
		state_call(OPS_STATE_END, 0, &got, NULL, 0);
	sw.prep_txn = false;
}

/*
 * Before the first hook in the pause: the prepare hooks' transaction
 * becomes the swap's, or, when the store changed since they ran, it is
 * dropped with what they kept, and the swap-in hooks redo their work in a
 * fresh one.
 */
static int state_begin(void *ctx, char *why, size_t cap)
{
	int got, called;

	(void)ctx;
	sw.txn_open = false;
	if (!sw.prep_txn)
		return 0;
	sw.prep_txn = false;
	if ((called = state_call(OPS_STATE_BEGIN, SDB_TXN_ADOPT, &got, why, cap)) < 0)
		return -1;
	if (called > 0 || got < 0) {
		snprintf(why, cap, "the state transaction's begin (%s:%s) failed", ops_holder(OPS_STATE_BEGIN),
			 ops_symbol(OPS_STATE_BEGIN));
		return -1;
	}
	sw.txn_open = sw.txn_used = true;
	if (got == 0)
		memset(sw.has_kept, 0, sizeof(sw.has_kept));
	return 0;
}

static int state_end(void *ctx, bool commit, char *why, size_t cap)
{
	int err, called;

	(void)ctx;
	if (!sw.txn_open)
		return 0;
	sw.txn_open = false;
	if ((called = state_call(OPS_STATE_END, commit, &err, why, cap)) > 0)
		return 0;
	if (called < 0)
		return -1;
	if (err) {
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
	memset(sw.swap_in_fn, 0, sizeof(sw.swap_in_fn));
	memset(sw.done_fn, 0, sizeof(sw.done_fn));
	memset(sw.prepare_fn, 0, sizeof(sw.prepare_fn));
	memset(sw.has_kept, 0, sizeof(sw.has_kept));
	sw.hook = HOOK_NONE;
	sw.prep_txn = sw.txn_used = false;
	sw.caller_rbp = (uint64_t)__builtin_frame_address(0);
	err = loader_swap(cells_loader(), pairs, n, &kernel_hooks, res);
	/* An old loader cell is left mapped by the swap that replaced it: reaped now, by the new one. */
	for (size_t i = 0; !err && i < n; i++)
		if (pairs[i].old)
			loader_reap(cells_loader(), pairs[i].old);
	prep_txn_abort();	/* refused after the prepare hooks: nothing of theirs stays */
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
