"""W^X through the physmap: a cell cannot rewrite code, not even with the phys_mem grant."""
import re
from delos import check

CAUGHT = (r"call: wx_probe:%s raised #PF page fault at [0-9a-f]{16} "
          r"\(error 0x([0-9a-f]+), CR2 ([0-9a-f]{16})\); the call was abandoned")


def write_faults(m, fn, what):
    mark = m.mark()
    out = m.command("call wx_probe " + fn)
    alias = re.search(r"writing %s at 0x[0-9a-f]{16} through its physmap alias 0x([0-9a-f]{16})"
                      % re.escape(what), out)
    check(alias, "%s did not reach its write: %r" % (fn, out))
    check("went through" not in out, "the write to %s through the physmap went through" % what)
    fault = re.search(CAUGHT % fn, out)
    check(fault, "%s: the write was not caught as a page fault: %r" % (fn, out))
    error = int(fault.group(1), 16)
    check(error & 0x3 == 0x3 and not error & 0x10,
          "%s: error 0x%x is not a data write to a present page" % (fn, error))
    check(fault.group(2) == alias.group(1),
          "%s: CR2 %s is not the alias %s" % (fn, fault.group(2), alias.group(1)))
    # The faults cell logs what it did (policy none) from its own task, before or after the
    # prompt: wait for that line, so the next command's echo is not typed into the middle of it.
    m.expect(r"faults: #\d+ none: wx_probe@1 left as it is[^\n]*\n", 30, since=mark)


def test_wx_cell_cannot_write_code_through_physmap(machine):
    m = machine()
    m.boot()
    check("loaded wx_probe@1" in m.command("load wx_probe@1"), "wx_probe@1 did not load")
    check("returned 0" in m.command("call wx_probe wx_read_own_text"),
          "the physmap alias of wx_probe's text does not read as its text")
    write_faults(m, "wx_write_own_text", "own text")
    write_faults(m, "wx_write_own_rodata", "own rodata")
    write_faults(m, "wx_write_core_text", "nano_core text")
    check("returned 42" in m.command("call hello hello_main"), "hello no longer runs")
