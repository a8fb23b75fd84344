/* See testlib.h. */
#include "tests/loader/testlib.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LOADER_TEST_DIR
#error "LOADER_TEST_DIR must name the directory of the built test objects"
#endif

void obj_read(struct obj *o, const char *name)
{
	FILE *f;
	long n;

	memset(o, 0, sizeof(*o));
	if (name[0] == '/')
		snprintf(o->path, sizeof(o->path), "%s", name);
	else
		snprintf(o->path, sizeof(o->path), "%s/%s", LOADER_TEST_DIR, name);
	o->name = strrchr(o->path, '/') + 1;
	f = fopen(o->path, "rb");
	cr_assert(f, "cannot open %s", o->path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	o->size = (size_t)n;
	o->data = aligned_alloc(16, (o->size + 15) & ~(size_t)15);
	cr_assert(o->data && fread(o->data, 1, o->size, f) == o->size);
	fclose(f);
}

void obj_free(struct obj *o)
{
	free(o->data);
	o->data = NULL;
}

Elf64_Ehdr *obj_ehdr(struct obj *o)
{
	return (Elf64_Ehdr *)o->data;
}

Elf64_Shdr *obj_shdr(struct obj *o, unsigned i)
{
	return (Elf64_Shdr *)(o->data + obj_ehdr(o)->e_shoff) + i;
}

static const char *shname(struct obj *o, unsigned i)
{
	Elf64_Shdr *strs = obj_shdr(o, obj_ehdr(o)->e_shstrndx);

	return (const char *)o->data + strs->sh_offset + obj_shdr(o, i)->sh_name;
}

unsigned obj_section(struct obj *o, const char *name)
{
	for (unsigned i = 1; i < obj_ehdr(o)->e_shnum; i++)
		if (strcmp(shname(o, i), name) == 0)
			return i;
	return 0;
}

Elf64_Sym *obj_symbol(struct obj *o, const char *name, unsigned *index)
{
	unsigned st = 0;

	for (unsigned i = 1; i < obj_ehdr(o)->e_shnum; i++)
		if (obj_shdr(o, i)->sh_type == SHT_SYMTAB)
			st = i;
	cr_assert(st, "%s has no symbol table", o->name);
	Elf64_Shdr *s = obj_shdr(o, st);
	Elf64_Sym *syms = (Elf64_Sym *)(o->data + s->sh_offset);
	const char *str = (const char *)o->data + obj_shdr(o, s->sh_link)->sh_offset;
	for (unsigned i = 0; i < s->sh_size / sizeof(Elf64_Sym); i++) {
		if (strcmp(str + syms[i].st_name, name) == 0) {
			if (index)
				*index = i;
			return &syms[i];
		}
	}
	cr_assert_fail("%s has no symbol %s", o->name, name);
	return NULL;
}

Elf64_Rela *obj_rela(struct obj *o, const char *rela_section, unsigned j)
{
	unsigned r = obj_section(o, rela_section);

	cr_assert(r, "%s has no %s", o->name, rela_section);
	cr_assert(j < obj_shdr(o, r)->sh_size / sizeof(Elf64_Rela));
	return (Elf64_Rela *)(o->data + obj_shdr(o, r)->sh_offset) + j;
}

unsigned obj_count_relocs(struct obj *o, unsigned type)
{
	unsigned n = 0;

	for (unsigned i = 1; i < obj_ehdr(o)->e_shnum; i++) {
		Elf64_Shdr *s = obj_shdr(o, i);
		Elf64_Rela *r = (Elf64_Rela *)(o->data + s->sh_offset);
		if (s->sh_type != SHT_RELA)
			continue;
		for (unsigned j = 0; j < s->sh_size / sizeof(Elf64_Rela); j++)
			n += ELF_R_TYPE(r[j].r_info) == type;
	}
	return n;
}

static const char *const private_names[] = { "cell_init", NULL };

static void fixture_start(struct fixture *f, const struct loader_export *ex, size_t n)
{
	struct loader_config cfg = {
		.env = &f->env.env, .exports = ex, .nexports = n,
		.private_names = private_names,
	};

	cr_assert_eq(loader_create(&cfg, &f->ld), 0);
	f->live0 = host_env_live(&f->env);
}

void fixture_arena(struct fixture *f, const struct loader_export *ex, size_t n)
{
	cr_assert_eq(host_env_arena(&f->env, (const void *)fixture_arena), 0,
		     "cannot reserve an arena near the test program");
	fixture_start(f, ex, n);
}

void fixture_buffer(struct fixture *f, uint64_t base,
		    const struct loader_export *ex, size_t n)
{
	host_env_buffer(&f->env, base);
	fixture_start(f, ex, n);
}

void fixture_fini(struct fixture *f)
{
	loader_destroy(f->ld);
	cr_expect_eq(host_env_live(&f->env), 0,
		     "%ld allocations or mappings leaked (%ld allocs, %ld frees, %ld maps, %ld unmaps)",
		     host_env_live(&f->env), f->env.allocs, f->env.frees, f->env.maps,
		     f->env.unmaps);
	host_env_fini(&f->env);
}

int load_named(struct fixture *f, struct obj *o, const char *name,
	       const char *const *grants, size_t ngrants, unsigned flags,
	       struct loader_cell **out)
{
	char base[64];
	struct loader_load_args a = {
		.path = o->name, .name = name ? name : base, .version = "1",
		.obj = o->data, .size = o->size, .grants = grants, .ngrants = ngrants,
		.flags = flags,
	};

	snprintf(base, sizeof(base), "%.*s", (int)(strcspn(o->name, ".")), o->name);
	return loader_load(f->ld, &a, out);
}

int load_obj(struct fixture *f, struct obj *o, const char *const *grants,
	     size_t ngrants, unsigned flags, struct loader_cell **out)
{
	return load_named(f, o, NULL, grants, ngrants, flags, out);
}

const char *cell_sym_grant(const struct loader_cell *c, const char *name)
{
	struct loader_sym s;

	for (size_t i = 0; i < loader_cell_nsyms(c); i++) {
		loader_cell_sym(c, i, &s);
		if (strcmp(s.name, name) == 0)
			return s.grant;
	}
	cr_assert_fail("no symbol %s", name);
	return NULL;
}

unsigned char *cell_bytes(struct fixture *f, struct loader_cell *c, const char *sec,
			  uint64_t *addr)
{
	for (size_t i = 0; i < loader_cell_nsections(c); i++) {
		struct loader_section s;
		loader_cell_section(c, i, &s);
		if (strcmp(s.name, sec) == 0) {
			if (addr)
				*addr = s.addr;
			return host_env_ptr(&f->env, s.addr);
		}
	}
	return NULL;
}

/* Host side of the arena tests' nano_core. */
int host_notes;
int host_value = 5;
uint64_t __stack_chk_guard = 0x5a5a1234deadbeefull;
int stack_chk_failed;

static void host_note(int v) { host_notes += v; }
static void *host_memset(void *d, int c, unsigned long n) { return memset(d, c, n); }
static int host_twice(int x) { return 2 * x; }
static void host_stack_chk_fail(void) { stack_chk_failed++; abort(); }
static int host_kprintf(const char *fmt, ...) { (void)fmt; return 0; }
static void host_outb(unsigned short p, unsigned char v) { (void)p; (void)v; }

#define EXPORT(n, fn, g) { n, g, (uint64_t)(uintptr_t)(fn), true }
#define EXPORT_DATA(n, p, g) { n, g, (uint64_t)(uintptr_t)(p), false }
const struct loader_export host_exports[] = {
	EXPORT("host_note", host_note, "core"),
	EXPORT("host_memset", host_memset, "core"),
	EXPORT("host_twice", host_twice, "core"),
	EXPORT_DATA("host_value", &host_value, "core"),
	EXPORT_DATA("__stack_chk_guard", &__stack_chk_guard, "core"),
	EXPORT("__stack_chk_fail", host_stack_chk_fail, "core"),
	EXPORT("kprintf", host_kprintf, "core"),
	EXPORT("memset", host_memset, "core"),
	EXPORT("hal_outb", host_outb, "port_io"),
};
const size_t host_nexports = sizeof(host_exports) / sizeof(host_exports[0]);
const char *const all_grants[] = { "core", "port_io" };
const size_t all_ngrants = 2;

/* ld.lld side of the comparison. */

static void write_script(const char *path, struct loader_cell *c)
{
	FILE *f = fopen(path, "w");

	cr_assert(f);
	fprintf(f, "SECTIONS {\n");
	for (size_t i = 0; i < loader_cell_nsections(c); i++) {
		struct loader_section s;
		loader_cell_section(c, i, &s);
		fprintf(f, "  %s 0x%lx : { *(%s) }\n", s.name, (unsigned long)s.addr, s.name);
	}
	fprintf(f, "  /DISCARD/ : { *(.eh_frame) *(.note.gnu.property) }\n}\n");
	fclose(f);
}

static void run_lld(const char *dir, struct obj *o, const struct loader_export *ex,
		    size_t n)
{
	char cmd[8192];
	int len = snprintf(cmd, sizeof(cmd),
			   "ld.lld --no-relax -e 0 -T %s/link.ld -o %s/out.elf %s", dir,
			   dir, o->path);
	for (size_t i = 0; i < n; i++)
		len += snprintf(cmd + len, sizeof(cmd) - len, " --defsym %s=0x%lx",
				ex[i].name, (unsigned long)ex[i].addr);
	snprintf(cmd + len, sizeof(cmd) - len, " 2>%s/lld.err", dir);
	cr_assert_eq(system(cmd), 0, "ld.lld failed: %s", cmd);
}

/* Finds a section of the linked ELF by name: file offset, size, NOBITS. */
static bool elf_find(struct obj *e, const char *name, uint64_t *off, uint64_t *size,
		     bool *nobits)
{
	unsigned i = obj_section(e, name);

	if (!i)
		return false;
	*off = obj_shdr(e, i)->sh_offset;
	*size = obj_shdr(e, i)->sh_size;
	*nobits = obj_shdr(e, i)->sh_type == SHT_NOBITS;
	return true;
}

static int compare_section(struct fixture *f, struct obj *e, struct loader_section *s,
			   char *why, size_t whylen)
{
	uint64_t off, size;
	bool nobits;
	const unsigned char *mine = host_env_ptr(&f->env, s->addr);

	if (!elf_find(e, s->name, &off, &size, &nobits) || size != s->size) {
		snprintf(why, whylen, "%s: missing or resized in ld.lld's output", s->name);
		return -1;
	}
	for (uint64_t k = 0; k < size; k++) {
		unsigned char theirs = nobits ? 0 : e->data[off + k];
		if (mine[k] != theirs) {
			snprintf(why, whylen, "%s+0x%lx: loader 0x%02x, ld.lld 0x%02x", s->name,
				 (unsigned long)k, mine[k], theirs);
			return -1;
		}
	}
	return 0;
}

int lld_compare(struct fixture *f, struct loader_cell *c, struct obj *o,
		const struct loader_export *ex, size_t n, char *why, size_t whylen)
{
	char dir[] = "/tmp/loader-lld-XXXXXX", path[600];
	struct obj e;
	int compared = 0;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/link.ld", dir);
	write_script(path, c);
	run_lld(dir, o, ex, n);
	snprintf(path, sizeof(path), "%s/out.elf", dir);
	obj_read(&e, path);
	for (size_t i = 0; i < loader_cell_nsections(c) && compared >= 0; i++) {
		struct loader_section s;
		loader_cell_section(c, i, &s);
		compared = compare_section(f, &e, &s, why, whylen) ? -1 : compared + 1;
	}
	obj_free(&e);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		cr_log_warn("cannot remove %s", dir);
	return compared;
}
