/*
 * Host link time of the loader: loads and unloads each object in a loop on
 * a buffer env in the top 2 GiB and reports the time per load, against the
 * object's size, sections, symbols and relocations.
 *
 *   loader-bench [--fail-at N] OBJ...      (make loader-bench)
 *
 * Every load and unload, timed or not, must succeed: the first failure ends
 * the run with status 1 and a message naming the object, the call, where it
 * failed and the loader's error. --fail-at N makes the Nth allocation or
 * mapping of the timed loops fail, to test exactly that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <delos/loader.h>

#include "loader/elf64.h"
#include "loader/host_env.h"

/* Every name the test cells import, at made-up addresses near the base. */
static const struct loader_export exports[] = {
	{ "kprintf", "core", 0xffffffff80100000ull, true },
	{ "memset", "core", 0xffffffff80100100ull, true },
	{ "host_note", "core", 0xffffffff80100200ull, true },
	{ "host_memset", "core", 0xffffffff80100300ull, true },
	{ "host_twice", "core", 0xffffffff80100400ull, true },
	{ "host_value", "core", 0xffffffff80200000ull, false },
	{ "__stack_chk_guard", "core", 0xffffffff80200008ull, false },
	{ "__stack_chk_fail", "core", 0xffffffff80100500ull, true },
	{ "hal_outb", "core", 0xffffffff80100600ull, true },
	{ "ext", "core", 0xffffffff80123450ull, true },
	{ "ext2", "core", 0xffffffff80123460ull, true },
	{ "small8", "core", 0x7f, false },
	{ "small16", "core", 0x1234, false },
	{ "math_add", "core", 0xffffffff80100700ull, true }, /* last: h_user only */
};
#define NEXPORTS (sizeof(exports) / sizeof(exports[0]))
static const char *const grants[] = { "core" };
static long fail_at; /* --fail-at N, 0 when absent */

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *buf;

	if (!f) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	*size = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = aligned_alloc(16, (*size + 15) & ~(size_t)15);
	if (!buf || fread(buf, 1, *size, f) != *size) {
		fprintf(stderr, "loader-bench: %s: cannot read %zu bytes\n", path, *size);
		exit(1);
	}
	fclose(f);
	return buf;
}

static size_t count_relocs(const unsigned char *obj)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)obj;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(obj + eh->e_shoff);
	size_t n = 0;

	for (unsigned i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_RELA && (sh[sh[i].sh_info].sh_flags & SHF_ALLOC))
			n += sh[i].sh_size / sizeof(Elf64_Rela);
	return n;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* Ends the run, naming the object, the call, where in the timed loop it
 * failed (round 0: before timing) and the loader's message. */
static _Noreturn void fail(const char *path, const char *call, int round, int iter, int rc,
			   const struct loader *ld)
{
	fprintf(stderr, "loader-bench: %s: %s failed", path, call);
	if (round)
		fprintf(stderr, " in timed round %d, iteration %d", round, iter);
	fprintf(stderr, ": error %d%s%s\n", rc, ld ? ": " : "", ld ? loader_error(ld) : "");
	exit(1);
}

static void bench(const char *path)
{
	static struct host_env env;
	struct loader *ld;
	struct loader_cell *c = NULL;
	struct loader_cell_info info;
	size_t size;
	unsigned char *obj = read_file(path, &size);
	struct loader_config cfg = { .env = &env.env, .exports = exports,
				     .nexports = NEXPORTS - 1 };
	struct loader_load_args a = { .path = path, .obj = obj, .size = size,
				      .grants = grants, .ngrants = 1, .flags = LOADER_NO_CTORS };
	int iters = size > 1000000 ? 20 : size > 100000 ? 200 : 2000;
	double best = 1e30;
	int rc;

	host_env_buffer(&env, 0xffffffff80400000ull);
	if ((rc = loader_create(&cfg, &ld)))
		fail(path, "loader_create", 0, 0, rc, NULL);
	rc = loader_load(ld, &a, &c);
	if (rc == LOADER_EUNDEF) { /* h_user needs math_add */
		loader_destroy(ld);
		cfg.nexports = NEXPORTS;
		if ((rc = loader_create(&cfg, &ld)))
			fail(path, "loader_create", 0, 0, rc, NULL);
		rc = loader_load(ld, &a, &c);
	}
	if (rc)
		fail(path, "loader_load", 0, 0, rc, ld);
	loader_cell_info(c, &info);
	if ((rc = loader_unload(ld, c)))
		fail(path, "loader_unload", 0, 0, rc, ld);
	/* Each call is checked: a failed load returns early, and timing it would
	 * report a link that never happened. */
	env.fail_at = fail_at;
	for (int round = 0; round < 5; round++) {
		double t0 = now_us();
		for (int i = 0; i < iters; i++) {
			if ((rc = loader_load(ld, &a, &c)))
				fail(path, "loader_load", round + 1, i + 1, rc, ld);
			if ((rc = loader_unload(ld, c)))
				fail(path, "loader_unload", round + 1, i + 1, rc, ld);
		}
		double per = (now_us() - t0) / iters;
		best = per < best ? per : best;
	}
	size_t relocs = count_relocs(obj);
	printf("%-28s %9zu %6zu %7zu %9.1f %8.1f\n", strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
	       size, info.nsyms, relocs, best, relocs ? best * 1000 / relocs : 0.0);
	loader_destroy(ld);
	host_env_fini(&env);
	free(obj);
}

int main(int argc, char **argv)
{
	int i = 1;

	if (i + 1 < argc && strcmp(argv[i], "--fail-at") == 0) {
		char *end;

		fail_at = strtol(argv[i + 1], &end, 10);
		if (*argv[i + 1] == '\0' || *end || fail_at < 1) {
			fprintf(stderr, "loader-bench: --fail-at wants a count of 1 or more, not '%s'\n",
				argv[i + 1]);
			return 2;
		}
		i += 2;
	}
	if (i == argc) {
		fprintf(stderr, "usage: loader-bench [--fail-at N] OBJ...\n");
		return 2;
	}
	printf("%-28s %9s %6s %7s %9s %8s\n", "object", "bytes", "syms", "relocs", "us/load",
	       "ns/reloc");
	for (; i < argc; i++)
		bench(argv[i]);
	return 0;
}
