/*
 * A prelinked cell: the relocations between a cell's own sections applied
 * when the cell is built (celltool prelink, loader/prelink_write.c), for the
 * layout the loader gives the object, which the build and the loader compute
 * with the same code (layout.c). What is left for load time:
 *
 *   - the relocations the build cannot resolve, which stay in the object's
 *     SHT_RELA sections: references to imports, to weak definitions another
 *     cell's may replace, GOT-relative and size relocations, 8- and 16-bit
 *     fields, and any whose value did not fit;
 *   - the absolute references to the cell's own sections (R_X86_64_64,
 *     _32S, _32), whose value is the run address: the build writes the
 *     target's offset in the mapping (S + A with a base of 0) into the field
 *     and lists the field's offset in the mapping; the loader adds the
 *     mapping's run address, and range-checks the result as the relocation
 *     would have been checked.
 *
 * The object's non-allocated section PRELINK_SECTION holds, little-endian:
 *
 *   struct prelink_hdr
 *   struct prelink_sec[nsecs]   each placed section, in the loader's order
 *                               (its cell->secs order, without the GOT)
 *   uint32_t off64[n64]         fields of 8 bytes, mapping offsets, increasing
 *   uint32_t off32s[n32s]       fields of 4 bytes, signed (R_X86_64_32S)
 *   uint32_t off32[n32]         fields of 4 bytes, unsigned (R_X86_64_32)
 *   uint32_t order[nsorted]     the symbols the cell defines (indices in the
 *                               object's symbol table), in address order:
 *                               the order of the cell's symbol table, which
 *                               the loader then checks instead of sorting;
 *                               none where two share an address or one is
 *                               absolute
 *
 * The loader refuses an object whose layout is not the one recorded (every
 * section's offset and size, the GOT, the segments), and any field that is
 * not wholly inside a placed section with contents, or that overlaps the one
 * before it in its list, and an order that does not list every symbol the
 * cell defines, each once, at strictly increasing addresses. The record holds no section index, so stripping the
 * debug sections (which renumbers the others) keeps it valid.
 */
#ifndef LOADER_PRELINK_H
#define LOADER_PRELINK_H

#include <stdint.h>

#define PRELINK_SECTION ".delos.prelink"
#define PRELINK_MAGIC "DLSPRLK1"

struct prelink_hdr {
	char magic[8];
	uint32_t nsecs;     /* placed sections, the GOT not counted */
	uint32_t ngot;      /* GOT slots */
	uint64_t map_bytes; /* the mapping's size */
	uint64_t seg_off[3], seg_size[3]; /* text, rodata, data */
	uint32_t n64, n32s, n32;
	uint32_t resolved;  /* relocations the build applied and dropped */
	uint32_t nsorted;   /* symbols in the order, 0 if none */
	uint32_t pad;
};

struct prelink_sec {
	uint64_t off;  /* in the mapping */
	uint64_t size;
};

/* For the host tools (loader/prelink_write.c). */
struct loader;
struct loader_prelink_stats {
	uint32_t relocs;   /* in the placed sections, before */
	uint32_t resolved; /* applied and dropped */
	uint32_t fields;   /* absolute, left to the loader as fields of the record */
	uint32_t kept;     /* left as relocations */
};

/*
 * Prelinks the object obj (size bytes, 8-byte aligned; path names it in
 * messages) into a new object *out of *out_size bytes, which the caller
 * gives back with loader_prelink_free. Refuses, with loader_error's message,
 * an object the loader would refuse without a namespace (malformed, state
 * of a kind no load allows, a type it does not relocate), or one already
 * prelinked.
 */
int loader_prelink(struct loader *ld, const char *path, const void *obj, size_t size,
		   void **out, size_t *out_size, struct loader_prelink_stats *st);
void loader_prelink_free(struct loader *ld, void *p);

#endif
