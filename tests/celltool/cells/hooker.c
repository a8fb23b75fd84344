/* A cell that imports store's guarded test hook. */
int store_hook(int step);

int hooker_run(void)
{
	return store_hook(3);
}
