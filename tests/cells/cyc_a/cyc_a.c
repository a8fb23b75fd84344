/* Half of a dependency cycle: needs cyc_b, which needs it. Ordering must refuse both. */
int cyc_b_value(void);

int cyc_a_value(void)
{
	return cyc_b_value() + 1;
}
