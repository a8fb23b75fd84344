/*
 * Host tests for sched_rr@1 (cells/sched_rr) over the real state_db store:
 * FIFO order, wake-ups at the head, dequeue, the preemption rule, a full
 * queue and bad ids that change nothing, a damaged record refused, and a
 * queue left by another policy taken over as it stands.
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

TestSuite(sched_rr, .init = setup, .fini = shim_teardown);

static struct rq_buf queue(void)
{
	struct rq_buf buf;

	cr_assert_eq(rq_load(rq(), &buf), 0);
	return buf;
}

Test(sched_rr, empty_queue_picks_idle)
{
	cr_assert_eq(sched_pick(rq()), -1);
	cr_assert_eq(queue().running, -1);
	cr_assert_not(sched_should_preempt(rq(), 100));
	cr_assert_str_eq(sched_name(), "rr");
}

Test(sched_rr, fifo_order_and_running)
{
	for (int64_t id = 1; id <= 3; id++)
		cr_assert_eq(sched_enqueue(rq(), id, SCHED_PRIO_DEFAULT + (int)id), 0);
	cr_assert_eq(sched_enqueue(rq(), 2, 0), 0, "a queued id is not queued twice");
	cr_assert_eq(queue().count, 3);
	for (int64_t id = 1; id <= 3; id++) {
		cr_assert_eq(sched_pick(rq()), id);
		cr_assert_eq(queue().running, id);
		cr_assert_eq(queue().running_prio, SCHED_PRIO_DEFAULT + (int)id, "priorities are kept");
	}
	cr_assert_eq(sched_pick(rq()), -1);
}

Test(sched_rr, wake_goes_first_and_preempts)
{
	sched_enqueue(rq(), 1, SCHED_PRIO_DEFAULT);
	sched_enqueue(rq(), 2, SCHED_PRIO_DEFAULT);
	cr_assert_eq(sched_wake(rq(), 3, SCHED_PRIO_MIN), 1);
	cr_assert_eq(sched_wake(rq(), 3, SCHED_PRIO_MIN), 0, "already queued: nothing to do");
	cr_assert_eq(sched_pick(rq()), 3);
	cr_assert_eq(sched_pick(rq()), 1);
}

Test(sched_rr, dequeue)
{
	sched_enqueue(rq(), 1, SCHED_PRIO_DEFAULT);
	sched_enqueue(rq(), 2, SCHED_PRIO_DEFAULT);
	cr_assert_eq(sched_dequeue(rq(), 1), 0);
	cr_assert_eq(sched_dequeue(rq(), 1), SCHED_E_NOT_FOUND);
	cr_assert_eq(sched_pick(rq()), 2);
	cr_assert_eq(sched_pick(rq()), -1);
}

Test(sched_rr, preempts_after_a_slice_when_someone_waits)
{
	cr_assert_not(sched_should_preempt(rq(), SCHED_SLICE_TICKS), "nobody waiting");
	sched_enqueue(rq(), 1, SCHED_PRIO_DEFAULT);
	cr_assert_not(sched_should_preempt(rq(), SCHED_SLICE_TICKS - 1));
	cr_assert(sched_should_preempt(rq(), SCHED_SLICE_TICKS));
}

Test(sched_rr, full_queue_and_bad_ids_change_nothing)
{
	for (int64_t id = 1; id <= SCHED_QUEUE_MAX; id++)
		cr_assert_eq(sched_enqueue(rq(), id, SCHED_PRIO_DEFAULT), 0);
	struct rq_buf before = queue();
	cr_assert_eq(sched_enqueue(rq(), SCHED_QUEUE_MAX + 1, SCHED_PRIO_DEFAULT), SCHED_E_FULL);
	cr_assert_eq(sched_wake(rq(), SCHED_QUEUE_MAX + 1, SCHED_PRIO_DEFAULT), SCHED_E_FULL);
	cr_assert_eq(sched_enqueue(rq(), 0, SCHED_PRIO_DEFAULT), SCHED_E_INVAL);
	cr_assert_eq(sched_wake(rq(), -5, SCHED_PRIO_DEFAULT), SCHED_E_INVAL);
	struct rq_buf after = queue();
	cr_assert_eq(memcmp(&before, &after, rq_size(&before)), 0);
}

Test(sched_rr, damaged_record_is_refused)
{
	uint32_t junk[SCHED_RQ_SIZE / 4] = { 99, 0, 0 };

	sdb_put("test", SCHED_RQ_RECORD, SCHED_RQ_TYPE, SCHED_RQ_LAYOUT, junk, sizeof(junk));
	cr_assert_eq(sched_enqueue(rq(), 1, SCHED_PRIO_DEFAULT), SCHED_E_RECORD);
	cr_assert_eq(sched_pick(rq()), -1);
	sdb_put("test", SCHED_RQ_RECORD, SCHED_RQ_TYPE, SCHED_RQ_LAYOUT, junk, 12);
	cr_assert_eq(cell_init(), SCHED_E_RECORD, "a record of the wrong size is refused");
	sdb_put("test", SCHED_RQ_RECORD, SCHED_RQ_TYPE, SCHED_RQ_LAYOUT, junk, sizeof(junk));
	cr_assert_eq(cell_init(), SCHED_E_RECORD);
	cr_assert(strstr(shim_log, "sched/runqueue") != NULL, "the refusal names the record");
	sdb_put("test", SCHED_RQ_RECORD, SCHED_RQ_TYPE, 1, junk, 0);
	cr_assert_eq(cell_init(), SCHED_E_RECORD, "another layout version is refused");
}

Test(sched_rr, takes_over_an_existing_queue)
{
	sched_enqueue(rq(), 7, 3);
	sched_enqueue(rq(), 5, 12);
	cr_assert_eq(cell_init(), 0);
	cr_assert_eq(sched_pick(rq()), 7, "arrival order kept across a restart");
	cr_assert_eq(sched_pick(rq()), 5);
}

/* sched_switch is sched_enqueue / _requeue / nothing, then sched_pick, in one write. */
Test(sched_rr, switch_queues_the_caller_then_picks)
{
	int err = 1;

	sched_enqueue(rq(), 2, SCHED_PRIO_DEFAULT);
	cr_assert_eq(sched_switch(rq(), 1, SCHED_PRIO_DEFAULT, SCHED_SWITCH_ENQUEUE, &err), 2);
	cr_assert_eq(err, 0);
	cr_assert_eq(queue().count, 1);
	cr_assert_eq(queue().q[0].id, 1, "the caller went to the tail");
	cr_assert_eq(queue().running, 2);
	cr_assert_eq(sched_switch(rq(), 2, SCHED_PRIO_DEFAULT, SCHED_SWITCH_ENQUEUE, &err), 1);
	sched_enqueue(rq(), 3, SCHED_PRIO_DEFAULT);
	sched_enqueue(rq(), 4, SCHED_PRIO_DEFAULT);
	/* Queue [2 3 4], 1 running and preempted early: it keeps its turn, second. */
	cr_assert_eq(sched_switch(rq(), 1, SCHED_PRIO_DEFAULT, SCHED_SWITCH_REQUEUE, &err), 2);
	cr_assert_eq(queue().q[0].id, 1);
	cr_assert_eq(queue().q[1].id, 3);
	cr_assert_eq(sched_switch(rq(), 2, SCHED_PRIO_DEFAULT, SCHED_SWITCH_BLOCK, &err), 1);
	cr_assert_eq(queue().count, 2, "a blocking caller is not queued");
	cr_assert_eq(sched_switch(rq(), 1, SCHED_PRIO_DEFAULT, SCHED_SWITCH_ENQUEUE, &err), 3);
	cr_assert_eq(sched_switch(rq(), 3, SCHED_PRIO_DEFAULT, SCHED_SWITCH_BLOCK, &err), 4);
	cr_assert_eq(sched_switch(rq(), 4, SCHED_PRIO_DEFAULT, SCHED_SWITCH_ENQUEUE, &err), 1);
	cr_assert_eq(sched_switch(rq(), 1, SCHED_PRIO_DEFAULT, SCHED_SWITCH_ENQUEUE, &err), 4);
	cr_assert_eq(sched_switch(rq(), 4, SCHED_PRIO_DEFAULT, SCHED_SWITCH_BLOCK, &err), 1);
	cr_assert_eq(sched_switch(rq(), 1, SCHED_PRIO_DEFAULT, SCHED_SWITCH_BLOCK, &err), -1);
	cr_assert_eq(queue().running, -1, "idle");
}

Test(sched_rr, switch_with_a_full_queue_still_picks)
{
	int err = 0;

	for (int64_t id = 1; id <= SCHED_QUEUE_MAX; id++)
		cr_assert_eq(sched_enqueue(rq(), id, SCHED_PRIO_DEFAULT), 0);
	cr_assert_eq(sched_switch(rq(), 1000, SCHED_PRIO_DEFAULT, SCHED_SWITCH_ENQUEUE, &err), 1);
	cr_assert_eq(err, SCHED_E_FULL, "the caller is refused, the pick made");
	cr_assert_eq(queue().count, SCHED_QUEUE_MAX - 1);
	cr_assert_eq(sched_switch(rq(), 0, SCHED_PRIO_DEFAULT, SCHED_SWITCH_ENQUEUE, &err), 2);
	cr_assert_eq(err, SCHED_E_INVAL, "task 0 is never queued");
}
