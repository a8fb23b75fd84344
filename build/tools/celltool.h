/*
 * celltool's parts: an ELF object read into plain arrays (celltool_elf.c),
 * nano_core's export list (celltool_exports.c), the cell rules
 * (celltool_check.c) and the object report (celltool_info.c). celltool.c
 * parses the command line.
 *
 * Every function that can fail prints "celltool: THING: cause" to stderr
 * and returns -1 (or a count of problems found), so callers only add up.
 */
#ifndef CELLTOOL_H
#define CELLTOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ct_section {
	char *name;
	uint32_t type;
	uint64_t flags;
	uint64_t size;
	uint64_t align;
};

struct ct_symbol {
	char *name;
	unsigned char type; /* STT_* */
	unsigned char bind; /* STB_* */
	uint32_t shndx;     /* section index, SHN_UNDEF, SHN_ABS or SHN_COMMON */
	uint64_t size;
};

/* An ELF64 x86_64 relocatable object, owned by the caller. */
struct ct_object {
	const char *path;
	struct ct_section *sections; /* indexed by section number */
	size_t section_count;
	struct ct_symbol *symbols; /* the symbol table minus entry 0 */
	size_t symbol_count;
};

/*
 * Reads the object at path. Returns 0, or -1 after printing why the file is
 * not an ELF64 x86_64 relocatable object.
 */
int ct_object_load(struct ct_object *o, const char *path);
void ct_object_free(struct ct_object *o);

/* The section a defined symbol sits in, or NULL (undefined, ABS, COMMON). */
const struct ct_section *ct_symbol_section(const struct ct_object *o,
					   const struct ct_symbol *s);

/* A symbol this object takes from elsewhere (undefined, named, not local). */
bool ct_symbol_is_import(const struct ct_symbol *s);

/* A symbol this object offers (defined, named, global or weak). */
bool ct_symbol_is_export(const struct ct_symbol *s);

/* nano_core/exports.list: lines "GRANT SYMBOL", '#' comments. */
struct ct_export {
	char *grant;
	char *symbol;
};

struct ct_exports {
	const char *path;
	struct ct_export *items;
	size_t count;
};

/* Returns 0, or -1 after printing "celltool: PATH:LINE: cause". */
int ct_exports_load(struct ct_exports *x, const char *path);
void ct_exports_free(struct ct_exports *x);

/* The grant that exports symbol, or NULL if nano_core does not export it. */
const char *ct_exports_grant(const struct ct_exports *x, const char *symbol);

/* Whether any export belongs to grant. */
bool ct_exports_has_grant(const struct ct_exports *x, const char *grant);

/* What one cell is granted, and the name it is called by in messages. */
#define CT_GRANTS_MAX 64

struct ct_grants {
	const char *cell;
	const char *names[CT_GRANTS_MAX];
	size_t count;
};

bool ct_grants_has(const struct ct_grants *g, const char *grant);

/*
 * Prints one line per piece of writable static state (.data, .bss, COMMON,
 * TLS, any allocated writable section) and returns how many it printed.
 */
int ct_check_spills(const struct ct_object *o);

struct manifest;
struct manifest_entry;

/*
 * Prints one line per import whose grant g lacks, and returns how many it
 * printed: imports of nano_core exports (grouped in x) and, when m is not
 * NULL, of cell exports that an entry of m guards (guard=).
 */
int ct_check_grants(const struct ct_object *o, const struct ct_exports *x,
		    const struct manifest *m, const struct ct_grants *g);

/*
 * Prints one line per symbol that e guards but the object does not export,
 * and returns how many it printed.
 */
int ct_check_guards(const struct ct_object *o, const struct manifest_entry *e);

/* Prints sections, exports, imports and needed grants to stdout. x may be
 * NULL, in which case imports show no grant. */
void ct_info(const struct ct_object *o, const struct ct_exports *x);

/*
 * The boot order of m's boot cells, read from their objects (objdir/object=):
 * each after every boot cell whose exports it imports, otherwise in manifest
 * order. Writes entry indices to order (room for m->count) and their number
 * to *boot_count. Returns 0, or -1 after printing a dependency cycle (named
 * cell by cell, with the imports that close it), an import nobody exports,
 * or an object that cannot be read.
 */
int ct_boot_order(const struct manifest *m, const char *path, const struct ct_exports *x,
		  const char *objdir, uint32_t *order, size_t *boot_count);

/* celltool prelink (celltool_prelink.c): prelinks obj (read from in) and
 * writes it to out with write_file; with stats, prints the counts. Returns
 * 0, or 1 after printing the loader's refusal. */
int ct_prelink(const char *in, const void *obj, size_t size, const char *out, bool stats,
	       int (*write_file)(const char *, const void *, size_t));

#endif /* CELLTOOL_H */
