/*
 * celltool: build-time checks for Delos cells.
 *
 *   celltool manifest [--exports LIST] [--list] MANIFEST
 *       Parses MANIFEST with the kernel's own parser (loader/manifest.c).
 *       With --exports, every grant it names must be a grant in LIST.
 *       --list prints each entry back in canonical form.
 *   celltool check [--exports LIST] [--grants G1,G2 | --manifest MANIFEST] OBJ...
 *       Refuses objects with writable static state and, with --exports,
 *       objects that import a nano_core export outside their grants (from
 *       --grants, from their MANIFEST entry, or none at all). With
 *       --manifest, also objects that import a cell export another entry
 *       guards (guard=) with a grant they lack, and objects whose own entry
 *       guards a symbol they do not export.
 *   celltool table --exports LIST --objects DIR --output TABLE MANIFEST
 *       Checks MANIFEST as `manifest --exports` does, orders its boot cells
 *       from their objects (DIR/object=): each after the boot cells it
 *       imports from; refuses a dependency cycle, naming it, and an import
 *       nobody exports. Writes the binary table nano_core reads
 *       (include/delos/manifest_table.h).
 *   celltool prelink [--stats] --output OUT OBJ
 *       Applies OBJ's relocations between its own sections for the layout
 *       the loader will give it, and writes OUT: OBJ with those relocations
 *       dropped and the prelink record added (loader/prelink.h). --stats
 *       prints how many were resolved, left as fields, and kept.
 *   celltool info [--exports LIST] OBJ...
 *       Sections, exports, imports and the grants the imports need. LIST
 *       defaults to nano_core/exports.list when that file exists.
 *
 * Exit status: 0 if all is well, 1 if an input is refused (one line per
 * problem on stderr), 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <delos/manifest.h>
#include <delos/manifest_table.h>

#include "celltool.h"

#define DEFAULT_EXPORTS "nano_core/exports.list"

static const char usage[] =
	"usage: celltool manifest [--exports LIST] [--list] MANIFEST\n"
	"       celltool check [--exports LIST] [--grants G1,G2 | --manifest MANIFEST] OBJ...\n"
	"       celltool table --exports LIST --objects DIR --output TABLE MANIFEST\n"
	"       celltool prelink [--stats] --output OUT OBJ\n"
	"       celltool info [--exports LIST] OBJ...\n";

enum {
	OPT_EXPORTS = 1 << 0,
	OPT_GRANTS = 1 << 1,
	OPT_MANIFEST = 1 << 2,
	OPT_LIST = 1 << 3,
	OPT_OBJECTS = 1 << 4,
	OPT_OUTPUT = 1 << 5,
	OPT_STATS = 1 << 6,
};

struct options {
	const char *exports;  /* --exports */
	const char *grants;   /* --grants */
	const char *manifest; /* --manifest */
	bool list;            /* --list */
	bool stats;           /* --stats */
	const char *objects;  /* --objects */
	const char *output;   /* --output */
	char **operands;
	int operand_count;
};

static int usage_error(const char *cause, const char *what)
{
	fprintf(stderr, "celltool: %s%s\n%s", cause, what ? what : "", usage);
	return 2;
}

/* The option arg sets, if allowed (OPT_* bits) has it; NULL otherwise. */
static const char **option_slot(struct options *opt, const char *arg,
				unsigned allowed)
{
	if ((allowed & OPT_EXPORTS) && strcmp(arg, "--exports") == 0)
		return &opt->exports;
	if ((allowed & OPT_GRANTS) && strcmp(arg, "--grants") == 0)
		return &opt->grants;
	if ((allowed & OPT_MANIFEST) && strcmp(arg, "--manifest") == 0)
		return &opt->manifest;
	if ((allowed & OPT_OBJECTS) && strcmp(arg, "--objects") == 0)
		return &opt->objects;
	if ((allowed & OPT_OUTPUT) && strcmp(arg, "--output") == 0)
		return &opt->output;
	return NULL;
}

/* Takes the options in allowed (OPT_* bits) and leaves the operands. */
static int parse_options(int argc, char **argv, unsigned allowed,
			 struct options *opt)
{
	const char **slot;
	int i;

	*opt = (struct options){ .operands = argv };
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			opt->operands[opt->operand_count++] = argv[i];
			continue;
		}
		if ((allowed & OPT_LIST) && strcmp(argv[i], "--list") == 0) {
			opt->list = true;
			continue;
		}
		if ((allowed & OPT_STATS) && strcmp(argv[i], "--stats") == 0) {
			opt->stats = true;
			continue;
		}
		slot = option_slot(opt, argv[i], allowed);
		if (!slot)
			return usage_error("unknown option ", argv[i]);
		if (i + 1 == argc)
			return usage_error("missing value after ", argv[i]);
		*slot = argv[++i];
	}
	return 0;
}

/* Reads a whole file into a malloc'd buffer. Returns 0 or -1 (printed). */
static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0, got;
	char *p = malloc(cap);

	if (!f) {
		fprintf(stderr, "celltool: %s: %s\n", path, strerror(errno));
		free(p);
		return -1;
	}
	while (p && (got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			p = realloc(p, cap *= 2);
	}
	if (!p || ferror(f)) {
		fprintf(stderr, "celltool: %s: cannot read\n", path);
		fclose(f);
		free(p);
		return -1;
	}
	fclose(f);
	*buf = p;
	*len = n;
	return 0;
}

/* Parses the manifest at path into m, whose entries the caller frees. */
static int load_manifest(const char *path, struct manifest *m)
{
	struct manifest_error err;
	char *text;
	size_t len, capacity;
	int rc;

	if (read_file(path, &text, &len))
		return -1;
	capacity = manifest_count_lines(text, len);
	manifest_init(m, calloc(capacity + 1, sizeof *m->entries), capacity);
	rc = manifest_parse(m, path, text, len, &err);
	free(text);
	if (rc != MANIFEST_OK) {
		fprintf(stderr, "%s\n", err.message);
		return -1;
	}
	return 0;
}

/* Whether an entry of m guards its exports with grant. */
static bool is_guard_grant(const struct manifest *m, const char *grant)
{
	size_t i;

	for (i = 0; i < m->count; i++)
		if (m->entries[i].guarded_count &&
		    strcmp(m->entries[i].guard_grant, grant) == 0)
			return true;
	return false;
}

/* Every grant the manifest names must group at least one export: of
 * nano_core (in x) or of a cell (a guard= of the manifest). */
static int check_manifest_grants(const struct manifest *m, const char *path,
				 const struct ct_exports *x)
{
	const struct manifest_entry *e;
	int found = 0;
	size_t i, g;

	for (i = 0; i < m->count; i++) {
		e = &m->entries[i];
		for (g = 0; g < e->grant_count; g++) {
			if (ct_exports_has_grant(x, e->grants[g]) ||
			    is_guard_grant(m, e->grants[g]))
				continue;
			fprintf(stderr, "%s:%u: unknown grant '%s' (not in %s nor a guard=)\n",
				path, e->line, e->grants[g], x->path);
			found++;
		}
	}
	return found;
}

/* boot_if= names a screen nano_core knows (include/delos/display.h), or arg:KEY=VALUE. */
static int check_manifest_boot_if(const struct manifest *m, const char *path)
{
	int found = 0;

	for (size_t i = 0; i < m->count; i++) {
		const struct manifest_entry *e = &m->entries[i];
		const char *v = manifest_extra(e, "boot_if");
		if (!v || !strcmp(v, "text_screen") || !strcmp(v, "framebuffer") ||
		    (!strncmp(v, "arg:", 4) && v[4] && v[4] != '=' && strchr(v + 4, '=')))
			continue;
		fprintf(stderr, "%s:%u: unknown boot_if '%s' (text_screen, framebuffer or arg:KEY=VALUE)\n",
			path, e->line, v);
		found++;
	}
	return found;
}

static void print_entry(const struct manifest_entry *e)
{
	const struct manifest_recovery *r = &e->recovery;
	uint32_t i;

	printf("cell %s@%u object=%s grants=", e->name, e->version, e->object);
	for (i = 0; i < e->grant_count; i++)
		printf("%s%s", i ? "," : "", e->grants[i]);
	printf("%s boot=%s recovery=%s", e->grant_count ? "" : "none",
	       e->boot ? "yes" : "no", manifest_policy_name(r->policy));
	if (r->policy == MANIFEST_RECOVERY_FALLBACK)
		printf(":%s@%u", r->fallback_name, r->fallback_version);
	if (r->tries)
		printf(",tries=%u", r->tries);
	if (r->backoff_ms)
		printf(",backoff=%u", r->backoff_ms);
	if (e->guarded_count)
		printf(" guard=%s:", e->guard_grant);
	for (i = 0; i < e->guarded_count; i++)
		printf("%s%s", i ? "," : "", e->guarded[i]);
	for (i = 0; i < e->extra_count; i++)
		printf(" %s=%s", e->extras[i].key, e->extras[i].value);
	printf("\n");
}

static int cmd_manifest(int argc, char **argv)
{
	struct ct_exports x = { 0 };
	struct options opt;
	struct manifest m = { 0 };
	int rc, bad = 0;
	size_t i;

	rc = parse_options(argc, argv, OPT_EXPORTS | OPT_LIST, &opt);
	if (rc)
		return rc;
	if (opt.operand_count != 1)
		return usage_error("manifest takes one MANIFEST", NULL);
	if (opt.exports && ct_exports_load(&x, opt.exports))
		return 1;
	if (load_manifest(opt.operands[0], &m)) {
		bad = 1;
	} else {
		bad = check_manifest_boot_if(&m, opt.operands[0]);
		if (opt.exports)
			bad += check_manifest_grants(&m, opt.operands[0], &x);
		for (i = 0; opt.list && !bad && i < m.count; i++)
			print_entry(&m.entries[i]);
	}
	free(m.entries);
	ct_exports_free(&x);
	return bad ? 1 : 0;
}

/* Writes len bytes to path whole, or leaves no file. */
static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "celltool: %s: %s\n", path, strerror(errno));
		if (f)
			remove(path);
		return -1;
	}
	return 0;
}

static int cmd_table(int argc, char **argv)
{
	struct ct_exports x = { 0 };
	struct options opt;
	struct manifest m = { 0 };
	uint32_t *order = NULL;
	size_t boot_count = 0;
	void *table = NULL;
	int rc, bad = 1;

	rc = parse_options(argc, argv, OPT_EXPORTS | OPT_OBJECTS | OPT_OUTPUT, &opt);
	if (rc)
		return rc;
	if (opt.operand_count != 1 || !opt.exports || !opt.objects || !opt.output)
		return usage_error("table takes --exports, --objects, --output and one MANIFEST",
				   NULL);
	if (ct_exports_load(&x, opt.exports))
		return 1;
	if (load_manifest(opt.operands[0], &m) == 0 &&
	    check_manifest_grants(&m, opt.operands[0], &x) == 0 &&
	    (order = calloc(m.count + 1, sizeof(*order))) &&
	    ct_boot_order(&m, opt.operands[0], &x, opt.objects, order, &boot_count) == 0 &&
	    (table = calloc(1, manifest_table_size(m.count, boot_count)))) {
		manifest_table_write(&m, order, boot_count, table);
		printf("boot order:");
		for (size_t i = 0; i < boot_count; i++)
			printf(" %s@%u", m.entries[order[i]].name, m.entries[order[i]].version);
		printf("\n");
		bad = write_file(opt.output, table, manifest_table_size(m.count, boot_count)) != 0;
	}
	free(table);
	free(order);
	free(m.entries);
	ct_exports_free(&x);
	return bad;
}

/* "build/out/cells/hello@1.o" ends with the entry's "cells/hello@1.o". */
static bool path_ends_with(const char *path, const char *tail)
{
	size_t n = strlen(path), t = strlen(tail);

	if (t > n || strcmp(path + n - t, tail) != 0)
		return false;
	return t == n || path[n - t - 1] == '/';
}

/* The basename of path without ".o" (and, with strip_version, "@N"). */
static void object_stem(const char *path, bool strip_version, char *out,
			size_t size)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 2 && strcmp(base + n - 2, ".o") == 0)
		n -= 2;
	if (strip_version && memchr(base, '@', n))
		n = (size_t)((const char *)memchr(base, '@', n) - base);
	snprintf(out, size, "%.*s", (int)n, base);
}

/* Finds the entry for an object by its path, or by NAME@VERSION.o. */
static const struct manifest_entry *entry_for(const struct manifest *m,
					      const char *path)
{
	char ref[256];
	size_t i;

	for (i = 0; i < m->count; i++)
		if (path_ends_with(path, m->entries[i].object))
			return &m->entries[i];
	object_stem(path, false, ref, sizeof ref);
	return manifest_find_ref(m, ref);
}

/* Splits "g1,g2" (in place) into g; "" and "none" mean no grants. */
static int split_grants(char *list, struct ct_grants *g)
{
	char *name, *save;

	if (strcmp(list, "none") == 0)
		return 0;
	for (name = strtok_r(list, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (g->count == CT_GRANTS_MAX)
			return usage_error("too many grants in --grants", NULL);
		g->names[g->count++] = name;
	}
	return 0;
}

static void grants_from_entry(const struct manifest_entry *e,
			      struct ct_grants *g)
{
	uint32_t i;

	g->cell = e->name;
	for (i = 0; i < e->grant_count; i++)
		g->names[g->count++] = e->grants[i];
}

/* Checks one object; returns the number of problems printed. */
static int check_object(const char *path, const struct options *opt,
			const struct ct_exports *x, const struct manifest *m,
			const struct ct_grants *cli_grants)
{
	const struct manifest_entry *e = NULL;
	struct ct_grants g = *cli_grants;
	struct ct_object o;
	char stem[256];
	int found;

	if (opt->manifest) {
		e = entry_for(m, path);
		if (!e) {
			fprintf(stderr, "celltool: %s: no entry in %s for this object\n",
				path, opt->manifest);
			return 1;
		}
		grants_from_entry(e, &g);
	} else {
		object_stem(path, true, stem, sizeof stem);
		g.cell = stem;
	}
	if (ct_object_load(&o, path))
		return 1;
	found = ct_check_spills(&o);
	if (opt->exports)
		found += ct_check_grants(&o, x, opt->manifest ? m : NULL, &g);
	if (e)
		found += ct_check_guards(&o, e);
	ct_object_free(&o);
	return found;
}

static int cmd_check(int argc, char **argv)
{
	struct ct_grants grants = { 0 };
	struct ct_exports x = { 0 };
	struct manifest m = { 0 };
	struct options opt;
	char *grant_list = NULL;
	int rc, i, bad = 0;

	rc = parse_options(argc, argv, OPT_EXPORTS | OPT_GRANTS | OPT_MANIFEST,
			   &opt);
	if (rc)
		return rc;
	if (opt.operand_count == 0)
		return usage_error("check needs at least one OBJ", NULL);
	if (opt.grants && opt.manifest)
		return usage_error("give --grants or --manifest, not both", NULL);
	if ((opt.grants || opt.manifest) && !opt.exports)
		return usage_error("--grants and --manifest need --exports", NULL);
	if (opt.grants) {
		grant_list = strdup(opt.grants);
		rc = split_grants(grant_list, &grants);
	}
	if (rc == 0 && opt.exports && ct_exports_load(&x, opt.exports))
		rc = 1;
	if (rc == 0 && opt.manifest && load_manifest(opt.manifest, &m))
		rc = 1;
	for (i = 0; rc == 0 && i < opt.operand_count; i++)
		bad += check_object(opt.operands[i], &opt, &x, &m, &grants);
	free(m.entries);
	free(grant_list);
	ct_exports_free(&x);
	return rc ? rc : bad ? 1 : 0;
}

static int cmd_prelink(int argc, char **argv)
{
	struct options opt;
	char *obj;
	size_t len;
	int rc = parse_options(argc, argv, OPT_OUTPUT | OPT_STATS, &opt);

	if (rc)
		return rc;
	if (opt.operand_count != 1 || !opt.output)
		return usage_error("prelink takes --output and one OBJ", NULL);
	if (read_file(opt.operands[0], &obj, &len))
		return 1;
	rc = ct_prelink(opt.operands[0], obj, len, opt.output, opt.stats, write_file);
	free(obj);
	return rc;
}

static int cmd_info(int argc, char **argv)
{
	struct ct_exports x = { 0 };
	struct ct_object o;
	struct options opt;
	bool have_exports;
	int rc, i, bad = 0;

	rc = parse_options(argc, argv, OPT_EXPORTS, &opt);
	if (rc)
		return rc;
	if (opt.operand_count == 0)
		return usage_error("info needs at least one OBJ", NULL);
	if (!opt.exports && access(DEFAULT_EXPORTS, R_OK) == 0)
		opt.exports = DEFAULT_EXPORTS;
	have_exports = opt.exports != NULL;
	if (have_exports && ct_exports_load(&x, opt.exports))
		return 1;
	for (i = 0; i < opt.operand_count; i++) {
		if (ct_object_load(&o, opt.operands[i])) {
			bad = 1;
			continue;
		}
		if (i > 0)
			printf("\n");
		ct_info(&o, have_exports ? &x : NULL);
		ct_object_free(&o);
	}
	ct_exports_free(&x);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("no command", NULL);
	if (strcmp(argv[1], "manifest") == 0)
		return cmd_manifest(argc - 2, argv + 2);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 2, argv + 2);
	if (strcmp(argv[1], "table") == 0)
		return cmd_table(argc - 2, argv + 2);
	if (strcmp(argv[1], "prelink") == 0)
		return cmd_prelink(argc - 2, argv + 2);
	if (strcmp(argv[1], "info") == 0)
		return cmd_info(argc - 2, argv + 2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	return usage_error("unknown command ", argv[1]);
}
