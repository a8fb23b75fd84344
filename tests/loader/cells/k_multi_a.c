/* Two sources merged with ld.lld -r, with function and data sections. */
int multi_b(int x);
static const int squares[] = { 0, 1, 4, 9, 16, 25 };

int multi_a(int x)
{
	return multi_b(x) + squares[x % 6];
}
