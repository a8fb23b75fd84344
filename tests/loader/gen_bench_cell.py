#!/usr/bin/env python3
"""Write a kernel-model cell of N functions for the link-time benchmark.

Each function calls two others (relocations inside the cell), nano_core's
kprintf (an import) with its own string (merged strings), and switches on
its argument (a jump table), so relocations grow linearly with N.

    gen_bench_cell.py N > bench_N.c
"""
import sys


def main():
    n = int(sys.argv[1])
    print("int kprintf(const char *fmt, ...);")
    for i in range(n):
        print(f"int bench_f{i}(int x);")
    for i in range(n):
        a, b = (i * 7 + 1) % n, (i * 13 + 5) % n
        print(f"""
int bench_f{i}(int x)
{{
	if (x <= 0)
		return {i};
	switch (x & 7) {{
	case 0: return bench_f{a}(x - 1) + 1;
	case 1: return bench_f{b}(x - 2) + 3;
	case 2: return {i} * 5;
	case 3: return kprintf("f{i} %d\\n", x);
	case 4: return x * {i + 3};
	case 5: return x ^ {i};
	}}
	return -x;
}}""")


if __name__ == "__main__":
    main()
