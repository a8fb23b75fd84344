/* The other half of the cycle with cyc_a. */
int cyc_a_value(void);

int cyc_b_value(void)
{
	return cyc_a_value() - 1;
}
