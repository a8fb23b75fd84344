"""Allocators under interrupts and preemption: every frame stays owned once."""
import re
from delos import check

OWNERS_OK = r"owners: \d+ page tables, \d+ pages outside the physmap: each frame owned once, none leaked, ok"


def stacks(out):
    return int(re.search(r"stacks: (\d+) ", out).group(1))


def test_alloc_stress_leaves_each_frame_owned_once(machine):
    """Tasks spawn, allocate and free while typed commands (serial IRQs) and ticks arrive."""
    m = machine()
    m.boot()
    check("loaded memstress@1" in m.command("load memstress@1"), "load memstress@1")
    before = m.command("mem")
    check(re.search(OWNERS_OK, before), "audit before the stress: %r" % before)
    check("returned 4" in m.command("call memstress memstress_start"), "4 workers not started")
    # Every status poll is a line typed on the serial line: its IRQs allocate in state_db.
    for _ in range(2000):
        out = m.command("call memstress memstress_status", 60)
        if "returned 1" in out:
            break
    else:
        check(False, "the stress did not finish: %r" % out)
    s = re.search(r"memstress: done 4/4 workers, 1600 rounds, 400 spawns \((\d+) failed\), "
                  r"1200 blocks \((\d+) not allocated, (\d+) overwritten\)", out)
    check(s, "status: %r" % out)
    check(s.groups() == ("0", "0", "0"), "spawns failed, blocks not allocated, overwritten: %s"
          % (s.groups(),))
    after = m.command("mem")
    check(re.search(OWNERS_OK, after), "audit after the stress: %r" % after)
    check(re.search(r"heap: .* check ok", after), "heap check after the stress: %r" % after)
    check(stacks(after) == stacks(before), "stacks %d after, %d before" % (stacks(after), stacks(before)))
