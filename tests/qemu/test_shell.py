"""The console as cells: shell@1 reading serial@1 and kbd@1, writing serial@1 and the screen (vga@1 here)."""
import os
import re
from delos import check, until

BUILTINS = ("help", "mem", "log", "exit", "fault", "cells", "syms", "deps", "load", "unload",
            "call", "swap", "swaps", "state", "tasks")
CONSOLE_CELLS = ("serial@1", "kbd@1", "vga@1", "shell@1")


def booted(machine, **kw):
    m = machine(**kw)
    m.boot(timeout=150 if kw.get("uefi") else 60)
    return m


def test_shell_cell_has_the_prompt(machine):
    m = booted(machine)
    check(re.search(r"shell: the console is task \d+", m.transcript), "the shell cell did not start its task")
    check("serial: UART 0x3f8 on IRQ 4" in m.transcript, "the serial cell did not take COM1")
    out = m.command("cells")
    for ref in CONSOLE_CELLS:
        check(re.search(r"^%s\s+\d+\s+\d+\s+ffffffff" % re.escape(ref), out, re.M), "cells does not list %s" % ref)


def test_shell_help_lists_every_command(machine):
    m = booted(machine)
    out = m.command("help")
    for c in BUILTINS:
        check(re.search(r"^\s+%s\s" % c, out, re.M), "help does not list %s" % c)
    check(re.search(r"^\s+load\s+NAME@VERSION\s+load a cell", out, re.M), "help lacks load's usage")
    names = re.findall(r"^\s+(\S+)", out, re.M)
    check(names == sorted(names), "help is not sorted: %r" % names)
    out = m.command("help load")
    check("usage: load NAME@VERSION" in out and "served by shell:shell_cmd_load" in out, "help load: %r" % out)
    check("unknown command 'nope'; type 'help' for the list" in m.command("help nope"), "help nope")


def test_shell_bad_arguments_print_usage(machine):
    m = booted(machine)
    check("unknown command 'frobnicate'; type 'help' for the list" in m.command("frobnicate"),
          "unknown command accepted")
    expect = {
        "mem now": "usage: mem\n", "log 1": "usage: log\n", "cells x": "usage: cells\n",
        "tasks x": "usage: tasks\n", "state a b": "usage: state [PREFIX]",
        "help a b": "usage: help [COMMAND]", "exit": "usage: exit N", "exit 300": "usage: exit N",
        "exit 3x": "usage: exit N", "fault": "usage: fault", "fault nope": "usage: fault",
        "syms": "usage: syms CELL", "deps a b": "usage: deps CELL", "load": "usage: load NAME@VERSION",
        "load hello": "usage: load NAME@VERSION", "unload": "usage: unload NAME",
        "call hello": "usage: call CELL SYMBOL", "call a b c": "usage: call CELL SYMBOL",
        " ".join(["w"] * 129): "too many words (at most 128)",
    }
    for line, want in expect.items():
        out = m.command(line)
        check(want in out, "%r printed %r, want %r" % (line, out, want))
    check("frames: total" in m.command("mem"), "console broken after bad commands")


def test_shell_cells_syms_deps(machine):
    m = booted(machine)
    out = m.command("syms shell")
    check(re.search(r"ffffffff[0-9a-f]{8}\s+\d+ T shell_main", out), "syms shell lacks shell_main")
    check(re.search(r"T shell_register", out), "syms shell lacks shell_register")
    out = m.command("deps shell")
    for use in ("-> serial:serial_write", "-> nano_core:console_screen_write", "-> tasks:task_spawn",
                "-> dispatch:dispatch_subscribe", "-> state_db:sdb_put"):
        check(use in out, "deps shell lacks %s: %r" % (use, out))
    out = m.command("deps serial")
    check("<- shell:serial_write" in out and "-> dispatch:dispatch_route" in out, "deps serial: %r" % out)
    check("-> nano_core:hal_inb" in m.command("deps kbd"), "kbd does not use hal_inb")
    check("usage: deps CELL" in m.command("deps"), "deps without a cell")


def test_shell_load_greet_unload(machine):
    m = booted(machine)
    check("unknown command 'greet'" in m.command("greet"), "greet exists before hello_cmd is loaded")
    out = m.command("load hello_cmd@1")
    check("loaded hello_cmd@1" in out, "load hello_cmd@1: %r" % out)
    check("hello, world!" in m.command("greet world"), "greet world")
    check("hello, Delos!" in m.command("greet Delos"), "greet Delos")
    check("hello, world!" in m.command("greet"), "greet without a name")
    check("usage: greet [NAME]" in m.command("greet a b"), "greet with two names")
    check(re.search(r"^\s+greet\s+\[NAME\]\s+say hello", m.command("help"), re.M), "help lacks greet")
    check("-> shell:shell_register" in m.command("deps hello_cmd"), "hello_cmd's use of the shell")
    check("unloaded hello_cmd" in m.command("unload hello_cmd"), "unload hello_cmd")
    check("unknown command 'greet'; type 'help' for the list" in m.command("greet world"),
          "greet still known after unload")
    check("loaded hello_cmd@1" in m.command("load hello_cmd@1"), "second load of hello_cmd")
    check("hello, again!" in m.command("greet again"), "greet after a reload")


def test_shell_load_unload_call_errors(machine):
    m = booted(machine)
    check("returned 42" in m.command("call hello hello_main"), "call hello hello_main")
    check("has no symbol 'nope'" in m.command("call hello nope"), "call of a missing symbol")
    check("no nope@1 in cells.manifest" in m.command("load nope@1"), "load of an unknown cell")
    check("already loaded" in m.command("load hello@1"), "double load")
    check("cannot unload: used by" in m.command("unload serial"), "unload of the serial cell the shell uses")
    check("unloaded hello" in m.command("unload hello"), "unload hello")
    check("no loaded cell named 'hello'" in m.command("call hello hello_main"), "call after unload")


def parse_state(out):
    rows = {}
    for line in out.splitlines():
        f = re.match(r"(\S+)\s+([0-9a-f]{8})\s+(\d+)\s+(\d+)\s+(\S+)\s+(ok|CORRUPT)$", line)
        if f:
            rows[f.group(1)] = f.groups()[1:]
    return rows


def test_shell_state(machine):
    m = booted(machine)
    out = m.command("state")
    check(re.search(r"^record\s+type\s+ver\s+size\s+owner\s+checksum", out, re.M), "state has no header")
    rows = parse_state(out)
    for name, owner in (("shell/cmd/help", "shell"), ("shell/cmd/mem", "kcmds"),
                        ("serial/tx", "serial"), ("serial/rx", "serial"), ("shell/input", "shell"),
                        ("shell/history", "shell"), ("dispatch/irq/4", "dispatch"),
                        ("dispatch/ev/console.input", "dispatch")):
        check(name in rows, "state does not list %s" % name)
        check(rows[name][3] == owner, "%s owned by %s, want %s" % (name, rows[name][3], owner))
    check(all(r[4] == "ok" for r in rows.values()), "a record fails its checksum")
    check(rows["shell/cmd/help"][0] == "444d4353", "command record type %s" % rows["shell/cmd/help"][0])
    n = re.search(r"^(\d+) records$", out, re.M)
    check(n and int(n.group(1)) == len(rows), "record count %r, %d rows" % (n and n.group(1), len(rows)))
    out = m.command("state shell/cmd/")
    rows = parse_state(out)
    check(all(r.startswith("shell/cmd/") for r in rows), "state shell/cmd/ lists others: %r" % sorted(rows))
    check(set("shell/cmd/" + c for c in BUILTINS) <= set(rows), "state shell/cmd/: %r" % sorted(rows))
    check(list(rows) == sorted(rows), "state is not sorted by name")
    check("%d records" % len(rows) in out, "prefix count wrong: %r" % out)


def test_shell_tasks(machine):
    m = booted(machine)
    out = m.command("tasks")
    check(re.search(r"^\s*id\s+name\s+state\s+entry\s+runs\s+ticks", out, re.M), "tasks has no header")
    row = re.search(r"^\s*(\d+) shell\s+running\s+shell:shell_main\s+(\d+)\s+(\d+)$", out, re.M)
    check(row, "tasks does not show the shell task running: %r" % out)
    check(int(row.group(2)) >= 1, "shell task never switched in")
    check(re.search(r"^\s*0 idle\s", out, re.M), "tasks does not list idle")
    n = re.search(r"^(\d+) tasks?$", out, re.M)
    check(n and int(n.group(1)) >= 2, "tasks count: %r" % out)


def test_shell_mem_and_log(machine):
    m = booted(machine)
    out = m.command("mem")
    check(re.search(r"frames: total \d+ free \d+ used \d+", out), "mem: %r" % out)
    check(re.search(r"heap: .* check ok", out), "heap check: %r" % out)
    out = m.command("log")
    check("Delos nano_core" in out and "serial: UART 0x3f8 on IRQ 4" in out, "log lacks boot and serial lines")
    check(re.search(r"shell: the console is task \d+", out), "log lacks the shell's start")


def test_shell_exit_status(machine):
    m = booted(machine)
    m.send("exit 5\r")
    m.expect("exit: leaving QEMU with status 5")
    code = m.wait_exit()
    check(code == 5, "QEMU exit code decodes to %r, want 5" % code)


def test_shell_fault_reported(machine):
    m = booted(machine)
    m.send("fault ud\r")
    m.expect(r"\*\*\* EXCEPTION 6 #UD invalid opcode", 20)
    m.expect(r"RIP [0-9a-f]{16} <fault_ud\+0x[0-9a-f]+>", 10)
    m.expect(r"backtrace:\n  #0 ", 10)


def test_shell_backspace_and_kill_line(machine):
    m = booted(machine)
    m.send("mex\x7fm\r")
    m.expect(r"frames: total \d+")
    m.expect(re.escape("delos> "))
    m.send("frob\x15mem\r")
    m.expect(r"frames: total \d+")
    check("unknown command" not in m.transcript, "Ctrl-U left part of the line: %r" % m.transcript[-400:])
    m.expect(re.escape("delos> "))
    m.send("gr\x08\x08mem\r")
    m.expect(r"frames: total \d+")


def test_shell_cursor_keys(machine):
    m = booted(machine)
    m.send("mm\x1b[De\r")  # left, insert: "mem"
    m.expect(r"frames: total \d+")
    m.expect(re.escape("delos> "))
    m.send("xmem\x1b[D\x1b[D\x1b[D\x7f\r")  # left x3, delete the x
    m.expect(r"frames: total \d+")
    check("unknown command" not in m.transcript, "cursor editing produced a wrong line")


def test_shell_history(machine):
    m = booted(machine)
    m.command("help")
    out = m.command("mem")
    check("frames: total" in out, "mem")
    m.send("\x1b[A\r")  # the last line again
    m.expect(r"mem\n")
    m.expect(r"frames: total \d+")
    m.expect(re.escape("delos> "))
    m.send("\x1b[A\x1b[A\r")  # two back: mem was not added twice, so this is help
    m.expect(r"help\n")
    m.expect(r"list the commands")
    m.expect(re.escape("delos> "))
    m.send("\x1b[A\x1b[A\x1b[Bx\r")  # history is help, mem, help: up, up, down is help
    m.expect(r"unknown command 'helpx'")
    m.expect(re.escape("delos> "))
    m.send("\x1b[A\x1b[B\x1b[Bmem\r")  # down past the newest clears the line
    m.expect(r"frames: total \d+")


def test_shell_typeahead_and_long_lines(machine):
    m = booted(machine)
    m.send("mem\rgreet\rlog\r")
    m.expect(r"frames: total \d+")
    m.expect(r"unknown command 'greet'")
    m.expect(r"Delos nano_core")
    m.expect(re.escape("delos> "))
    name = "x" * 140
    m.command("load hello_cmd@1")
    out = m.command("greet " + name)
    check("hello, %s!" % name in out, "a long line lost bytes: %r" % out)


def test_shell_keyboard_input(machine):
    m = booted(machine)
    m.command("load hello_cmd@1")
    for key in ("m", "e", "m", "ret"):
        m.monitor("sendkey " + key)
    m.expect(r"mem\n", 20)
    m.expect(r"frames: total \d+", 20)
    m.expect(re.escape("delos> "))
    for key in ("g", "r", "e", "e", "t", "spc", "shift-d", "e", "l", "o", "z", "backspace", "s", "ret"):
        m.monitor("sendkey " + key)
    m.expect(r"hello, Delos!", 20)


def test_shell_console_cells_swap_live(machine):
    m = booted(machine)
    for ref in ("serial@1", "kbd@1", "vga@1"):
        out = m.command("swap %s %s" % (ref, ref))
        check(re.search(r"swap: done in \d+ us", out), "swap %s: %r" % (ref, out))
    check("frames: total" in m.command("mem"), "the console after swapping its drivers")
    # Typed ahead: the bytes after the first line arrive while serial@1 is being replaced.
    m.send("swap serial@1 serial@1\rgreet\rmem\r")
    m.expect(r"swap: done in \d+ us")
    m.expect(r"unknown command 'greet'")
    m.expect(r"frames: total \d+")
    m.expect(re.escape("delos> "))
    for key in ("m", "e", "m", "ret"):
        m.monitor("sendkey " + key)
    m.expect(r"frames: total \d+", 20)
    m.expect(re.escape("delos> "))
    m.command("history-marker")
    out = m.command("swap shell@1 shell@1")
    check("this task starts over in the new code" in out and "swap: done" in out,
          "swapping the shell from itself: %r" % out)
    check("hello, world!" in m.command("load hello_cmd@1") + m.command("greet"), "shell after its own swap")
    m.send("\x1b[A" * 4 + "\r")   # history lives in state_db: it survives the restart
    m.expect(r"unknown command 'history-marker'")


def read_screen(m):
    path = os.path.join(m._tmp, "screen.bin")
    m.monitor('pmemsave 0xb8000 4000 "%s"' % path)   # the file is whole once the monitor answers
    data = open(path, "rb").read()
    check(len(data) == 4000, "pmemsave wrote %d bytes of the screen, want 4000" % len(data))
    return "\n".join(bytes(data[r * 160:(r + 1) * 160:2]).decode("ascii", "replace") for r in range(25))


def test_shell_vga_screen(machine):
    m = booted(machine)
    check("vga: the text screen is a cell's now" in m.transcript, "the vga cell did not take the screen")
    m.command("help load")
    m.command("greet")
    # The shell draws on the screen just after the serial line: poll until the prompt is there.
    def prompt_on_screen():
        lines = read_screen(m).split("\n")
        return (lines[-1].startswith("delos> ") or lines[-2].startswith("delos> ")) and "\n".join(lines)
    screen = until(prompt_on_screen, lambda: "no prompt on the screen:\n" + read_screen(m), timeout=30)
    check("delos> help load" in screen, "the prompt and echo are not on the screen:\n" + screen)
    check("served by shell:shell_cmd_load" in screen, "help's output is not on the screen:\n" + screen)
    check("unknown command 'greet'" in screen, "the last lines are not on the screen:\n" + screen)
    lines = screen.split("\n")
    check(lines[-1].startswith("delos> ") or lines[-2].startswith("delos> "),
          "the screen did not scroll to the prompt:\n" + screen)


def test_shell_uefi_without_vga(machine):
    m = booted(machine, uefi=True)
    check("cells: vga@1 not loaded at boot: this boot has no text_screen" in m.transcript,
          "vga@1 was loaded under UEFI")
    check("fb: the " in m.transcript and "is a cell's now" in m.transcript, "fb@1 did not take the screen")
    check("frames: total" in m.command("mem"), "mem under UEFI")
    check("hello, world!" in m.command("load hello_cmd@1") + m.command("greet"), "greet under UEFI")
