/* Keeps writable static data: the loader must refuse it, naming both. */
static int counter;
int table[4] = { 1, 2, 3, 4 };

int bump(void)
{
	return ++counter + table[0];
}
