/*
 * swifi (cell swifi@1, not loaded at boot): the fault injector, with the
 * SWIFI fault model of Rio, Nooks and MINIX 3 and Delos's own kinds.
 *
 * `fault inject CELL KIND [seed=N] [after=Nms|Ncalls]` (the shell's `fault`
 * forwards inject, list and clear to the command `swifi` registered here)
 * picks a site of KIND in CELL's own text from the build-time site table
 * (cells/swifi/sites.h) with the seed, and arms an int3 there, kprobe style:
 * hits before the fault is due (the first N calls, or the first N ms of
 * guest time) single-step the original instruction (restore, TF, re-arm on
 * #DB); the hit that is due applies the mutation and resumes at the site:
 *   text         one bit of the instruction flipped (poked)
 *   src          a bit of the register it reads flipped, before it runs
 *   dst          a bit of the register it writes flipped, after it ran
 *   ptr          a bit of its address register flipped for that one access
 *   nop          the instruction replaced by nops
 *   loop/branch  a backward/forward conditional jump inverted
 *   iface        a bit of an argument register (rdi, rsi, rdx, rcx) flipped
 *                at a global function's entry
 *   panic        cell_panic at the site, charged to CELL (a call poked there)
 *   hang         sti; jmp . at the site (an endless loop, interrupts on)
 *   hang-irqoff  cli; jmp .
 *   stack        a call to itself at the site: runaway recursion
 *   wild         8 random bytes written to a random heap address
 *   record       one bit of one of CELL's state_db records flipped behind
 *                state_db's back (its test hook sdb_test_record_bytes)
 * `fault inject nano_core KIND` (text, nop, loop, branch, hang, hang-irqoff)
 * patches nano_core's own hot path at once, without a probe, and only while
 * the test cell inject@1 (grant test_poke) is loaded: CI's known-bad case.
 *
 * State: the probe handler may be probing any cell, state_db's code
 * included, so it calls none; what it needs is one block on the heap (struct
 * swifi_state) that nano_core keeps with the probe slot (probe_context) and
 * hands to every trap. Swaps of swifi keep it; unload disarms every probe
 * and frees it.
 */
#ifndef CELLS_SWIFI_H
#define CELLS_SWIFI_H

#include <stdint.h>

#include <delos/trap.h>
#include "cells/swifi/sites.h"

#define SWIFI_PRIVATE __attribute__((visibility("hidden")))
#define SWIFI_MAX 8		/* faults in the list at once */
#define SWIFI_STATE_VERSION 1u
#define SWIFI_INT3 0xcc

enum swifi_fstate {
	SWIFI_FREE,
	SWIFI_ARMED,		/* int3 at addr, waiting for the hit that is due */
	SWIFI_FIRED,		/* applied */
};

enum swifi_step {
	SWIFI_STEP_NONE,
	SWIFI_STEP_OVER,	/* re-arm the int3 after the original instruction */
	SWIFI_STEP_DST,		/* flip the destination register after it */
	SWIFI_STEP_PTR,		/* put the address register back after it */
};

struct swifi_fault {
	uint32_t id, state, kind;
	uint32_t len;			/* bytes at addr that the fault changes or probes */
	char cell[32], site[64], insn[64];
	uint64_t addr, seed;
	uint8_t old[16], new[16];	/* the bytes at addr before and after (text kinds) */
	uint8_t reg;			/* register kinds: which (encoding order) */
	uint8_t wreg;			/* the register the site's instruction writes, or SWIFI_REG_NONE */
	uint64_t mask;			/* register kinds: xor mask; wild: the value */
	uint64_t wild_addr;
	char record[48];		/* record: its name */
	uint32_t rec_byte;
	uint8_t rec_mask;
	uint64_t after_calls, due_ns;	/* due at hit after_calls + 1, at or after due_ns */
	uint64_t hits, fired_ns;
	char after[24];
};

struct swifi_state {
	uint32_t version;
	uint32_t next_id;
	struct swifi_fault f[SWIFI_MAX];
	/* The single-step in progress (one CPU, interrupts off during it). */
	uint32_t step, step_fault;	/* enum swifi_step, index into f */
	uint64_t step_if;		/* the stepped context's RFLAGS.IF */
	uint64_t step_reg;		/* SWIFI_STEP_PTR: the register's value before */
};

/* The probe handler (slot OPS_DEBUG_TRAP). */
int swifi_trap(struct trap_frame *f, void *ctx);
/* The console command `swifi inject|list|clear ...` that `fault` forwards to. */
void swifi_cmd(int argc, char **argv);

/* Private to the cell. */
SWIFI_PRIVATE uint64_t *swifi_reg(struct trap_frame *f, uint8_t reg);
SWIFI_PRIVATE const char *swifi_reg_name(uint8_t reg);
SWIFI_PRIVATE int swifi_poke(const struct swifi_fault *x, const void *bytes, uint32_t len);
SWIFI_PRIVATE void swifi_disarm_all(struct swifi_state *st, bool forget);
/* Ends a single-step that never reached its #DB, putting its probe back. */
SWIFI_PRIVATE void swifi_abandon_step(struct swifi_state *st);

#endif
