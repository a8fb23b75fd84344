"""Console lines: up to 1,024 bytes are taken whole, longer ones are refused whole.

Each line below is sent in one write, as a paste would be, so the input queues
must hold it without losing a byte.
"""
import re

from delos import check, PROMPT

LIMIT = 1024


def words(total, width=19):
    """A text of exactly total bytes: numbered words of width bytes and single spaces."""
    out, i = [], 0
    while sum(len(w) + 1 for w in out) < total + 1:
        out.append(("%03d" % i + "abcdefghijklmnopqrstuvwxyz" * 2)[:width])
        i += 1
    text = " ".join(out)[:total]
    return text if not text.endswith(" ") else text[:-1] + "z"


def stat_size(m, name):
    out = m.command("stat " + name)
    found = re.search(r"^%s: (\d+) bytes" % re.escape(name), out, re.M)
    return int(found.group(1)) if found else out


def refused(m, line, what):
    """Sends line (no echo check: the editor shows only what fits) and waits for the refusal."""
    m.send(line + "\r")
    m.expect(r"line too long: %d bytes, the limit is %d" % (len(line), LIMIT), 30)
    m.expect(re.escape(PROMPT))
    check("bytes written" not in m.transcript[-300:], "%s: the cut line ran" % what)


def test_console_lines_shell(machine):
    m = machine()
    m.boot()
    text = words(1000)
    out = m.command("write big.txt " + text)
    check("write: big.txt: 1001 bytes written, size 1001" in out, "a 1,000-byte write: %r" % out[-200:])
    check(m.command("cat big.txt") == text + "\n", "cat does not give back the 1,000 bytes written")
    out = m.command("append big.txt " + text)
    check("append: big.txt: 1001 bytes written, size 2002" in out, "a 1,000-byte append: %r" % out[-200:])
    # A script of four such lines pasted at once: more than the input queues hold.
    m.send("".join("write s%d %s\r" % (i, text) for i in range(4)))
    for i in range(4):
        m.expect(r"write: s%d: 1001 bytes written, size 1001\n" % i)
    m.expect(re.escape(PROMPT))

    # One byte past the limit, and a good command in the same write: the good one runs.
    over = "append big.txt " + words(LIMIT + 1 - len("append big.txt "))
    m.send(over + "\rstat big.txt\r")
    m.expect(r"line too long: %d bytes, the limit is %d" % (LIMIT + 1, LIMIT))
    m.expect(r"big\.txt: 2002 bytes")
    m.expect(re.escape(PROMPT))
    refused(m, "write big.txt " + words(1100 - len("write big.txt ")), "write")
    refused(m, "write new.txt " + words(1100 - len("write new.txt ")), "write")
    check(stat_size(m, "big.txt") == 2002, "a refused line changed big.txt")
    check("stat: new.txt: no such file" in m.command("stat new.txt"), "a refused write created new.txt")

    name = "c" * 200
    out = m.command("deps " + name)
    check("deps: cell name too long: 200 bytes, at most 31" in out, "deps on a long name: %r" % out[-200:])
    check("sched_rr uses:" in m.command("deps sched_rr"), "deps after a refused name")


def test_console_lines_fallback(machine):
    m = machine(args="cells=none")
    m.boot()
    check("cells: cells=none" in m.transcript, "cells=none did not keep the boot cells out")
    out = m.command("help")
    check("load" in out and "deps" not in out and "ops slot console_command" in out,
          "not nano_core's fallback console alone: %r" % out)
    check("unknown command 'deps'" in m.command("deps sched_rr"), "deps ran without a commands cell")
    check("cells: loaded kcmds@1" in m.command("load kcmds@1"), "the commands cell did not load")
    out = m.command("help")
    check("tasks" not in out and "deps" in out, "not the fallback console with kcmds' commands: %r" % out)
    out = m.command("mem 1 2 3 4 5 6 7 8")
    check("too many words: at most 8" in out, "a 9-word line was not refused: %r" % out)
    out = m.command("deps " + "d" * 1000)
    check("deps: cell name too long: 1000 bytes, at most 31" in out, "a 1,005-byte line: %r" % out[-200:])
    m.send("deps " + "e" * 1100 + "\rcells\r")
    m.expect(r"line too long: 1105 bytes, the limit is %d" % LIMIT)
    m.expect(r"nano_core@core")
    m.expect(re.escape(PROMPT))
