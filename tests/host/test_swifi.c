/*
 * Host tests for the injector's site table and its choices (cells/swifi/sites.c):
 * a hand-made table (bounds checks, kinds, determinism, spread) and the
 * table this build made from its own cells (instruction boundaries).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cells/swifi/sites.h"

#ifndef SWIFI_SITES_BIN
#define SWIFI_SITES_BIN "build/out/kernel/swifi/sites.bin"
#endif

#define NSITES 40

/* One cell "demo@1" with two functions and NSITES sites, and a nano_core entry. */
struct blob {
	struct swifi_thdr h;
	struct swifi_tcell cells[2];
	struct swifi_tfunc funcs[3];
	struct swifi_tsite sites[NSITES + 2];
	char strings[64];
};

static struct blob b;

static void make_blob(void)
{
	static const char str[] = "demo@1\0f\0g\0movq %rax, %rbx\0nano_core\0";

	memset(&b, 0, sizeof(b));
	memcpy(b.h.magic, SWIFI_TABLE_MAGIC, 4);
	b.h.ncells = 2, b.h.nfuncs = 3, b.h.nsites = NSITES + 2;
	b.h.strings_len = sizeof(str);
	b.h.cells_off = offsetof(struct blob, cells);
	b.h.funcs_off = offsetof(struct blob, funcs);
	b.h.sites_off = offsetof(struct blob, sites);
	b.h.strings_off = offsetof(struct blob, strings);
	memcpy(b.strings, str, sizeof(str));
	b.cells[0] = (struct swifi_tcell){ .name = 0, .text_size = 4 * NSITES, .first_func = 0, .nfuncs = 2,
					   .first_site = 0, .nsites = NSITES };
	b.cells[1] = (struct swifi_tcell){ .name = 27, .first_func = 2, .nfuncs = 1, .first_site = NSITES,
					   .nsites = 2, .flags = SWIFI_TCELL_CORE, .base = 0xffffffff80100000ull };
	b.funcs[0] = (struct swifi_tfunc){ 7, 0, 2 * NSITES, SWIFI_FN_GLOBAL };
	b.funcs[1] = (struct swifi_tfunc){ 9, 2 * NSITES, 2 * NSITES, 0 };
	b.funcs[2] = (struct swifi_tfunc){ 7, 0, 8, SWIFI_FN_GLOBAL };
	for (int i = 0; i < NSITES; i++) {
		struct swifi_tsite *s = &b.sites[i];

		*s = (struct swifi_tsite){ .off = 4 * i, .insn = 11, .func = i >= NSITES / 2, .len = 4,
					   .src = SWIFI_REG_NONE, .dst = SWIFI_REG_NONE, .ptr = SWIFI_REG_NONE,
					   .byte0 = 0x48 };
		if (i % 4 == 0)
			s->src = 0, s->dst = 3;
		if (i % 10 == 3)
			s->flags |= SWIFI_S_JCC | (i > 20 ? SWIFI_S_BACK : 0);
		if (i == 0 || i == NSITES / 2)
			s->flags |= SWIFI_S_ENTRY;
	}
	b.sites[NSITES] = (struct swifi_tsite){ .off = 0, .insn = 11, .len = 3, .src = 0, .dst = 3,
						.ptr = SWIFI_REG_NONE };
	b.sites[NSITES + 1] = (struct swifi_tsite){ .off = 3, .insn = 11, .len = 5, .flags = SWIFI_S_JCC,
						    .src = SWIFI_REG_NONE, .dst = SWIFI_REG_NONE,
						    .ptr = SWIFI_REG_NONE };
}

static struct swifi_table open_ok(void)
{
	struct swifi_table t;

	cr_assert(swifi_table_open(&t, &b, sizeof(b)), "the hand-made table is refused");
	return t;
}

Test(swifi, splitmix64_reference_values)
{
	uint64_t s = 0;

	/* splitmix64's published first outputs for seed 0. */
	cr_assert_eq(swifi_next(&s), 0xe220a8397b1dcdafull);
	cr_assert_eq(swifi_next(&s), 0x6e789e6aa1b965f4ull);
	cr_assert_eq(swifi_next(&s), 0x06c45d188009454full);
}

Test(swifi, table_bounds_are_checked)
{
	struct swifi_table t;

	make_blob();
	open_ok();
	cr_assert_not(swifi_table_open(&t, &b, sizeof(b.h) - 1), "a cut header is accepted");
	b.h.magic[0] = 'X';
	cr_assert_not(swifi_table_open(&t, &b, sizeof(b)), "a bad magic is accepted");
	make_blob();
	b.h.nsites = 1000000;
	cr_assert_not(swifi_table_open(&t, &b, sizeof(b)), "sites past the end are accepted");
	make_blob();
	b.cells[0].nsites = NSITES + 3;
	cr_assert_not(swifi_table_open(&t, &b, sizeof(b)), "a cell's sites past the table are accepted");
	make_blob();
	b.sites[5].func = 7;
	cr_assert_not(swifi_table_open(&t, &b, sizeof(b)), "a site of no function is accepted");
	make_blob();
	b.strings[b.h.strings_len - 1] = 'x';
	cr_assert_not(swifi_table_open(&t, &b, sizeof(b)), "an unterminated string pool is accepted");
	make_blob();
	b.sites[2].len = 16;
	cr_assert_not(swifi_table_open(&t, &b, sizeof(b)), "a 16-byte instruction is accepted");
}

Test(swifi, kinds_select_their_sites)
{
	struct swifi_table t;
	const struct swifi_tcell *c, *core;

	make_blob();
	t = open_ok();
	cr_assert_not_null(c = swifi_table_cell(&t, "demo@1"));
	cr_assert_null(swifi_table_cell(&t, "demo@2"));
	cr_assert_not_null(core = swifi_table_cell(&t, "nano_core"));
	cr_assert_eq(swifi_sites_count(&t, c, SWIFI_TEXT), NSITES);
	cr_assert_eq(swifi_sites_count(&t, c, SWIFI_SRC), NSITES / 4);
	cr_assert_eq(swifi_sites_count(&t, c, SWIFI_PTR), 0);
	cr_assert_eq(swifi_sites_count(&t, c, SWIFI_BRANCH), 2);	/* 3, 13 */
	cr_assert_eq(swifi_sites_count(&t, c, SWIFI_LOOP), 2);	/* 23, 33 */
	cr_assert_eq(swifi_sites_count(&t, c, SWIFI_IFACE), 2);
	cr_assert_eq(swifi_sites_count(&t, c, SWIFI_STACK), 0, "a call rel32 does not fit 4 bytes");
	cr_assert_eq(swifi_sites_count(&t, c, SWIFI_HANG_IRQOFF), NSITES);
	/* nano_core takes byte patches only. */
	cr_assert_eq(swifi_sites_count(&t, core, SWIFI_SRC), 0);
	cr_assert_eq(swifi_sites_count(&t, core, SWIFI_TEXT), 2);
	cr_assert_eq(swifi_sites_count(&t, core, SWIFI_BRANCH), 1);
	uint64_t rng;
	cr_assert_null(swifi_pick(&t, c, SWIFI_PTR, 1, &rng));
	for (int k = 0; k < SWIFI_KINDS; k++)
		cr_assert_eq(swifi_kind_parse(swifi_kind_name(k)), k);
	cr_assert_eq(swifi_kind_parse("hang_irqoff"), -1);
}

Test(swifi, same_seed_same_site_and_draws)
{
	struct swifi_table t;
	const struct swifi_tcell *c;
	uint64_t r1, r2;

	make_blob();
	t = open_ok();
	c = swifi_table_cell(&t, "demo@1");
	for (uint64_t seed = 0; seed < 200; seed++) {
		const struct swifi_tsite *a = swifi_pick(&t, c, SWIFI_TEXT, seed, &r1);
		const struct swifi_tsite *b2 = swifi_pick(&t, c, SWIFI_TEXT, seed, &r2);

		cr_assert_eq(a, b2, "seed %lu chose two sites", seed);
		cr_assert_eq(swifi_next(&r1), swifi_next(&r2), "seed %lu: the mutation draws differ", seed);
	}
}

Test(swifi, seeds_spread_over_sites)
{
	struct swifi_table t;
	const struct swifi_tcell *c;
	int hit[NSITES] = { 0 }, distinct = 0;
	uint64_t rng;

	make_blob();
	t = open_ok();
	c = swifi_table_cell(&t, "demo@1");
	for (uint64_t seed = 0; seed < 400; seed++) {
		const struct swifi_tsite *s = swifi_pick(&t, c, SWIFI_TEXT, seed, &rng);

		cr_assert_not_null(s);
		hit[s - t.sites]++;
	}
	for (int i = 0; i < NSITES; i++)
		distinct += hit[i] > 0;
	cr_assert_eq(distinct, NSITES, "400 seeds reached only %d of %d sites", distinct, NSITES);
	for (uint64_t seed = 0; seed < 50; seed++) {
		const struct swifi_tsite *s = swifi_pick(&t, c, SWIFI_LOOP, seed, &rng);

		cr_assert(s && (s->flags & SWIFI_S_BACK), "seed %lu: a loop site that is no back edge", seed);
	}
}

/* The build's own table: sites lie at instruction boundaries inside their functions. */
Test(swifi, build_table_sites_are_instruction_boundaries)
{
	FILE *f = fopen(SWIFI_SITES_BIN, "rb");
	static char data[4 << 20];
	struct swifi_table t;
	size_t n;

	cr_assert_not_null(f, "%s: not built (make)", SWIFI_SITES_BIN);
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	cr_assert(swifi_table_open(&t, data, n), "the build's table is refused");
	cr_assert_not_null(swifi_table_cell(&t, "ramfs@1"));
	cr_assert_null(swifi_table_cell(&t, "swifi@1"), "the injector's own text is in its table");
	for (uint32_t i = 0; i < t.h->ncells; i++) {
		const struct swifi_tcell *c = &t.cells[i];

		for (uint32_t j = 0; j < c->nsites; j++) {
			const struct swifi_tsite *s = &t.sites[c->first_site + j];
			const struct swifi_tfunc *fn = &t.funcs[c->first_func + s->func];

			cr_assert(s->off >= fn->start && s->off + s->len <= fn->start + fn->size,
				  "%s: site %x outside %s", swifi_table_str(&t, c->name), s->off,
				  swifi_table_str(&t, fn->name));
			if (j + 1 < c->nsites)
				cr_assert(s->off + s->len <= t.sites[c->first_site + j + 1].off,
					  "%s: sites at %x and %x overlap", swifi_table_str(&t, c->name), s->off,
					  t.sites[c->first_site + j + 1].off);
			cr_assert_neq(s->byte0, 0xcc, "an int3 is a site");
		}
	}
}
