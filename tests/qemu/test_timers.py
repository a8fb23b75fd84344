"""Time sources and interrupt controllers: the TSC's source per CPU model, the
local APIC timer cell swapped in and out live under load, ACPI facts."""
import os
import re
import struct
import tempfile
from delos import TIMEOUT_SCALE, check, until

UPTIME = r"uptime: (\d+) ticks at (\d+) Hz, (\d+) us of guest time"


def uptime(m):
    found = re.search(UPTIME, m.command("uptime"))
    check(found, "uptime printed nothing usable")
    return int(found.group(1)), int(found.group(3))


def wait_ticks(m, at_least, timeout=240):
    """Polls uptime until the tick count reaches at_least; returns (ticks, us)."""
    def reached():
        ticks, us = uptime(m)
        return (ticks, us) if ticks >= at_least else None
    return until(reached, "the tick count stayed under %d" % at_least, timeout / TIMEOUT_SCALE)


def rate(a, b):
    return (b[0] - a[0]) * 1e6 / (b[1] - a[1])


def work_errors(m):
    found = re.search(r"work: (\d+) operations, (\d+) errors", m.command("work status"))
    check(found, "work status printed no counts")
    return int(found.group(1)), int(found.group(2))


def test_cpu_qemu64_tsc_from_hpet(machine):
    """qemu64 has no CPUID 0x15, no TSC-deadline, no invariant TSC: the HPET times the TSC.

    Under -icount the HPET counts guest time, so the window's length depends only on
    the calibration loop, not on how long the host kept the vCPU off a core."""
    m = machine(icount=True, extra=("-cpu", "qemu64"))
    m.boot()
    found = re.search(r"time: TSC (\d+)\.\d+ MHz from HPET over (\d+) us \(not invariant\)",
                      m.transcript)
    check(found, "no 'from HPET' time line")
    check(250 <= int(found.group(2)) <= 300, "the HPET window was %s us, not 250 to 300"
          % found.group(2))
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


def acpi_body(name, data):
    """A file holding an ACPI table's body, for QEMU's -acpitable sig=...,data=FILE."""
    path = os.path.join(tempfile.mkdtemp(prefix="delos-acpi-"), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def spcr_body(space, port, irq):
    """SPCR after its header: 16550, GAS (space, 8 bits, port), PC-AT IRQ, 115200 8N1."""
    return (struct.pack("<B3x", 0) + struct.pack("<BBBBQ", space, 8, 0, 1, port)
            + struct.pack("<BBIBBBBB", 1, irq, irq, 7, 0, 0, 0, 0) + bytes(80 - 36 - 27))


def test_acpi_spcr_names_the_console(machine):
    """An SPCR naming the 16550 at 0x3f8, IRQ 4: the console is taken from it."""
    spcr = acpi_body("spcr.bin", spcr_body(1, 0x3f8, 4))
    m = machine(extra=("-acpitable", "sig=SPCR,rev=2,data=" + spcr))
    m.boot()
    check(re.search(r"platform: ACPI .*SPCR yes", m.transcript), "the SPCR was not found")
    check("platform: console UART at port 0x3f8, IRQ 4 (from SPCR)" in m.transcript,
          "the console did not come from the SPCR")
    check("uptime:" in m.command("uptime"), "the console does not answer")


def test_acpi_cell_hands_over_once_and_leaves(machine):
    """The ACPI parser is the cell acpi_tables@1 (role=platform): it runs at boot, even
    under cells=none, and is gone once it handed the facts over; loaded again later it is
    refused (the interrupt controllers are set up), changing nothing."""
    m = machine(args="cells=none")
    m.boot()
    check(re.search(r"platform: ACPI .*MADT yes", m.transcript), "no ACPI facts under cells=none")
    check("intc: local APIC and IOAPIC" in m.transcript, "not in APIC mode under cells=none")
    check("acpi_tables@1" not in m.command("cells"), "the ACPI cell is still loaded")
    m.close()
    m = machine()
    m.boot()
    check("acpi_tables@1" not in m.command("cells"), "the ACPI cell is still loaded")
    out = m.command("load acpi_tables@1")
    check("platform: ACPI facts refused, nothing changed: the timers and interrupt controllers "
          "are set up already" in m.transcript, "a second hand-over was not refused: %r" % out)
    check("cell_init returned -1; unloading it" in out, "the refused cell stayed: %r" % out)
    check("acpi_tables@1" not in m.command("cells"), "the refused ACPI cell is still loaded")
    check("uptime:" in m.command("uptime"), "the console does not answer")


def test_acpi_bad_tables_refused_with_fallback(machine):
    """A memory-mapped SPCR UART and a misaligned HPET (the real one off) are refused:
    the console stays on COM1 and the PIT times the TSC."""
    spcr = acpi_body("spcr.bin", spcr_body(0, 0xfe000000, 4))
    hpet = acpi_body("hpet.bin", struct.pack("<IBBBBQBHB", 0x8086a201, 0, 64, 0, 0,
                                             0xfed00004, 0, 128, 0))
    m = machine(extra=("-machine", "hpet=off",
                       "-acpitable", "sig=SPCR,rev=2,data=" + spcr,
                       "-acpitable", "sig=HPET,rev=1,data=" + hpet))
    m.boot()
    check(re.search(r"acpi: SPCR at 0x[0-9a-f]+: the UART is not on I/O ports at offset 40; "
                    r"refused", m.transcript), "the memory-mapped SPCR UART was not refused")
    check(re.search(r"acpi: HPET at 0x[0-9a-f]+: base address is not 1 KiB-aligned system "
                    r"memory at offset 40; refused", m.transcript), "the bad HPET was not refused")
    check(re.search(r"platform: ACPI .*\(\d+ tables, 2 refused\): MADT yes, HPET no, SPCR no",
                    m.transcript), "the summary does not count two refused tables")
    check(re.search(r"time: TSC \d+\.\d+ MHz from PIT over 10000 us", m.transcript),
          "the PIT did not take over from the refused HPET")
    check("serial: UART 0x3f8 on IRQ 4" in m.transcript, "the console left COM1")
    check("uptime:" in m.command("uptime"), "the console does not answer")
