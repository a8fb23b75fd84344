/* -fPIE: PC32 to its own data, GOTPCREL to imported data, PLT32 calls. */
extern int host_value;
int host_twice(int x);

static const int local_table[] = { 10, 20, 30 };

int pie_get(int i)
{
	return host_twice(local_table[i % 3]) + host_value;
}
