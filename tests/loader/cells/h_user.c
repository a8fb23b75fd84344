/* Uses h_math's math_add (a cross-cell call), a weak reference nothing
 * defines, and a weak definition. */
int math_add(int a, int b);
extern int maybe_missing(void) __attribute__((weak));

__attribute__((weak)) int user_hook(void)
{
	return 5;
}

int user_calc(int x)
{
	return math_add(x, 1) * 2 + user_hook();
}

int user_has_maybe(void)
{
	return maybe_missing != 0;
}
