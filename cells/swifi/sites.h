/*
 * The injector's site table: every instruction boundary of every cell in the
 * build, with its operand kinds, made at build time by
 * build/tools/swifi_sites.py from `llvm-objdump -d -r` of each cell object
 * and linked into swifi@1 as read-only data (a blob without pointers).
 *
 * Layout (little-endian, each array 8-byte aligned at the header's offset):
 *   struct swifi_thdr, then ncells struct swifi_tcell, nfuncs struct
 *   swifi_tfunc, nsites struct swifi_tsite, and a pool of NUL-terminated
 *   strings that the name and insn fields index.
 * A cell's sites are sorted by offset; offsets are from the start of its
 * .text (nano_core's: from `base`, an absolute address).
 *
 * Choosing: the same seed over the same table always gives the same site and
 * the same mutation parameters (splitmix64 seeded by the seed, never the
 * entropy source). This file also builds for the host (tests/host/test_swifi.c).
 */
#ifndef CELLS_SWIFI_SITES_H
#define CELLS_SWIFI_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWIFI_TABLE_MAGIC "SWS1"

struct swifi_thdr {
	char magic[4];
	uint32_t ncells, nfuncs, nsites, strings_len;
	uint32_t cells_off, funcs_off, sites_off, strings_off, pad;
};

#define SWIFI_TCELL_CORE 1u	/* nano_core: offsets from base, an absolute address */

struct swifi_tcell {
	uint32_t name;		/* "NAME@VERSION" */
	uint32_t text_size;	/* the object's .text size, checked against the loaded cell */
	uint32_t first_func, nfuncs, first_site, nsites;
	uint32_t flags, pad;
	uint64_t base;
};

#define SWIFI_FN_GLOBAL 1u

struct swifi_tfunc {
	uint32_t name, start, size, flags;
};

/* Operand kinds of a site. */
enum {
	SWIFI_S_JCC = 1,	/* conditional branch */
	SWIFI_S_BACK = 2,	/* ... whose target is not after it (a loop's back edge) */
	SWIFI_S_CALL = 4,
	SWIFI_S_RET = 8,
	SWIFI_S_MEM = 16,	/* has a memory operand */
	SWIFI_S_ENTRY = 32,	/* the entry of a global function */
};
#define SWIFI_REG_NONE 0xff	/* registers: 0-15 in encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15) */

struct swifi_tsite {
	uint32_t off;		/* from the cell's text start */
	uint32_t insn;		/* its disassembly */
	uint16_t func;		/* index among the cell's functions */
	uint8_t len, flags;
	uint8_t src, dst, ptr;	/* register read, register written, address register */
	uint8_t byte0;		/* its first byte as built (never relocated) */
};
_Static_assert(sizeof(struct swifi_thdr) == 40 && sizeof(struct swifi_tcell) == 40 &&
	       sizeof(struct swifi_tfunc) == 16 && sizeof(struct swifi_tsite) == 16,
	       "swifi table layout matches build/tools/swifi_sites.py");

/* A checked view of a table. */
struct swifi_table {
	const struct swifi_thdr *h;
	const struct swifi_tcell *cells;
	const struct swifi_tfunc *funcs;
	const struct swifi_tsite *sites;
	const char *strings;
};

/* The fault kinds (swifi_kind_name gives their console names). */
enum swifi_kind {
	SWIFI_TEXT, SWIFI_SRC, SWIFI_DST, SWIFI_PTR, SWIFI_NOP, SWIFI_LOOP, SWIFI_BRANCH,
	SWIFI_IFACE, SWIFI_PANIC, SWIFI_HANG, SWIFI_HANG_IRQOFF, SWIFI_WILD, SWIFI_RECORD,
	SWIFI_STACK, SWIFI_KINDS
};

/* Checks blob (len bytes): magic, every offset and index in bounds, strings terminated. */
bool swifi_table_open(struct swifi_table *t, const void *blob, size_t len);
/* The entry of "NAME@VERSION", or NULL. */
const struct swifi_tcell *swifi_table_cell(const struct swifi_table *t, const char *ref);
const char *swifi_table_str(const struct swifi_table *t, uint32_t off);
/* Whether site s of cell c may take a fault of kind k. */
bool swifi_site_fits(const struct swifi_table *t, const struct swifi_tcell *c,
		     const struct swifi_tsite *s, int kind);
/* How many sites of c fit kind. */
uint32_t swifi_sites_count(const struct swifi_table *t, const struct swifi_tcell *c, int kind);

/* splitmix64: the injector's only source of choices. */
uint64_t swifi_next(uint64_t *state);
/*
 * The site of c that the seed chooses for kind, or NULL when none fits;
 * *rng is left seeded past the choice, for the mutation's own draws.
 */
const struct swifi_tsite *swifi_pick(const struct swifi_table *t, const struct swifi_tcell *c, int kind,
				     uint64_t seed, uint64_t *rng);

/*
 * A text fault's bit flip for an instruction of len bytes, drawn from rng
 * past swifi_pick: the byte (0 to len - 1) and the bit (0 to 7) flipped.
 */
void swifi_text_flip(uint64_t *rng, uint32_t len, uint32_t *byte, uint32_t *bit);

/* "text", "src", ...; NULL for an unknown kind. */
const char *swifi_kind_name(int kind);
/* The kind named s, or -1. */
int swifi_kind_parse(const char *s);

#endif
