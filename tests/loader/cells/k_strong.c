/* A strong definition of k_weak's weak_hook. */
int weak_hook(void)
{
	return 8;
}
