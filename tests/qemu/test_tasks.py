"""Tasks, the scheduler policies and the timer, driven through taskdemo@1.

Loading taskdemo@1 spawns two busy tasks that never yield and a sleeper
(cells/taskdemo/taskdemo.h); the demo logs "taskdemo: demo done" when all
three have finished, and `call taskdemo taskdemo_report` prints what they
measured. Timing tests run under -icount shift=0 (guest time = instructions),
so that neither host load nor typing can move them. Nothing is typed while
the demo runs: input wakes the shell, which would then compete with it.
"""
import re
from delos import check, until

DEMO_DONE = r"taskdemo: demo done"
TICK_US = 10000  # timer@1 runs at 100 Hz
# Typed input is handled in the serial interrupt, tens of microseconds a byte
# with interrupts off, so a command typed while the demo runs can hold a tick
# back by a millisecond or two. Tests that type during the demo allow that much.
TYPING_SLACK_US = 3000


def demo_started(machine, icount=True):
    m = machine(icount=icount)
    m.boot()
    out = m.command("load taskdemo@1")
    check("loaded taskdemo@1" in out, "load taskdemo@1 said %r" % out)
    return m


def tasks_rows(m):
    """The `tasks` table as {name: (id, state)}."""
    rows = {}
    for line in m.command("tasks").splitlines():
        f = line.split()
        if len(f) >= 3 and f[0].isdigit():
            rows[f[1]] = (int(f[0]), f[2])
    return rows


def wait_for_state(m, name, state):
    """Polls `tasks` until task `name` is in `state`; returns the rows."""
    rows = [None]

    def reached():
        rows[0] = tasks_rows(m)
        return rows[0].get(name, (0, None))[1] == state and rows[0]
    return until(reached, lambda: "task %s never became %s: %r" % (name, state, rows[0]))


def demo_finished(machine, icount=True):
    m = demo_started(machine, icount)
    m.expect(DEMO_DONE, timeout=180)
    # "demo done" is the sleeper's last line before it returns: let it exit.
    wait_for_state(m, "sleeper", "exited")
    return m


def report(m):
    out = m.command("call taskdemo taskdemo_report")
    check("taskdemo: done" in out and "returned 1" in out, "the demo is not done: %r" % out)
    return out


def number(pattern, text, what):
    found = re.search(pattern, text)
    check(found, "no %s in %r" % (what, text))
    return [int(g) for g in found.groups()]


def cell_range(m, cell):
    out = m.command("cells")
    lo, hi = re.search(r"^%s@\S+\s+\d+\s+\d+\s+([0-9a-f]{16})-([0-9a-f]{16})" % cell, out, re.M).groups()
    return int(lo, 16), int(hi, 16)


def counts(m):
    """(a, b, sleeper rounds, busy_a's state, sleeper's state), from one short
    line: tests that poll while the demo runs use this rather than the longer
    `tasks` or taskdemo_report, to disturb the demo as little as they can."""
    out = m.command("call taskdemo taskdemo_counts")
    f = re.search(r"a=(\d+) b=(\d+) rounds=(\d+) busy_a=(\w+) sleeper=(\w+)", out)
    check(f, "no counts in %r" % out)
    return int(f.group(1)), int(f.group(2)), int(f.group(3)), f.group(4), f.group(5)


def wait_for_sleeper(m, state):
    """Polls the counts until the sleeper is in `state`; returns them."""
    c = [None]

    def reached():
        c[0] = counts(m)
        return c[0][4] == state and c[0]
    return until(reached, lambda: "the sleeper never became %s: %r" % (state, c[0]))


def progress(m, before, what):
    """Polls the counts until both busy tasks counted past `before`; returns them."""
    now = [before]

    def advanced():
        now[0] = counts(m)
        check(now[0][0] >= before[0] and now[0][1] >= before[1] and now[0][2] >= before[2],
              "counters went back %s: %r -> %r" % (what, before[:3], now[0][:3]))
        return now[0][0] > before[0] and now[0][1] > before[1] and now[0]
    return until(advanced, lambda: "the busy tasks made no progress %s: %r -> %r" % (what, before[:3], now[0][:3]))


def swap_ok(m, old, new):
    out = m.command("swap %s %s" % (old, new))
    check(re.search(r"swap: done in \d+ us", out), "swap %s %s: %r" % (old, new, out))
    return out


def check_demo_result(m, what):
    """The demo finished as if nothing had happened: both busy tasks ran, the
    sleeper woke on time (within a tick, plus the slack typing costs)."""
    m.expect(DEMO_DONE, timeout=180)
    wait_for_state(m, "sleeper", "exited")
    out = report(m)
    a, b = number(r"busy a=(\d+) b=(\d+)", out, "busy counters")
    check(a > 1000 and b > 1000, "a busy task starved %s: a=%d b=%d" % (what, a, b))
    check("joined busy_a code 1, busy_b code 2" in out, "tasks lost %s: %r" % (what, out))
    rounds, early = number(r"sleeper (\d+)/\d+ rounds of 50 ms, (\d+) early", out, "sleeper rounds")
    _, _, hi = number(r"late min (\d+) us mean (\d+) us max (\d+) us", out, "lateness")
    check(rounds == 20 and early == 0, "sleeper %s: %d rounds, %d early" % (what, rounds, early))
    check(hi <= TICK_US + TYPING_SLACK_US, "a wake-up %s was %d us late (more than a tick)" % (what, hi))
    return out


def test_tasks_busy_pair_both_progress_under_preemption(machine):
    m = demo_finished(machine)
    out = report(m)
    a, b = number(r"busy a=(\d+) b=(\d+)", out, "busy counters")
    # Neither task yields: without preemption the first would run to the
    # shared deadline and the second would find it passed and count ~0.
    check(a > 1000 and b > 1000, "a busy task starved: a=%d b=%d" % (a, b))
    share = a * 100 // (a + b)
    check(30 <= share <= 70, "round robin is unfair: a=%d b=%d (%d%%)" % (a, b, share))
    check("joined busy_a code 1, busy_b code 2" in out, "join did not return the exit codes: %r" % out)


def test_task_sleep_wakes_within_a_tick(machine):
    m = demo_finished(machine)
    out = report(m)
    rounds, early = number(r"sleeper (\d+)/\d+ rounds of 50 ms, (\d+) early", out, "sleeper rounds")
    lo, mean, hi = number(r"late min (\d+) us mean (\d+) us max (\d+) us", out, "lateness")
    check(rounds == 20, "the sleeper did %d of 20 rounds" % rounds)
    check(early == 0, "%d wake-ups came before their deadline" % early)
    # At the first tick at or after the deadline (while two busy tasks run):
    # at most one tick late, plus the wake-up path and TSC calibration error.
    check(hi <= TICK_US + 500, "a wake-up was %d us late (more than a tick)" % hi)
    # The three figures describe the same 20 wake-ups.
    check(lo <= mean <= hi, "lateness min %d mean %d max %d us are not one set of wake-ups" % (lo, mean, hi))


def test_task_table_shows_stacks_and_resume_points(machine):
    m = demo_finished(machine)
    out = report(m)
    tasks_lo, tasks_hi = cell_range(m, "tasks")
    core_lo, core_hi = cell_range(m, "nano_core")
    row = re.search(r"^\s+0 idle\s+ready\s+runs (\d+)\s+ticks \d+\s+rip ([0-9a-f]{16}) rsp ([0-9a-f]{16}) "
                    r"stack ([0-9a-f]{16})-([0-9a-f]{16})", out, re.M)
    check(row, "no row for the idle task, switched out: %r" % out)
    runs = int(row.group(1))
    rip, rsp, lo, hi = (int(x, 16) for x in row.groups()[1:])
    check(runs >= 1, "idle, not running, has no completed turn")
    # Preempted at an interrupt's exit: it resumes in nano_core, never in tasks@1.
    check(core_lo <= rip < core_hi, "idle resumes at %x, outside nano_core [%x, %x)" % (rip, core_lo, core_hi))
    check(not tasks_lo <= rip < tasks_hi, "idle resumes inside tasks@1, at %x" % rip)
    check(lo < rsp < hi, "idle's saved rsp %x is outside its stack [%x, %x)" % (rsp, lo, hi))
    check(re.search(r"^\s+1 shell\s+running\s.*rip 0{16} rsp 0{16}", out, re.M),
          "the running task (the shell) should show no saved context")
    check(re.search(r"^\s+\d+ sleeper\s+exited\s.*stack 0{16}-0{16}", out, re.M),
          "the exited sleeper's stack was not freed")
    check(not re.search(r"^\s+\d+ busy_", out, re.M), "joined busy tasks are still listed")


def test_task_api_refusals_wait_notify_join(machine):
    m = demo_finished(machine, icount=False)
    out = m.command("call taskdemo taskdemo_check")
    check("taskdemo: checks: 0 failed" in out, "tasks API checks failed: %r" % out)
    check("taskdemo:no_such_symbol does not resolve" in out, "spawn refusal not explained")
    for name in ("restart-waiting", "restart-sleeping", "restart-self", "restart-ready"):
        check("check %s: ok" % name in out, "check %s did not pass: %r" % (name, out))
    check(re.search(r"task \d+ 'restartee' starts over at taskdemo:taskdemo_restartee", out),
          "restart_self not logged: %r" % out)


def test_task_switch_and_tick_cost(machine):
    m = demo_finished(machine)
    t0, = number(r"returned (\d+)", m.command("call timer timer_ticks"), "ticks")
    out = m.command("call taskdemo taskdemo_bench", timeout=300)
    t1, = number(r"returned (\d+)", m.command("call timer timer_ticks"), "ticks")
    check("returned 0" in out, "bench failed: %r" % out)
    # What the figures mean, not how fast they are (that is `make bench`'s business).
    # Each of the 2 x 10000 yields hands the CPU to the other pingpong task: one
    # switch each, plus at most a preemption per timer tick and the spawns and joins.
    switches, = number(r"(\d+) switches in \d+ cycles", out, "switches")
    check(20000 <= switches <= 20000 + 2 * (t1 - t0) + 16,
          "%d switches for 2 x 10000 yields over %d ticks" % (switches, t1 - t0))
    # The spinner counted 50 gaps in its TSC readings: they are the timer's ticks
    # (at least 50 went by), and each is one interrupt, shorter than a tick, never
    # a time slice given to another task.
    ticks, tick_max = number(r"(\d+) ticks: \d+ cycles per tick \(min \d+, max (\d+)\)", out, "ticks")
    mhz, hundredths = number(r"time: TSC (\d+)\.(\d\d) MHz", m.transcript, "TSC rate")
    khz = mhz * 1000 + hundredths * 10
    check(ticks == 50 and t1 - t0 >= 50, "the spin saw %d gaps while the timer ticked %d times" % (ticks, t1 - t0))
    check(tick_max < khz * 1000 // 100, "a gap of %d cycles is longer than a tick" % tick_max)
    for line in re.findall(r"taskdemo: bench: .*", out):
        print("    " + line)


def test_timer_ticks_advance(machine):
    m = machine()
    m.boot()
    t1, = number(r"returned (\d+)", m.command("call timer timer_ticks"), "ticks")
    last = [t1]

    def advanced():
        t, = number(r"returned (\d+)", m.command("call timer timer_ticks"), "ticks")
        check(t >= last[0], "timer ticks went back: %d then %d" % (last[0], t))
        last[0] = t
        return t >= t1 + 10
    until(advanced, lambda: "timer ticks did not advance by 10: %d then %d" % (t1, last[0]))
    check("returned 100" in m.command("call timer timer_hz"), "timer_hz is not 100")


def test_task_policy_swap_live_under_load(machine):
    """sched_rr -> sched_prio -> sched_rr while two busy tasks and a sleeper run.

    The policies share the run queue record, so the new one takes the queue
    over as it stands; no task is lost, both busy tasks keep progressing."""
    m = machine(icount=True)
    m.boot()
    check("loaded taskdemo@1" in m.command("load taskdemo@1"), "load taskdemo@1")
    out = m.command("swap sched_rr@1 sched_prio@1")
    check(re.search(r"swap: done in \d+ us", out), "swap to sched_prio: %r" % out)
    check("sched_prio@1" in m.command("cells"), "sched_prio@1 not loaded after the swap")
    out = m.command("swap sched_prio@1 sched_rr@1")
    check(re.search(r"swap: done in \d+ us", out), "swap back to sched_rr: %r" % out)
    m.expect(DEMO_DONE, timeout=180)
    out = report(m)
    a, b = number(r"busy a=(\d+) b=(\d+)", out, "busy counters")
    check(a > 1000 and b > 1000, "a busy task starved across the swaps: a=%d b=%d" % (a, b))
    check("joined busy_a code 1, busy_b code 2" in out, "tasks lost across the swaps: %r" % out)


def test_task_swap_tasks_cell_with_tasks_sleeping_waiting_preempted(machine):
    """tasks@1 -> tasks@1 twice: first while the busy tasks are preempted and
    the sleeper sleeps, then while the sleeper waits in a join. No task has a
    frame of tasks@1 on its stack, so neither swap waits; every task goes on."""
    m = demo_started(machine)
    before = wait_for_sleeper(m, "sleeping")
    check(before[3] == "ready", "busy_a is not preempted: %r" % (before,))
    swap_ok(m, "tasks@1", "tasks@1")
    progress(m, before, "after the first swap")
    before = wait_for_sleeper(m, "waiting")  # joining the busy tasks
    check(before[3] == "ready", "busy_a finished before the second swap: %r" % (before,))
    swap_ok(m, "tasks@1", "tasks@1")
    progress(m, before, "after the second swap")
    check_demo_result(m, "across two swaps of tasks@1")
    check(m.command("swaps").count("tasks@1 -> tasks@1: ok") == 2, "swaps not logged")


def test_task_swap_timer_and_dispatch_with_tasks_preempted(machine):
    """timer@1 and dispatch@1 are swapped while tasks are preempted at the
    timer's interrupt: their stacks hold nano_core's interrupt frames only."""
    m = demo_started(machine)
    before = wait_for_sleeper(m, "sleeping")
    t0, = number(r"returned (\d+)", m.command("call timer timer_ticks"), "ticks")
    swap_ok(m, "timer@1", "timer@1")
    swap_ok(m, "dispatch@1", "dispatch@1")
    progress(m, before, "after the swaps")
    # Guest time under -icount moves with the work done: poll until the timer ticked.
    t1 = [t0]

    def ticked():
        t1[0], = number(r"returned (\d+)", m.command("call timer timer_ticks"), "ticks")
        return t1[0] > t0
    until(ticked, lambda: "ticks stopped across the swaps: %d then %d" % (t0, t1[0]))
    check_demo_result(m, "across swaps of timer@1 and dispatch@1")


def test_task_swap_refused_while_tasks_run_in_the_cell(machine):
    """taskdemo@1 cannot be swapped while its tasks run in it: the quiescence
    wait times out naming them, and nothing changes."""
    m = demo_started(machine)
    wait_for_sleeper(m, "sleeping")
    rows_before = tasks_rows(m)
    cells_before = m.command("cells")
    check(rows_before["busy_a"][1] == "ready", "busy_a is not running: %r" % rows_before)
    # The sleeper wakes and sleeps by itself meanwhile: of it, only its id is compared.
    rows_before["sleeper"] = (rows_before["sleeper"][0], None)
    out = m.command("swap taskdemo@1 taskdemo@1")
    check(re.search(r"not quiescent: task 'busy_a' is in taskdemo", out), "refusal does not name busy_a: %r" % out)
    check("task 'busy_b' is in taskdemo" in out, "refusal does not name busy_b: %r" % out)
    check("nothing changed" in out, "refusal does not say nothing changed: %r" % out)
    check(m.command("cells") == cells_before, "cells changed by a refused swap")
    rows_after = tasks_rows(m)
    rows_after["sleeper"] = (rows_after.get("sleeper", (None,))[0], None)
    check(rows_after == rows_before, "tasks changed by a refused swap:\n%r\n%r" % (rows_before, rows_after))
    check_demo_result(m, "after a refused swap")
