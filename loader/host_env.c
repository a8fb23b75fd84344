/* Host environments for the loader; see host_env.h. Host builds only. */
#ifdef DELOS_HOST
#include "loader/host_env.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE LOADER_PAGE_SIZE
#define ARENA_BYTES (256ul << 20)
#define USED 0x80

static bool fail_now(struct host_env *h)
{
	return h->fail_at > 0 && --h->fail_at == 0;
}

static void *env_alloc(void *ctx, size_t bytes)
{
	struct host_env *h = ctx;
	void *p = fail_now(h) ? NULL : malloc(bytes);

	h->allocs += p != NULL;
	return p;
}

static void env_free(void *ctx, void *p)
{
	struct host_env *h = ctx;

	h->frees++;
	free(p);
}

static int prot_of(int perm)
{
	return (perm & LOADER_PERM_R ? PROT_READ : 0) |
	       (perm & LOADER_PERM_W ? PROT_WRITE : 0) |
	       (perm & LOADER_PERM_X ? PROT_EXEC : 0);
}

/* Arena mode. */

static size_t page_index(const struct host_env *h, const void *p)
{
	return (size_t)((const unsigned char *)p - h->arena) / PAGE;
}

/* First fit: n free pages in a row, or SIZE_MAX. */
static size_t find_free(const struct host_env *h, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < h->arena_pages; i++) {
		run = h->page_perm[i] ? 0 : run + 1;
		if (run == n)
			return i + 1 - n;
	}
	return SIZE_MAX;
}

static void *arena_map(void *ctx, size_t bytes, uint64_t *addr)
{
	struct host_env *h = ctx;
	size_t n = bytes / PAGE, first = find_free(h, n + 2);
	unsigned char *mem;

	if (fail_now(h) || first == SIZE_MAX)
		return NULL;
	mem = h->arena + (first + 1) * PAGE;
	if (mprotect(mem, bytes, PROT_READ | PROT_WRITE))
		return NULL;
	memset(h->page_perm + first, USED, n + 2);
	memset(h->page_perm + first + 1, USED | LOADER_PERM_R | LOADER_PERM_W, n);
	h->maps++;
	*addr = (uint64_t)(uintptr_t)mem;
	return mem;
}

static int arena_protect(void *ctx, void *mem, size_t bytes, int perm)
{
	struct host_env *h = ctx;

	if (mprotect(mem, bytes, prot_of(perm)))
		return -1;
	memset(h->page_perm + page_index(h, mem), USED | perm, bytes / PAGE);
	return 0;
}

static void arena_unmap(void *ctx, void *mem, size_t bytes)
{
	struct host_env *h = ctx;

	mprotect(mem, bytes, PROT_NONE);
	madvise(mem, bytes, MADV_DONTNEED);
	memset(h->page_perm + page_index(h, mem) - 1, 0, bytes / PAGE + 2);
	h->unmaps++;
}

/*
 * The host's text_poke: makes the pages writable (never executable), copies,
 * and restores each page's permissions. Refuses, writing nothing, a range
 * that is not wholly inside mapped pages (a guard page, a freed run).
 */
static int arena_poke(void *ctx, void *mem, const void *src, size_t len)
{
	struct host_env *h = ctx;
	const unsigned char *p = mem;
	size_t first, last;

	if (!len || p < h->arena || p + len < p || p + len > h->arena + h->arena_pages * PAGE)
		return -1;
	first = page_index(h, mem), last = page_index(h, (char *)mem + len - 1);
	for (size_t i = first; i <= last; i++)
		if (!(h->page_perm[i] & 7))
			return -1;

	unsigned char *page = h->arena + first * PAGE;
	size_t span = (last - first + 1) * PAGE;

	if (mprotect(page, span, PROT_READ | PROT_WRITE))
		return -1;
	memcpy(mem, src, len);
	for (size_t i = first; i <= last; i++)
		mprotect(h->arena + i * PAGE, PAGE, prot_of(h->page_perm[i] & 7));
	h->pokes++;
	return 0;
}

/* Reserves the arena at the first free spot within reach of `near`. */
static unsigned char *reserve_near(const void *near)
{
	uintptr_t base = ((uintptr_t)near & ~((1ul << 28) - 1));

	for (long k = 1; k < 6; k++) {
		for (int sign = 1; sign >= -1; sign -= 2) {
			uintptr_t hint = base + sign * k * ARENA_BYTES;
			void *p = mmap((void *)hint, ARENA_BYTES, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
					       MAP_FIXED_NOREPLACE, -1, 0);
			if (p != MAP_FAILED && (uintptr_t)p == hint)
				return p;
			if (p != MAP_FAILED)
				munmap(p, ARENA_BYTES);
		}
	}
	return NULL;
}

int host_env_arena(struct host_env *h, const void *near)
{
	memset(h, 0, sizeof(*h));
	h->arena = reserve_near(near);
	if (!h->arena)
		return -1;
	h->arena_pages = ARENA_BYTES / PAGE;
	h->page_perm = calloc(h->arena_pages, 1);
	h->env = (struct loader_env){
		.map = arena_map, .protect = arena_protect, .unmap = arena_unmap,
		.poke = arena_poke, .alloc = env_alloc, .free = env_free, .ctx = h,
	};
	return h->page_perm ? 0 : -1;
}

/* Buffer mode. */

static struct host_map *buffer_find(const struct host_env *h, uint64_t addr)
{
	for (size_t i = 0; i < h->nmaps; i++)
		if (addr >= h->map[i].addr && addr - h->map[i].addr < h->map[i].bytes)
			return (struct host_map *)&h->map[i];
	return NULL;
}

static void *buffer_map(void *ctx, size_t bytes, uint64_t *addr)
{
	struct host_env *h = ctx;
	void *mem;

	if (fail_now(h) || h->nmaps == HOST_ENV_MAX_MAPS || (h->max_map && bytes > h->max_map))
		return NULL;
	mem = aligned_alloc(PAGE, bytes);
	if (!mem)
		return NULL;
	*addr = h->next_addr;
	h->map[h->nmaps++] = (struct host_map){ mem, *addr, bytes };
	h->next_addr += bytes + 2 * PAGE;
	h->maps++;
	return mem;
}

static struct host_map *buffer_find_mem(struct host_env *h, const void *mem)
{
	for (size_t i = 0; i < h->nmaps; i++)
		if ((const char *)mem >= (char *)h->map[i].mem &&
		    (size_t)((const char *)mem - (char *)h->map[i].mem) < h->map[i].bytes)
			return &h->map[i];
	return NULL;
}

/* Buffers are never run, so permissions are only checked for sense. */
static int buffer_protect(void *ctx, void *mem, size_t bytes, int perm)
{
	struct host_map *m = buffer_find_mem(ctx, mem);

	return m && (perm & ~7) == 0 &&
	       (size_t)((char *)mem - (char *)m->mem) + bytes <= m->bytes ? 0 : -1;
}

static void buffer_unmap(void *ctx, void *mem, size_t bytes)
{
	struct host_env *h = ctx;
	struct host_map *m = buffer_find_mem(h, mem);

	(void)bytes;
	if (!m)
		abort();
	free(m->mem);
	*m = h->map[--h->nmaps];
	h->unmaps++;
}

/* Refuses, writing nothing, a range that is not wholly inside one buffer. */
static int buffer_poke(void *ctx, void *mem, const void *src, size_t len)
{
	struct host_env *h = ctx;
	struct host_map *m = buffer_find_mem(h, mem);

	if (!m || len > m->bytes - (size_t)((char *)mem - (char *)m->mem))
		return -1;
	memcpy(mem, src, len);
	h->pokes++;
	return 0;
}

void host_env_buffer(struct host_env *h, uint64_t base)
{
	memset(h, 0, sizeof(*h));
	h->next_addr = base;
	h->env = (struct loader_env){
		.map = buffer_map, .protect = buffer_protect, .unmap = buffer_unmap,
		.poke = buffer_poke, .alloc = env_alloc, .free = env_free, .ctx = h,
	};
}

void host_env_fini(struct host_env *h)
{
	if (h->arena)
		munmap(h->arena, ARENA_BYTES);
	free(h->page_perm);
	while (h->nmaps)
		free(h->map[--h->nmaps].mem);
}

long host_env_live(const struct host_env *h)
{
	return h->allocs - h->frees + h->maps - h->unmaps;
}

void *host_env_ptr(const struct host_env *h, uint64_t addr)
{
	const struct host_map *m;

	if (h->arena)
		return (void *)(uintptr_t)addr;
	m = buffer_find(h, addr);
	return m ? (char *)m->mem + (addr - m->addr) : NULL;
}

int host_env_perm(const struct host_env *h, uint64_t addr)
{
	size_t i;

	if (!h->arena)
		return -1;
	i = page_index(h, (void *)(uintptr_t)addr);
	return i < h->arena_pages ? h->page_perm[i] & 7 : 0;
}
#endif
