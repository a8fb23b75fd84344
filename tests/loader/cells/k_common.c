/* Built with -fcommon: a COMMON symbol. */
int shared_common;

int get_common(void)
{
	return shared_common;
}
