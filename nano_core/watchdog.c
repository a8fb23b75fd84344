/*
 * The hang watchdog: a stack whose code is found in one cell's code at every
 * interrupt that lands on it, with no switch away from it other than
 * preemption, for longer than the cell's bound (watchdog=MS in
 * cells.manifest, FAULT_WATCHDOG_DEFAULT_MS otherwise) is a hang of that
 * cell. Time in nano_core code that the cell called (a loop of calls into
 * nano_core) counts for the cell; the hang is raised at a sample in the
 * cell's own code. A task that blocks (sleeps, waits, yields) starts afresh. Samples
 * are taken at every interrupt (the timer's at least), so only hangs with
 * interrupts on are seen here. Only time the stack ran counts: a gap between
 * two samples of one stack longer than WATCH_GAP_NS (it was preempted, and
 * something else ran, or hung, meanwhile) counts as WATCH_GAP_NS, so a task
 * preempted inside a cell is not charged the time of another's hang.
 */
#include <delos/cells.h>
#include <delos/fault.h>
#include <delos/paging.h>
#include <delos/string.h>
#include <delos/time.h>
#include "nano_core/contain.h"

#define SAME_STACK_SPAN (32ull << 10)	/* two samples this close are on one stack */
#define CTX_VOL_RING 8			/* ctx.S's CTX_VOL_RING_MASK + 1 */
#define WATCHED 8			/* stacks followed at once */
#define CALLED_FROM_FRAMES 3		/* frames of nano_core code looked through for the calling cell */
#define WATCH_GAP_NS (20ull * 1000000)	/* two ticks at 100 Hz: longer between samples, the stack did not run */

/* Written by ctx.S: the stack pointers of the last switches that were not preemptions. */
uint64_t ctx_vol_ring[CTX_VOL_RING];
uint64_t ctx_vol_count;
uint8_t ctx_preempting;	/* set by trap.c around the preemption call; cleared on every resume */

/* One stack found in a cell's code; owned by watchdog.c, interrupts off. */
struct watched {
	bool used;
	char cell[32];
	uint64_t rsp, ran_ns, bound_ns, last_ns;
};
static struct watched watched[WATCHED];
static uint64_t vol_seen;

static bool near(uint64_t a, uint64_t b)
{
	return (a > b ? a - b : b - a) < SAME_STACK_SPAN;
}

/* Forgets every stack that switched away by itself since the last look. */
static void forget_blocked(void)
{
	uint64_t n = ctx_vol_count;

	if (n - vol_seen > CTX_VOL_RING) {
		memset(watched, 0, sizeof(watched));
	} else {
		for (uint64_t i = vol_seen; i < n; i++)
			for (int j = 0; j < WATCHED; j++)
				if (watched[j].used && near(watched[j].rsp, ctx_vol_ring[i % CTX_VOL_RING]))
					watched[j].used = false;
	}
	vol_seen = n;
}

static struct watched *slot_for(uint64_t rsp)
{
	struct watched *free = NULL, *oldest = &watched[0];

	for (int i = 0; i < WATCHED; i++) {
		if (watched[i].used && near(watched[i].rsp, rsp))
			return &watched[i];
		if (!watched[i].used && !free)
			free = &watched[i];
		if (watched[i].last_ns < oldest->last_ns)
			oldest = &watched[i];
	}
	return free ? free : oldest;
}

bool watchdog_called_from(const struct trap_frame *f, const char *cell)
{
	struct cells_where w;
	uint64_t rbp = f->rbp;

	for (int i = 0; i < CALLED_FROM_FRAMES && rbp && !(rbp & 7) && paging_readable(rbp, 16); i++) {
		uint64_t ret = ((uint64_t *)rbp)[1];

		if (cells_addr_owner(ret - 1, &w))
			return strcmp(w.cell, cell) == 0;
		rbp = ((uint64_t *)rbp)[0];
	}
	return false;
}

/*
 * Whether two cell names (NUL-terminated in buffers of 32 bytes) are the
 * same: the four words compared first, which is the whole answer when the
 * interrupt comes in the cell it came in last time (both buffers are
 * copies of the same one); strcmp only when they differ.
 */
static bool same_cell(const char a[32], const char b[32])
{
	uint64_t x[4], y[4];

	__builtin_memcpy(x, a, sizeof x);
	__builtin_memcpy(y, b, sizeof y);
	if (x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3])
		return true;
	return strcmp(a, b) == 0;
}

bool watchdog_check(const struct trap_frame *f, struct cells_where *w, uint64_t *ms, uint64_t now)
{
	struct watched *s;

	forget_blocked();
	s = slot_for(f->rsp);
	if (!cells_addr_cell(f->rip, w->cell)) {
		if (s->used && near(s->rsp, f->rsp) && !watchdog_called_from(f, s->cell))
			s->used = false;
		return false;
	}
	if (!s->used || !near(s->rsp, f->rsp) || !same_cell(s->cell, w->cell)) {
		s->used = true;
		memcpy(s->cell, w->cell, sizeof(s->cell));
		s->rsp = f->rsp;
		s->ran_ns = 0;
		s->bound_ns = cells_watchdog_ms(w->cell) * 1000000ull;
	} else {
		s->ran_ns += now - s->last_ns < WATCH_GAP_NS ? now - s->last_ns : WATCH_GAP_NS;
	}
	s->last_ns = now;
	if (!s->bound_ns || s->ran_ns < s->bound_ns)
		return false;
	*ms = s->ran_ns / 1000000ull;
	s->used = false;
	return cells_addr_owner(f->rip, w);	/* the whole report: a hang is rare */
}
