/*
 * bench_peer (cell bench_peer@1): the other side of bench@1's benchmarks.
 *   bench_peer_xcall   the xcall loop (cells/bench/callee.h) calling into bench@1
 *   bench_peer_victim  a task entry that faults in this cell (recovery=restart)
 *                      or in bench_gen1@1 (recovery=reload) as the record
 *                      "bench/victim" says, and answers once restarted
 */
#include <delos/cellref.h>
#include <delos/sdb.h>
#include "cells/bench/callee.h"

BENCH_XCALL_LOOP(bench_peer_xcall)

int bench_peer_victim(uint64_t arg)
{
	static const struct cellref gen_fault = { "bench_gen1", "bench_gen1_fault" };
	struct bench_victim v;
	int result;

	(void)arg;
	if (sdb_get(BENCH_VICTIM_RECORD, &v, sizeof(v), NULL) != (int)sizeof(v))
		return -1;
	if (!v.faults_left) {
		v.answer_tsc = bench_rdtsc();
		sdb_put(BENCH_OWNER, BENCH_VICTIM_RECORD, BENCH_TYPE, BENCH_LAYOUT, &v, sizeof(v));
		return 0;
	}
	v.faults_left--;
	v.fault_tsc = bench_rdtsc();
	sdb_put(BENCH_OWNER, BENCH_VICTIM_RECORD, BENCH_TYPE, BENCH_LAYOUT, &v, sizeof(v));
	if (v.in_gen)
		cellref_call(&gen_fault, 0, &result);
	else
		__builtin_trap();
	return -2;	/* not reached: the fault ends the task, and it is restarted */
}
