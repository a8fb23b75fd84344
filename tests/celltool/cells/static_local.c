/* Spills state: a function-local static is still static data. */
int next_id(void)
{
	static long id;

	return (int)++id;
}
