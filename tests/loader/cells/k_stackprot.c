/* Built with -fstack-protector-all -mstack-protector-guard=global: imports
 * __stack_chk_guard and __stack_chk_fail from nano_core. */
void *memset(void *d, int c, unsigned long n);

int stackprot_fill(int x)
{
	volatile char buf[64];

	memset((char *)buf, x, sizeof(buf));
	return buf[x & 63];
}
