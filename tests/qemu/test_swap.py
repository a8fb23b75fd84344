"""Live swap through the console: success, the log, refusals that change nothing, a storm."""
import re
from delos import check


def booted(machine):
    m = machine()
    m.boot()
    return m


def stable(cmd, out):
    """Drops what moves by itself: task run counts, record sizes of queues and history."""
    lines = out.splitlines()
    if cmd == "tasks":
        return [" ".join(l.split()[:4]) for l in lines]
    if cmd == "state":  # the scrub's progress line moves with every tick
        return [" ".join(l.split()[:3] + l.split()[4:]) for l in lines if not l.startswith("scrub:")]
    return lines


def snapshot(m):
    """What a refused swap must leave as it was."""
    return ["\n".join(stable(c, m.command(c)))
            for c in ("cells", "deps hello", "deps log_sink", "deps ticker", "state", "tasks")]


def test_swap_fresh_copy(machine):
    m = booted(machine)
    check("returned 42" in m.command("call hello hello_main"), "hello_main before the swap")
    out = m.command("swap hello@1 hello@1")
    check(re.search(r"swap: done in \d+ us \(world stopped \d+ us", out), "swap output: %r" % out)
    check("returned 42" in m.command("call hello hello_main"), "hello_main after the swap")
    check("hello@1 -> hello@1: ok" in m.command("swaps"), "swap not logged")


def test_swap_new_version_runs_its_hook(machine):
    m = booted(machine)
    out = m.command("swap hello@1 hello@2")
    check("version 2 takes over from version 1" in out, "swap-in hook did not run: %r" % out)
    check("returned 43" in m.command("call hello hello_main"), "calls do not reach version 2")
    check(re.search(r"^hello@2\s", m.command("cells"), re.M), "cells does not show hello@2")
    out = m.command("swap hello@2 hello@1")
    check("swap: done" in out, "swap back to version 1: %r" % out)
    check("returned 42" in m.command("call hello hello_main"), "calls do not reach version 1 again")


def test_swap_relinks_users(machine):
    m = booted(machine)
    out = m.command("swap -v log_sink@1 log_sink@1")
    for step in ("check", "quiesce", "relink", "handover", "commit", "pause", "total"):
        check(re.search(r"^  %s\s+\d+ ns" % step, out, re.M), "no %s time in %r" % (step, out))
    check("relocations rewritten 3 (in 2 imports)" in out, "relocation count: %r" % out)
    out = m.command("deps log_sink")
    check("<- hello:sink_log (2 sites)" in out and "<- ticker:sink_log (1 site)" in out,
          "users of log_sink lost: %r" % out)
    check("[hello]" in m.command("call hello hello_main"), "hello cannot log through the new log_sink")


def refusal(machine, old, new, message):
    m = booted(machine)
    before = snapshot(m)
    out = m.command("swap %s %s" % (old, new))
    check(message in out, "swap %s %s said %r, want %r" % (old, new, out, message))
    check("nothing changed" in out, "refusal does not say nothing changed")
    after = snapshot(m)
    for b, a in zip(before, after):
        check(a == b, "state changed by a refused swap:\n%s\n---\n%s" % (b, a))
    check("returned 42" in m.command("call hello hello_main"), "hello broken after a refusal")


def test_swap_refused_missing_export(machine):
    refusal(machine, "ticker@1", "hello_cmd@1", "does not export 'ticker_ticks' (used by hello)")


def test_swap_refused_state_spill(machine):
    refusal(machine, "hello@1", "bad_spill@1", "state spill: 'counter'")


def test_swap_refused_grant_violation(machine):
    refusal(machine, "hello@1", "bad_grant@1", "'hal_outb' needs grant 'port_io'")


def test_swap_refused_hook_failure(machine):
    refusal(machine, "hello@1", "hello@9", "swap-in hook failed: returned -22")


def test_swap_and_load_keep_one_version_of_each_name(machine):
    m = booted(machine)
    before = m.command("cells")
    for line, message in (
            ("swap hello@1 ramfs@1", "swap refused: ramfs@1 is already loaded"),
            ("swap hello@1 ramfs@2", "swap refused: ramfs@1 is already loaded"),
            ("swap ticker@1 hello@2 hello@1 hello@1", "swap refused: two new cells are named hello"),
            ("load ramfs@2", "load refused: ramfs@1 is already loaded"),
            ("load hello@1", "load refused: hello@1 is already loaded")):
        out = m.command(line)
        check(message in out, "%s said %r, want %r" % (line, out, message))
        check(m.command("cells") == before, "cells changed after %r:\n%s" % (line, out))
    # The old cells of a swap are leaving: each name may move to another version.
    out = m.command("swap ramfs@1 ramfs@2 hello@1 hello@9")
    check("swap-in hook failed" in out and "already loaded" not in out, "multi-pair swap: %r" % out)
    check(m.command("cells") == before, "cells changed after a refused swap")
    check("swap: done" in m.command("swap ramfs@1 ramfs@2 hello@1 hello@2"), "multi-pair swap refused")
    refs = re.findall(r"^(\S+)@\S+\s", m.command("cells"), re.M)
    check(len(refs) == len(set(refs)), "a cell name is listed twice: %r" % refs)
    check("returned 43" in m.command("call hello hello_main"), "hello@2 does not answer")


def test_swap_nano_core_refused(machine):
    m = booted(machine)
    check("nano_core is the one part that cannot be swapped" in m.command("swap nano_core@1 hello@1"),
          "nano_core swap not refused")
    check("usage: swap" in m.command("swap hello@1"), "swap with one argument")


def heap_in_use(m):
    return int(re.search(r"heap: size \d+ in_use (\d+)", m.command("mem")).group(1))


def test_swap_storm(machine):
    m = booted(machine)
    before = heap_in_use(m)
    rounds = 60
    for i in range(rounds):
        for cmd in ("swap hello@1 hello@2", "swap log_sink@1 log_sink@1", "swap ticker@1 ticker@1",
                    "swap hello@2 hello@1"):
            out = m.command(cmd)
            check("swap: done" in out, "round %d: %s: %r" % (i, cmd, out))
    check("returned 42" in m.command("call hello hello_main"), "hello after the storm")
    out = m.command("deps log_sink")
    check("<- hello:sink_log (2 sites)" in out and "<- ticker:sink_log (1 site)" in out, "deps after the storm")
    check(m.command("swaps").count(": ok") >= 32, "swap log does not hold the last swaps")
    after = heap_in_use(m)
    check(after - before < 16384, "heap grew by %d bytes over %d swaps" % (after - before, 4 * rounds))
    check("check ok" in m.command("mem"), "heap check after the storm")
