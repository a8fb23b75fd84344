/* A small kernel-model cell: strings, a pointer table, a jump table, an
 * import from nano_core and a private cell_init. */
int kprintf(const char *fmt, ...);

static const char *const names[] = { "zero", "one", "two", "three" };

const char *hello_name(unsigned i)
{
	return i < 4 ? names[i] : "many";
}

int hello_switch(int x)
{
	switch (x) {
	case 0: return 11;
	case 1: return 23;
	case 2: return 37;
	case 3: return 41;
	case 4: return 59;
	case 5: return 61;
	case 6: return 73;
	case 7: return 89;
	}
	return -1;
}

void cell_init(void)
{
	kprintf("hello from %s: %d\n", hello_name(1), hello_switch(3));
}
