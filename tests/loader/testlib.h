/*
 * Helpers shared by the loader's host tests: reading the test objects built
 * into LOADER_TEST_DIR, editing them to make malformed ones, a loader on a
 * counting host env, and the section-by-section comparison with ld.lld.
 */
#ifndef TESTS_LOADER_TESTLIB_H
#define TESTS_LOADER_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>

#include <delos/loader.h>

#include "loader/elf64.h"
#include "loader/host_env.h"

/* A test object, in an 8-aligned heap buffer the test may edit. */
struct obj {
	unsigned char *data;
	size_t size;
	char path[512];
	const char *name; /* file name, as messages show it */
};

void obj_read(struct obj *o, const char *name); /* aborts the test if missing */
void obj_free(struct obj *o);
Elf64_Ehdr *obj_ehdr(struct obj *o);
Elf64_Shdr *obj_shdr(struct obj *o, unsigned i);
unsigned obj_section(struct obj *o, const char *name); /* 0 if none */
Elf64_Sym *obj_symbol(struct obj *o, const char *name, unsigned *index);
Elf64_Rela *obj_rela(struct obj *o, const char *rela_section, unsigned j);
unsigned obj_count_relocs(struct obj *o, unsigned type);

/* A loader on a host env, with the env's counters at the start. */
struct fixture {
	struct host_env env;
	struct loader *ld;
	long live0;
};

void fixture_arena(struct fixture *f, const struct loader_export *ex, size_t n);
void fixture_buffer(struct fixture *f, uint64_t base,
		    const struct loader_export *ex, size_t n);
/* Destroys the loader and checks that every allocation and mapping of the
 * test was given back. */
void fixture_fini(struct fixture *f);

/* Loads o as cell `name` (NULL: its file name without extension). */
int load_named(struct fixture *f, struct obj *o, const char *name,
	       const char *const *grants, size_t ngrants, unsigned flags,
	       struct loader_cell **out);
int load_obj(struct fixture *f, struct obj *o, const char *const *grants,
	     size_t ngrants, unsigned flags, struct loader_cell **out);
/* The bytes of a placed section of c, by name (NULL if none). */
unsigned char *cell_bytes(struct fixture *f, struct loader_cell *c, const char *sec,
			  uint64_t *addr);

/* The grant guarding c's symbol `name` (NULL if none); fails the test if
 * c has no such symbol. */
const char *cell_sym_grant(const struct loader_cell *c, const char *name);

/* The exports every arena test gets, with host functions and data. */
extern const struct loader_export host_exports[];
extern const size_t host_nexports;
extern const char *const all_grants[];
extern const size_t all_ngrants;
extern int host_notes;  /* sum of host_note() arguments */
extern int host_value;

/*
 * Links o with ld.lld at the addresses the loader gave cell c (one linker
 * script line per placed section, --defsym for each export, --no-relax) and
 * compares every placed section byte for byte. Returns the number of
 * sections compared, or -1 with `why` explaining the first difference.
 */
int lld_compare(struct fixture *f, struct loader_cell *c, struct obj *o,
		const struct loader_export *ex, size_t n, char *why, size_t whylen);

#endif
