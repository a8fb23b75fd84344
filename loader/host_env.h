/*
 * Host implementations of struct loader_env, for the host tests, cell-link
 * and the fuzzer. Not part of the kernel build.
 *
 * Arena mode reserves one region near the host program (so cells and the
 * test program's functions are within +-2 GiB of each other, as cells and
 * nano_core are in the kernel) and hands out page runs with a PROT_NONE
 * guard page on each side; unmapped runs become PROT_NONE, so a stale call
 * faults. Buffer mode gives malloc'd buffers whose run addresses count up
 * from a chosen base: the bytes are an image to be written out, never run.
 */
#ifndef LOADER_HOST_ENV_H
#define LOADER_HOST_ENV_H

#include <delos/loader.h>

#define HOST_ENV_MAX_MAPS 256

struct host_map {
	void *mem;
	uint64_t addr;
	size_t bytes;
};

struct host_env {
	struct loader_env env; /* env.ctx points back here */

	/* Counters, for leak checks: what was handed out and given back. */
	long allocs, frees, maps, unmaps, pokes;
	/* Fault injection: when it reaches 1, the next alloc or map fails. */
	long fail_at;
	/* If nonzero, larger mappings fail (the fuzzer's memory bound). */
	size_t max_map;

	/* Arena mode. */
	unsigned char *arena;
	size_t arena_pages;
	unsigned char *page_perm; /* per page: 0 free, else 0x80 | LOADER_PERM_* */

	/* Buffer mode. */
	uint64_t next_addr;
	struct host_map map[HOST_ENV_MAX_MAPS];
	size_t nmaps;
};

/* Arena mode near `near` (e.g. a function of the program). 0 or -1. */
int host_env_arena(struct host_env *h, const void *near);
/* Buffer mode with run addresses from `base` (page aligned). */
void host_env_buffer(struct host_env *h, uint64_t base);
void host_env_fini(struct host_env *h);

/* Allocations plus mappings not yet given back. */
long host_env_live(const struct host_env *h);
/* The host pointer holding run address addr, or NULL. */
void *host_env_ptr(const struct host_env *h, uint64_t addr);
/* The permissions last set on the page holding run address addr (arena
 * mode; 0 for a free or guard page), or -1 in buffer mode. */
int host_env_perm(const struct host_env *h, uint64_t addr);

#endif
