"""nano_core's ops table: typed registration, and swaps that would empty a required slot."""
import re
from delos import check


def slot_line(m, slot):
    out = m.command("ops")
    found = re.search(r"^%s\s.*$" % re.escape(slot), out, re.M)
    check(found, "no slot %s in 'ops': %r" % (slot, out))
    return found.group(0)


def test_ops_table_lists_every_slot_and_holder(machine):
    m = machine()
    m.boot()
    out = m.command("ops")
    for slot, holder in (("irq_route", "dispatch:dispatch_irq"), ("irq_exit", "tasks:tasks_irq_exit"),
                         ("idle_next", "tasks:tasks_idle_next"), ("task_end", "tasks:tasks_end_faulted"),
                         ("state_begin", "state_db:sdb_txn_begin_swap"), ("fault_handler", "faults:faults_on_fault"),
                         ("console_owner", "shell:shell_main"), ("console_command", "kcmds:kcmds_run")):
        check(re.search(r"^%s\s.*%s$" % (slot, re.escape(holder)), out, re.M),
              "slot %s is not held by %s: %r" % (slot, holder, out))


def test_ops_wrong_type_tag_refused(machine):
    m = machine()
    m.boot()
    before = slot_line(m, "irq_route")
    check("cells: loaded ops_probe@1" in m.command("load ops_probe@1"), "ops_probe did not load")
    out = m.command("call ops_probe ops_probe_wrong_tag")
    check("returned -2" in out, "a wrong tag was not refused with OPS_E_TYPE: %r" % out)
    check(re.search(r"ops: slot irq_route wants type 02495251, not 02495845 "
                    r"\(ops_probe:ops_probe_route\); refused", out), "no message naming the tags: %r" % out)
    out = m.command("call ops_probe ops_probe_old_version")
    check("returned -2" in out and "not 01495251" in out, "an old table version's tag: %r" % out)
    out = m.command("call ops_probe ops_probe_no_slot")
    check("returned -1" in out and "ops: no slot" in out, "a slot past the table: %r" % out)
    check(slot_line(m, "irq_route") == before, "a refused registration changed irq_route")
    # IRQs still reach dispatch: the serial line's input still arrives (the command runs).
    check("returned 42" in m.command("call hello hello_main"), "the console stopped after the refusals")


def test_swap_refused_when_a_required_ops_slot_would_empty(machine):
    m = machine()
    m.boot()
    before = slot_line(m, "irq_route")
    out = m.command("swap dispatch@1 dispatch@9")
    check("swap refused: it would leave the required ops slot irq_route empty: dispatch@9 does not "
          "export dispatch_irq" in out, "the swap was not refused naming the slot: %r" % out)
    check("swap refused at step 'check'; nothing changed" in out, "not refused at the check: %r" % out)
    check(re.search(r"^dispatch@1\s", m.command("cells"), re.M), "dispatch@1 is no longer loaded")
    check(slot_line(m, "irq_route") == before, "the refused swap changed irq_route")
    check("dispatch@1 -> dispatch@9: swap refused" in m.command("swaps"), "the refusal is not logged")
    # The same slot follows a swap that keeps its symbol.
    check("swap: done" in m.command("swap dispatch@1 dispatch@1"), "a fresh copy of dispatch was refused")
    check(slot_line(m, "irq_route") == before, "irq_route does not follow the swap")
    check("returned 42" in m.command("call hello hello_main"), "IRQs no longer reach dispatch")


def test_swap_console_commands_cell_live(machine):
    """The commands cell is an ordinary cell: swapped live from the shell, its slot follows."""
    m = machine()
    m.boot()
    before = slot_line(m, "console_command")
    out = m.command("swap kcmds@1 kcmds@1")
    check(re.search(r"swap: done in \d+ us", out), "kcmds@1 was not swapped: %r" % out)
    check(slot_line(m, "console_command") == before, "console_command did not follow the swap")
    check("owners: " in m.command("mem"), "mem does not answer after the swap")
    check("kcmds@1 -> kcmds@1: ok" in m.command("swaps"), "the swap is not in the log")
    # load and unload are the shell's own: kcmds can go and come back.
    check("unloaded kcmds" in m.command("unload kcmds"), "kcmds could not be unloaded")
    check("served by kcmds:kcmd_cells, which is not loaded" in m.command("cells"),
          "a command of the unloaded cell did not say so")
    check("cells: loaded kcmds@1" in m.command("load kcmds@1"), "kcmds could not be loaded again")
    check(slot_line(m, "console_command") == before, "console_command is not filled again")


def test_unload_refused_when_the_cell_holds_a_required_ops_slot(machine):
    """state_db alone (no cell uses it, so only its slots stand in the way) may not be unloaded."""
    m = machine(args="cells=none")
    m.boot()
    check("cells: loaded state_db@1" in m.command("load state_db@1"), "state_db did not load")
    check("cells: loaded kcmds@1" in m.command("load kcmds@1"), "kcmds did not load")
    before = m.command("ops")
    out = m.command("unload state_db")
    check("cells: state_db holds the required ops slot state_begin (state_db:sdb_txn_begin_swap): "
          "not unloaded, nothing changed" in out, "the unload was not refused naming the slot: %r" % out)
    check(re.search(r"^state_db@1\s", m.command("cells"), re.M), "state_db@1 is no longer loaded")
    check(m.command("ops") == before, "the refused unload changed the ops table")
    # A cell that holds only an optional slot (console_command) still unloads.
    check("cells: unloaded kcmds" in m.command("unload kcmds"), "kcmds could not be unloaded")
