/* Spills state: with -fcommon a tentative definition is a COMMON symbol. */
int common_total;

void common_add(int n)
{
	common_total += n;
}
