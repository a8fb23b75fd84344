/* Thread-local storage: refused. */
__thread int tls_var;

int get_tls(void)
{
	return tls_var;
}
