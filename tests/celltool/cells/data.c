/* Spills state: an initialised global lands in .data. */
int data_limit = 5;

int data_get(void)
{
	return data_limit;
}
