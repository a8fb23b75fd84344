/* A weak definition and an unresolved weak reference. */
__attribute__((weak)) int weak_hook(void)
{
	return 7;
}

extern int weak_missing(void) __attribute__((weak));

int weak_user(void)
{
	return weak_hook() + (weak_missing ? weak_missing() : 100);
}
