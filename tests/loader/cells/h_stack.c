/* -fstack-protector-all with a global guard, run on the host. */
void *host_memset(void *d, int c, unsigned long n);

int stack_fill(int x)
{
	volatile char buf[32];

	host_memset((char *)buf, x, sizeof(buf));
	return buf[x & 31];
}
