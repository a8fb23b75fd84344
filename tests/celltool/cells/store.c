/* A cell with a test hook that guard.manifest guards with test_hooks. */
int store_hook(int step)
{
	return step == 3;
}

int store_get(int key)
{
	return key * 2;
}
