"""Built-in tests selected with test=NAME on the kernel command line."""
import re
from delos import check


def selftest(machine, name, uefi=False):
    m = machine(args="test=%s" % name, uefi=uefi)
    m.expect("selftest %s: PASS" % name, 150 if uefi else 60)
    code = m.wait_exit()
    check(code == 0, "selftest %s exited with %r" % (name, code))


def test_selftest_wx(machine):
    selftest(machine, "wx")


def test_selftest_heap(machine):
    selftest(machine, "heap")


def test_selftest_frames(machine):
    selftest(machine, "frames")


def test_selftest_mb2(machine):
    selftest(machine, "mb2")


def test_selftest_boot(machine):
    selftest(machine, "boot")


def test_selftest_unknown_name(machine):
    m = machine(args="test=nosuch")
    m.expect("unknown test 'nosuch'")
    check(m.wait_exit() == 2, "unknown test did not exit with 2")


def test_selftest_loader_stale_call_faults(machine):
    selftest(machine, "loader")


def test_selftest_swap_stale_pointer_faults(machine):
    selftest(machine, "swap")


def test_selftest_owners_audit_finds_built_faults(machine):
    m = machine(args="test=owners")
    m.expect("selftest owners: PASS", 60)
    for what in ("a frame nothing maps", "a frame mapped twice", "a free frame still mapped"):
        check(re.search(r"audit of %s +names the frame" % what, m.transcript), "not found: " + what)
    check(m.wait_exit() == 0, "selftest owners did not exit with 0")


def test_selftest_fatal_log_allocates_nothing(machine):
    selftest(machine, "fatal_log")
