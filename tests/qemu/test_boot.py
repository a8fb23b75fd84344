"""Boot, console basics and exit status, on the real ISO."""
import re
from delos import check


def test_boot_bios(machine):
    m = machine()
    m.boot()
    check(re.search(r"paging: text .* r-x", m.transcript), "no W^X text mapping logged")
    check("identity mapping dropped" in m.transcript, "identity mapping not dropped")
    check(re.search(r"boot: prompt after \d+ us", m.transcript), "no boot time logged")


def test_boot_uefi(machine):
    m = machine(uefi=True)
    m.boot(timeout=150)
    check("no VGA text screen (UEFI)" in m.transcript, "UEFI boot not recognised")
    out = m.command("mem")
    check("frames: total" in out, "mem did not answer under UEFI")


def test_help_lists_commands(machine):
    m = machine()
    m.boot()
    out = m.command("help")
    for c in ("help", "mem", "log", "exit", "fault"):
        check(re.search(r"^\s+%s\s" % c, out, re.M), "help does not list %s" % c)


def test_mem_figures_consistent(machine):
    m = machine()
    m.boot()
    out = m.command("mem")
    f = re.search(r"frames: total (\d+) free (\d+) used (\d+) \(KiB: total (\d+) free (\d+)\)", out)
    check(f, "no frame figures in %r" % out)
    total, free, used, ktotal, kfree = map(int, f.groups())
    check(ktotal == 4 * total and kfree == 4 * free, "KiB figures disagree with frames")
    check(200 * 256 < total <= 256 * 256, "%d frames for a 256 MiB machine" % total)
    h = re.search(r"heap: size (\d+) in_use (\d+) free (\d+) live (\d+) allocs (\d+) frees (\d+) check ok", out)
    check(h, "no heap figures (or heap check failed) in %r" % out)
    size, in_use, hfree, live, allocs, frees = map(int, h.groups())
    # The frame allocator and the heap count on their own: the heap's frames are used ones.
    check(free > 0 and used * 4096 >= size, "%d frames used, %d free, for a %d-byte heap" % (used, free, size))
    check(in_use + hfree <= size, "heap in_use %d + free %d > size %d" % (in_use, hfree, size))
    check(allocs - frees == live, "allocs %d - frees %d != live %d" % (allocs, frees, live))


def test_log_replays_boot(machine):
    m = machine()
    m.boot()
    out = m.command("log")
    check("Delos nano_core" in out and "identity mapping dropped" in out, "log lacks boot lines")
    check(re.search(r"^\[\s*\d+\.\d{6}\] INFO ", out, re.M), "log lines lack timestamp and level")


def test_bad_commands_print_usage(machine):
    m = machine()
    m.boot()
    check("unknown command 'frobnicate'" in m.command("frobnicate"), "unknown command accepted")
    check("usage: exit N" in m.command("exit"), "exit without N accepted")
    check("usage: exit N" in m.command("exit 300"), "exit 300 accepted")
    check("usage: exit N" in m.command("exit 3x"), "exit 3x accepted")
    check("usage: fault" in m.command("fault"), "fault without KIND accepted")
    check("usage: fault" in m.command("fault nope"), "fault nope accepted")
    check("frames: total" in m.command("mem"), "console broken after bad commands")


def test_exit_status(machine):
    m = machine()
    m.boot()
    m.send("exit 3\r")
    code = m.wait_exit()
    check(code == 3, "QEMU exit code decodes to %r, want 3" % code)


def test_line_editing_backspace(machine):
    m = machine()
    m.boot()
    m.send("mex\x7fm\r")
    m.expect(r"frames: total \d+")
