/*
 * nano_core's own symbol table and exported API, generated at build time by
 * build/tools/ksymgen from the first link of nano_core.
 */
#ifndef DELOS_KSYMS_H
#define DELOS_KSYMS_H

#include <stddef.h>
#include <stdint.h>

/* Layout shared with ksymgen's output. */
struct ksym {
	uint64_t addr;
	uint32_t size;
	uint32_t name;		/* offset in ksym_strings */
};

struct kexport {
	uint64_t addr;
	uint32_t name;		/* offset in ksym_strings */
	uint32_t grant;		/* offset in ksym_strings */
};

extern const struct ksym ksym_table[];
extern const uint64_t ksym_count;
extern const struct kexport kexport_table[];
extern const uint64_t kexport_count;
extern const char ksym_strings[];

/*
 * Finds the function or object containing addr. Returns its name and stores
 * addr's offset from its start, or returns NULL when addr is in no symbol.
 */
const char *ksym_lookup(uint64_t addr, uint64_t *offset);
/* Returns the address of a nano_core symbol by name, or 0. */
uint64_t ksym_address(const char *name);

#endif
