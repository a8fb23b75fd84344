/*
 * swifi-seed: the first seed whose choice, on this build's site table, is a
 * given instruction of a given function, as `fault inject CELL KIND seed=N`
 * would choose it (cells/swifi/sites.c, the injector's own code).
 *
 *   swifi-seed [--all] [--flip BYTE:BIT] SITES.bin CELL KIND FUNCTION INSN [MAX_SEED]
 *
 * Prints the seed and exits 0, or names what was not found and exits 1.
 * With --all, prints every such seed up to MAX_SEED with its site
 * (FUNCTION+0xOFF), one a line. With --flip (kind text only), the seed must
 * also flip bit BIT of byte BYTE of the instruction. INSN may name the instructions that follow
 * the site too, split by ';' ("popq %rbp;retq": a popq %rbp that a retq
 * follows), to tell apart two sites of one function with the same text. The
 * tests that need one particular site (nano_core's known-bad case) ask for it
 * here, so a change to nano_core's code moves the seed, not the test's meaning.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cells/swifi/sites.h"

/* Whether the sites from s on, within cell c, have the texts of want ("A;B;..."). */
static bool texts_match(const struct swifi_table *t, const struct swifi_tcell *c,
			const struct swifi_tsite *s, const char *want)
{
	const struct swifi_tsite *end = t->sites + c->first_site + c->nsites;

	for (; s < end; s++) {
		const char *have = swifi_table_str(t, s->insn), *semi = strchr(want, ';');
		size_t n = semi ? (size_t)(semi - want) : strlen(want);

		if (strlen(have) != n || memcmp(have, want, n) != 0)
			return false;
		if (!semi)
			return true;
		want = semi + 1;
	}
	return false;
}

static void *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* What was asked: the options and the site. */
struct query {
	bool all, flip;
	unsigned byte, bit;		/* with flip: the text fault's flip */
	unsigned long max;
	const char *path, *cell, *kind_name, *function, *insn;
	int kind;
};

/* Prints the seed (or, with all, every seed and its site); the exit status. */
static int search(const struct swifi_table *t, const struct swifi_tcell *c, const struct query *q)
{
	unsigned long found = 0;

	for (unsigned long seed = 0; seed <= q->max; seed++) {
		uint64_t rng;
		const struct swifi_tsite *s = swifi_pick(t, c, q->kind, seed, &rng);
		const struct swifi_tfunc *fn;
		uint32_t byte, bit;

		if (!s)
			break;
		fn = &t->funcs[c->first_func + s->func];
		if (strcmp(swifi_table_str(t, fn->name), q->function) != 0 || !texts_match(t, c, s, q->insn))
			continue;
		if (q->flip) {
			swifi_text_flip(&rng, s->len, &byte, &bit);
			if (byte != q->byte || bit != q->bit)
				continue;
		}
		found++;
		if (!q->all) {
			printf("%lu\n", seed);
			return 0;
		}
		printf("%lu %s+0x%x\n", seed, q->function, s->off - fn->start);
	}
	if (found)
		return 0;
	fprintf(stderr, "swifi-seed: no seed up to %lu picks '%s' in %s of %s for %s\n", q->max, q->insn,
		q->function, q->cell, q->kind_name);
	return 1;
}

/* Fills q from the command line; false (with the usage printed) if it is malformed. */
static bool parse_args(int argc, char **argv, struct query *q)
{
	for (; argc > 1 && argv[1][0] == '-'; argc--, argv++) {
		if (strcmp(argv[1], "--all") == 0) {
			q->all = true;
		} else if (strcmp(argv[1], "--flip") == 0 && argc > 2 &&
			   sscanf(argv[2], "%u:%u", &q->byte, &q->bit) == 2 && q->bit < 8) {
			q->flip = true;
			argc--, argv++;
		} else {
			argc = 0;	/* an unknown or malformed option */
			break;
		}
	}
	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: swifi-seed [--all] [--flip BYTE:BIT] SITES.bin CELL KIND FUNCTION INSN [MAX_SEED]\n");
		return false;
	}
	q->max = argc > 6 ? strtoul(argv[6], NULL, 0) : 100000;
	q->path = argv[1], q->cell = argv[2], q->kind_name = argv[3], q->function = argv[4], q->insn = argv[5];
	q->kind = swifi_kind_parse(q->kind_name);
	if (q->kind < 0) {
		fprintf(stderr, "swifi-seed: unknown kind '%s'\n", q->kind_name);
		return false;
	}
	if (q->flip && q->kind != SWIFI_TEXT) {
		fprintf(stderr, "swifi-seed: --flip is for kind text only, not '%s'\n", q->kind_name);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct query q = { 0 };
	struct swifi_table t;
	const struct swifi_tcell *c;
	size_t len = 0;
	void *blob;
	int rc = 2;

	if (!parse_args(argc, argv, &q))
		return 2;
	if (!(blob = read_all(q.path, &len)) || !swifi_table_open(&t, blob, len))
		fprintf(stderr, "swifi-seed: %s: not a readable site table\n", q.path);
	else if (!(c = swifi_table_cell(&t, q.cell)))
		fprintf(stderr, "swifi-seed: no cell '%s' in the table (NAME@VERSION, or nano_core)\n", q.cell);
	else
		rc = search(&t, c, &q);
	free(blob);
	return rc;
}
