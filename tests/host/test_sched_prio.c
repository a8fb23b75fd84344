/*
 * Host tests for sched_prio@1 (cells/sched_prio) over the real state_db
 * store: most urgent first, round robin within a level, wake-ups that
 * preempt only a less urgent task, the preemption rule, and a queue written
 * by sched_rr (arrival order, missing priorities) taken over.
 */
#include <criterion/criterion.h>

#include <delos/cell.h>
#include "metamodules/runqueue.h"
#include <delos/sched.h>
#include "tests/host/sched_shim.h"

static void setup(void)
{
	shim_setup();
	cr_assert_eq(cell_init(), 0);
}

TestSuite(sched_prio, .init = setup, .fini = shim_teardown);

Test(sched_prio, most_urgent_first_then_arrival_order)
{
	sched_enqueue(rq(), 1, 4);
	sched_enqueue(rq(), 2, 10);
	sched_enqueue(rq(), 3, 4);
	sched_enqueue(rq(), 4, 10);
	int64_t want[] = { 2, 4, 1, 3, -1 };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(sched_pick(rq()), want[i], "pick %zu", i);
	cr_assert_str_eq(sched_name(), "prio");
}

Test(sched_prio, wake_preempts_only_a_less_urgent_task)
{
	sched_enqueue(rq(), 1, 8);
	cr_assert_eq(sched_pick(rq()), 1);                 /* 1 runs at 8 */
	cr_assert_eq(sched_wake(rq(), 2, 8), 0, "equal: waits its turn");
	cr_assert_eq(sched_wake(rq(), 3, 9), 1, "more urgent: preempts");
	cr_assert_eq(sched_wake(rq(), 4, 2), 0);
	cr_assert_eq(sched_pick(rq()), 3);
}

Test(sched_prio, wake_preempts_idle)
{
	cr_assert_eq(sched_pick(rq()), -1);
	cr_assert_eq(sched_wake(rq(), 1, SCHED_PRIO_MIN), 1);
}

Test(sched_prio, preemption_rule)
{
	sched_enqueue(rq(), 1, 8);
	cr_assert_eq(sched_pick(rq()), 1);
	cr_assert_not(sched_should_preempt(rq(), 100), "nobody waiting");
	sched_enqueue(rq(), 2, 5);
	cr_assert_not(sched_should_preempt(rq(), 100), "only less urgent ones waiting");
	sched_enqueue(rq(), 3, 8);
	cr_assert_not(sched_should_preempt(rq(), SCHED_SLICE_TICKS - 1), "an equal one waits for the slice");
	cr_assert(sched_should_preempt(rq(), SCHED_SLICE_TICKS));
	sched_enqueue(rq(), 4, 9);
	cr_assert(sched_should_preempt(rq(), 0), "a more urgent one preempts at once");
}

/* A queue as sched_rr leaves it: arrival order, one entry without a priority. */
Test(sched_prio, takes_over_a_round_robin_queue)
{
	struct rq_buf buf;

	memset(&buf, 0, sizeof(buf));
	buf.running = 9;
	buf.running_prio = SCHED_PRIO_UNSET;
	rq_insert_at(&buf, 0, 1, 3);
	rq_insert_at(&buf, 1, 2, SCHED_PRIO_UNSET);
	rq_insert_at(&buf, 2, 3, 12);
	rq_insert_at(&buf, 3, 4, 99);	/* out of range: the default too */
	cr_assert_eq(rq_store(rq(), &buf, 0), 0);
	cr_assert_eq(cell_init(), 0);
	cr_assert(sched_should_preempt(rq(), 0), "12 beats the running task's default 8");
	int64_t want[] = { 3, 2, 4, 1, -1 };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(sched_pick(rq()), want[i], "pick %zu", i);
}

/* sched_switch queues the caller in its level, then picks the most urgent. */
Test(sched_prio, switch_queues_the_caller_then_picks_the_most_urgent)
{
	int err = 1;

	sched_enqueue(rq(), 2, 4);
	cr_assert_eq(sched_switch(rq(), 1, 10, SCHED_SWITCH_ENQUEUE, &err), 1,
		     "the caller is still the most urgent: it goes on");
	cr_assert_eq(err, 0);
	sched_enqueue(rq(), 3, 10);
	cr_assert_eq(sched_switch(rq(), 1, 10, SCHED_SWITCH_ENQUEUE, &err), 3, "round robin in a level");
	cr_assert_eq(sched_switch(rq(), 3, 10, SCHED_SWITCH_REQUEUE, &err), 3,
		     "requeued at the head of its level, it keeps its turn");
	cr_assert_eq(sched_switch(rq(), 3, 10, SCHED_SWITCH_BLOCK, &err), 1);
	cr_assert_eq(sched_switch(rq(), 1, 10, SCHED_SWITCH_BLOCK, &err), 2);
	cr_assert_eq(sched_switch(rq(), 2, 4, SCHED_SWITCH_BLOCK, &err), -1);
}
