/*
 * Delos's loader against glibc's dynamic linker, on the host, on the same
 * generated code (tests/loader/gen_bench_cell.py): the loader links the
 * kernel-model object OBJ (ld.lld -r and celltool prelink, as a cell) from memory, as nano_core
 * links a cell GRUB already loaded; dlopen(RTLD_NOW) loads SO, the same
 * source built as a shared object, from the file system; each is undone
 * again (loader_unload, dlclose). The two alternate, A then B, in rounds of
 * one run, and the ratio is of the medians.
 *
 *   loader-vs-dlopen [--rounds N] [--only loader|dlopen] OBJ SO [OBJ SO]...
 *
 * --only runs one side alone (for a profiler: perf record -- loader-vs-dlopen
 * --only loader ...), and prints its time per load only.
 * Prints one CSV row per pair on stdout:
 *   name,obj_bytes,so_bytes,loader_us,dlopen_us,ratio,check_us,syscall_us,
 *   obj_relocs,so_relocs
 * where check_us is the loader's validation alone (loader_check: what a load
 * costs before it places and relocates anything), syscall_us is the file
 * and mapping system calls a dlopen of SO makes (open, fstat, read of the
 * headers, one mmap per PT_LOAD, mprotect, munmap, close), replayed alone:
 * what dlopen pays that the loader does not; obj_relocs counts the
 * relocations of OBJ's allocated sections and the fields of its prelink
 * record (what the loader patches: celltool prelink resolved the rest) and
 * so_relocs those of SO (.rela.dyn and .rela.plt: what ld.so applies). Every call is checked; the
 * first failure ends the run with status 1, naming it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <malloc.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <delos/loader.h>

#include "loader/host_env.h"
#include "loader/prelink.h"

/* The generated code's one import: the shared objects bind it here (-rdynamic). */
int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

static const struct loader_export exports[] = {
	{ "kprintf", "core", 0xffffffff80100000ull, true },
};
static const char *const grants[] = { "core" };

/* The thread's CPU time, user and system: the work of each side, its system
 * calls and page faults included, without the time other programs on the
 * host take the CPU from it (which, on a loaded host, swamps both). */
static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static _Noreturn void die(const char *what, const char *path, const char *why)
{
	fprintf(stderr, "loader-vs-dlopen: %s: %s failed: %s\n", path, what, why);
	exit(1);
}

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *buf;

	if (!f)
		die("fopen", path, "cannot open");
	fseek(f, 0, SEEK_END);
	*size = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = aligned_alloc(16, (*size + 15) & ~(size_t)15);
	if (!buf || fread(buf, 1, *size, f) != *size)
		die("fread", path, "short read");
	fclose(f);
	return buf;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *x, int n)
{
	qsort(x, (size_t)n, sizeof(*x), cmp);
	return x[n / 2];
}

/* The relocations of an ELF file's SHT_RELA sections: for a relocatable
 * object those whose target is allocated, for a shared object all. */
static long count_relocs(const unsigned char *elf, size_t size, const char *path)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf + eh->e_shoff);
	long n = 0;

	if (size < sizeof(*eh) || eh->e_shoff > size ||
	    (size - eh->e_shoff) / sizeof(*sh) < eh->e_shnum)
		die("count relocations", path, "no section table");
	const char *names = eh->e_shstrndx < eh->e_shnum ? (const char *)elf + sh[eh->e_shstrndx].sh_offset
							  : NULL;
	for (int i = 0; i < eh->e_shnum; i++) {
		/* A prelinked cell's fields: the absolute references the loader
		 * still relocates (loader/prelink.h). */
		if (names && eh->e_type == ET_REL && strcmp(names + sh[i].sh_name, PRELINK_SECTION) == 0 &&
		    sh[i].sh_size >= sizeof(struct prelink_hdr)) {
			const struct prelink_hdr *h = (const void *)(elf + sh[i].sh_offset);
			n += (long)h->n64 + h->n32s + h->n32;
		}
		if (sh[i].sh_type == SHT_RELA &&
		    (eh->e_type != ET_REL ||
		     (sh[i].sh_info < eh->e_shnum && (sh[sh[i].sh_info].sh_flags & SHF_ALLOC))))
			n += (long)(sh[i].sh_size / sizeof(Elf64_Rela));
	}
	return n;
}

/* The system calls dlopen makes for SO's file, without the linking. */
static void syscalls_of_dlopen(const char *so)
{
	unsigned char hdr[832];
	struct stat st;
	int fd = open(so, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) || read(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
		die("open/fstat/read", so, "replay");
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)hdr;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(hdr + eh->e_phoff);
	size_t span = ((size_t)st.st_size + 0xfff) & ~0xfffull;
	void *base = mmap(NULL, span + 0x4000, PROT_READ, MAP_PRIVATE, fd, 0);
	if (base == MAP_FAILED)
		die("mmap", so, "replay");
	for (int i = 0; i < eh->e_phnum && (unsigned char *)&ph[i + 1] <= hdr + sizeof(hdr); i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset)
			mmap((char *)base + (ph[i].p_offset & ~0xfffull), 0x1000, PROT_READ,
			     MAP_PRIVATE | MAP_FIXED, fd, (off_t)(ph[i].p_offset & ~0xfffull));
	mprotect(base, 0x1000, PROT_READ);
	munmap(base, span + 0x4000);
	close(fd);
}

struct side {
	struct host_env env;
	struct loader *ld;
	struct loader_load_args a;
	void *(*buffer_map)(void *ctx, size_t bytes, uint64_t *addr);
};

#define RUN_BASE 0xffffffff80400000ull

/*
 * The loader's env->map as nano_core's (cells.c: cell_window_map, which
 * maps RAM frames it does not zero, mm_map_unzeroed: the loader writes every
 * byte): the host env's buffer. Its memory stays resident (main's mallopt),
 * as RAM does: no system call and no page fault, which Delos never takes to
 * load a cell. Run addresses start again at RUN_BASE whenever nothing is
 * mapped, as the cell window reuses its ranges, so they stay within the
 * kernel code model.
 */
static void *kernel_like_map(void *ctx, size_t bytes, uint64_t *addr)
{
	struct side *s = (struct side *)((char *)ctx - offsetof(struct side, env));

	if (!s->env.nmaps)
		s->env.next_addr = RUN_BASE;
	return s->buffer_map(ctx, bytes, addr);
}

static void loader_side_init(struct side *s, const char *obj_path)
{
	struct loader_config cfg = { .env = &s->env.env, .exports = exports, .nexports = 1 };
	size_t size;

	memset(s, 0, sizeof(*s));
	s->a.path = obj_path;
	s->a.obj = read_file(obj_path, &size);
	s->a.size = size;
	s->a.grants = grants;
	s->a.ngrants = 1;
	s->a.flags = LOADER_NO_CTORS;
	host_env_buffer(&s->env, RUN_BASE);
	s->buffer_map = s->env.env.map;
	s->env.env.map = kernel_like_map;
	if (loader_create(&cfg, &s->ld))
		die("loader_create", obj_path, "");
}

static double time_loader(struct side *s, int iters)
{
	struct loader_cell *c;
	double t0 = now_us();

	for (int i = 0; i < iters; i++) {
		if (loader_load(s->ld, &s->a, &c))
			die("loader_load", s->a.path, loader_error(s->ld));
		if (loader_unload(s->ld, c))
			die("loader_unload", s->a.path, loader_error(s->ld));
	}
	return (now_us() - t0) / iters;
}

static double time_check(struct side *s, int iters)
{
	double t0 = now_us();

	for (int i = 0; i < iters; i++)
		if (loader_check(s->ld, &s->a))
			die("loader_check", s->a.path, loader_error(s->ld));
	return (now_us() - t0) / iters;
}

static double time_dlopen(const char *so, int iters)
{
	double t0 = now_us();

	for (int i = 0; i < iters; i++) {
		void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			die("dlopen", so, dlerror());
		if (dlclose(h))
			die("dlclose", so, dlerror());
	}
	return (now_us() - t0) / iters;
}

static double time_syscalls(const char *so, int iters)
{
	double t0 = now_us();

	for (int i = 0; i < iters; i++)
		syscalls_of_dlopen(so);
	return (now_us() - t0) / iters;
}

static const char *only; /* --only SIDE, NULL for both */

static void one_side(const char *obj, const char *so, int rounds)
{
	struct side s;
	double t = 0;

	loader_side_init(&s, obj);
	for (int r = 0; r < rounds; r++)
		t += strcmp(only, "loader") ? time_dlopen(so, 200) : time_loader(&s, 200);
	printf("%s %s: %.2f us per load\n", only, strcmp(only, "loader") ? so : obj, t / rounds);
	loader_destroy(s.ld);
	host_env_fini(&s.env);
	free((void *)s.a.obj);
}

static void pair(const char *obj, const char *so, int rounds)
{
	struct side s;
	double *a = calloc((size_t)rounds, sizeof(double)), *b = calloc((size_t)rounds, sizeof(double));
	double *c = calloc((size_t)rounds, sizeof(double)), *y = calloc((size_t)rounds, sizeof(double));
	struct stat st;
	int iters;

	loader_side_init(&s, obj);
	if (!a || !b || !c || !y || stat(so, &st))
		die("setup", so, "no memory or no file");
	/* About 20 ms of work per side and round. */
	double one = time_loader(&s, 1) + time_dlopen(so, 1);
	iters = one > 0 ? (int)(20000 / one) : 1000;
	iters = iters < 3 ? 3 : iters > 5000 ? 5000 : iters;
	for (int r = 0; r < rounds; r++) {	/* A, B, A, B, ... */
		a[r] = time_loader(&s, iters);
		b[r] = time_dlopen(so, iters);
		c[r] = time_check(&s, iters);
		y[r] = time_syscalls(so, iters);
	}
	double la = median(a, rounds), db = median(b, rounds);
	const char *name = strrchr(obj, '/') ? strrchr(obj, '/') + 1 : obj;
	size_t so_size;
	void *so_elf = read_file(so, &so_size);
	printf("%s,%zu,%lld,%.2f,%.2f,%.3f,%.2f,%.2f,%ld,%ld\n", name, s.a.size,
	       (long long)st.st_size, la, db, la / db, median(c, rounds), median(y, rounds),
	       count_relocs(s.a.obj, s.a.size, obj), count_relocs(so_elf, so_size, so));
	free(so_elf);
	fflush(stdout);
	loader_destroy(s.ld);
	host_env_fini(&s.env);
	free((void *)s.a.obj);
	free(a), free(b), free(c), free(y);
}

int main(int argc, char **argv)
{
	int i = 1, rounds = 11;

	/* The loader's mappings come from the heap and go back to it, resident
	 * (kernel_like_map); dlopen's mmap and page faults are its own work. */
	if (!mallopt(M_MMAP_THRESHOLD, 32 << 20) || !mallopt(M_TRIM_THRESHOLD, 256 << 20))
		die("mallopt", "malloc", "refused");

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--only") == 0)
			only = argv[i + 1];
		else
			break;
	}
	if (rounds < 1 || argc - i < 2 || (argc - i) % 2 ||
	    (only && strcmp(only, "loader") && strcmp(only, "dlopen"))) {
		fprintf(stderr, "usage: loader-vs-dlopen [--rounds N] [--only loader|dlopen] "
			"OBJ SO [OBJ SO]...\n");
		return 2;
	}
	if (only) {
		for (; i < argc; i += 2)
			one_side(argv[i], argv[i + 1], rounds);
		return 0;
	}
	printf("name,obj_bytes,so_bytes,loader_us,dlopen_us,ratio,check_us,syscall_us,"
	       "obj_relocs,so_relocs\n");
	for (; i < argc; i += 2)
		pair(argv[i], argv[i + 1], rounds);
	return 0;
}
