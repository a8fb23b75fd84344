/* A well-behaved cell: its state lives with the caller; its tables are const. */
int kprintf(const char *fmt, ...);
int log_write(const char *text); /* from another cell */

struct counter {
	int value;
};

static const char *const names[] = { "zero", "one", "two" };

const char *clean_name(unsigned i)
{
	return i < 3 ? names[i] : "many";
}

int clean_bump(struct counter *c)
{
	kprintf("bump %d\n", c->value);
	log_write(clean_name((unsigned)c->value));
	return ++c->value;
}
