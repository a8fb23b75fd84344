/*
 * The ramfs's state_db records and its token payload. Every record's owner
 * is "ramfs"; the record's state_db version is its layout.
 *
 *   "ramfs/super"          struct ramfs_super: the generation counter
 *   "ramfs/f/NAME"         struct ramfs_dirent: the name -> (id, generation)
 *   "ramfs/i/ID"           struct ramfs_inode_v1 (layout 1) or _v2 (layout 2):
 *                          the file's metadata; ID in lower-case hex
 *   "ramfs/d/ID.GEN/N"     bytes [N * RAMFS_CHUNK, ...) of file (ID, GEN), at
 *                          most RAMFS_CHUNK of them; ID, GEN and N in hex
 *
 * A chunk record exists only for chunks below the file's size; a chunk that
 * is missing or shorter than the file's extent there reads as zeros. The
 * generation in the chunk names makes a recreated file with a reused id
 * never see the old file's data.
 *
 * Layout 1 (ramfs@1) and layout 2 (ramfs@2) differ only in the inode: layout
 * 2 reorders it, puts its layout number first, and adds the time of the last
 * write. Code of layout L reads every layout up to L and writes layout L; it
 * refuses a record of a newer layout (RAMFS_E_LAYOUT).
 */
#ifndef CELLS_RAMFS_RECORDS_H
#define CELLS_RAMFS_RECORDS_H

#include <stdint.h>

#include <delos/ramfs.h>

#define RAMFS_OWNER        "ramfs"
#define RAMFS_REC_SUPER    "ramfs/super"
#define RAMFS_PFX_FILE     "ramfs/f/"
#define RAMFS_PFX_INODE    "ramfs/i/"
#define RAMFS_PFX_DATA     "ramfs/d/"

#define RAMFS_TYPE_SUPER   0x53534652u   /* "RFSS" */
#define RAMFS_TYPE_DIRENT  0x46534652u   /* "RFSF" */
#define RAMFS_TYPE_INODE   0x49534652u   /* "RFSI" */
#define RAMFS_TYPE_DATA    0x44534652u   /* "RFSD" */

#define RAMFS_LAYOUT_MAX   2u            /* the newest layout this code knows */
#define RAMFS_MODE_DEFAULT 0644u

/* "ramfs/super". */
struct ramfs_super {
	uint64_t next_gen;     /* the generation the next created file gets; starts at 1 */
	uint64_t reserved;     /* 0 */
};

/* "ramfs/f/NAME". */
struct ramfs_dirent {
	uint32_t id;
	uint32_t reserved;     /* 0 */
	uint64_t gen;          /* must equal the inode's */
};

/* "ramfs/i/ID", layout 1. */
struct ramfs_inode_v1 {
	uint32_t id;
	uint32_t mode;
	uint64_t gen;
	uint64_t size;
	char name[RAMFS_NAME_MAX + 1];   /* NUL-terminated, NUL-padded */
};

/* "ramfs/i/ID", layout 2. */
struct ramfs_inode_v2 {
	uint32_t layout;       /* 2 */
	uint32_t id;
	uint64_t gen;
	uint64_t size;
	uint64_t mtime_ns;     /* time_ns() of the last write; 0 if unknown (migrated) */
	uint32_t mode;
	uint32_t reserved;     /* 0 */
	char name[RAMFS_NAME_MAX + 1];
};

_Static_assert(sizeof(struct ramfs_inode_v1) == 64, "layout 1 inode is 64 bytes");
_Static_assert(sizeof(struct ramfs_inode_v2) == 80, "layout 2 inode is 80 bytes");
_Static_assert(sizeof(RAMFS_PFX_FILE) - 1 + RAMFS_NAME_MAX == 47, "names fit STATEDB_NAME_MAX");

/*
 * The token payload (format 1), sealed for RAMFS_SERVER with nonce 0. Both
 * layouts issue and accept format 1.
 */
struct ramfs_ticket {
	uint8_t format;        /* RAMFS_TICKET_FORMAT */
	uint8_t mode;          /* RAMFS_O_READ | RAMFS_O_WRITE | RAMFS_O_APPEND */
	uint16_t reserved;     /* 0 */
	uint32_t id;
	uint64_t gen;
	uint64_t pos;          /* 0..RAMFS_FILE_MAX */
};

#define RAMFS_TICKET_FORMAT 1u
_Static_assert(sizeof(struct ramfs_ticket) == 24, "the ticket has no padding");
_Static_assert(sizeof(struct ramfs_ticket) <= TOKEN_PAYLOAD_MAX, "the ticket fits a token");

#endif
