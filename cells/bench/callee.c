/* xcall's callee (cells/bench/callee.h): in its own file, so no call to it is inlined. */
#include "cells/bench/bench.h"

uint64_t bench_callee(uint64_t x)
{
	return x * 3 + 1;
}
