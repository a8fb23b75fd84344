/* Spills state: thread-local storage. */
_Thread_local int tls_depth;

int tls_enter(void)
{
	return ++tls_depth;
}
