/* Live swap as a transaction over the loader; see include/delos/swap.h. */
#include "loader/internal.h"
#include <delos/swap.h>

/* One import the relink moves: to `to`'s export t. */
struct plan_move {
	struct loader_import *im;
	struct loader_cell *to;
	const struct lsym *t;
};

/*
 * The relink, prepared at the check step with the world running: every
 * import to move and every site's new bytes, sorted by address. It holds
 * while the link graph is as it was (loader_link_changes); the pause then
 * only writes the bytes.
 */
struct plan {
	struct plan_move *moves;
	struct loader_poke *pokes;
	size_t nmoves, npokes;
	uint64_t link_at;
	bool ready;
};

struct swap {
	struct loader *ld;
	struct swap_pair *pairs;
	size_t n;
	const struct swap_hooks *h;
	struct swap_result *res;
	uint64_t t_step;
	uint64_t ns_checked;	/* loader_ns_changes after the check step */
	struct plan plan;
};

static const char *const step_names[SWAP_STEPS] = {
	"check", "quiesce", "relink", "handover", "commit",
};

const char *swap_step_name(enum swap_step s)
{
	return s < SWAP_STEPS ? step_names[s] : "?";
}

static int fail(struct swap *S, enum swap_step step, int code, const char *fmt, ...)
{
	struct lmsg m = { S->res->message, sizeof(S->res->message), 0 };
	va_list ap;

	va_start(ap, fmt);
	lmsg_vprintf(&m, fmt, ap);
	va_end(ap);
	S->res->failed_step = step;
	return code;
}

static void step_done(struct swap *S, enum swap_step step)
{
	uint64_t now = S->h->now_ns(S->h->ctx);

	S->res->step_ns[step] = now - S->t_step;
	S->t_step = now;
}

static void unload_new(struct swap *S, size_t upto)
{
	for (size_t i = upto; i-- > 0;) {
		loader_unload(S->ld, S->pairs[i].new);
		S->pairs[i].new = NULL;
	}
}

/* Every symbol the old cell's users import must be exported by the new one. */
static int check_exports(struct swap *S, const struct swap_pair *p)
{
	char list[SWAP_MSG_MAX - 96];
	struct lmsg m;
	int missing = 0;

	lmsg_init(&m, list, sizeof(list));
	for (struct loader_import *im = p->old->users; im; im = im->next_user) {
		if (im->user == p->new || symbols_find_sym(p->new, im->target))
			continue;
		lmsg_printf(&m, "%s'%s' (used by %s)", missing++ ? ", " : "", im->target->name,
			    im->user->name);
	}
	if (!missing)
		return 0;
	return fail(S, SWAP_CHECK, LOADER_ENOENT, "swap: %s@%s does not export %s", p->new->name,
		    p->new->version, list);
}

static void old_cells(const struct swap *S, struct loader_cell **gone)
{
	for (size_t i = 0; i < S->n; i++)
		gone[i] = S->pairs[i].old;
}

/*
 * The naming rule after the whole swap: at most one loaded cell of each
 * name, so each new cell's name must be free among the cells that stay (the
 * old cells of the swap are leaving; a cell may become another version of
 * itself) and the new cells' names must differ. Runs before anything loads.
 */
static int check_names(struct swap *S)
{
	struct loader_cell *gone[SWAP_MAX_PAIRS];

	old_cells(S, gone);
	for (size_t i = 0; i < S->n; i++) {
		const struct loader_load_args *a = &S->pairs[i].new_args;
		const char *name = ldr_args_name(a);
		const struct loader_cell *c = ldr_cell_named(S->ld, name, gone, S->n);
		if (c)
			return fail(S, SWAP_CHECK, LOADER_EDUP, "swap refused: %s%s%s is already loaded",
				    c->name, c->version[0] ? "@" : "", c->version);
		for (size_t j = 0; j < i; j++)
			if (strcmp(ldr_args_name(&S->pairs[j].new_args), name) == 0)
				return fail(S, SWAP_CHECK, LOADER_EDUP,
					    "swap refused: two new cells are named %s", name);
	}
	return 0;
}

/*
 * The new cell's exports must enter the namespace at commit: free once the
 * old cells are gone, and not taken by a new cell published before it.
 */
static int check_publish(struct swap *S, size_t i)
{
	struct loader_cell *gone[SWAP_MAX_PAIRS], *c = S->pairs[i].new;
	int err;

	old_cells(S, gone);
	if ((err = symbols_publish_check(S->ld, c, gone, S->n)))
		return fail(S, SWAP_CHECK, err, "swap: %s", loader_error(S->ld));
	symbols_sort_by_name(c); /* done by the check above; the order is what is reported */
	for (uint32_t k = 0; k < c->nexported; k++) {
		const struct lsym *s = &c->syms[c->by_name[k]];
		for (size_t j = 0; j < i && s->bind != STB_WEAK; j++)
			if (symbols_find_sym(S->pairs[j].new, s))
				return fail(S, SWAP_CHECK, LOADER_EDUP,
					    "swap: %s and %s both define '%s'", S->pairs[j].new->name,
					    c->name, s->name);
	}
	return 0;
}

/* Step 1: load every new version beside the old one, unpublished, and check it. */
static int load_new(struct swap *S)
{
	int err;

	for (size_t i = 0; i < S->n; i++)
		if (S->pairs[i].old->core)
			return fail(S, SWAP_CHECK, LOADER_EINVAL,
				    "swap: nano_core is the one part that cannot be swapped");
	if ((err = check_names(S)))
		return err;
	for (size_t i = 0; i < S->n; i++) {
		struct swap_pair *p = &S->pairs[i];
		p->new_args.flags |= LOADER_UNPUBLISHED;
		if ((err = loader_load(S->ld, &p->new_args, &p->new))) {
			unload_new(S, i);
			return fail(S, SWAP_CHECK, err, "swap: %s", loader_error(S->ld));
		}
		if ((err = check_exports(S, p)) || (err = check_publish(S, i))) {
			unload_new(S, i + 1);
			return err;
		}
	}
	return 0;
}

/*
 * Moves one import to `to`, counting its sites. The users list of the old
 * cell changes under the walk, so callers restart from its head each time.
 */
static int move_import(struct swap *S, struct loader_import *im, struct loader_cell *to)
{
	int err = loader_import_retarget(S->ld, im, to);

	if (err)
		return err;
	S->res->imports_moved++;
	S->res->relocs_rewritten += im->nsites;
	return 0;
}

/* Step 3 undone: every import now owned by a new cell goes back to its old one. */
static void relink_back(struct swap *S)
{
	for (size_t i = 0; i < S->n; i++) {
		struct swap_pair *p = &S->pairs[i];
		struct loader_import *im;
		while ((im = p->new->users))
			if (loader_import_retarget(S->ld, im, p->old))
				break;	/* cannot happen: the old sites held these values */
	}
}

static void plan_free(struct swap *S)
{
	ldr_free(S->ld, S->plan.moves);
	ldr_free(S->ld, S->plan.pokes);
	S->plan = (struct plan){ 0 };
}

static int cmp_poke(const void *a, const void *b, const void *ctx)
{
	uintptr_t x = (uintptr_t)((const struct loader_poke *)a)->mem;
	uintptr_t y = (uintptr_t)((const struct loader_poke *)b)->mem;

	(void)ctx;
	return x < y ? -1 : x > y;
}

/*
 * Step 1's last part: the relink's plan, each site's new value computed
 * and range-checked as loader_import_retarget does. A site that cannot
 * take its new value refuses the swap here, before the world stops.
 */
static int plan_build(struct swap *S)
{
	struct plan *P = &S->plan;
	size_t nm = 0, np = 0;
	int err;

	for (size_t i = 0; i < S->n; i++)
		for (struct loader_import *im = S->pairs[i].old->users; im; im = im->next_user)
			nm++, np += im->nsites;
	P->moves = ldr_alloc(S->ld, (nm ? nm : 1) * sizeof(*P->moves));
	P->pokes = ldr_alloc(S->ld, (np ? np : 1) * sizeof(*P->pokes));
	if (!P->moves || !P->pokes) {
		plan_free(S);
		return fail(S, SWAP_CHECK, LOADER_ENOMEM, "swap: out of memory for the relink");
	}
	for (size_t i = 0; i < S->n; i++) {
		struct swap_pair *p = &S->pairs[i];
		for (struct loader_import *im = p->old->users; im; im = im->next_user) {
			const struct lsym *t = symbols_find_sym(p->new, im->target);
			if (!t || im->user == p->new) {
				plan_free(S);
				return fail(S, SWAP_CHECK, t ? LOADER_EINVAL : LOADER_ENOENT,
					    "swap: relinking %s: %s %s '%s'", p->old->name,
					    p->new->name, t ? "cannot import from itself:"
							    : "does not export", im->target->name);
			}
			P->moves[P->nmoves++] = (struct plan_move){ im, p->new, t };
			for (uint32_t k = 0; k < im->nsites; k++) {
				const struct loader_site *st = &im->sites[k];
				struct loader_poke *w = &P->pokes[P->npokes++];
				unsigned width;
				if ((err = reloc_site_value(S->ld, im, st, t->addr, w->bytes, &width))) {
					plan_free(S);
					return fail(S, SWAP_CHECK, err, "swap: relinking %s: %s",
						    p->old->name, loader_error(S->ld));
				}
				w->len = width;
				w->mem = (char *)im->user->mem + (st->place - im->user->base);
			}
		}
	}
	for (size_t a = 1; a < P->npokes; a++) {	/* insertion: sites come mostly in order */
		struct loader_poke w = P->pokes[a];
		size_t b = a;
		for (; b > 0 && cmp_poke(&P->pokes[b - 1], &w, NULL) > 0; b--)
			P->pokes[b] = P->pokes[b - 1];
		P->pokes[b] = w;
	}
	if (S->ld->env.poke_plan)
		S->ld->env.poke_plan(S->ld->env.ctx, P->pokes, P->npokes);
	P->link_at = loader_link_changes(S->ld);
	P->ready = true;
	return 0;
}

/* Every site of the plan's imports back to the value it had (their targets are unchanged). */
static void plan_restore(struct swap *S)
{
	for (size_t m = 0; m < S->plan.nmoves; m++) {
		const struct loader_import *im = S->plan.moves[m].im;
		for (size_t k = 0; k < im->nsites; k++)
			loader_reloc_apply(S->ld, im, k, im->target->addr);
	}
}

static int plan_write(struct swap *S)
{
	const struct loader_env *e = &S->ld->env;
	const struct plan *P = &S->plan;

	if (e->poke_batch)
		return e->poke_batch(e->ctx, P->pokes, P->npokes);
	for (size_t k = 0; k < P->npokes; k++)
		if (!e->poke || e->poke(e->ctx, P->pokes[k].mem, P->pokes[k].bytes, P->pokes[k].len))
			return -1;
	return 0;
}

/*
 * Step 3 from the plan: its bytes written, its imports moved. Returns 1
 * when the link graph changed since the plan was made (it is stale: the
 * caller relinks the slow way), else 0 or an error with nothing changed.
 */
static int relink_planned(struct swap *S)
{
	struct plan *P = &S->plan;

	if (!P->ready || loader_link_changes(S->ld) != P->link_at)
		return 1;
	if (plan_write(S)) {
		plan_restore(S);
		return fail(S, SWAP_RELINK, LOADER_EPOKE, "swap: relinking %s: cannot patch a site",
			    S->pairs[0].old->name);
	}
	for (size_t m = 0; m < P->nmoves; m++) {
		struct plan_move *mv = &P->moves[m];
		import_moved(S->ld, mv->im, mv->to, mv->t);
		S->res->imports_moved++;
		S->res->relocs_rewritten += mv->im->nsites;
	}
	return 0;
}

/* Step 3: every relocation into an old cell now points into its new version. */
static int relink(struct swap *S)
{
	int err = relink_planned(S);

	if (err <= 0)
		return err;
	for (size_t i = 0; i < S->n; i++) {
		struct swap_pair *p = &S->pairs[i];
		struct loader_import *im;
		while ((im = p->old->users)) {
			int err = move_import(S, im, p->new);
			if (err) {
				relink_back(S);
				return fail(S, SWAP_RELINK, err, "swap: relinking %s: %s", p->old->name,
					    loader_error(S->ld));
			}
		}
	}
	return 0;
}

/* Step 4: every new cell takes its state over, all in one state transaction. */
static int handover(struct swap *S)
{
	const struct swap_hooks *h = S->h;
	char why[200];

	why[0] = '\0';
	if (h->state_begin && h->state_begin(h->ctx, why, sizeof(why)))
		return fail(S, SWAP_HANDOVER, LOADER_EINVAL,
			    "swap: cannot open the hooks' state transaction: %s", why);
	for (size_t i = 0; i < S->n; i++) {
		struct swap_pair *p = &S->pairs[i];
		why[0] = '\0';
		if (h->swap_in(h->ctx, p->new, p->old->version, why, sizeof(why))) {
			if (h->state_end)
				h->state_end(h->ctx, false, NULL, 0);
			return fail(S, SWAP_HANDOVER, LOADER_EINVAL,
				    "swap: %s@%s's swap-in hook failed: %s", p->new->name,
				    p->new->version, why);
		}
	}
	why[0] = '\0';
	if (h->state_end && h->state_end(h->ctx, true, why, sizeof(why)))
		return fail(S, SWAP_HANDOVER, LOADER_EINVAL,
			    "swap: the hooks' state transaction did not commit: %s", why);
	return 0;
}

/*
 * Step 5: the old cells leave the namespace, the new ones take their names.
 * The old cells' memory stays mapped until reap_old, after the world
 * resumes: nothing links to them or can look them up any more, and no task
 * is inside them (quiescence), so unmapping them needs no pause.
 */
static void commit(struct swap *S)
{
	uint64_t at = S->ns_checked + S->n;	/* each detach below is one change */

	if (loader_ns_changes(S->ld) != S->ns_checked)
		at = ~0ull;	/* something changed while the world ran: check again */
	symbols_ns_hold(S->ld);	/* the table follows after the pause (symbols_ns_swapped) */
	for (size_t i = 0; i < S->n; i++)
		loader_detach(S->ld, S->pairs[i].old);
	for (size_t i = 0; i < S->n; i++, at += at != ~0ull)
		loader_publish_unchanged(S->ld, S->pairs[i].new, at);
}

/*
 * An old cell that holds this code (the loader swapping itself: a loader
 * cell, docs/loader-cell.md) is detached but not unmapped, since its code
 * is still running: its pairs[i].old stays set, and the caller reaps it
 * with loader_reap once it has returned from loader_swap.
 */
static void reap_old(struct swap *S)
{
	for (size_t i = 0; i < S->n; i++) {
		struct loader_cell *c = S->pairs[i].old;
		uint64_t here = (uint64_t)(uintptr_t)&reap_old;
		if (here >= c->base && here < c->base + c->map_bytes)
			continue;
		loader_reap(S->ld, c);
		S->pairs[i].old = NULL;
	}
}

static bool valid_pairs(struct swap *S)
{
	if (S->n == 0 || S->n > SWAP_MAX_PAIRS)
		return false;
	for (size_t i = 0; i < S->n; i++) {
		if (!S->pairs[i].old)
			return false;
		for (size_t j = 0; j < i; j++)
			if (S->pairs[j].old == S->pairs[i].old)
				return false;
	}
	return true;
}

int loader_swap(struct loader *ld, struct swap_pair *pairs, size_t n, const struct swap_hooks *h,
		struct swap_result *res)
{
	struct swap S = { ld, pairs, n, h, res, 0, 0, { 0 } };
	char why[SWAP_MSG_MAX - 64];
	uint64_t start, stopped;
	int err;

	*res = (struct swap_result){ 0 };
	if (!valid_pairs(&S))
		return fail(&S, SWAP_CHECK, LOADER_EINVAL, "swap: 1 to %d distinct loaded cells",
			    SWAP_MAX_PAIRS);
	start = S.t_step = h->now_ns(h->ctx);
	if ((err = load_new(&S)))
		return err;
	if ((err = plan_build(&S))) {
		unload_new(&S, n);
		return err;
	}
	if (h->check && h->check(h->ctx, pairs, n, why, sizeof(why))) {
		plan_free(&S);
		unload_new(&S, n);
		return fail(&S, SWAP_CHECK, LOADER_EINVAL, "swap refused: %s", why);
	}
	S.ns_checked = loader_ns_changes(ld);
	step_done(&S, SWAP_CHECK);
	if (h->stop_and_check(h->ctx, pairs, n, why, sizeof(why), &stopped)) {
		plan_free(&S);
		unload_new(&S, n);
		return fail(&S, SWAP_QUIESCE, LOADER_EBUSY, "swap: not quiescent: %s", why);
	}
	step_done(&S, SWAP_QUIESCE);
	if ((err = relink(&S)) == 0) {
		step_done(&S, SWAP_RELINK);
		if ((err = handover(&S)))
			relink_back(&S);
	}
	if (err) {
		h->resume(h->ctx);
		plan_free(&S);
		unload_new(&S, n);
		return err;
	}
	step_done(&S, SWAP_HANDOVER);
	commit(&S);
	if (h->committed)
		h->committed(h->ctx);
	step_done(&S, SWAP_COMMIT);
	res->pause_ns = h->now_ns(h->ctx) - stopped;
	h->resume(h->ctx);
	S.t_step = h->now_ns(h->ctx);
	plan_free(&S);
	symbols_ns_swapped(ld, pairs, n);
	reap_old(&S);
	res->reap_ns = h->now_ns(h->ctx) - S.t_step;
	res->total_ns = h->now_ns(h->ctx) - start;
	return 0;
}
