/* xcall's loop again, linked last in the cell: pages away from bench_callee (bench.h). */
#include "cells/bench/callee.h"

BENCH_XCALL_LOOP(bench_far_xcall)
