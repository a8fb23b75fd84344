"""The cell window reuses freed ranges: a small window outlives many swaps, loads and unloads."""
import re
from delos import check

PAGE = 4096
WINDOW = 512 * 1024


def window_use(m):
    out = m.command("mem")
    w = re.search(r"cell window: size (\d+) in_use (\d+) ranges (\d+) max \d+ free (\d+) spans (\d+)",
                  out)
    check(w, "mem does not report the cell window: %r" % out)
    size, in_use, ranges, free, spans = (int(x) for x in w.groups())
    check(size == in_use + free + PAGE, "window %d != in use %d + free %d + top guard" % (size, in_use, free))
    return size, in_use, ranges


def cell_ranges(m):
    """NAME@VERSION -> (start, end) of every loaded cell but nano_core."""
    out = m.command("cells")
    found = re.findall(r"^(\S+@\d+)\s+\d+\s+\d+\s+([0-9a-f]{16})-([0-9a-f]{16})$", out, re.M)
    check(found, "cells lists no ranges: %r" % out)
    return {ref: (int(a, 16), int(b, 16)) for ref, a, b in found}


def check_ranges(ranges, base):
    """Every cell lies in the window with an unmapped page between it and anything else."""
    spans = sorted(ranges.values())
    for start, end in spans:
        check(base + PAGE <= start < end <= base + WINDOW - PAGE,
              "range %x-%x is not inside the window's guards" % (start, end))
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        check(s2 >= e1 + PAGE, "no guard page between %x-%x and %x-%x" % (s1, e1, s2, e2))


def test_cell_window_reuses_ranges(machine):
    m = machine(args="cell_window=%dK" % (WINDOW // 1024))
    m.boot()
    w = re.search(r"cells: cell window ([0-9a-f]{16})-[0-9a-f]{16} \(512 KiB\)", m.command("log"))
    check(w, "the log does not show a 512 KiB cell window")
    base = int(w.group(1), 16)
    size, in_use, nranges = window_use(m)
    check(size == WINDOW, "window is %d bytes, not %d" % (size, WINDOW))
    before = cell_ranges(m)
    check_ranges(before, base)
    hello = before["hello@1"][1] - before["hello@1"][0] + PAGE
    rounds = 25
    check(rounds * 2 * hello > WINDOW, "the storm would fit in the window without reuse")
    for i in range(rounds):
        for cmd in ("swap hello@1 hello@2", "swap log_sink@1 log_sink@1"):
            out = m.command(cmd)
            check("swap: done" in out, "round %d: %s: %r" % (i, cmd, out))
        out = m.command("swap hello@2 hello@9")
        check("nothing changed" in out, "round %d: refused swap: %r" % (i, out))
        check("loaded hello_cmd@1" in m.command("load hello_cmd@1"), "round %d: load" % i)
        check("unloaded hello_cmd" in m.command("unload hello_cmd"), "round %d: unload" % i)
        out = m.command("swap hello@2 hello@1")
        check("swap: done" in out, "round %d: swap back: %r" % (i, out))
    check("returned 42" in m.command("call hello hello_main"), "hello after the storm")
    check(m.command("swaps").count("hello@2 -> hello@1: ok") >= 8, "swap log lost the last swaps")
    after = cell_ranges(m)
    check(sorted(after) == sorted(before), "cells before %s, after %s" % (sorted(before), sorted(after)))
    check_ranges(after, base)
    for bad in ("cell window: cannot free", "left out of the cell window", "mm: unmap of"):
        check(bad not in m.transcript, "a range was freed twice or not unmapped: %r" % bad)
    now = window_use(m)
    check(now == (size, in_use, nranges), "window use went from %s to %s" % ((size, in_use, nranges), now))
