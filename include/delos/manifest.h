/*
 * cells.manifest: which cells (and versions) exist, which boot, what each is
 * granted, and what to do when one faults.
 *
 * The format is line based. Blank lines and everything from a '#' that begins
 * a token to the end of the line are ignored. Every other line is one entry:
 *
 *   cell NAME@VERSION [key=value ...]
 *
 * NAME is an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 31 characters) and
 * VERSION a positive decimal integer without leading zeros. The keys this
 * parser knows, each at most once per entry:
 *
 *   object=PATH      the object within the ISO/module set
 *                    (default cells/NAME@VERSION.o)
 *   grants=G1,G2     grant names (identifiers); empty or "none" means none
 *   boot=yes|no      load at boot (default no)
 *   recovery=POLICY[,tries=N][,backoff=MS]
 *                    POLICY is restart, reload, none or fallback:NAME@VERSION
 *                    (default none; "none" takes no options)
 *   guard=GRANT:SYM[,SYM...]
 *                    these exports of the cell (identifiers, at most
 *                    MANIFEST_GUARDS_MAX) may be imported only by cells
 *                    granted GRANT; the build and the loader refuse any other
 *                    importer, naming the symbol and the grant
 *
 * Any other key=value is kept as-is in the entry's extra fields, so later
 * features (e.g. swap_hook=) need no parser change. A token that is not
 * key=value with an identifier key is an error, as is a duplicate
 * NAME@VERSION, a key given twice, and a fallback to a version that is not
 * in the manifest. Tokens are printable ASCII; lines end with LF or CRLF.
 *
 * The parser runs on the host (celltool, tests): nano_core reads the table
 * celltool compiles from it (delos/manifest_table.h). It allocates nothing and writes
 * only into the caller's arrays.
 */
#ifndef DELOS_MANIFEST_H
#define DELOS_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_NAME_MAX    31   /* cell, grant and key names */
#define MANIFEST_PATH_MAX    127  /* object= */
#define MANIFEST_VALUE_MAX   95   /* values of extra fields */
#define MANIFEST_GRANTS_MAX  16   /* grants per entry */
#define MANIFEST_EXTRAS_MAX  8    /* extra key=value fields per entry */
#define MANIFEST_GUARDS_MAX  8    /* guarded exports per entry */
#define MANIFEST_SYMBOL_MAX  63   /* a guarded symbol's name */
#define MANIFEST_MESSAGE_MAX 192  /* error message, including the NUL */

enum manifest_status {
	MANIFEST_OK = 0,
	MANIFEST_ESYNTAX = -1,    /* a line is malformed */
	MANIFEST_EDUPLICATE = -2, /* NAME@VERSION appears twice */
	MANIFEST_EFULL = -3,      /* more entries than the caller's array holds */
	MANIFEST_EFALLBACK = -4,  /* fallback to a version not in the manifest */
};

enum manifest_policy {
	MANIFEST_RECOVERY_NONE,
	MANIFEST_RECOVERY_RESTART,  /* restart the cell's tasks */
	MANIFEST_RECOVERY_RELOAD,   /* reload from the pristine object */
	MANIFEST_RECOVERY_FALLBACK, /* replace with fallback_name@fallback_version */
};

struct manifest_recovery {
	enum manifest_policy policy;
	char fallback_name[MANIFEST_NAME_MAX + 1]; /* FALLBACK only */
	uint32_t fallback_version;                 /* FALLBACK only */
	uint32_t tries;      /* give up after this many; 0 means no limit */
	uint32_t backoff_ms; /* delay before each retry; 0 if not given */
};

struct manifest_extra {
	char key[MANIFEST_NAME_MAX + 1];
	char value[MANIFEST_VALUE_MAX + 1];
};

/* One line of the manifest. All strings are NUL-terminated. */
struct manifest_entry {
	char name[MANIFEST_NAME_MAX + 1];
	uint32_t version;
	char object[MANIFEST_PATH_MAX + 1];
	char grants[MANIFEST_GRANTS_MAX][MANIFEST_NAME_MAX + 1];
	uint32_t grant_count;
	bool boot;
	struct manifest_recovery recovery;
	char guard_grant[MANIFEST_NAME_MAX + 1];    /* guard=: "" when none */
	char guarded[MANIFEST_GUARDS_MAX][MANIFEST_SYMBOL_MAX + 1];
	uint32_t guarded_count;
	struct manifest_extra extras[MANIFEST_EXTRAS_MAX]; /* in line order */
	uint32_t extra_count;
	uint32_t line; /* 1-based line number, for later messages */
};

/* A parsed manifest over a caller-provided array of entries. */
struct manifest {
	struct manifest_entry *entries;
	size_t capacity;
	size_t count; /* entries in file order */
};

struct manifest_error {
	uint32_t line; /* 1-based line at fault; 0 if none */
	/* "SOURCE:LINE: cause", e.g.
	 * "cells.manifest:7: unknown recovery policy 'rebot'" */
	char message[MANIFEST_MESSAGE_MAX];
};

/* Makes m an empty manifest that parses into entries[0..capacity). */
void manifest_init(struct manifest *m, struct manifest_entry *entries,
		   size_t capacity);

/*
 * Returns an upper bound on the number of entries in buf[0..len), so a caller
 * can size the entries array before parsing. Never fails.
 */
size_t manifest_count_lines(const char *buf, size_t len);

/*
 * Parses buf[0..len) (not NUL-terminated; may hold any bytes) into m,
 * replacing what m held. source names the buffer in messages, e.g.
 * "cells.manifest". Returns MANIFEST_OK, or a negative manifest_status with
 * err->message naming the line and the cause; on failure m->count is 0.
 * err may be NULL.
 */
int manifest_parse(struct manifest *m, const char *source, const char *buf,
		   size_t len, struct manifest_error *err);

/*
 * Parses "NAME@VERSION" in s[0..len) into name (MANIFEST_NAME_MAX + 1 bytes)
 * and *version. Returns MANIFEST_OK or MANIFEST_ESYNTAX; writes nothing on
 * failure.
 */
int manifest_parse_ref(const char *s, size_t len, char *name,
		       uint32_t *version);

/* Returns the entry for name@version, or NULL if there is none. */
const struct manifest_entry *manifest_find(const struct manifest *m,
					   const char *name, uint32_t version);

/* Returns the entry for the NUL-terminated "NAME@VERSION" ref, or NULL. */
const struct manifest_entry *manifest_find_ref(const struct manifest *m,
					       const char *ref);

/*
 * Writes up to max versions of the cell name into versions[], ascending, and
 * returns how many the manifest has (which may exceed max). 0 if none.
 */
size_t manifest_versions(const struct manifest *m, const char *name,
			 uint32_t *versions, size_t max);

/* Returns the value of extra field key in e, or NULL if e has none. */
const char *manifest_extra(const struct manifest_entry *e, const char *key);

/* Returns whether e lists grant. */
bool manifest_has_grant(const struct manifest_entry *e, const char *grant);

/* Returns the grant that guards e's export symbol, or NULL if none does. */
const char *manifest_guard(const struct manifest_entry *e, const char *symbol);

/* Returns "none", "restart", "reload" or "fallback". */
const char *manifest_policy_name(enum manifest_policy policy);

#endif /* DELOS_MANIFEST_H */
