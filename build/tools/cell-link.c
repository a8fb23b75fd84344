/*
 * cell-link: links one cell object at a fixed base with the loader's own
 * code, as the kernel would, and writes the image and a section map.
 *
 *   cell-link OBJ --base HEXADDR [--sym NAME=HEXADDR]... [--allow-state]
 *             [--placed SYMBOL] -o IMAGE
 *
 * IMAGE holds the bytes of the cell's mapping, from the base up; with
 * --placed, after a struct placed_header (include/delos/loader_cell.h) that
 * gives the address of SYMBOL, which the cell must define as a global, and
 * the protection of each page range, for nano_core's placer. IMAGE.map
 * has one line per placed section, in address order:
 *
 *   INDEX NAME HEXADDR HEXSIZE
 *
 * where INDEX is the section's index in OBJ, or "-" for the loader-made GOT.
 * Every --sym is a nano_core export in grant "link", which the cell is given.
 * Exits 1 with the loader's message if the object is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <delos/loader.h>
#include <delos/loader_cell.h>

#include "loader/host_env.h"

#define MAX_SYMS 1024

struct options {
	const char *obj, *out, *placed;
	uint64_t base;
	bool have_base, allow_state;
	struct loader_export syms[MAX_SYMS];
	size_t nsyms;
};

static void usage(void)
{
	fprintf(stderr, "usage: cell-link OBJ --base HEXADDR [--sym NAME=HEXADDR]... "
			"[--allow-state] [--placed SYMBOL] -o IMAGE\n");
	exit(2);
}

static uint64_t parse_hex(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno || !*s || *end) {
		fprintf(stderr, "cell-link: bad hex address '%s'\n", s);
		exit(2);
	}
	return v;
}

static void add_sym(struct options *o, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || o->nsyms == MAX_SYMS)
		usage();
	*eq = '\0';
	o->syms[o->nsyms++] = (struct loader_export){ arg, "link", parse_hex(eq + 1), false };
}

static void parse_args(struct options *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (strcmp(a, "--base") == 0 && more) {
			o->base = parse_hex(argv[++i]);
			o->have_base = true;
		} else if (strcmp(a, "--sym") == 0 && more) {
			add_sym(o, argv[++i]);
		} else if (strcmp(a, "-o") == 0 && more) {
			o->out = argv[++i];
		} else if (strcmp(a, "--placed") == 0 && more) {
			o->placed = argv[++i];
		} else if (strcmp(a, "--allow-state") == 0) {
			o->allow_state = true;
		} else if (a[0] != '-' && !o->obj) {
			o->obj = a;
		} else {
			usage();
		}
	}
	if (!o->obj || !o->out || !o->have_base)
		usage();
	if (o->base % LOADER_PAGE_SIZE) {
		fprintf(stderr, "cell-link: base 0x%llx is not page aligned\n",
			(unsigned long long)o->base);
		exit(2);
	}
}

/* Reads a whole file into an 8-aligned buffer. */
static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "cell-link: cannot read %s: %s\n", path, strerror(errno));
		exit(1);
	}
	buf = aligned_alloc(16, ((size_t)n + 16) & ~(size_t)15);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cell-link: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static void write_image(const char *path, const void *head, size_t hn, const void *bytes, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || (hn && fwrite(head, 1, hn, f) != hn) || (n && fwrite(bytes, 1, n, f) != n) ||
	    fclose(f)) {
		fprintf(stderr, "cell-link: cannot write %s\n", path);
		exit(1);
	}
}

static void write_map(const char *image, const struct loader_cell *c)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s.map", image);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "cell-link: cannot write %s\n", path);
		exit(1);
	}
	for (size_t i = 0; i < loader_cell_nsections(c); i++) {
		struct loader_section s;
		loader_cell_section(c, i, &s);
		if (s.index == LOADER_GOT_INDEX)
			fprintf(f, "- ");
		else
			fprintf(f, "%u ", s.index);
		fprintf(f, "%s %llx %llx\n", s.name, (unsigned long long)s.addr,
			(unsigned long long)s.size);
	}
	if (fclose(f)) {
		fprintf(stderr, "cell-link: cannot write %s\n", path);
		exit(1);
	}
}

/*
 * The placed header of cell c: its page ranges of one protection each, from
 * its sections in address order, each range reaching to the next one's
 * start (the padding between takes the protection of what it follows).
 * Returns 0, or 1 after saying why (two protections in one page, too many
 * ranges, no such global symbol).
 */
static int placed_header(const struct options *o, const struct loader_cell *c,
			 struct placed_header *h)
{
	struct loader_cell_info info;
	struct loader_sym sym;
	uint64_t page = LOADER_PAGE_SIZE;

	loader_cell_info(c, &info);
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, PLACED_MAGIC, sizeof(h->magic));
	h->base = info.start;
	h->bytes = info.end - info.start;
	if (!loader_cell_sym_find(c, o->placed, &sym) || !sym.exported) {
		fprintf(stderr, "cell-link: %s defines no global '%s'\n", o->obj, o->placed);
		return 1;
	}
	h->ops = sym.addr;
	for (size_t i = 0; i < loader_cell_nsections(c); i++) {
		struct loader_section s;
		loader_cell_section(c, i, &s);
		if (!s.size)
			continue;
		uint64_t lo = (s.addr - info.start) & ~(page - 1);
		uint64_t hi = (s.addr + s.size - info.start + page - 1) & ~(page - 1);
		struct placed_range *r = h->nranges ? &h->range[h->nranges - 1] : NULL;
		if (r && r->perm == (uint32_t)s.perm) {
			r->bytes = hi - r->off;
			continue;
		}
		if (r && lo < r->off + r->bytes) {
			fprintf(stderr, "cell-link: %s: section %s shares a page with one of "
				"another protection\n", o->obj, s.name);
			return 1;
		}
		if (h->nranges == PLACED_RANGES_MAX) {
			fprintf(stderr, "cell-link: %s: more than %d ranges of one protection\n",
				o->obj, PLACED_RANGES_MAX);
			return 1;
		}
		if (r)
			r->bytes = lo - r->off;
		h->range[h->nranges++] = (struct placed_range){ r ? lo : 0, hi - (r ? lo : 0),
								(uint32_t)s.perm, 0 };
	}
	if (h->nranges)
		h->range[h->nranges - 1].bytes = h->bytes - h->range[h->nranges - 1].off;
	return 0;
}

/* Links the object; returns 0, or 1 after printing the loader's message. */
static int link(const struct options *o, const void *obj, size_t size,
		struct host_env *env)
{
	static const char *const grants[] = { "link" };
	struct loader_config cfg = { .env = &env->env, .exports = o->syms, .nexports = o->nsyms };
	struct loader_load_args a = {
		.path = o->obj, .obj = obj, .size = size, .grants = grants, .ngrants = 1,
		.flags = LOADER_NO_CTORS | (o->allow_state ? LOADER_ALLOW_STATE : 0),
	};
	struct loader_cell_info info;
	struct placed_header h;
	struct loader *ld;
	struct loader_cell *c;
	int err;

	if (loader_create(&cfg, &ld)) {
		fprintf(stderr, "cell-link: bad --sym list (a name given twice?)\n");
		return 1;
	}
	err = loader_load(ld, &a, &c);
	if (err) {
		fprintf(stderr, "%s\n", loader_error(ld));
	} else {
		loader_cell_info(c, &info);
		if (o->placed && placed_header(o, c, &h)) {
			loader_destroy(ld);
			return 1;
		}
		write_image(o->out, &h, o->placed ? sizeof(h) : 0, host_env_ptr(env, info.start),
			    info.end - info.start);
		write_map(o->out, c);
	}
	loader_destroy(ld);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct options o;
	static struct host_env env;
	size_t size;

	parse_args(&o, argc, argv);
	void *obj = read_file(o.obj, &size);
	host_env_buffer(&env, o.base);
	int status = link(&o, obj, size, &env);
	host_env_fini(&env);
	free(obj);
	return status;
}
