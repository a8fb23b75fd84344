/*
 * memstress (test cell, not loaded at boot): tasks that allocate and free
 * frames and heap blocks at once, to be run while serial input and timer
 * ticks arrive; afterwards `mem` audits who owns which frame.
 *
 * memstress_start spawns MEMSTRESS_WORKERS workers. Each, for
 * MEMSTRESS_ROUNDS rounds, takes or gives back a heap block of a random size
 * (up to 48 KiB, so the heap grows through the frame allocator), filled with
 * a pattern that is checked before it is freed, and every fourth round
 * spawns a child task and joins it (a fresh stack: frames and page-table
 * entries, freed again when the child ends). The child allocates and checks
 * blocks too. Workers add their counts to the record "memstress/state"
 * (owner "memstress", layout 1) when they end. Two spawns that race for one
 * stack, or one frame handed out twice (a heap page that is also a stack
 * page), show as failed spawns and overwritten blocks, or as a fault.
 */
#include <delos/cell.h>
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/tasks.h>

#define OWNER  "memstress"
#define RECORD "memstress/state"
#define TYPE   0x4d535452u	/* "MSTR" */
#define LAYOUT 1u

#define MEMSTRESS_WORKERS 4
#define MEMSTRESS_ROUNDS  400
#define SLOTS             12
#define MAX_BLOCK         (48u << 10)

struct state {
	uint64_t started, done;		/* workers */
	uint64_t rounds, spawns, blocks;
	uint64_t spawn_failed;		/* task_spawn or task_join refused (no stack?) */
	uint64_t alloc_failed;		/* kmalloc returned NULL */
	uint64_t overwritten;		/* blocks whose pattern changed while held */
};

struct slot {
	uint8_t *p;
	size_t len;
	uint8_t fill;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Frees the block after checking its pattern. */
static void give_back(struct slot *s, struct state *st)
{
	int bad = 0;

	for (size_t i = 0; i < s->len; i++)
		bad |= s->p[i] != (uint8_t)(s->fill + i);
	st->overwritten += (uint64_t)bad;
	kfree(s->p);
	s->p = NULL;
}

/* Takes a block of a random size and fills it. */
static void take(struct slot *s, uint64_t *seed, struct state *st)
{
	s->len = 1 + next_rand(seed) % (next_rand(seed) % 4 ? 512 : MAX_BLOCK);
	s->fill = (uint8_t)next_rand(seed);
	if (!(s->p = kmalloc(s->len))) {
		st->alloc_failed++;
		return;
	}
	for (size_t i = 0; i < s->len; i++)
		s->p[i] = (uint8_t)(s->fill + i);
}

/* Takes or gives back the block of a random slot. */
static void heap_round(struct slot *slot, uint64_t *seed, struct state *st)
{
	struct slot *s = &slot[next_rand(seed) % SLOTS];

	st->blocks++;
	if (s->p)
		give_back(s, st);
	else
		take(s, seed, st);
}

static void free_all(struct slot *slot, struct state *st)
{
	for (int i = 0; i < SLOTS; i++)
		if (slot[i].p)
			give_back(&slot[i], st);
}

/* Exits with the number of blocks it found overwritten or could not get. */
int memstress_child(uint64_t seed)
{
	struct slot slot[SLOTS];
	struct state st = { 0 };

	memset(slot, 0, sizeof(slot));
	seed |= 1;
	for (int i = 0; i < 2 * SLOTS; i++)
		heap_round(slot, &seed, &st);
	free_all(slot, &st);
	return (int)(st.overwritten + st.alloc_failed);
}

/* Spawns a child and joins it; its exit code counts as overwritten blocks. */
static void child_round(uint64_t *seed, struct state *st)
{
	int64_t id = task_spawn("mstress_child", "memstress", "memstress_child", next_rand(seed));
	int64_t code = 0;

	st->spawns++;
	if (id < 0 || task_join(id, &code))
		st->spawn_failed++;
	else
		st->overwritten += (uint64_t)code;
}

static void add_results(const struct state *mine)
{
	uint64_t flags = irq_save();
	struct state st;

	if (sdb_get(RECORD, &st, sizeof(st), NULL) == (int)sizeof(st)) {
		st.done++;
		st.rounds += mine->rounds;
		st.spawns += mine->spawns;
		st.blocks += mine->blocks;
		st.spawn_failed += mine->spawn_failed;
		st.alloc_failed += mine->alloc_failed;
		st.overwritten += mine->overwritten;
		sdb_put(OWNER, RECORD, TYPE, LAYOUT, &st, sizeof(st));
	}
	irq_restore(flags);
}

int memstress_worker(uint64_t seed)
{
	struct slot slot[SLOTS];
	struct state mine = { 0 };

	memset(slot, 0, sizeof(slot));
	seed = seed * 0x9e3779b97f4a7c15ull | 1;
	for (int r = 0; r < MEMSTRESS_ROUNDS; r++) {
		mine.rounds++;
		if (r % 4 == 3)
			child_round(&seed, &mine);
		else
			heap_round(slot, &seed, &mine);
	}
	free_all(slot, &mine);
	add_results(&mine);
	return (int)(mine.spawn_failed + mine.alloc_failed + mine.overwritten);
}

/* Starts a run; returns the number of workers started, or -1 if one is still going. */
int memstress_start(void)
{
	struct state st;

	if (sdb_get(RECORD, &st, sizeof(st), NULL) == (int)sizeof(st) && st.done < st.started) {
		kprintf("memstress: a run is still going (%lu of %lu workers done)\n", st.done,
			st.started);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	sdb_put(OWNER, RECORD, TYPE, LAYOUT, &st, sizeof(st));
	for (uint64_t i = 0; i < MEMSTRESS_WORKERS; i++) {
		uint64_t flags = irq_save();
		int64_t id = task_spawn("mstress", "memstress", "memstress_worker", i + 1);
		if (id > 0 && sdb_get(RECORD, &st, sizeof(st), NULL) == (int)sizeof(st)) {
			st.started++;
			sdb_put(OWNER, RECORD, TYPE, LAYOUT, &st, sizeof(st));
		}
		irq_restore(flags);
	}
	sdb_get(RECORD, &st, sizeof(st), NULL);
	return (int)st.started;
}

/* Counts memstress's tasks that have not exited yet. */
static void count_live(void *ctx, const struct task_info *t)
{
	if (!strncmp(t->name, "mstress", 7) && strcmp(t->state, "exited"))
		++*(uint64_t *)ctx;
}

/*
 * Prints "memstress: done|running W/N workers, R rounds, S spawns (F failed),
 * B blocks (A not allocated, O overwritten)"; returns 1 once done, 0 while
 * running, -1 if no run was started. Done means that every worker has
 * reported and no memstress task is left but exited ones, whose stacks are
 * freed by then (tasks_list finishes a pending exit first).
 */
int memstress_status(void)
{
	struct state st;
	uint64_t live = 0;

	if (sdb_get(RECORD, &st, sizeof(st), NULL) != (int)sizeof(st)) {
		kprintf("memstress: no run started\n");
		return -1;
	}
	tasks_list(count_live, &live);
	bool done = st.done == st.started && live == 0;
	kprintf("memstress: %s %lu/%lu workers, %lu rounds, %lu spawns (%lu failed), %lu blocks "
		"(%lu not allocated, %lu overwritten)\n", done ? "done" : "running", st.done,
		st.started, st.rounds, st.spawns, st.spawn_failed, st.blocks, st.alloc_failed,
		st.overwritten);
	return done;
}
