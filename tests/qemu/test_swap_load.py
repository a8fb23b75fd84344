"""Swaps of every kind of cell while the workload runs, then a storm; nothing may be lost."""
import re
from delos import check, until

# How much work counts as progress: each check waits for this many more operations.
PROGRESS_OPS = 50


def work_status(m):
    out = m.command("work status")
    g = re.search(r"work: (\d+) operations, (\d+) errors", out)
    check(g, "no work status in %r" % out)
    return int(g.group(1)), int(g.group(2))


def started(machine):
    m = machine()
    m.boot()
    check("loaded workload@1" in m.command("load workload@1"), "workload did not load")
    m.command("work start")
    return m


def swap_ok(m, cmd):
    out = m.command(cmd, timeout=60)
    check("swap: done" in out, "%s: %r" % (cmd, out))
    return out


def progressing(m, last):
    """Waits until the workload did PROGRESS_OPS operations more than `last`, with no error."""
    seen = [last]

    def advanced():
        ops, errors = work_status(m)
        check(errors == 0, "workload errors: %d" % errors)
        check(ops >= seen[0], "operations went back from %d to %d" % (seen[0], ops))
        seen[0] = ops
        return ops >= last + PROGRESS_OPS and ops
    return until(advanced, lambda: "workload stalled at %d operations, want %d" % (seen[0], last + PROGRESS_OPS))


def all_records_sound(m):
    out = m.command("state")
    bad = [l for l in out.splitlines() if l.strip() and not l.endswith("ok") and "records" not in l
           and not l.startswith("record")]
    check(not bad, "records failing their checksum: %r" % bad)


SYSTEM_SWAPS = (
    "swap sched_rr@1 sched_prio@1", "swap sched_prio@1 sched_rr@1", "swap timer@1 timer@1",
    "swap dispatch@1 dispatch@1", "swap serial@1 serial@1", "swap kbd@1 kbd@1",
    "swap state_db@1 state_db@1", "swap tokens@1 tokens@1", "swap ramfs@1 ramfs@2",
)


def test_swap_each_system_cell_under_load(machine):
    m = started(machine)
    ops = progressing(m, 0)
    for cmd in SYSTEM_SWAPS:
        swap_ok(m, cmd)
        ops = progressing(m, ops)
    m.command("work stop")
    all_records_sound(m)
    out = m.command("tasks")
    check(re.search(r"shell\s+running", out), "shell task not running: %r" % out)


def test_swap_storm_under_load(machine):
    m = started(machine)
    ops = progressing(m, 0)
    pairs = ("swap hello@1 hello@2", "swap log_sink@1 log_sink@1", "swap dispatch@1 dispatch@1",
             "swap sched_rr@1 sched_prio@1", "swap timer@1 timer@1", "swap state_db@1 state_db@1",
             "swap sched_prio@1 sched_rr@1", "swap hello@2 hello@1", "swap tokens@1 tokens@1")
    for i in range(25):
        for cmd in pairs:
            swap_ok(m, cmd)
        if i % 5 == 4:
            ops = progressing(m, ops)
    m.command("work stop")
    ops2, errors = work_status(m)
    check(errors == 0 and ops2 >= ops, "after the storm: %d operations, %d errors" % (ops2, errors))
    all_records_sound(m)
    check("returned 42" in m.command("call hello hello_main"), "hello after the storm")
    check("check ok" in m.command("mem"), "heap check after the storm")


def test_swap_workload_and_shell_under_load(machine):
    m = started(machine)
    ops = progressing(m, 0)
    out = swap_ok(m, "swap workload@1 workload@1")
    check("start over in the new code" in out or "starts over in the new code" in out,
          "workload tasks were not restarted: %r" % out)
    ops = progressing(m, ops)
    out = swap_ok(m, "swap shell@1 shell@1")
    check("this task starts over" in out, "the shell did not restart: %r" % out)
    ops = progressing(m, ops)
    m.command("work stop")
    all_records_sound(m)
