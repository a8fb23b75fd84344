#include "nano_core/ksyms.h"
#include <delos/string.h>

const char *ksym_lookup(uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = ksym_count;

	/* Binary search for the last symbol starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ksym_table[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct ksym *s = &ksym_table[lo - 1];
	uint64_t size = s->size ? s->size : 1;
	if (addr - s->addr >= size)
		return NULL;
	*offset = addr - s->addr;
	return &ksym_strings[s->name];
}

uint64_t ksym_address(const char *name)
{
	for (uint64_t i = 0; i < ksym_count; i++)
		if (strcmp(&ksym_strings[ksym_table[i].name], name) == 0)
			return ksym_table[i].addr;
	return 0;
}
