/* Built with -fstack-protector-all: overwriting the canary must be caught. */
#include <delos/string.h>
#include <stddef.h>

int panicky_smash(void)
{
	char buf[8];
	volatile size_t n = sizeof(buf) + 4;	/* into the canary, not the return address */

	memset(buf, 0x41, n);
	return buf[0];
}
