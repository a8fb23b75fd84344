/* Spills state: a zero-initialised static lands in .bss. */
static int counter;

int bss_next(void)
{
	return ++counter;
}
