/* Virtual range allocator; see include/delos/vrange.h. */
#include "nano_core/vrange.h"

static const char *const messages[] = {
	[-VRANGE_OK] = "ok",
	[-VRANGE_E_ARG] = "size zero, unaligned or larger than the window",
	[-VRANGE_E_NO_SPACE] = "no free span is large enough",
	[-VRANGE_E_TOO_MANY] = "too many live ranges to track",
	[-VRANGE_E_NOT_LIVE] = "range is not live (outside the window or already free)",
};

const char *vrange_strerror(int err)
{
	return err <= 0 && -err < (int)(sizeof(messages) / sizeof(messages[0])) ? messages[-err]
										  : "unknown error";
}

static uint64_t span_end(const struct vrange_span *s)
{
	return s->start + s->size;
}

int vrange_init(struct vrange *v, uint64_t base, uint64_t size, uint64_t page, uint64_t guard,
		struct vrange_span *slots, size_t nslots)
{
	uint64_t mask = page - 1;

	if (!page || (page & mask) || (base & mask) || (size & mask) || !guard || (guard & mask) ||
	    guard > size / 2 || size - 2 * guard < page || base + size < base || !slots ||
	    nslots < 2)
		return VRANGE_E_ARG;
	*v = (struct vrange){
		.base = base, .end = base + size - guard, .page = page, .guard = guard,
		.free = slots, .nfree = 1, .nslots = nslots,
	};
	slots[0] = (struct vrange_span){ base, size - guard };
	return VRANGE_OK;
}

static void remove_span(struct vrange *v, size_t i)
{
	for (v->nfree--; i < v->nfree; i++)
		v->free[i] = v->free[i + 1];
}

static void insert_span(struct vrange *v, size_t i, struct vrange_span s)
{
	for (size_t j = v->nfree++; j > i; j--)
		v->free[j] = v->free[j - 1];
	v->free[i] = s;
}

int vrange_alloc(struct vrange *v, uint64_t bytes, uint64_t *addr)
{
	uint64_t need = bytes + v->guard;

	if (!bytes || (bytes & (v->page - 1)) || bytes > v->end - v->base - v->guard)
		return VRANGE_E_ARG;
	if (v->live >= v->nslots - 1)
		return VRANGE_E_TOO_MANY;
	for (size_t i = 0; i < v->nfree; i++) {
		struct vrange_span *s = &v->free[i];
		if (s->size < need)
			continue;
		*addr = s->start + v->guard;
		s->start += need;
		s->size -= need;
		if (!s->size)
			remove_span(v, i);
		v->live++;
		v->live_bytes += need;
		return VRANGE_OK;
	}
	return VRANGE_E_NO_SPACE;
}

/* Index of the first free span that starts above addr (nfree if none). */
static size_t first_above(const struct vrange *v, uint64_t addr)
{
	size_t lo = 0, hi = v->nfree;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->free[mid].start > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int vrange_free(struct vrange *v, uint64_t addr, uint64_t bytes)
{
	struct vrange_span r = { addr - v->guard, bytes + v->guard };
	size_t i;
	struct vrange_span *prev, *next;

	if (!bytes || ((addr | bytes) & (v->page - 1)) || addr < v->base + v->guard ||
	    addr > v->end || bytes > v->end - addr || !v->live)
		return VRANGE_E_NOT_LIVE;
	i = first_above(v, r.start);
	prev = i ? &v->free[i - 1] : NULL;
	next = i < v->nfree ? &v->free[i] : NULL;
	if ((prev && span_end(prev) > r.start) || (next && next->start < span_end(&r)))
		return VRANGE_E_NOT_LIVE;
	if (prev && span_end(prev) == r.start) {
		prev->size += r.size;
		if (next && next->start == span_end(prev)) {
			prev->size += next->size;
			remove_span(v, i);
		}
	} else if (next && next->start == span_end(&r)) {
		next->start = r.start;
		next->size += r.size;
	} else if (v->nfree < v->nslots) {
		insert_span(v, i, r);	/* always room, by the bound on live ranges */
	} else {
		return VRANGE_E_NOT_LIVE;	/* only a range never handed out gets here */
	}
	v->live--;
	v->live_bytes -= r.size;
	return VRANGE_OK;
}

void vrange_stats(const struct vrange *v, struct vrange_stats *s)
{
	*s = (struct vrange_stats){
		.window = v->end + v->guard - v->base, .free_spans = v->nfree, .live = v->live,
		.max_live = v->nslots - 1, .live_bytes = v->live_bytes,
	};
	for (size_t i = 0; i < v->nfree; i++) {
		s->free_bytes += v->free[i].size;
		if (v->free[i].size > s->largest_free)
			s->largest_free = v->free[i].size;
	}
}
