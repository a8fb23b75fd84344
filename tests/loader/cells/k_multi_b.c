int kprintf(const char *fmt, ...);

int multi_b(int x)
{
	kprintf("multi_b %d\n", x);
	return x * 3;
}

const char *multi_msg(void)
{
	return "merged strings live in .rodata.str1.1";
}
