/*
 * Heartbeats, as MINIX 3's reincarnation server checks them: a cell whose
 * manifest line says heartbeat=MS must call cell_heartbeat() at least once
 * every MS from the moment it is loaded (or reloaded, or swapped in). A cell
 * that misses its beat is hung, whatever its tasks are doing: blocked on a
 * wait nobody ends, or busy in other cells' code, which the hang watchdog
 * (watchdog.c) does not see. The miss is reported to the fault handler as a
 * hang of that cell in context "heartbeat"; nothing is abandoned, since the
 * hung code is not running, so the cell's recovery policy does the rest
 * (restart starts its blocked tasks over at their entries). Its clock then
 * starts again, so a cell that stays silent faults again one period later
 * and its recovery escalates.
 *
 * A cell whose manifest line says progress=MS instead is held to progress,
 * not to a clock: it says what work it owes (cell_owe: bytes it took to
 * send, input it has to deliver) and what it has done (cell_paid), in up to
 * CELL_LANES independent lanes, and must pay something at least every MS
 * while it owes anything. An idle driver owes nothing and is never late; one
 * whose fault loses its output or input without faulting or looping (a
 * branch inverted, a buffer pointer changed) owes forever and is hung, in
 * context "heartbeat" as a missed beat. cell_forgive clears a lane whose work
 * waits on someone else (a consumer that takes no more input).
 *
 * Checked at the end of every interrupt (the timer's at least), so a miss
 * is seen within one tick of the period.
 */
#include <delos/cells.h>
#include <delos/fault.h>
#include <delos/irqflags.h>
#include <delos/loader.h>
#include <delos/log.h>
#include <delos/cellref.h>
#include <delos/string.h>
#include <delos/time.h>
#include "nano_core/contain.h"

#define BEATING 8			/* cells with a heartbeat, at once */

/* One loaded copy of a cell that declares a heartbeat; owned by heartbeat.c, interrupts off. */
struct beating {
	bool used;
	char cell[32], version[12];
	uint64_t start, end;		/* the copy's mapped range: a reload is a new copy */
	uint64_t period_ns, last_ns;
	bool progress;			/* progress=MS: late only while it owes work */
	uint64_t owed[CELL_LANES];
};
static struct beating beating[BEATING];
/* The loaded cells are looked at again when loader_generation moves (after a load completes). */
static uint64_t synced_gen = ~0ull;
/*
 * No entry is late before this time_ns(): at most the earliest last_ns +
 * period_ns of the used entries, UINT64_MAX when there are none. A beat or a
 * payment only moves an entry's deadline later, so this stays a lower bound
 * until heartbeat_check looks at the entries again and sets it afresh; sync
 * (new entries) lowers it to 0, so that the next check looks.
 */
static uint64_t due_ns;

static struct beating *find(const char *cell, uint64_t start)
{
	for (int i = 0; i < BEATING; i++)
		if (beating[i].used && beating[i].start == start && strcmp(beating[i].cell, cell) == 0)
			return &beating[i];
	return NULL;
}

static bool still_loaded(const struct beating *b)
{
	struct loader *ld = cells_loader();
	struct loader_cell *c = ld ? loader_cell_find(ld, b->cell) : NULL;
	struct loader_cell_info ci;

	if (!c)
		return false;
	loader_cell_info(c, &ci);
	return ci.published && ci.start == b->start;
}

/* Drops copies that are gone and adds the loaded cells that declare a heartbeat. */
static void sync(uint64_t now)
{
	struct loader *ld = cells_loader();
	struct loader_cell_info ci;
	uint64_t ms;
	bool progress;

	synced_gen = loader_generation();
	due_ns = 0;
	for (int i = 0; i < BEATING; i++)
		if (beating[i].used && !still_loaded(&beating[i]))
			beating[i].used = false;
	for (struct loader_cell *c = ld ? loader_cell_next(ld, NULL) : NULL; c; c = loader_cell_next(ld, c)) {
		loader_cell_info(c, &ci);
		if (ci.core || !ci.published || find(ci.name, ci.start))
			continue;
		progress = false;
		if (!(ms = cells_heartbeat_ms(ci.name)) && (ms = cells_progress_ms(ci.name)))
			progress = true;
		if (!ms)
			continue;
		for (int i = 0; i < BEATING; i++)
			if (!beating[i].used) {
				beating[i] = (struct beating){ true, "", "", ci.start, ci.end, ms * 1000000ull,
							       now, progress, { 0 } };
				snprintf(beating[i].cell, sizeof(beating[i].cell), "%s", ci.name);
				snprintf(beating[i].version, sizeof(beating[i].version), "%s", ci.version);
				break;
			}
	}
}

/* The entry whose copy's range holds code address `ra`, or NULL. Interrupts off. */
static struct beating *holding(uint64_t ra)
{
	for (int i = 0; i < BEATING; i++)
		if (beating[i].used && ra >= beating[i].start && ra < beating[i].end)
			return &beating[i];
	return NULL;
}

/*
 * The entry of the loaded copy of the cell that holds code address `ra`, or
 * NULL. The entries are synced first if a load, unload or swap happened since
 * (a range may now hold another copy), and once more if a copy loaded since
 * is not found. Interrupts off.
 */
static struct beating *caller_entry(uint64_t ra, uint64_t now)
{
	struct beating *b;

	if (loader_generation() != synced_gen)
		sync(now);
	b = holding(ra);

	if (!b) {
		sync(now);
		b = holding(ra);
	}
	return b;
}

int cell_heartbeat(void)
{
	uint64_t flags = irq_save(), now = time_ns();
	struct beating *b = caller_entry((uint64_t)__builtin_return_address(0), now);

	if (b)
		b->last_ns = now;
	irq_restore(flags);
	return b ? 0 : -1;
}

static bool owes(const struct beating *b)
{
	for (int i = 0; i < CELL_LANES; i++)
		if (b->owed[i])
			return true;
	return false;
}

/*
 * The earliest deadline of the used entries (due_ns), UINT64_MAX if none; a
 * progress entry that owes nothing has none (its first debt sets one).
 */
static uint64_t earliest_due(void)
{
	uint64_t due = UINT64_MAX;

	for (int i = 0; i < BEATING; i++) {
		const struct beating *b = &beating[i];

		if (b->used && (!b->progress || owes(b)) && b->last_ns + b->period_ns < due)
			due = b->last_ns + b->period_ns;
	}
	return due;
}

enum progress_op { OWE, PAY, FORGIVE };

/* What cell_owe, cell_paid and cell_forgive share, for the caller at code address ra. */
static int progress_op(uint64_t ra, unsigned lane, uint64_t n, enum progress_op op)
{
	uint64_t flags, now;
	struct beating *b;

	if (lane >= CELL_LANES)
		return -1;
	flags = irq_save();
	now = time_ns();
	b = caller_entry(ra, now);
	if (b && b->progress) {
		if (op == OWE) {
			if (!owes(b)) {
				b->last_ns = now;	/* the clock starts with the first debt */
				if (now + b->period_ns < due_ns)
					due_ns = now + b->period_ns;
			}
			b->owed[lane] = b->owed[lane] + n < b->owed[lane] ? UINT64_MAX : b->owed[lane] + n;
		} else if (op == PAY) {
			if (n)
				b->last_ns = now;
			b->owed[lane] = n >= b->owed[lane] ? 0 : b->owed[lane] - n;
		} else {
			b->owed[lane] = 0;
			b->last_ns = now;
		}
	}
	irq_restore(flags);
	return b && b->progress ? 0 : -1;
}

int cell_owe(unsigned lane, uint64_t n)
{
	return progress_op((uint64_t)__builtin_return_address(0), lane, n, OWE);
}

int cell_paid(unsigned lane, uint64_t n)
{
	return progress_op((uint64_t)__builtin_return_address(0), lane, n, PAY);
}

int cell_forgive(unsigned lane)
{
	return progress_op((uint64_t)__builtin_return_address(0), lane, 0, FORGIVE);
}


/* A tick before the earliest deadline (due_ns) looks at no entry. */
void heartbeat_check(uint64_t now)
{
	if (loader_generation() != synced_gen)
		sync(now);
	if (now <= due_ns)
		return;
	for (int i = 0; i < BEATING; i++) {
		struct beating *b = &beating[i];

		if (!b->used || now - b->last_ns <= b->period_ns || (b->progress && !owes(b)))
			continue;
		if (!still_loaded(b)) {
			b->used = false;
			continue;
		}
		fault_heartbeat(b->cell, b->version, (now - b->last_ns) / 1000000ull, b->period_ns / 1000000ull,
				b->progress);
		b->last_ns = time_ns();
	}
	due_ns = earliest_due();
}
