/*
 * The probe handler: nano_core offers it every #BP and #DB, in the trap with
 * interrupts off (slot OPS_DEBUG_TRAP). It calls no other cell: the one it
 * probes may be any of them.
 */
#include <delos/fault.h>
#include <delos/inject.h>
#include <delos/log.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include <delos/time.h>
#include "cells/swifi/swifi.h"

#define RFLAGS_TF 0x100ull
#define RFLAGS_IF 0x200ull

static const char panic_msg[] = "swifi: injected panic";

uint64_t *swifi_reg(struct trap_frame *f, uint8_t reg)
{
	switch (reg) {
	case 0: return &f->rax;
	case 1: return &f->rcx;
	case 2: return &f->rdx;
	case 3: return &f->rbx;
	case 4: return &f->rsp;
	case 5: return &f->rbp;
	case 6: return &f->rsi;
	case 7: return &f->rdi;
	case 8: return &f->r8;
	case 9: return &f->r9;
	case 10: return &f->r10;
	case 11: return &f->r11;
	case 12: return &f->r12;
	case 13: return &f->r13;
	case 14: return &f->r14;
	default: return &f->r15;
	}
}

const char *swifi_reg_name(uint8_t reg)
{
	static const char *const names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					       "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

	return reg < 16 ? names[reg] : "-";
}

int swifi_poke(const struct swifi_fault *x, const void *bytes, uint32_t len)
{
	return inject_poke((void *)x->addr, bytes, len);
}

/* Runs the original instruction at the site once, under TF, with interrupts off. */
static void single_step(struct swifi_state *st, uint32_t i, uint32_t how, struct trap_frame *f)
{
	st->step = how;
	st->step_fault = i;
	st->step_if = f->rflags & RFLAGS_IF;
	f->rflags = (f->rflags | RFLAGS_TF) & ~RFLAGS_IF;
	f->rip = st->f[i].addr;
}

/*
 * A step that never ended in its #DB (the stepped instruction faulted and
 * its context was abandoned): put the int3 back if the fault still waits.
 */
void swifi_abandon_step(struct swifi_state *st)
{
	struct swifi_fault *x = &st->f[st->step_fault];
	uint8_t int3 = SWIFI_INT3;

	if (st->step == SWIFI_STEP_OVER && x->state == SWIFI_ARMED && *(const uint8_t *)x->addr == x->old[0])
		swifi_poke(x, &int3, 1);
	st->step = SWIFI_STEP_NONE;
}

static void corrupt_record(const struct swifi_fault *x)
{
	void *p;
	int n = sdb_test_record_bytes(x->record, &p);

	if (n > 0 && p)
		((uint8_t *)p)[x->rec_byte % (uint32_t)n] ^= x->rec_mask;
}

/* The hit that is due: the probe goes, the fault is applied, the site resumes. */
static void fire(struct swifi_state *st, uint32_t i, struct trap_frame *f)
{
	struct swifi_fault *x = &st->f[i];
	uint64_t *r = swifi_reg(f, x->reg);

	swifi_poke(x, x->old, 1);
	x->state = SWIFI_FIRED;
	x->fired_ns = time_ns();
	klog(LOG_INFO, "swifi: fired id=%u kind=%s cell=%s site=%s t=%lu", x->id, swifi_kind_name((int)x->kind),
	     x->cell, x->site, x->fired_ns);
	f->rip = x->addr;
	switch (x->kind) {
	case SWIFI_SRC: case SWIFI_IFACE:
		*r ^= x->mask;
		break;
	case SWIFI_DST:
		single_step(st, i, SWIFI_STEP_DST, f);
		break;
	case SWIFI_PTR:
		st->step_reg = *r;
		*r ^= x->mask;
		single_step(st, i, SWIFI_STEP_PTR, f);
		break;
	case SWIFI_WILD:
		*(volatile uint64_t *)x->wild_addr = x->mask;
		break;
	case SWIFI_RECORD:
		corrupt_record(x);
		break;
	case SWIFI_PANIC:
		f->rdi = (uint64_t)panic_msg;
		swifi_poke(x, x->new, x->len);
		break;
	default:	/* the byte patches */
		swifi_poke(x, x->new, x->len);
		break;
	}
}

static int on_break(struct swifi_state *st, struct trap_frame *f)
{
	uint64_t at = f->rip - 1;

	for (uint32_t i = 0; i < SWIFI_MAX; i++) {
		struct swifi_fault *x = &st->f[i];

		if (x->state != SWIFI_ARMED || x->addr != at)
			continue;
		if (st->step != SWIFI_STEP_NONE)
			swifi_abandon_step(st);
		x->hits++;
		if (x->hits <= x->after_calls || time_ns() < x->due_ns) {
			swifi_poke(x, x->old, 1);
			single_step(st, i, SWIFI_STEP_OVER, f);
		} else {
			fire(st, i, f);
		}
		return 1;
	}
	return 0;
}

static int on_step(struct swifi_state *st, struct trap_frame *f)
{
	struct swifi_fault *x = &st->f[st->step_fault];
	uint8_t int3 = SWIFI_INT3;

	if (st->step == SWIFI_STEP_NONE || !(f->rflags & RFLAGS_TF))
		return 0;
	switch (st->step) {
	case SWIFI_STEP_OVER:
		if (x->state == SWIFI_ARMED)
			swifi_poke(x, &int3, 1);
		break;
	case SWIFI_STEP_DST:
		*swifi_reg(f, x->reg) ^= x->mask;
		break;
	case SWIFI_STEP_PTR:
		if (x->reg != x->wreg)
			*swifi_reg(f, x->reg) = st->step_reg;
		break;
	}
	st->step = SWIFI_STEP_NONE;
	f->rflags = (f->rflags & ~RFLAGS_TF) | st->step_if;
	return 1;
}

int swifi_trap(struct trap_frame *f, void *ctx)
{
	struct swifi_state *st = ctx;

	if (!st || st->version != SWIFI_STATE_VERSION)
		return 0;
	return f->vector == 1 ? on_step(st, f) : on_break(st, f);
}
