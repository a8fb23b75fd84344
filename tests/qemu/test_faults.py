"""Each `fault KIND` raises a real exception and gets a full report."""
import re
from delos import check


def fault(machine, kind, vector, name, symbol):
    m = machine()
    m.boot()
    m.send("fault %s\r" % kind)
    m.expect(r"\*\*\* EXCEPTION %d %s" % (vector, re.escape(name)), 20)
    rip = m.expect(r"RIP [0-9a-f]{16} <([A-Za-z_][A-Za-z0-9_.]*)\+0x[0-9a-f]+>", 10)
    check(symbol in rip.group(1), "RIP symbolized as %s, want %s" % (rip.group(1), symbol))
    m.expect(r"CR2 [0-9a-f]{16}", 10)
    m.expect(r"RAX [0-9a-f]{16} RBX", 10)
    m.expect(r"backtrace:\n  #0 ", 10)
    m.expect(r"  #1 +[0-9a-f]{16} <", 10)
    m.expect(r"PANIC: unhandled", 10)
    return m


def test_fault_pf(machine):
    m = fault(machine, "pf", 14, "#PF page fault", "fault_pf")
    check("CR2 00000000dead0000" in m.transcript, "CR2 does not hold the faulting address")


def test_fault_gpf(machine):
    fault(machine, "gpf", 13, "#GP general protection", "fault_gpf")


def test_fault_div0(machine):
    fault(machine, "div0", 0, "#DE divide error", "fault_div0")


def test_fault_ud(machine):
    fault(machine, "ud", 6, "#UD invalid opcode", "fault_ud")


def test_fault_stack_is_double_fault(machine):
    m = fault(machine, "stack", 8, "#DF double fault", "fault_stack_recurse")
    check("kernel stack overflow" in m.transcript, "double fault not explained")


def test_caught_fault_restores_interrupt_flag(machine):
    """A cell that turns interrupts off and faults under `call` leaves the caller's flag on."""
    m = machine()
    m.boot()
    check("loaded irqoff@1" in m.command("load irqoff@1"), "load irqoff@1")
    check("returned 1" in m.command("call irqoff irqoff_enabled"), "interrupts off before the fault")
    out = m.command("call irqoff irqoff_cli_fault")
    check("raised #UD invalid opcode" in out, "the fault was not caught: %r" % out)
    check("returned 1" in m.command("call irqoff irqoff_enabled"), "interrupts left off by the fault")
    check("returned 1" in m.command("call irqoff irqoff_tick_seen"), "no timer tick after the fault")
