"""Time sources and interrupt controllers: the TSC's source per CPU model, the
local APIC timer cell swapped in and out live under load, ACPI facts."""
import re
import time
from delos import check, TestFailure

UPTIME = r"uptime: (\d+) ticks at (\d+) Hz, (\d+) us of guest time"


def uptime(m):
    found = re.search(UPTIME, m.command("uptime"))
    check(found, "uptime printed nothing usable")
    return int(found.group(1)), int(found.group(3))


def wait_ticks(m, at_least, timeout=240):
    """Polls uptime until the tick count reaches at_least; returns (ticks, us)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ticks, us = uptime(m)
        if ticks >= at_least:
            return ticks, us
        time.sleep(0.2)	# between polls only: each uptime costs guest time too
    raise TestFailure("the tick count stayed under %d" % at_least)


def rate(a, b):
    return (b[0] - a[0]) * 1e6 / (b[1] - a[1])


def work_errors(m):
    found = re.search(r"work: (\d+) operations, (\d+) errors", m.command("work status"))
    check(found, "work status printed no counts")
    return int(found.group(1)), int(found.group(2))


def test_cpu_qemu64_tsc_from_hpet(machine):
    """qemu64 has no CPUID 0x15, no TSC-deadline, no invariant TSC: the HPET times the TSC."""
    m = machine(extra=("-cpu", "qemu64"))
    m.boot()
    found = re.search(r"time: TSC (\d+)\.\d+ MHz from HPET over (\d+) us \(not invariant\)",
                      m.transcript)
    check(found, "no 'from HPET' time line")
    check(int(found.group(2)) <= 300, "the HPET window was %s us" % found.group(2))
    check("intc: local APIC and IOAPIC, 8259 PICs masked" in m.transcript, "not on the IOAPIC")
    check("TSC from HPET" in m.command("uptime"), "uptime names another source")


def test_cpu_max_tsc_source(machine):
    """-cpu max under TCG: whatever leaf 0x15/0x16 gives, else the HPET; the log says which."""
    m = machine(extra=("-cpu", "max"))
    m.boot()
    found = re.search(r"time: CPUID 0x15 eax (\d+) ebx (\d+) ecx (\d+), 0x16 base (\d+) MHz",
                      m.transcript)
    line = re.search(r"time: TSC [\d.]+ [MG]Hz from (CPUID 0x15|CPUID 0x16|HPET)", m.transcript)
    check(line, "no time source line")
    if found and all(int(found.group(i)) for i in (1, 2, 3)):
        want = "CPUID 0x15"
    elif found and int(found.group(4)):
        want = "CPUID 0x16"
    else:
        want = "HPET"
    check(line.group(1) == want, "source %s, expected %s for the CPUID values seen"
          % (line.group(1), want))


def test_pit_fallback_without_hpet(machine):
    """No HPET (QEMU -machine hpet=off) and tsc=measure: the PIT, as a last resort."""
    m = machine(args="tsc=measure", extra=("-machine", "hpet=off"))
    m.boot()
    check(re.search(r"platform: ACPI .*HPET no", m.transcript), "an HPET table was found")
    check(re.search(r"time: TSC \d+\.\d+ MHz from PIT over 10000 us", m.transcript),
          "the PIT did not time the TSC")


def test_timer_swap_keeps_the_rate_under_load(machine):
    """swap timer@1 apic_timer@1 and back with the workload running, in -icount guest time.

    sleep=off: an idle guest's clock jumps to the next timer deadline at once. With
    QEMU's default (sleep=on) it follows the host's clock while idle, and on a busy
    host one jump can span several tick periods that then arrive as one interrupt,
    which would count as ticks lost whatever the timer.
    """
    m = machine(extra=("-icount", "shift=0,sleep=off"))
    m.boot()
    check("loaded workload@1" in m.command("load workload@1"), "load workload@1")
    check("work: started" in m.command("work start"), "work start")
    first = wait_ticks(m, uptime(m)[0] + 10)
    out = m.command("swap timer@1 apic_timer@1")
    check("swap: done" in out, "swap to apic_timer: %r" % out)
    check(re.search(r"apic_timer: (TSC-deadline|periodic) at 100 Hz", m.transcript),
          "apic_timer did not say how it ticks")
    swapped = uptime(m)
    after = wait_ticks(m, first[0] + 300)
    check(re.search(r"apic_timer@1\b", m.command("cells")), "apic_timer is not loaded")
    out = m.command("swap apic_timer@1 timer@1")
    check("swap: done" in out, "swap back to timer: %r" % out)
    back = uptime(m)
    last = wait_ticks(m, after[0] + 300)
    ops, errors = work_errors(m)
    m.command("work stop")
    # Each window holds 300 ticks or more: a tick of phase lost at a swap is 0.33%.
    for name, r in (("across the swap to apic_timer", rate(first, after)),
                    ("across the swap back to timer", rate(after, last)),
                    ("across both swaps", rate(first, last))):
        print("tick rate %s: %.2f Hz" % (name, r))
        check(abs(r - 100) <= 1, "tick rate %s: %.2f Hz" % (name, r))
    check(ops > 0 and errors == 0, "work: %d operations, %d errors" % (ops, errors))
    check("MISMATCH" not in m.transcript, "a worker logged a mismatch")
