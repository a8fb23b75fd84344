/*
 * Host version of paging_readable (delos/paging.h) for unit tests of code
 * that checks a pointer before it reads through it: the range is readable
 * when every page of it is mapped in this process (mincore fails with
 * ENOMEM on an unmapped page). Pages mapped without read permission do not
 * occur in these tests.
 */
#include <delos/paging.h>
#include <sys/mman.h>
#include <unistd.h>

bool paging_readable(uint64_t va, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = va & ~(page - 1);
	unsigned char vec;

	if (!va || va + len < va)
		return false;
	for (uint64_t p = start; p < va + len; p += page)
		if (mincore((void *)p, page, &vec))
			return false;
	return true;
}
