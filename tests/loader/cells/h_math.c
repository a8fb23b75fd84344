/* A host-executable cell (-fPIC): internal calls, a jump table, strings,
 * a relocated pointer table (.data.rel.ro), a constructor and a global
 * read-only object. */
void host_note(int v);

static const char *const words[] = { "nil", "uno", "dos", "tres" };

const int math_answer = 42;

int math_add(int a, int b)
{
	return a + b;
}

int math_fib(int n)
{
	return n < 2 ? n : math_fib(n - 1) + math_fib(n - 2);
}

int math_switch(int x)
{
	switch (x) {
	case 0: return 3;
	case 1: return 14;
	case 2: return 15;
	case 3: return 92;
	case 4: return 65;
	case 5: return 35;
	case 6: return 89;
	case 7: return 79;
	}
	return -1;
}

const char *math_word(unsigned i)
{
	return i < 4 ? words[i] : "mucho";
}

__attribute__((constructor)) static void math_ctor(void)
{
	host_note(1000);
}
