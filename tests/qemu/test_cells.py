"""The loader in the running kernel, driven through the console."""
import re
from delos import check

BOOT_CELLS = ("log_sink@1", "ticker@1", "hello@1")


def booted(machine):
    m = machine()
    m.boot()
    return m


def test_boot_cells_loaded_in_dependency_order(machine):
    m = booted(machine)
    order = [m.transcript.find(s) for s in ("[log_sink] ready", "[ticker] 100 Hz", "[hello] hello from a cell")]
    check(all(i >= 0 for i in order), "a boot cell did not run its cell_init")
    check(order == sorted(order), "boot cells not initialised in dependency order")
    out = m.command("cells")
    for ref in ("nano_core@core",) + BOOT_CELLS:
        check(re.search(r"^%s\s+\d+\s+\d+\s+ffffffff[0-9a-f]{8}-ffffffff[0-9a-f]{8}" % re.escape(ref), out, re.M),
              "cells does not list %s with sizes and range" % ref)


def test_deps_both_directions(machine):
    m = booted(machine)
    out = m.command("deps log_sink")
    check("-> nano_core:klog" in out, "log_sink does not show its use of nano_core:klog")
    check("<- hello:sink_log" in out and "<- ticker:sink_log" in out, "users of log_sink missing")
    out = m.command("deps hello")
    check("-> ticker:ticker_ticks" in out and "-> log_sink:sink_log" in out, "hello's imports missing")


def test_syms_and_call(machine):
    m = booted(machine)
    out = m.command("syms hello")
    check(re.search(r"ffffffff[0-9a-f]{8}\s+\d+ T hello_main", out), "syms hello lacks hello_main")
    check("(private) cell_init" in out, "cell_init not shown as private")
    check("returned 42" in m.command("call hello hello_main"), "call hello hello_main")
    check("has no symbol 'nope'" in m.command("call hello nope"), "call of a missing symbol")


def test_call_refuses_what_is_not_a_cell_function(machine):
    m = booted(machine)
    before = m.command("cells")
    for line, message in (
            ("call nano_core ctx_restart", "nano_core's exports are refused"),
            ("call nano_core kcmd_mem", "nano_core's exports are refused"),
            ("call ramfs ls_one", "ramfs:ls_one is a local symbol"),
            ("call ramfs commands", "ramfs:commands is a local symbol"),
            ("call tasks tasks_start_ref", "tasks:tasks_start_ref is data, not a function"),
            ("call hello nope", "hello has no symbol 'nope'"),
            ("call nope hello_main", "no loaded cell named 'nope'")):
        out = m.command(line)
        check(message in out, "%s said %r, want %r" % (line, out, message))
        check("returned" not in out and "raised" not in out, "%s ran: %r" % (line, out))
    check("returned 42" in m.command("call hello hello_main"), "Delos stopped answering calls")
    check(m.command("cells") == before, "cells changed after refused calls")


def test_unload_refused_while_used(machine):
    m = booted(machine)
    out = m.command("unload log_sink")
    check("cannot unload: used by hello, ticker" in out, "unload of a used cell: %r" % out)
    check("log_sink@1" in m.command("cells"), "log_sink gone after a refused unload")
    check("nano_core cannot be unloaded" in m.command("unload nano_core"), "nano_core unload")


def test_load_call_unload_load_again(machine):
    m = booted(machine)
    check("unloaded hello" in m.command("unload hello"), "unload hello")
    check("hello@1" not in m.command("cells"), "hello still listed")
    check("no loaded cell named 'hello'" in m.command("call hello hello_main"), "call after unload")
    out = m.command("load hello@1")
    check("loaded hello@1" in out and "hello from a cell" in out, "reload of hello: %r" % out)
    check("returned 42" in m.command("call hello hello_main"), "call after reload")


def refused(machine, ref, message):
    m = booted(machine)
    before = m.command("cells")
    out = m.command("load " + ref)
    check(message in out, "load %s said %r, want %r" % (ref, out, message))
    check(m.command("cells") == before, "cells changed after a refused load")
    return m


def test_refuse_state_spill(machine):
    refused(machine, "bad_spill@1", "state spill: 'counter'")


def test_refuse_grant_violation(machine):
    refused(machine, "bad_grant@1", "'hal_outb' needs grant 'port_io', which bad_grant was not given")


def test_refuse_unresolved_symbol(machine):
    refused(machine, "bad_undef@1", "undefined symbol 'no_such_function'")


def test_refuse_duplicate_symbol(machine):
    refused(machine, "bad_dup@1", "duplicate symbol 'sink_log' (defined in log_sink and bad_dup)")


def test_load_bad_arguments(machine):
    m = booted(machine)
    check("usage: load NAME@VERSION" in m.command("load hello"), "load without version")
    check("no nope@1 in cells.manifest" in m.command("load nope@1"), "load of an unknown cell")
    check("already loaded" in m.command("load hello@1"), "double load")
    check("usage: syms CELL" in m.command("syms"), "syms without a cell")
    check("usage: deps CELL" in m.command("deps a b"), "deps with two cells")
    check("usage: unload NAME" in m.command("unload"), "unload without a name")


def test_refuse_guarded_test_hook(machine):
    # state_db guards statedb_set_fail_point with test_hooks (cells.manifest):
    # the same object loads only under the entry that grants it.
    m = refused(machine, "bad_hook@1",
                "symbol 'statedb_set_fail_point' needs grant 'test_hooks', which bad_hook was not given")
    check("loaded hook_user@1" in m.command("load hook_user@1"), "hook_user@1 (granted test_hooks) refused")
    check("-> state_db:statedb_set_fail_point" in m.command("deps hook_user"), "hook_user's import not recorded")
