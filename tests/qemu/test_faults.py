"""Faults: in nano_core (`fault KIND`) they halt with a full report; in a cell they are
contained where they happen and the cell is recovered by its manifest policy."""
import re
import time
from delos import check, TestFailure, PROMPT


def healthy(m):
    """What must hold after every fault test: memory, every record's checksum, a cell call."""
    out = m.command("mem")
    check("check ok" in out and "none leaked, ok" in out, "mem: %r" % out)
    out = m.command("state")
    rows = [l for l in out.splitlines() if re.match(r"^\S+\s+[0-9a-f]{8}\s", l)]
    check(rows and all(l.split()[-1] == "ok" for l in rows), "state checksums: %r" % out)
    check("returned 42" in m.command("call hello hello_main"), "hello_main does not answer 42")


def contained(test):
    """Marks a test of a fault in a cell: after it, every machine it booted (and left
    running) must be healthy; a test that boots none fails. Delos must not halt."""
    def run(machine):
        booted = []

        def factory(**kw):
            m = machine(**kw)
            booted.append(m)
            return m
        test(factory)
        check(booted, "%s booted no machine" % test.__name__)
        for m in booted:
            check(m.proc.poll() is None, "QEMU ended: Delos halted or exited")
            check("PANIC" not in m.transcript and "halted." not in m.transcript,
                  "nano_core halted after a fault in a cell")
            healthy(m)
    run.__name__, run.__doc__ = test.__name__, test.__doc__
    return run


def fault(machine, kind, vector, name, symbol):
    """A fault in nano_core's own code still halts, with the full report."""
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


@contained
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


# Faults in cells (cells/faults/faults.h). The injector (tests/cells/inject) writes a
# ud2 over the first instruction of a cell's function through text_poke.


def poll(m, line, pattern, timeout=30):
    """Runs a command until its output matches (guest progress, not a clock). The
    recovery task's log lines may split the echo of what is typed, so only the prompt
    after the command is waited for."""
    deadline = time.monotonic() + timeout
    while True:
        start = len(m.transcript)
        m.send(line + "\r")
        end = m.expect(re.escape(PROMPT), timeout).start()
        found = re.search(pattern, m.transcript[max(start, 0):end], re.M)
        if found:
            return found
        if time.monotonic() > deadline:
            raise TestFailure("%r never printed %r; last: %r" % (line, pattern, m.transcript[start:end]))


def task_blocks(m):
    """(live, freed): cells' heap blocks held by tasks now, and freed with an ended task's frames."""
    found = re.search(r"task blocks: (\d+) live .*, (\d+) freed", m.command("mem"))
    check(found, "mem does not count task blocks")
    return int(found.group(1)), int(found.group(2))


def booted_with_injector(machine):
    m = machine()
    m.boot()
    check("loaded inject@1" in m.command("load inject@1"), "load inject@1")
    return m


def operations(m):
    return int(poll(m, "work status", r"work: (\d+) operations").group(1))


def workload_goes_on_clean(m, after):
    """The workload does four more operations after `after`, then stops with no error and
    verifies every file."""
    before = operations(m)
    deadline = time.monotonic() + 30
    while operations(m) < before + 4:
        check(time.monotonic() < deadline, "the workload does not go on after %s" % after)
    out = m.command("work stop")
    check(re.search(r"stopped after \d+ operations, 0 errors", out), "work stop: %r" % out)
    out = m.command("work verify")
    check(re.search(r"work: verify: [1-9]\d* files checked, 0 mismatches", out), "verify: %r" % out)


@contained
def test_fault_ramfs_read_under_workload(machine):
    """ud2 at ramfs_read while the workload runs: ramfs is charged and reloaded, the
    worker is ended and restarted by workload's policy, and nothing is lost."""
    m = booted_with_injector(machine)
    held = task_blocks(m)
    check("loaded workload@1" in m.command("load workload@1"), "load workload@1")
    check("started 2 workers" in m.command("work start"), "work start")
    poll(m, "work status", r"work: [1-9]\d* operations")
    check("ud2 at ramfs:ramfs_read" in m.command("inject ramfs ramfs_read ud2"), "inject")
    line = poll(m, "faults", r"^ +1 .*$").group(0)
    check("ramfs task" in line and " task: #UD invalid opcode at ramfs:ramfs_read+0x0" in line,
          "fault 1 not charged to ramfs in task context: %r" % line)
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    check("reload ramfs@1 -> ramfs@1" in line and "restarted" in line, "fault 1: %r" % line)
    workload_goes_on_clean(m, "the reload")
    check("MISMATCH" not in m.transcript, "the workload saw a mismatch")
    # The ended workers' I/O buffers went with their frames: none is left held.
    live, freed = task_blocks(m)
    check(live == held[0] and freed >= 2, "task blocks: %d live (%d before), %d freed" % (live, held[0], freed))


@contained
def test_fault_shell_command_path_escalates(machine):
    """ud2 in shell_execute: the shell task is ended and restarted, the prompt returns;
    the same fault again within the window escalates to a reload, which repairs it."""
    m = booted_with_injector(machine)
    check("ud2 at shell:shell_execute" in m.command("inject shell shell_execute ud2"), "inject")
    m.send("help\r")
    m.expect(r"faults: #1 #UD invalid opcode in shell:shell_execute\+0x0 \(task", 20)
    m.expect(r"delos> ", 20)
    m.send("help\r")
    m.expect(r"faults: #2 #UD invalid opcode in shell:shell_execute\+0x0 \(task", 20)
    m.expect(r"faults: #2 reload shell@1 -> shell@1", 20)
    out = m.command("faults")
    check(re.search(r"^ +1 .*task: #UD.*restart shell@1 \(1 tasks\); recovered", out, re.M),
          "fault 1 was not a restart: %r" % out)
    check(re.search(r"^ +2 .*reload shell@1 -> shell@1; recovered", out, re.M),
          "fault 2 did not escalate to a reload: %r" % out)
    check("ls" in m.command("help"), "the reloaded shell does not answer")
    out = m.command("faults -v 2")
    check("RIP " in out and "backtrace:" in out and "<shell:shell_execute+0x0>" in out,
          "faults -v 2: %r" % out)


@contained
def test_fault_serial_irq_path(machine):
    """ud2 in serial's IRQ handler: the route is abandoned, its line masked, serial
    reloaded and the line unmasked; typing works again."""
    m = booted_with_injector(machine)
    m.send("inject serial serial_irq ud2\r")
    m.expect(r"faults: #1 #UD invalid opcode in serial:serial_irq\+0x0 \(irq", 20)
    m.expect(r"faults: #1 reload serial@1 -> serial@1; IRQ 4 unmasked", 20)
    poll(m, "faults", r"^ +1 .* irq: #UD .*IRQ 4 unmasked; recovered in \d+ us$")
    poll(m, "faults", r"\A(?![\s\S]*recovering$)")   # every fault of the incident dealt with


@contained
def test_fault_in_cell_init_refuses_the_load(machine):
    m = machine()
    m.boot()
    cells = m.command("cells")
    window = re.search(r"cell window: .*", m.command("mem")).group(0)
    out = m.command("load bad_init@1")
    check("cell_init raised #UD invalid opcode" in out and "unloading it" in out, "load: %r" % out)
    poll(m, "faults", r"^ +1 .* init: #UD .*load refused in \d+ us$")
    check(m.command("cells") == cells, "the refused load left a cell behind")
    check(re.search(r"cell window: .*", m.command("mem")).group(0) == window,
          "the refused load left cell-window pages behind")
    check("bad_init" not in m.command("state"), "the refused load left records behind")


@contained
def test_fault_in_swap_in_hook_rolls_back(machine):
    m = machine()
    m.boot()
    out = m.command("swap hello@1 hello@8")
    check("raised #UD invalid opcode" in out and "nothing changed" in out, "swap: %r" % out)
    poll(m, "faults", r"^ +1 .* hook: #UD .*swap rolled back in \d+ us$")
    check(re.search(r"^hello@1 ", m.command("cells"), re.M), "hello@1 is not live after the roll-back")


@contained
def test_fault_repeated_escalates_restart_reload_fallback(machine):
    """hello@1 (restart, fallback=hello@2): the same fault again within the window goes
    restart -> reload (which repairs the injected ud2) -> fallback to hello@2."""
    m = booted_with_injector(machine)

    def fault_once(n, step):
        m.command("inject hello hello_main ud2")
        check("raised #UD invalid opcode" in m.command("call hello hello_main"), "no fault %d" % n)
        return poll(m, "faults", r"^ +%d .*; %s.*; recovered in \d+ us$" % (n, step)).group(0)

    line = fault_once(1, re.escape("restart hello@1 (0 tasks)"))
    check(" command: #UD invalid opcode at hello:hello_main+0x0" in line, "fault 1: %r" % line)
    check("raised #UD" in m.command("call hello hello_main"), "a restart does not repair text")
    poll(m, "faults", r"^ +2 .*; reload hello@1 -> hello@1; recovered in \d+ us$")
    check("returned 42" in m.command("call hello hello_main"), "the reload did not repair hello")
    fault_once(3, re.escape("fallback hello@1 -> hello@2"))
    check("returned 43" in m.command("call hello hello_main"), "hello@2 is not live after the fallback")
    check("swap: done" in m.command("swap hello@2 hello@1"), "swap back to hello@1")


@contained
def test_fault_raised_by_code_panic_smash_overflow(machine):
    """cell_panic, a stack-protector failure, a stack overflow into the guard page and a
    bad pointer passed to nano_core's memcpy, each in a cell under the console's call:
    charged to the cell, contained, reloaded."""
    m = machine()
    m.boot()
    check("loaded panicky@1" in m.command("load panicky@1"), "load panicky@1")
    cases = [("panicky_panic", r"panicky: the answer is not 42 at panicky:panicky_panic\+0x"),
             ("panicky_smash", r"stack-protector: stack smashing detected at panicky:panicky_smash\+0x"),
             ("panicky_overflow", r"stack overflow \(rsp [0-9a-f]{16}\) at panicky:recurse\+0x"),
             # nano_core's memcpy handed a bad pointer: the caller's fault, not nano_core's
             ("panicky_bad_memcpy", r"#PF page fault in nano_core's memcpy\+0x[0-9a-f]+, passed a bad "
                                    r"argument at panicky:panicky_bad_memcpy\+0x")]
    for n, (fn, kind) in enumerate(cases, 1):
        out = m.command("call panicky " + fn)
        check("the call was abandoned" in out, "%s was not contained: %r" % (fn, out))
        line = poll(m, "faults", r"^ +%d .*recovered in \d+ us$" % n).group(0)
        check(re.search(r"panicky task \d+ 'shell' command: " + kind, line), "fault %d: %r" % (n, line))
        check("reload panicky@1 -> panicky@1" in line, "fault %d not reloaded: %r" % (n, line))


@contained
def test_fault_hang_with_interrupts_on(machine):
    """An endless loop at ramfs_read while the workload runs: the watchdog ends the
    worker after ramfs's bound, ramfs is reloaded (repaired), the worker restarted."""
    m = booted_with_injector(machine)
    check("loaded workload@1" in m.command("load workload@1"), "load workload@1")
    check("started 2 workers" in m.command("work start"), "work start")
    poll(m, "work status", r"work: [1-9]\d* operations")
    check("loop at ramfs:ramfs_read" in m.command("inject ramfs ramfs_read loop"), "inject")
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    check(re.search(r"ramfs task \d+ 'work\d' task: hang: \d+ ms in ramfs without a switch at "
                    r"ramfs:ramfs_read\+0x0; reload ramfs@1 -> ramfs@1; task \d+ restarted", line),
          "fault 1: %r" % line)
    poll(m, "faults", r"^ +2 .*recovered in \d+ us$")   # the other worker, same incident
    workload_goes_on_clean(m, "the hang")


@contained
def test_fault_tries_run_out_cell_marked_failed(machine):
    """hello (tries=5): the sixth fault in one episode marks it failed; it is left alone,
    its callers are still contained, nothing halts."""
    m = booted_with_injector(machine)
    for n in range(1, 7):
        m.command("inject hello hello_main ud2")
        check("raised #UD invalid opcode" in m.command("call hello hello_main"), "no fault %d" % n)
        line = poll(m, "faults", r"^ +%d .*; (recovered|cell failed) in \d+ us$" % n).group(0)
    check("gave up after 5 tries; cell failed" in line, "fault 6: %r" % line)
    check("raised #UD invalid opcode" in m.command("call hello hello_main"), "the failed cell was repaired")
    check("cell failed" in poll(m, "faults", r"^ +7 .*in \d+ us$").group(0), "fault 7 not left alone")
    check("swap: done" in m.command("swap hello@2 hello@1"), "a failed cell can still be swapped")


@contained
def test_fault_hang_with_interrupts_off_in_a_task(machine):
    """cli and an endless loop at ramfs_read while the workload runs: no interrupt
    arrives, so only the NMI watchdog sees it; the worker is ended, ramfs reloaded
    (repaired), the worker restarted, and nothing the workload wrote is lost."""
    m = booted_with_injector(machine)
    check("NMI watchdog from the RTC" in m.transcript, "no NMI watchdog at boot")
    check("loaded workload@1" in m.command("load workload@1"), "load workload@1")
    check("started 2 workers" in m.command("work start"), "work start")
    poll(m, "work status", r"work: [1-9]\d* operations")
    check("cliloop at ramfs:ramfs_read" in m.command("inject ramfs ramfs_read cliloop"), "inject")
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    check(re.search(r"ramfs task \d+ 'work\d' task: hang \(interrupts off\): \d+ ms in ramfs at "
                    r"ramfs:ramfs_read\+0x1; reload ramfs@1 -> ramfs@1; task \d+ restarted", line),
          "fault 1: %r" % line)
    out = m.command("faults -v 1")
    check(re.search(r"^vector 2,", out, re.M) and re.search(r"RFLAGS [0-9a-f]{13}[0-7][0-9a-f]{2} ", out),
          "fault 1 is not the NMI's, with interrupts off, in its register dump: %r" % out)
    workload_goes_on_clean(m, "the hang")


@contained
def test_fault_hang_with_interrupts_off_under_call(machine):
    """irqoff_spin turns interrupts off and loops under the console's call: the NMI
    watchdog abandons the call after irqoff's bound (watchdog=500), the caller's
    interrupt flag is as it was, and the timer ticks again."""
    m = machine()
    m.boot()
    check("loaded irqoff@1" in m.command("load irqoff@1"), "load irqoff@1")
    out = m.command("call irqoff irqoff_spin")
    check("raised NMI" in out and "the call was abandoned" in out, "the spin was not abandoned: %r" % out)
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    ms = int(re.search(r"command: hang \(interrupts off\): (\d+) ms in irqoff at irqoff:irqoff_spin\+0x",
                       line).group(1))
    check(ms >= 500, "caught after %d ms, before irqoff's bound of 500 ms" % ms)
    check("reload irqoff@1 -> irqoff@1" in line, "irqoff not reloaded: %r" % line)
    check("returned 1" in m.command("call irqoff irqoff_enabled"), "interrupts left off by the hang")
    check("returned 1" in m.command("call irqoff irqoff_tick_seen"), "no timer tick after the hang")


@contained
def test_fault_missed_heartbeat_restarts_the_task(machine):
    """beater (heartbeat=300, recovery=restart) stops beating: its task waits on a
    channel nobody posts, which no other watchdog sees. The miss is charged to
    beater, its task is restarted at its entry, and it beats again. In -icount
    guest time, so that a loaded host cannot make a healthy beat late."""
    m = machine(icount=True)
    m.boot()
    check("loaded beater@1" in m.command("load beater@1"), "load beater@1")
    poll(m, "call beater beater_beats", r"returned [1-9]\d*")
    check("returned 0" in m.command("call beater beater_stall"), "beater_stall")
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    check(re.search(r"beater task -1 '-' heartbeat: hang: no heartbeat for \d+ ms \(period 300 ms\) "
                    r"at beater:\(no heartbeat\)\+0x0; restart beater@1 \(1 tasks\); recovered", line),
          "fault 1: %r" % line)
    beats = int(re.search(r"returned (\d+)", m.command("call beater beater_beats")).group(1))
    poll(m, "call beater beater_beats", r"returned (?!%d\b)\d+" % beats)
    check("faults: 1 logged" in m.command("faults"), "the restarted task missed its beat again")

    healthy(m)


def test_fault_with_non_canonical_frame_pointer(machine):
    """A fault in a cell whose rbp is non-canonical (a corrupted address computation):
    the report's frame walk stops there instead of taking a #GP inside the containment."""
    m = machine()
    m.boot()
    check("loaded panicky@1" in m.command("load panicky@1"), "load panicky@1")
    out = m.command("call panicky panicky_bad_rbp")
    check("the call was abandoned" in out, "not contained: %r" % out)
    check("EXCEPTION" not in m.transcript, "nano_core reported an exception of its own")
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    check(re.search(r"#UD invalid opcode at panicky:panicky_bad_rbp\+0x", line), "fault 1: %r" % line)
    healthy(m)


def test_fault_overflow_whose_handler_overflows(machine):
    """A stack overflow in a cell whose containment overflows a stack again (the faults
    cell's handler now calls itself): the second overflow is the fault handler's, caught;
    nano_core logs the first one itself and goes on."""
    m = booted_with_injector(machine)
    check("loaded panicky@1" in m.command("load panicky@1"), "load panicky@1")
    check("recurse at faults:faults_on_fault" in m.command("inject faults faults_on_fault recurse"), "inject")
    out = m.command("call panicky panicky_overflow")
    check("the call was abandoned" in out, "not contained: %r" % out)
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript,
          "nano_core went down: %r" % m.transcript[-1500:])
    check(re.search(r"fault: the fault handler \(faults\) raised #DF double fault", m.transcript),
          "the handler's own overflow was not caught")
    check(re.search(r"fault: stack overflow \(rsp [0-9a-f]{16}\) in panicky@1 at recurse\+0x", m.transcript),
          "nano_core did not log the first overflow itself")
    check("returned 42" in m.command("call hello hello_main"), "hello_main does not answer 42")


def test_fault_call_to_no_code_is_the_callers(machine):
    """A cell calls through a pointer to no code (RIP 0x10, in neither nano_core nor a
    cell): the return address on the stack is the cell's, so the fault is charged to it."""
    m = machine()
    m.boot()
    check("loaded panicky@1" in m.command("load panicky@1"), "load panicky@1")
    out = m.command("call panicky panicky_call_nowhere")
    check("the call was abandoned" in out, "not contained: %r" % out)
    check("PANIC" not in m.transcript, "nano_core went down")
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    check(re.search(r"#PF page fault at panicky:panicky_call_nowhere\+0x", line), "fault 1: %r" % line)
    healthy(m)


def test_fault_watchdog_boot_argument_refused(machine):
    """A bad watchdog=CELL:MS boot argument is reported, naming what is wrong, and
    ignored whole: no bound of it is applied."""
    for arg, why in (("ramfs:50,nosuch:10", "no cell 'nosuch' in the manifest"),
                     ("ramfs:5x", "ramfs: the bound is not a number of ms"),
                     ("ramfs", "'ramfs' is not CELL:MS"),
                     ("ramfs:10,ramfs:20", "'ramfs' is named twice"),
                     ("ramfs:600001", "ramfs: the bound is above 600000 ms")):
        m = machine(args="watchdog=" + arg)
        m.boot()
        check(re.search(r"watchdog: watchdog=%s ignored: %s; want watchdog=CELL:MS" % (
            re.escape(arg), re.escape(why)), m.transcript), "watchdog=%s not refused as %r" % (arg, why))
        check("bound 10 ms" not in m.transcript and "bound 50 ms" not in m.transcript,
              "watchdog=%s was applied in part" % arg)
        m.close()


@contained
def test_fault_watchdog_boot_argument(machine):
    """watchdog=CELL:MS replaces the manifest's bound (ramfs: 1000 ms): a loop at
    ramfs_read is a hang after ~50 ms, and the NMI watchdog samples fast enough for it."""
    m = machine(args="watchdog=ramfs:50,serial:0")
    m.boot()
    check("watchdog: ramfs's bound 50 ms (watchdog= on the command line)" in m.transcript, "bound not taken")
    check(re.search(r"NMI watchdog from the RTC at 128 Hz", m.transcript), "NMI rate not raised for 50 ms")
    check("loaded inject@1" in m.command("load inject@1"), "load inject@1")
    check("loaded workload@1" in m.command("load workload@1"), "load workload@1")
    check("started 2 workers" in m.command("work start"), "work start")
    poll(m, "work status", r"work: [1-9]\d* operations")
    check("loop at ramfs:ramfs_read" in m.command("inject ramfs ramfs_read loop"), "inject")
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    ms = int(re.search(r"hang: (\d+) ms in ramfs", line).group(1))
    check(50 <= ms < 200, "hang found after %d ms, bound 50: %r" % (ms, line))
    poll(m, "faults", r"^ +2 .*recovered in \d+ us$")
    m.command("work stop")


@contained
def test_fault_recovery_boot_argument(machine):
    """recovery=hello:reload replaces hello@1's manifest policy (restart): its first
    fault is reloaded, which repairs the injected ud2; a policy for another cell and
    one that is no policy change nothing of hello's."""
    m = machine(args="recovery=ticker:none,hello:reload,hello:bogus")
    m.boot()
    check("loaded inject@1" in m.command("load inject@1"), "load inject@1")
    m.command("inject hello hello_main ud2")
    check("raised #UD invalid opcode" in m.command("call hello hello_main"), "no fault")
    poll(m, "faults", r"^ +1 .*; reload hello@1 -> hello@1; recovered in \d+ us$")
    check("returned 42" in m.command("call hello hello_main"), "the reload did not repair hello")


@contained
def test_fault_in_the_scheduling_policy_is_contained(machine):
    """ud2 at sched_rr's sched_switch, which every switch calls (at interrupt exit, and
    ending a task): each such call is a contained call of the tasks cell, the fault charged
    to sched_rr in 'call' context, the switch falls back to the next ready task until
    sched_rr is reloaded, and the workload goes on clean."""
    m = booted_with_injector(machine)
    check("loaded workload@1" in m.command("load workload@1"), "load workload@1")
    check("started 2 workers" in m.command("work start"), "work start")
    poll(m, "work status", r"work: [1-9]\d* operations")
    check("ud2 at sched_rr:sched_switch" in m.command("inject sched_rr sched_switch ud2"), "inject")
    line = poll(m, "faults", r"^ +1 .*recovered in \d+ us$").group(0)
    check(re.search(r"sched_rr task -?\d+ '[^']*' call: #UD invalid opcode at sched_rr:sched_switch\+0x0; "
                    r"reload sched_rr@1 -> sched_rr@1", line), "fault 1: %r" % line)
    workload_goes_on_clean(m, "the policy's fault")
