/*
 * The code xcall compares, compiled the same into bench@1 and bench_peer@1:
 * BENCH_XCALL_LOOP(NAME) defines `int NAME(uint64_t arg)`, which times
 * x->n calls of bench_callee one by one (arg is a struct bench_xcall *). In
 * bench@1 the call stays inside the cell, in bench_peer@1 it goes into
 * another cell; the loader patches both into the same `call rel32`.
 */
#ifndef CELLS_BENCH_CALLEE_H
#define CELLS_BENCH_CALLEE_H

#include "cells/bench/bench.h"

#define BENCH_XCALL_LOOP(NAME)                                                \
	int NAME(uint64_t arg)                                                \
	{                                                                     \
		struct bench_xcall *x = (struct bench_xcall *)arg;            \
		uint64_t acc = 0;                                             \
                                                                              \
		for (uint64_t i = 0; i < x->n; i++) {                         \
			uint64_t t0 = bench_rdtsc();                          \
			acc += bench_callee(i);                               \
			uint64_t d = bench_rdtsc() - t0;                      \
			x->samples[i] = d > x->zero ? d - x->zero : 0;        \
		}                                                             \
		return (int)(acc & 1);                                        \
	}

#endif
