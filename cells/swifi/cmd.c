/*
 * `fault inject CELL KIND [seed=N] [after=Nms|Ncalls]`, `fault list`,
 * `fault clear` (cells/swifi/swifi.h). Every refusal is checked before
 * anything is changed.
 */
#include <delos/cellref.h>
#include <delos/fault.h>
#include <delos/inject.h>
#include <delos/irqflags.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/serial.h>
#include <delos/shell.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/swifi/swifi.h"

extern const uint8_t swifi_sites_blob[], swifi_sites_end[];

#define CORE "nano_core"
#define RECORDS_MAX 64

/* What the command line asked for, parsed and checked. */
struct request {
	const char *cell;
	int kind;
	uint64_t seed;
	uint64_t after_calls, after_ms;
	const char *after;
};

/* The test cell's poke into nano_core's text (tests/cells/inject, grant test_poke). */
static const struct cellref core_poke_ref = { "inject", "inject_text_poke" };

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int base = 10;

	if (s[0] == '0' && s[1] == 'x')
		base = 16, s += 2;
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : base == 16 && *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;

		if (d < 0 || v > (~0ull - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return true;
}

/* "Nms" or "Ncalls", N at most 10^9. */
static bool parse_after(const char *s, struct request *rq)
{
	char num[16];
	size_t n = 0;
	uint64_t v;

	while (s[n] >= '0' && s[n] <= '9' && n < sizeof(num) - 1) {
		num[n] = s[n];
		n++;
	}
	num[n] = '\0';
	if (!n || !parse_u64(num, &v) || v > 1000000000ull)
		return false;
	if (strcmp(s + n, "ms") == 0)
		rq->after_ms = v;
	else if (strcmp(s + n, "calls") == 0)
		rq->after_calls = v;
	else
		return false;
	rq->after = s;
	return true;
}

static void kinds_line(void)
{
	shell_printf("swifi: kinds:");
	for (int k = 0; k < SWIFI_KINDS; k++)
		shell_printf(" %s", swifi_kind_name(k));
	shell_printf("\n");
}

static bool parse_request(int argc, char **argv, struct request *rq)
{
	bool seed = false;

	memset(rq, 0, sizeof(*rq));
	if (argc < 4 || argc > 6) {
		shell_printf("usage: fault inject CELL KIND [seed=N] [after=Nms|Ncalls]\n");
		return false;
	}
	rq->cell = argv[2];
	if ((rq->kind = swifi_kind_parse(argv[3])) < 0) {
		shell_printf("swifi: refused: unknown kind '%s'\n", argv[3]);
		kinds_line();
		return false;
	}
	for (int i = 4; i < argc; i++) {
		if (strncmp(argv[i], "seed=", 5) == 0 && !seed) {
			if (!parse_u64(argv[i] + 5, &rq->seed)) {
				shell_printf("swifi: refused: bad seed '%s' (decimal or 0x hex, below 2^64)\n", argv[i] + 5);
				return false;
			}
			seed = true;
		} else if (strncmp(argv[i], "after=", 6) == 0 && !rq->after) {
			if (!parse_after(argv[i] + 6, rq)) {
				shell_printf("swifi: refused: bad after '%s' (Nms or Ncalls, N up to 10^9)\n", argv[i] + 6);
				return false;
			}
		} else {
			shell_printf("swifi: refused: unexpected '%s' (seed=N and after=Nms|Ncalls, once each)\n", argv[i]);
			return false;
		}
	}
	return true;
}

static bool open_table(struct swifi_table *t)
{
	if (swifi_table_open(t, swifi_sites_blob, (size_t)(swifi_sites_end - swifi_sites_blob)))
		return true;
	shell_printf("swifi: refused: the site table linked into this cell is damaged\n");
	return false;
}

static void hex(char *out, const uint8_t *b, uint32_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (uint32_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Records owned by a cell, sorted by name. */
struct records {
	const char *owner;
	uint32_t n;
	char name[RECORDS_MAX][48];
	uint32_t size[RECORDS_MAX];
};

static bool record_collect(void *ctx, const struct statedb_meta *m)
{
	struct records *r = ctx;
	uint32_t i = r->n;

	if (strcmp(m->owner, r->owner) != 0 || !m->size || strlen(m->name) >= sizeof(r->name[0]))
		return true;
	if (r->n == RECORDS_MAX)
		return false;
	for (; i > 0 && strcmp(r->name[i - 1], m->name) > 0; i--) {
		memcpy(r->name[i], r->name[i - 1], sizeof(r->name[i]));
		r->size[i] = r->size[i - 1];
	}
	memcpy(r->name[i], m->name, strlen(m->name) + 1);
	r->size[i] = m->size;
	r->n++;
	return true;
}

/* The record kind's choice: a record of the cell, a byte and a bit of it. */
static bool choose_record(struct swifi_fault *x, uint64_t *rng)
{
	struct records *r = kzalloc(sizeof(*r));
	uint32_t i;

	if (!r) {
		shell_printf("swifi: refused: out of memory\n");
		return false;
	}
	r->owner = x->cell;
	sdb_list("", record_collect, r);
	if (!r->n) {
		shell_printf("swifi: refused: %s owns no state_db records\n", x->cell);
		kfree(r);
		return false;
	}
	i = (uint32_t)(swifi_next(rng) % r->n);
	memcpy(x->record, r->name[i], sizeof(x->record));
	x->rec_byte = (uint32_t)(swifi_next(rng) % r->size[i]);
	x->rec_mask = (uint8_t)(1u << (swifi_next(rng) % 8));
	kfree(r);
	return true;
}

/* The jcc's condition inverted: 7x or 0f 8x, low bit of the condition flipped. */
static bool invert_jcc(struct swifi_fault *x)
{
	if ((x->old[0] & 0xf0) == 0x70) {
		x->new[0] ^= 1;
		return true;
	}
	if (x->old[0] == 0x0f && x->len >= 2 && (x->old[1] & 0xf0) == 0x80) {
		x->new[1] ^= 1;
		return true;
	}
	return false;
}

/* Fills x->new (and the register, mask, address fields) for its kind; false if the site cannot take it. */
static bool mutate(struct swifi_fault *x, const struct swifi_tsite *s, uint64_t *rng)
{
	static const uint8_t iface_regs[4] = { 7, 6, 2, 1 };	/* rdi, rsi, rdx, rcx */
	uint64_t heap, heap_size;
	int32_t rel;

	memcpy(x->new, x->old, x->len);
	x->reg = x->wreg = SWIFI_REG_NONE;
	switch (x->kind) {
	case SWIFI_TEXT: {
		uint32_t byte, bit;

		swifi_text_flip(rng, x->len, &byte, &bit);
		x->new[byte] ^= (uint8_t)(1u << bit);
		return true;
	}
	case SWIFI_SRC: case SWIFI_DST: case SWIFI_PTR:
		x->reg = x->kind == SWIFI_SRC ? s->src : x->kind == SWIFI_DST ? s->dst : s->ptr;
		x->wreg = s->dst;
		x->mask = 1ull << (swifi_next(rng) % 64);
		return true;
	case SWIFI_IFACE:
		x->reg = iface_regs[swifi_next(rng) % 4];
		x->mask = 1ull << (swifi_next(rng) % 64);
		return true;
	case SWIFI_NOP:
		memset(x->new, 0x90, x->len);
		return true;
	case SWIFI_LOOP: case SWIFI_BRANCH:
		return invert_jcc(x);
	case SWIFI_HANG:
		memset(x->new, 0x90, x->len);
		x->new[0] = 0xfb, x->new[1] = 0xeb, x->new[2] = 0xfe;	/* sti; jmp . */
		return true;
	case SWIFI_HANG_IRQOFF:
		memset(x->new, 0x90, x->len);
		x->new[0] = 0xfa, x->new[1] = 0xeb, x->new[2] = 0xfe;	/* cli; jmp . */
		return true;
	case SWIFI_STACK:
		memset(x->new, 0x90, x->len);
		x->new[0] = 0xe8, x->new[1] = 0xfb, x->new[2] = x->new[3] = x->new[4] = 0xff;	/* call . */
		return true;
	case SWIFI_PANIC:
		rel = (int32_t)((int64_t)(uint64_t)cell_panic - (int64_t)(x->addr + 5));
		memset(x->new, 0x90, x->len);
		x->new[0] = 0xe8;
		memcpy(&x->new[1], &rel, 4);
		return true;
	case SWIFI_WILD:
		inject_heap_span(&heap, &heap_size);
		x->wild_addr = heap + (swifi_next(rng) % (heap_size ? heap_size : 8) & ~7ull);
		x->mask = swifi_next(rng);
		return heap_size >= 8;
	case SWIFI_RECORD:
		return choose_record(x, rng);
	default:
		return false;
	}
}

/* "old=... new=..." as the armed line says them. */
static void describe(const struct swifi_fault *x, char *old, char *new, size_t cap)
{
	switch (x->kind) {
	case SWIFI_SRC: case SWIFI_DST: case SWIFI_PTR: case SWIFI_IFACE:
		snprintf(old, cap, "%s", swifi_reg_name(x->reg));
		snprintf(new, cap, "%s^0x%lx", swifi_reg_name(x->reg), x->mask);
		break;
	case SWIFI_WILD:
		snprintf(old, cap, "heap:0x%lx", x->wild_addr);
		snprintf(new, cap, "0x%016lx", x->mask);
		break;
	case SWIFI_RECORD:
		snprintf(old, cap, "record:%s+%u", x->record, x->rec_byte);
		snprintf(new, cap, "xor:0x%02x", x->rec_mask);
		break;
	default:
		hex(old, x->old, x->len);
		hex(new, x->new, x->len);
		break;
	}
}

/* Where CELL's text is now, and its table entry; prints the refusal otherwise. */
static const struct swifi_tcell *target_cell(const struct swifi_table *t, const char *cell, uint64_t *text)
{
	const struct swifi_tcell *c;
	char version[12], ref[48];
	uint64_t size;

	if (strcmp(cell, CORE) == 0) {
		if (!cellref_resolve(&core_poke_ref)) {
			shell_printf("swifi: refused: nano_core as a target needs the test cell inject@1 "
				     "(grant test_poke) loaded\n");
			return NULL;
		}
		if (!(c = swifi_table_cell(t, CORE)))
			shell_printf("swifi: refused: this build's table has no nano_core sites\n");
		*text = c ? c->base : 0;
		return c;
	}
	if (strcmp(cell, "swifi") == 0) {
		shell_printf("swifi: refused: the injector does not inject into itself\n");
		return NULL;
	}
	if (inject_cell_text(cell, text, &size, version, sizeof(version))) {
		shell_printf("swifi: refused: cell '%s' is not loaded\n", cell);
		return NULL;
	}
	snprintf(ref, sizeof(ref), "%s@%s", cell, version);
	if (!(c = swifi_table_cell(t, ref))) {
		shell_printf("swifi: refused: no site table for %s in this build\n", ref);
		return NULL;
	}
	if (c->text_size != size) {
		shell_printf("swifi: refused: the loaded %s (.text %lu bytes) is not the object the table "
			     "was made from (%u bytes)\n", ref, size, c->text_size);
		return NULL;
	}
	return c;
}

static struct swifi_fault *free_slot(struct swifi_state *st, uint64_t addr)
{
	struct swifi_fault *slot = NULL;

	for (uint32_t i = 0; i < SWIFI_MAX; i++) {
		if (st->f[i].state == SWIFI_ARMED && st->f[i].addr == addr) {
			shell_printf("swifi: refused: fault %u is armed at that site already\n", st->f[i].id);
			return NULL;
		}
		if (st->f[i].state == SWIFI_FREE && !slot)
			slot = &st->f[i];
	}
	if (!slot)
		shell_printf("swifi: refused: the fault list is full (%d); 'fault clear' first\n", SWIFI_MAX);
	return slot;
}

/* Builds the fault for the request into *x, touching nothing live. */
static bool plan(const struct request *rq, struct swifi_fault *x)
{
	struct swifi_table t;
	const struct swifi_tcell *c;
	const struct swifi_tsite *s;
	const struct swifi_tfunc *fn;
	uint64_t text, rng;

	if (!open_table(&t) || !(c = target_cell(&t, rq->cell, &text)))
		return false;
	if ((c->flags & SWIFI_TCELL_CORE) && (rq->after || rq->kind > SWIFI_HANG_IRQOFF ||
					      !swifi_sites_count(&t, c, rq->kind))) {
		shell_printf("swifi: refused: nano_core takes only text, nop, loop, branch, hang and "
			     "hang-irqoff, at once (no after=)\n");
		return false;
	}
	if (rq->kind == SWIFI_RECORD && strcmp(rq->cell, "state_db") == 0) {
		shell_printf("swifi: refused: record needs state_db's code to corrupt a record behind it; "
			     "target the cell that owns the record\n");
		return false;
	}
	if (!(s = swifi_pick(&t, c, rq->kind, rq->seed, &rng))) {
		shell_printf("swifi: refused: no sites of kind %s in %s\n", swifi_kind_name(rq->kind), rq->cell);
		return false;
	}
	fn = &t.funcs[c->first_func + s->func];
	memset(x, 0, sizeof(*x));
	x->kind = (uint32_t)rq->kind;
	x->seed = rq->seed;
	x->addr = text + s->off;
	x->len = s->len;
	snprintf(x->cell, sizeof(x->cell), "%s", rq->cell);
	snprintf(x->site, sizeof(x->site), "%s+0x%x", swifi_table_str(&t, fn->name), s->off - fn->start);
	snprintf(x->insn, sizeof(x->insn), "%s", swifi_table_str(&t, s->insn));
	snprintf(x->after, sizeof(x->after), "%s", rq->after ? rq->after : "-");
	memcpy(x->old, (const void *)x->addr, x->len);
	if (x->old[0] != s->byte0) {
		shell_printf("swifi: refused: the code at %s:%s is not as built (byte %02x, table %02x): "
			     "patched already?\n", x->cell, x->site, x->old[0], s->byte0);
		return false;
	}
	if (!mutate(x, s, &rng)) {
		shell_printf("swifi: refused: the site %s:%s cannot take a %s fault\n", x->cell, x->site,
			     swifi_kind_name(rq->kind));
		return false;
	}
	x->after_calls = rq->after_calls;
	x->due_ns = rq->after_ms ? time_ns() + rq->after_ms * 1000000ull : 0;
	return true;
}

static void print_armed(const struct swifi_fault *x)
{
	char old[80], new[80];

	describe(x, old, new, sizeof(old));
	shell_printf("swifi: armed id=%u kind=%s cell=%s site=%s addr=0x%lx old=%s new=%s insn=\"%s\" "
		     "seed=%lu after=%s\n", x->id, swifi_kind_name((int)x->kind), x->cell, x->site, x->addr,
		     old, new, x->insn, x->seed, x->after);
}

/* nano_core: no probe; the patch goes in now, through the test cell. */
static void fire_core(struct swifi_fault *x)
{
	uint64_t poke = cellref_resolve(&core_poke_ref);

	x->state = SWIFI_FIRED;
	x->fired_ns = time_ns();
	klog(LOG_INFO, "swifi: fired id=%u kind=%s cell=%s site=%s t=%lu", x->id, swifi_kind_name((int)x->kind),
	     x->cell, x->site, x->fired_ns);
	if (!poke || ((int (*)(void *, const void *, uint64_t))poke)((void *)x->addr, x->new, x->len))
		shell_printf("swifi: the test cell's poke refused %s\n", x->site);
}

/*
 * The armed line goes out (and the console queue is drained) before the int3
 * goes in, so the fired line, a kernel log line, always comes after it.
 */
static void inject(struct swifi_state *st, int argc, char **argv)
{
	struct request rq;
	struct swifi_fault plan_x, *slot;
	uint8_t int3 = SWIFI_INT3;
	uint64_t flags;

	if (!parse_request(argc, argv, &rq) || !plan(&rq, &plan_x))
		return;
	flags = irq_save();
	if (!(slot = free_slot(st, plan_x.addr))) {
		irq_restore(flags);
		return;
	}
	plan_x.id = ++st->next_id;
	plan_x.state = SWIFI_FIRED;	/* taken; not armed until the int3 is in */
	*slot = plan_x;
	irq_restore(flags);
	print_armed(slot);
	serial_flush();
	if (strcmp(slot->cell, CORE) == 0) {
		fire_core(slot);
		return;
	}
	flags = irq_save();
	if (swifi_poke(slot, &int3, 1) == 0)
		slot->state = SWIFI_ARMED;
	else
		slot->state = SWIFI_FREE;
	irq_restore(flags);
	if (slot->state == SWIFI_FREE)
		shell_printf("swifi: dropped id=%u: the probe could not be written at 0x%lx\n", plan_x.id,
			     plan_x.addr);
}

static void list(struct swifi_state *st)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < SWIFI_MAX; i++) {
		struct swifi_fault *x = &st->f[i];

		if (x->state == SWIFI_FREE)
			continue;
		n++;
		shell_printf("swifi: fault id=%u kind=%s cell=%s site=%s addr=0x%lx state=%s hits=%lu after=%s",
			     x->id, swifi_kind_name((int)x->kind), x->cell, x->site, x->addr,
			     x->state == SWIFI_ARMED ? "armed" : "fired", x->hits, x->after);
		if (x->state == SWIFI_FIRED)
			shell_printf(" t=%lu\n", x->fired_ns);
		else
			shell_printf(" t=-\n");
	}
	shell_printf("swifi: %u fault%s\n", n, n == 1 ? "" : "s");
}

/* Whether the fault's cell still has the code the fault was made for at its address. */
static bool still_there(const struct swifi_fault *x)
{
	uint64_t text, size;
	char version[12];

	return strcmp(x->cell, CORE) != 0 && !inject_cell_text(x->cell, &text, &size, version, sizeof(version)) &&
	       x->addr >= text && x->addr + x->len <= text + size;
}

/*
 * A probe whose cell was reloaded or unloaded since it was armed is gone
 * with that copy of the code: it is dropped from the list.
 */
static void drop_stale(struct swifi_state *st)
{
	for (uint32_t i = 0; i < SWIFI_MAX; i++) {
		struct swifi_fault *x = &st->f[i];

		if (x->state == SWIFI_ARMED && (!still_there(x) || *(const uint8_t *)x->addr != SWIFI_INT3))
			x->state = SWIFI_FREE;
	}
}

/*
 * Takes every probe out and, with forget, undoes the byte patches still in
 * place and empties the list.
 */
void swifi_disarm_all(struct swifi_state *st, bool forget)
{
	uint64_t flags = irq_save();

	swifi_abandon_step(st);
	drop_stale(st);
	for (uint32_t i = 0; i < SWIFI_MAX; i++) {
		struct swifi_fault *x = &st->f[i];

		if (x->state == SWIFI_ARMED)
			swifi_poke(x, x->old, 1);
		else if (forget && x->state == SWIFI_FIRED && still_there(x) &&
			 memcmp((const void *)x->addr, x->new, x->len) == 0 && memcmp(x->old, x->new, x->len) != 0)
			swifi_poke(x, x->old, x->len);
		if (forget || x->state == SWIFI_ARMED)
			x->state = SWIFI_FREE;
	}
	irq_restore(flags);
}

void swifi_cmd(int argc, char **argv)
{
	struct swifi_state *st = probe_context();
	uint64_t flags;

	if (!st || st->version != SWIFI_STATE_VERSION) {
		shell_printf("swifi: the probe is not registered (reload swifi@1)\n");
		return;
	}
	/* A step in progress never outlives its trap: one still marked was abandoned. */
	flags = irq_save();
	swifi_abandon_step(st);
	drop_stale(st);
	irq_restore(flags);
	if (argc >= 2 && strcmp(argv[1], "inject") == 0) {
		inject(st, argc, argv);
	} else if (argc == 2 && strcmp(argv[1], "list") == 0) {
		list(st);
	} else if (argc == 2 && strcmp(argv[1], "clear") == 0) {
		uint32_t n = 0;

		for (uint32_t i = 0; i < SWIFI_MAX; i++)
			n += st->f[i].state != SWIFI_FREE;
		swifi_disarm_all(st, true);
		shell_printf("swifi: cleared %u fault%s\n", n, n == 1 ? "" : "s");
	} else {
		shell_printf("usage: fault inject CELL KIND [seed=N] [after=Nms|Ncalls] | fault list | fault clear\n");
		kinds_line();
	}
}
