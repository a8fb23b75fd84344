/* References symbols nothing defines. */
int no_such_symbol(void);
int also_missing(void);

int undef_user(void)
{
	return no_such_symbol() + also_missing();
}
