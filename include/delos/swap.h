/*
 * Live swap: replace loaded cells with new versions (or fresh copies) while
 * the system runs, as one transaction (loader/swap.c):
 *
 *   1 check     after the swap at most one cell of each name is loaded (the
 *               old cells are leaving, so a cell may become another version
 *               of itself, or a cell of another name); then every new object
 *               loads (valid, spill-free, within its grants, its imports
 *               resolve) beside the old one, unpublished, exports every symbol
 *               the old one's current users import, and its exports will be
 *               free in the namespace once the old cells are gone; the
 *               relink is planned (every site's new bytes, range-checked and
 *               sorted by address), and the host's check runs (nano_core's
 *               runs each new cell's cell_swap_prepare there, with the
 *               world running, in a background state transaction the
 *               handover adopts if the store did not change since)
 *   2 quiesce   the world is stopped and no task runs in, or will return
 *               into, an old cell (the host's check; retried by the host)
 *   3 relink    every relocation into an old cell is rewritten to the new
 *               one: the plan's bytes, in one batch (env.poke_batch), or,
 *               when the link graph changed since the plan (a load or an
 *               unload while the world ran), import by import
 *   4 handover  each new cell's swap-in hook runs, learning the old version
 *   5 commit    the old cells are unloaded (a stale pointer faults) and the
 *               new ones take their names in the namespace
 *
 * A failure in steps 1-4 undoes everything done so far, in reverse order,
 * and says why: the system is exactly as before.
 */
#ifndef DELOS_SWAP_H
#define DELOS_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <delos/loader.h>

#define SWAP_MAX_PAIRS 8
#define SWAP_MSG_MAX 512

enum swap_step { SWAP_CHECK, SWAP_QUIESCE, SWAP_RELINK, SWAP_HANDOVER, SWAP_COMMIT, SWAP_STEPS };

struct swap_pair {
	struct loader_cell *old;
	struct loader_load_args new_args;	/* the new version's object and grants */
	struct loader_cell *new;		/* set by loader_swap */
};

/*
 * What the host provides. stop_and_check stops the world (interrupts off)
 * and checks quiescence for the old cells; it returns 0 with the world
 * stopped since *stopped_ns (now_ns time, the check included), or non-zero
 * with the world running and `why` naming what is inside an old cell. resume restarts the world. swap_in runs new's hook
 * (0 when it has none), telling it the version it replaces.
 */
struct swap_hooks {
	int (*stop_and_check)(void *ctx, const struct swap_pair *pairs, size_t n, char *why, size_t cap,
			      uint64_t *stopped_ns);
	void (*resume)(void *ctx);
	int (*swap_in)(void *ctx, struct loader_cell *new, const char *old_version, char *why, size_t cap);
	uint64_t (*now_ns)(void *ctx);
	/* Called after the commit with the world still stopped (may be NULL). */
	void (*committed)(void *ctx);
	void *ctx;
	/*
	 * The state the swap-in hooks write is one transaction (both may be NULL):
	 * state_begin opens it before the first hook; state_end(ctx, false)
	 * aborts it when a hook fails, and state_end(ctx, true) commits it after
	 * the last, before the loader's commit. A non-zero return refuses the
	 * swap at the handover step (a failed commit rolls the relink back too),
	 * with a reason in why.
	 */
	int (*state_begin)(void *ctx, char *why, size_t cap);
	int (*state_end)(void *ctx, bool commit, char *why, size_t cap);
	/*
	 * After every new cell loaded and passed the loader's checks (may be
	 * NULL): the host's own check of the pairs; non-zero refuses the swap
	 * at the check step, with a reason in why.
	 */
	int (*check)(void *ctx, const struct swap_pair *pairs, size_t n, char *why, size_t cap);
};

struct swap_result {
	uint64_t step_ns[SWAP_STEPS];
	uint64_t pause_ns;		/* world stopped: the last quiescence check to the commit's end */
	uint64_t reap_ns;		/* unmapping the old cells, after the world resumed */
	uint64_t total_ns;
	size_t relocs_rewritten;	/* relocation sites patched in step 3 */
	size_t imports_moved;
	enum swap_step failed_step;	/* meaningful when the result is non-zero */
	char message[SWAP_MSG_MAX];
};

/* Runs the transaction above on n pairs; 0 on success, else a loader status and res->message. */
int loader_swap(struct loader *ld, struct swap_pair *pairs, size_t n, const struct swap_hooks *h,
		struct swap_result *res);

const char *swap_step_name(enum swap_step s);

#endif
