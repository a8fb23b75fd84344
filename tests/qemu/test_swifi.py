"""The fault injector, swifi@1 (cells/swifi/swifi.h): `fault inject CELL KIND [seed=N]
[after=Nms|Ncalls]`, `fault list`, `fault clear`. Sites come from a build-time table of the
target's own instructions; the same seed on the same build gives the same site and mutation;
each kind manifests on a cell the workload uses (ramfs@1); refusals change nothing."""
import os
import re
import subprocess
from delos import check, swifi_seed, TestFailure, until

ARMED = (r"swifi: armed id=(?P<id>\d+) kind=(?P<kind>\S+) cell=(?P<cell>\S+) site=(?P<site>\S+\+0x[0-9a-f]+) "
         r"addr=0x(?P<addr>[0-9a-f]+) old=(?P<old>\S+) new=(?P<new>\S+) insn=\"(?P<insn>[^\"]*)\" "
         r"seed=(?P<seed>\d+) after=(?P<after>\S+)")

# Seeds that manifest under `work` on this build's ramfs@1 (under -icount, so a run is
# deterministic), found once by trying seeds in a loop: each was reached by the workload, and what it caused is the second field:
#   fault  a fault the faults cell logged and recovered (charged to ramfs, or to the cell
#          that ramfs handed the corrupted value to);
#   data   wrong data the workload saw (its MISMATCH line): no CPU fault, a silent corruption
#          as far as the faults cell knows (ramfs returns errors, or wrong bytes);
#   sum    state_db's checksum caught the corrupted record;
#   heap   the wild write went to an address inside the kernel heap. Whether anything
#          notices depends on what lived there: this seed's write was caught by state_db's
#          checksum in one run, read back in another, and overwritten first in a third
#          (console input reaches the guest at different guest times), so only where it
#          went is asserted.
# (hang at 119 lands in ramfs_write's prologue, where interrupts are on: a hang inside
# ramfs's interrupts-off sections is a different experiment.)
# A change to ramfs's code moves its sites and may call for new seeds; the test says which
# kind no longer manifests.
# One boot per group, the faults in order (each found in that order from a fresh boot).
FAULT_KINDS = [[("text", 1), ("panic", 2), ("stack", 2), ("ptr", 1), ("src", 31), ("dst", 1244),
                ("hang", 119)], [("iface", 4)]]
DATA_KINDS = [("loop", 2, "data"), ("branch", 6, "data"), ("nop", 6, "data"),
              ("record", 4, "sum"), ("wild", 6, "heap")]

HEAP_BASE = 0xffffc00000000000  # include/delos/kernel.h


def booted(machine, *cells, args="", icount=False):
    m = machine(args=args, icount=icount)
    m.boot()
    for c in cells:
        out = m.command("load %s" % c)
        check("loaded %s" % c in out, "load %s: %r" % (c, out))
    return m


def arm(m, line):
    out = m.command(line)
    a = re.search(ARMED, out)
    check(a, "%s: not armed: %r" % (line, out))
    return a


def inject(m, line):
    """Sends a `fault inject` line without waiting for the prompt (the fault may
    fire and be reported before it comes back); returns the mark taken before it,
    for expects that look back, and the ARMED match."""
    mark = m.mark()
    m.send(line + "\r")
    return mark, m.expect(ARMED, 30, since=mark)


def monitor_byte(m, addr):
    """The byte at a virtual address, read by QEMU's monitor (`x`)."""
    out = m.monitor("x /1xb 0x%s" % addr)
    v = re.search(r"[0-9a-f]+:\s+0x([0-9a-f]{2})", out)
    check(v, "monitor x: %r" % out)
    return v.group(1)


def test_swifi_same_seed_same_site_two_boots(machine):
    """Two separate boots, same build, same seeds: the same sites and mutations."""
    lines = []
    for _ in range(2):
        m = booted(machine, "swifi@1")
        got = []
        for kind, seed in (("text", 7), ("src", 7), ("iface", 3), ("branch", 11), ("nop", 1234)):
            a = arm(m, "fault inject ramfs %s seed=%d" % (kind, seed))
            got.append({k: a.group(k) for k in ("kind", "site", "addr", "old", "new", "insn", "seed")})
            check("swifi: cleared 1 fault" in m.command("fault clear"), "fault clear")
        lines.append(got)
        m.close()
    check(lines[0] == lines[1], "the same seeds chose differently:\n%r\n%r" % tuple(lines))
    check(len({g["site"] for g in lines[0]}) > 1, "every kind chose the same site: %r" % lines[0])


def test_swifi_seeds_spread_and_sites_are_the_cells_own(machine):
    """Different seeds choose different sites, each inside the target cell's own text, its
    int3 in place while armed; `fault clear` takes it out again."""
    m = booted(machine, "swifi@1")
    syms = m.command("syms ramfs")
    sites, olds = set(), {}
    for seed in range(1, 9):
        a = arm(m, "fault inject ramfs text seed=%d" % seed)
        sym = a.group("site").split("+")[0]
        check(re.search(r"\b%s\b" % re.escape(sym), syms), "site %s is not a ramfs symbol" % sym)
        old, new = bytes.fromhex(a.group("old")), bytes.fromhex(a.group("new"))
        check(len(old) == len(new) and sum(bin(x ^ y).count("1") for x, y in zip(old, new)) == 1,
              "text is not one bit flip: %s -> %s" % (a.group("old"), a.group("new")))
        check(monitor_byte(m, a.group("addr")) == "cc", "no int3 at the armed site %s" % a.group("site"))
        sites.add(a.group("site"))
        olds[a.group("addr")] = a.group("old")[:2]
        check("swifi: cleared 1 fault" in m.command("fault clear"), "fault clear")
    check(len(sites) >= 6, "8 seeds chose only %d sites: %r" % (len(sites), sites))
    for addr, byte in olds.items():
        check(monitor_byte(m, addr) == byte, "fault clear left the probe at 0x%s" % addr)


def test_swifi_refusals_change_nothing(machine):
    m = booted(machine)
    check("needs the fault injector: load swifi@1" in m.command("fault inject ramfs text"),
          "fault inject without the injector")
    check("loaded swifi@1" in m.command("load swifi@1"), "load swifi@1")
    for line, why in (("fault inject nosuch text", "cell 'nosuch' is not loaded"),
                      ("fault inject ramfs bogus", "unknown kind 'bogus'"),
                      ("fault inject ramfs text seed=12x", "bad seed '12x'"),
                      ("fault inject ramfs text seed=99999999999999999999", "bad seed"),
                      ("fault inject ramfs text after=5s", "bad after '5s'"),
                      ("fault inject ramfs text seed=1 seed=2", "unexpected 'seed=2'"),
                      ("fault inject hello loop", "no sites of kind loop in hello"),
                      ("fault inject swifi text", "does not inject into itself"),
                      ("fault inject nano_core text", "needs the test cell inject@1"),
                      ("fault inject workload record", "cell 'workload' is not loaded")):
        out = m.command(line)
        check("swifi: refused: " in out and why in out, "%s: %r" % (line, out))
    check("swifi: 0 faults" in m.command("fault list"), "a refusal left a fault behind")
    check("loaded inject@1" in m.command("load inject@1"), "load inject@1")
    out = m.command("fault inject nano_core src")
    check("swifi: refused: nano_core takes only" in out, "nano_core src: %r" % out)
    check("swifi: 0 faults" in m.command("fault list"), "a refusal left a fault behind")
    # The CPU-exception kinds are still nano_core's.
    m.send("fault ud\r")
    m.expect(r"\*\*\* EXCEPTION 6 #UD invalid opcode", 20)


def test_swifi_unload_and_swap(machine):
    """A swap of swifi keeps its armed probes; its unload takes them out."""
    m = booted(machine, "swifi@1")
    a = arm(m, "fault inject ramfs text seed=5 after=3calls")
    check(a.group("after") == "3calls", "after: %r" % a.group(0))
    check(monitor_byte(m, a.group("addr")) == "cc", "no int3 at the armed site")
    check("swap: done" in m.command("swap swifi@1 swifi@1"), "swap swifi@1 swifi@1")
    check(re.search(r"swifi: fault id=1 kind=text .*state=armed", m.command("fault list")),
          "the swap lost the armed fault")
    check("unloaded swifi" in m.command("unload swifi"), "unload swifi")
    check(monitor_byte(m, a.group("addr")) == a.group("old")[:2], "the unload left the probe in ramfs")
    check("needs the fault injector" in m.command("fault list"), "fault list after the unload")


def fire(m, kind, seed):
    """Arms kind at seed in ramfs and waits until the workload reaches it; the armed match."""
    m.send("fault inject ramfs %s seed=%d\r" % (kind, seed))
    a = m.expect(ARMED, 30)
    check(a.group("kind") == kind and a.group("seed") == str(seed), "armed %r" % a.group(0))
    m._pos = a.start()  # the fired log line may land inside the armed line
    f = m.expect(r"swifi: fired id=%s kind=%s cell=ramfs site=%s t=(\d+)\n" %
                 (a.group("id"), kind, re.escape(a.group("site"))), 60)
    return a, int(f.group(1)), f.start()


def guest_us(m):
    return int(re.search(r"(\d+) us of guest time", m.command("uptime")).group(1))


def test_swifi_fault_kinds_manifest_under_the_workload(machine):
    """Each of these kinds, at a known seed, is reached by the workload in ramfs@1 and
    raises a fault that the faults cell logs and recovers. Faults are spaced by more than
    the escalation window (guest time), so each is its own incident."""
    for group in FAULT_KINDS:
        m = booted(machine, "swifi@1", "workload@1", icount=True)
        check("started 2 workers" in m.command("work start"), "work start")
        for kind, seed in group:
            a, t, _ = fire(m, kind, seed)
            f = m.expect(r"faults: #(\d+) ([^\n]*) in (\w+):[^\n]*; recovering\n", 60)
            m.expect(r"faults: #%s [^\n]*: recovered[^\n]* after \d+ us \(\d+ us of backoff\)\n" % f.group(1), 60)
            check("swifi: cleared" in m.command("fault clear"), "fault clear")
            until(lambda: guest_us(m) > t // 1000 + 2500000, "guest time does not pass the window", 60)
        out = m.command("work stop")
        check(re.search(r"stopped after \d+ operations", out), "work stop: %r" % out)
        m.close()


def test_swifi_data_kinds_manifest_under_the_workload(machine):
    """Kinds that corrupt data rather than crash: the workload sees it (or state_db's
    checksum does), only after the fault fired. One boot each: the damage stays."""
    for kind, seed, how in DATA_KINDS:
        m = booted(machine, "swifi@1", "workload@1", icount=True)
        check("started 2 workers" in m.command("work start"), "work start")
        a, t, fired_at = fire(m, kind, seed)
        check("MISMATCH" not in m.transcript[:fired_at] and "fails its checksum" not in m.transcript,
              "%s: the workload saw wrong data before the fault fired" % kind)
        if how == "sum":
            rec = re.match(r"record:(\S+)\+\d+$", a.group("old")).group(1)
            m.expect(r"state_db: record '%s' \(owner \w+\) fails its checksum" % re.escape(rec), 60)
        elif how == "heap":
            addr = int(re.match(r"heap:0x([0-9a-f]+)$", a.group("old")).group(1), 16)
            size = int(re.search(r"heap: size (\d+)", m.command("mem")).group(1))
            check(HEAP_BASE <= addr < HEAP_BASE + size and addr % 8 == 0,
                  "wild: 0x%x is not in the heap (size %d)" % (addr, size))
        else:
            m.expect(r"workload: MISMATCH", 60)
        m.close()


def test_swifi_hang_irqoff_spins_with_interrupts_off(machine):
    """hang-irqoff: the CPU ends up in `jmp .` at the site with IF clear (no watchdog sees
    that; a campaign classifies it as a hang)."""
    m = booted(machine, "swifi@1", "workload@1")
    check("started 2 workers" in m.command("work start"), "work start")
    m.send("fault inject ramfs hang-irqoff seed=%d\r" % HANG_IRQOFF_SEED)
    a = m.expect(ARMED, 30)
    m._pos = a.start()
    m.expect(r"swifi: fired id=%s kind=hang-irqoff" % a.group("id"), 60)
    spin = "%016x" % (int(a.group("addr"), 16) + 1)

    def spinning():
        regs = m.monitor("info registers")
        rip = re.search(r"RIP=([0-9a-f]{16})", regs)
        fl = re.search(r"RFL=([0-9a-f]+)", regs)
        return rip and fl and rip.group(1) == spin and not int(fl.group(1), 16) & 0x200

    until(spinning, "the CPU is not spinning at %s with interrupts off" % spin, 30)


HANG_IRQOFF_SEED = 1


# The known-bad site: the `popq %rbp` before trap_dispatch's `retq` (its return path;
# the other one goes on to a tail call). Deleted (kind nop: a bit flip's effect would
# depend on the bit), the next trap returns through a wrong frame and nano_core panics. The seed
# that picks it is asked of this build's site table (delos.swifi_seed), so a change to
# nano_core's code moves the seed, not the site.
CORE_SITE = ("trap_dispatch", "popq %rbp;retq")


def test_swifi_nano_core_code_fault_takes_it_down(machine):
    """CI's known-bad case: an instruction of nano_core's hot path deleted, through the test
    grant, takes nano_core down (panic=exit ends QEMU with 125)."""
    seed = swifi_seed("nano_core", "nop", *CORE_SITE)
    m = booted(machine, "inject@1", "swifi@1", args="panic=exit")
    m.send("fault inject nano_core nop seed=%d\r" % seed)
    a = m.expect(ARMED, 30)
    check(a.group("cell") == "nano_core", "armed: %r" % a.group(0))
    check(a.group("insn") == CORE_SITE[1].split(";")[0] and a.group("site").startswith(CORE_SITE[0] + "+"),
          "seed %d, which the site table gives for %s, armed another site: %r"
          % (seed, CORE_SITE, a.group(0)))
    m._pos = a.start()
    m.expect(r"swifi: fired id=%s kind=nop cell=nano_core site=%s" % (a.group("id"), re.escape(a.group("site"))), 30)
    code = m.wait_exit(60)
    check(code == 125, "QEMU ended with %r, not nano_core's panic (125)" % code)


def rx_deliver_empty_test():
    """(function, insns) for swifi_seed: the branch in serial's rx_deliver that ends it when
    its queue is empty (a je followed by the load of the byte that was peeked), read from
    this build's object."""
    obj = os.path.join(os.path.dirname(__file__), "..", "..", "build", "out", "kernel", "cell",
                       "serial@1", "cells", "serial", "serial.c.o")
    out = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", "--disassemble-symbols=rx_deliver",
                          obj], capture_output=True, text=True).stdout
    insns = [re.sub(r"\s+", " ", m.group(1)).strip()
             for m in re.finditer(r"^\s*[0-9a-f]+:\s+(.*)$", out, re.M)]
    for a, b in zip(insns, insns[1:]):
        if a.startswith("je ") and b.startswith("movzbl "):
            return "rx_deliver", "%s;%s" % (a, b)
    raise TestFailure("no je before a movzbl in serial's rx_deliver: %r" % insns)


def test_swifi_serial_input_lost_without_a_fault_is_found_by_progress(machine):
    """A branch of serial's rx_deliver inverted: input the UART gave is never posted to the
    shell, and nothing faults or loops. serial's progress heartbeat (progress=100) sees the
    debt unpaid: the hang is charged to serial in context heartbeat, serial is reloaded, its
    cell_swap_done takes the queue up again, and the console answers again."""
    seed = swifi_seed("serial@1", "branch", *rx_deliver_empty_test())
    m = booted(machine, "swifi@1", icount=True)
    a = arm(m, "fault inject serial branch seed=%d" % seed)
    check(a.group("site").startswith("rx_deliver+"), "armed another site: %r" % a.group(0))
    mark = m.mark()
    m.send("uptime\r")
    m.expect(r"swifi: fired id=%s kind=branch cell=serial" % a.group("id"), 30, since=mark)
    m.expect(r"faults: #\d+ hang: no progress on owed work for \d+ ms \(bound 100 ms\) in "
             r"serial:\(no progress\)\+0x0 \(heartbeat, task -1 '-'\)", 60, since=mark)
    m.expect(r"faults: #\d+ reload serial@1 -> serial@1: recovered after \d+ us", 60, since=mark)
    def answers():
        m.send("\r")  # a line the lost input left half typed ends here
        try:
            return "ticks at" in m.command("uptime", 10)
        except TestFailure:
            return False
    until(answers, "the console never answered after serial's reload")
    out = m.command("faults")
    check(re.search(r"serial task -1 '-' heartbeat: hang: no progress on owed work .*"
                    r"reload serial@1 -> serial@1; recovered", out), "faults: %r" % out)
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")


def type_until(m, pattern, since, what, timeout=120):
    """Presses Enter at the console, once a second of waiting, until pattern is printed
    after mark `since`: for a fault whose path runs only when input comes in."""
    def seen():
        m.send("\r")
        try:
            return m.expect(pattern, 1, since=since)
        except TestFailure:
            return None
    def missing():
        said = re.findall(r"^.*\bfaults?: .*$", m.transcript[since:], re.M)
        return "%s; what the fault handler said: %s" % (what, said or "nothing")
    return until(seen, missing, timeout=timeout)


def insns_of(cell, function):
    """The instructions of function in this build's object of cell, as swifi_seed
    writes them, in order."""
    obj = os.path.join(os.path.dirname(__file__), "..", "..", "build", "out", "cells", "%s.o" % cell)
    out = subprocess.run(["llvm-objdump", "-d", "--no-show-raw-insn", "--disassemble-symbols=" + function,
                          obj], capture_output=True, text=True).stdout
    return [re.sub(r"\s+", " ", m.group(1)).strip() for m in re.finditer(r"^\s*[0-9a-f]+:\s+(.*)$", out, re.M)]


def insn_before(cell, function, first, then):
    """(function, "A;B") for swifi_seed: the instruction starting with `first` that is
    followed by the instruction `then`, in this build's object."""
    insns = insns_of(cell, function)
    for a, b in zip(insns, insns[1:]):
        if a.startswith(first) and b == then:
            return function, "%s;%s" % (a, b)
    raise TestFailure("no %s before %s in %s: %r" % (first, then, function, insns))


def shell_write_tail_jump():
    """The jmp in shell_write that skips its `xorl %ebx, %ebx` to reach the epilogue."""
    return insn_before("shell@1", "shell_write", "jmp ", "xorl %ebx, %ebx")


def test_swifi_jump_past_the_task_entry_is_the_cells(machine):
    """One bit of shell_write's jmp flipped (eb02 -> eb42) lands it in the middle of
    shell_printf, whose epilogue moves the stack pointer up past every frame of the shell
    task's entry and returns to 0. The nearest return address above is nano_core's
    cellref_call (which called the entry and holds nothing): the fault is the shell's,
    charged to it from the return addresses just abandoned below, and the shell restarts;
    nano_core stays up."""
    seed = swifi_seed("shell@1", "text", *shell_write_tail_jump(), flip=(1, 6))
    m = booted(machine, "swifi@1", icount=True)
    mark, a = inject(m, "fault inject shell text seed=%d" % seed)
    check(a.group("site").startswith("shell_write+") and (a.group("old"), a.group("new")) == ("eb02", "eb42"),
          "seed %d armed another site or bit on this build: %r" % (seed, a.group(0)))
    m.expect(r"faults: #1 #PF page fault in shell:\w+\+0x[0-9a-f]+ \(task, task 1 'shell'\); recovering",
             60, since=mark)
    m.expect(r"faults: #1 restart shell@1 \(1 tasks\): recovered after \d+ us", 60, since=mark)
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")
    until(lambda: "returned 42" in m.command("call hello hello_main"), "the shell never answered again")


def test_swifi_fault_in_the_interrupt_exit_switch_is_recovered_at_once(machine):
    """tasks' cpu_put_over loses its `movq %rsi, %r14` (kind nop): every switch of the
    tasks cell faults, so the recovery task can never be switched to. tasks holds the
    slots every switch goes through (irq_exit, task_end, idle_next), so nano_core has
    the fault handler recover it at once (slot fault_recover_now), where no frame of the
    faulted code is live: at the end of the interrupt whose switch faulted, or in the
    parked task whose end faulted. tasks is reloaded from its pristine object there,
    and the console answers again. Whether an interrupt exit has a switch to make by
    then depends on when the fault fires, so the test types at the console until the
    recovery is logged: the console's input interrupt readies its waiting task."""
    seed = swifi_seed("tasks@1", "nop", "cpu_put_over", "movq %rsi, %r14")
    m = booted(machine, "swifi@1", icount=True)
    mark, a = inject(m, "fault inject tasks nop seed=%d" % seed)
    check(a.group("site").startswith("cpu_put_over+"), "armed another site: %r" % a.group(0))
    type_until(m, r"faults: #\d+ reload tasks@1 -> tasks@1;[^\n]* at once: recovered after \d+ us", mark,
               "tasks was not recovered at once")
    check(re.search(r"faults: #\d+ #PF page fault in tasks:cpu_put_over\+0x[0-9a-f]+ \((irq|task), ",
                    m.transcript[mark:]), "the fault was not charged to tasks' cpu_put_over")
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")
    until(lambda: "returned 42" in m.command("call hello hello_main"), "the console never answered again")


def test_swifi_return_to_no_code_in_a_swap_hook_is_the_hooks(machine):
    """state_db's statedb_txn_list_prefix loses its `pushq %r14` (kind nop), so its
    epilogue pops one word too many and returns to 0, with the stack pointer inside the
    frame of ramfs@2's migration (cell_swap_prepare, a contained hook call). Above it
    lie a nano_core function pointer kept in a frame (not a return address) and the
    hook's return into ramfs: the fault is charged to the hook's cell, and the swap is
    refused with nothing changed; nano_core stays up."""
    seed = swifi_seed("state_db@1", "nop", "statedb_txn_list_prefix", "pushq %r14")
    m = booted(machine, "swifi@1", icount=True)
    a = arm(m, "fault inject state_db nop seed=%d" % seed)
    check(a.group("site") == "statedb_txn_list_prefix+0x6", "armed another site: %r" % a.group(0))
    mark = m.mark()
    m.send("swap ramfs@1 ramfs@2\r")
    m.expect(r"faults: #1 #PF page fault in ramfs:\w+\+0x[0-9a-f]+ \(hook, task 1 'shell'\); recovering",
             60, since=mark)
    m.expect(r"swap refused: ramfs@2's cell_swap_prepare raised #PF page fault at 0000000000000000", 60,
             since=mark)
    m.expect(r"swap refused at step 'check'; nothing changed", 60, since=mark)
    m.expect(r"faults: #1 none: ramfs@2 was not live: swap rolled back after \d+ us", 60, since=mark)
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")


def test_swifi_fault_in_state_db_during_a_swap_hook_is_state_dbs(machine):
    """state_db's sdb_put hangs (kind hang) while ramfs@2's cell_swap_prepare calls it.
    The hang is in state_db's code, which is live: it is charged to state_db in context
    call (not to the hook, whose cell is not live yet), state_db is reloaded from its
    pristine object, and the swap is refused with nothing changed."""
    seed = swifi_seed("state_db@1", "hang", "sdb_put", "movq %rax, 72(%r12)")
    m = booted(machine, "swifi@1", args="watchdog=state_db:50", icount=True)
    a = arm(m, "fault inject state_db hang seed=%d" % seed)
    check(a.group("site").startswith("sdb_put+"), "armed another site: %r" % a.group(0))
    mark = m.mark()
    m.send("swap ramfs@1 ramfs@2\r")
    m.expect(r"faults: #1 hang: \d+ ms in state_db without a switch in state_db:sdb_put\+0x[0-9a-f]+ "
             r"\(call, task 1 'shell'\); recovering", 60, since=mark)
    m.expect(r"swap refused: ramfs@2's cell_swap_prepare raised", 60, since=mark)
    m.expect(r"faults: #1 reload state_db@1 -> state_db@1[^\n]*: recovered after \d+ us", 60, since=mark)
    check("was not live" not in m.transcript[mark:], "state_db's fault was taken for the hook's")
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")
    until(lambda: "returned 42" in m.command("call hello hello_main"), "the console never answered again")


def test_swifi_bad_pointer_to_a_nano_core_getter_is_the_callers(machine):
    """serial's tx_send_some pushes a corrupted rbx (kind src), and serial_irq passes the
    pointer it restores to nano_core's console_uart, which only writes where its caller
    says: the #PF there is serial's (a bad argument), its IRQ route is abandoned and serial
    reloaded, instead of nano_core going down."""
    seed = swifi_seed("serial@1", "src", "tx_send_some", "pushq %rbx")
    m = booted(machine, "swifi@1", icount=True)
    mark, a = inject(m, "fault inject serial src seed=%d" % seed)
    check(a.group("site") == "tx_send_some+0xc", "armed another site: %r" % a.group(0))
    m.expect(r"faults: #1 #PF page fault in nano_core's console_uart\+0x[0-9a-f]+, passed a bad argument "
             r"in serial:serial_irq\+0x[0-9a-f]+ \(irq, ", 60, since=mark)
    m.expect(r"faults: #1 reload serial@1 -> serial@1; IRQ 4 unmasked: recovered after \d+ us", 60, since=mark)
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")
    until(lambda: "returned 42" in m.command("call hello hello_main"), "the console never answered again")


def test_swifi_call_into_the_middle_of_nano_core_is_the_callers(machine):
    """One bit of the rel32 of rx_drain's call to memcpy flipped (kind text): the call
    lands in the middle of nano_core's text, a power of two away from memcpy. What it
    runs there depends on the build: an instruction that faults at once (nothing of
    nano_core ran; the return address on the stack is serial's call site), or the middle
    of a function that only acts on its caller's memory (memmove, say), which then faults
    on the registers serial left. Either way the fault is serial's: its IRQ route is
    abandoned and serial reloaded, and nano_core stays up."""
    seed = swifi_seed("serial@1", "text", "rx_drain", "callq memcpy")
    m = booted(machine, "swifi@1", "workload@1", icount=True)
    check("started 2 workers" in m.command("work start"), "work start")
    mark, a = inject(m, "fault inject serial text seed=%d" % seed)
    old, new = bytes.fromhex(a.group("old")), bytes.fromhex(a.group("new"))
    check(a.group("site").startswith("rx_drain+") and old[0] == new[0] == 0xe8 and old[:2] != new[:2],
          "seed %d flips another bit on this build: %r" % (seed, a.group(0)))
    # Input, which rx_drain copies: typed until the faulting call is reached.
    type_until(m, r"faults: #1 #\w+ [a-z ]+ in (serial:rx_drain\+0x[0-9a-f]+|nano_core's \w+\+0x[0-9a-f]+, "
               r"passed a bad argument in serial:\w+\+0x[0-9a-f]+) \(irq, ", mark, "rx_drain's call was never reached")
    m.expect(r"faults: #1 reload serial@1 -> serial@1; IRQ 4 unmasked: recovered after \d+ us", 60, since=mark)
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")


def test_swifi_hang_in_an_irq_route_masks_its_line(machine):
    """An endless loop with interrupts on in serial's tx_send_some (kind hang), reached
    from serial's IRQ route: the watchdog abandons the route and, as for a fault there,
    masks IRQ 4 until serial is reloaded; without that, each transmit interrupt hung there
    again and the recovery never finished."""
    seed = swifi_seed("serial@1", "hang", "tx_send_some", "movl $1, %esi")
    m = booted(machine, "swifi@1", args="watchdog=serial:50", icount=True)
    mark, a = inject(m, "fault inject serial hang seed=%d" % seed)
    check(a.group("site").startswith("tx_send_some+"), "armed another site: %r" % a.group(0))
    m.expect(r"faults: #1 hang: \d+ ms in serial without a switch in serial:tx_send_some\+0x[0-9a-f]+ "
             r"\(irq, ", 60, since=mark)
    m.expect(r"faults: #1 reload serial@1 -> serial@1; IRQ 4 unmasked: recovered after \d+ us", 60, since=mark)
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")


def test_swifi_fault_in_tasks_met_by_the_fault_handler_leaves_state_db_whole(machine):
    """tasks' rec_get loses its `movq %r14, %rdi` (kind nop) under the workload: the
    record copy faults, and the fault handler, logging it outside any transaction
    (sdb_outside_begin), wakes the recovery task through task_notify, which reaches the
    same faulting rec_get. That second fault must not abandon the handler half way:
    state_db's outside window was left open for good, so every transaction the workers'
    ramfs calls began afterwards wrote to the committed store and then found no
    transaction of its own ("not an open transaction of this store", STATEDB_E_BUSY
    after). tasks is reloaded at once, and the workers go on without an error."""
    seed = swifi_seed("tasks@1", "nop", "rec_get", "movq %r14, %rdi")
    m = booted(machine, "swifi@1", "workload@1", icount=True)
    check("started 2 workers" in m.command("work start"), "work start")
    mark, a = inject(m, "fault inject tasks nop seed=%d" % seed)
    check(a.group("site").startswith("rec_get+"), "armed another site: %r" % a.group(0))
    type_until(m, r"faults: #\d+ reload tasks@1 -> tasks@1;[^\n]* at once[^\n]*: recovered after \d+ us", mark,
               "tasks was not recovered at once")
    workers_go_on(m, mark)
    check("not an open transaction" not in m.transcript[mark:], "a transaction was lost at its end")


def workers_go_on(m, mark):
    """After a recovery: the workers make progress, without an error, and their files
    verify; nano_core never went down."""
    check("swifi: cleared" in m.command("fault clear"), "fault clear")
    ops = lambda: int(re.search(r"work: (\d+) operations", m.command("work status")).group(1))
    first = until(ops, "work status", 30)
    until(lambda: ops() >= first + 10, "the workers made no progress after the recovery", 60)
    out = m.command("work stop")
    check(re.search(r"stopped after \d+ operations, 0 errors", out), "the workers saw errors: %r" % out)
    out = m.command("work verify")
    check(re.search(r"verify: \d+ files checked, 0 mismatches", out), "work verify: %r" % out)
    check("EXCEPTION" not in m.transcript and "PANIC" not in m.transcript, "nano_core went down")
    until(lambda: "returned 42" in m.command("call hello hello_main"), "the console never answered again")


def test_swifi_bad_resume_point_is_refused_and_charged_to_tasks(machine):
    """The 2k campaign's branch.tasks.s3 (docs/campaign-2k): rec_put_hot's second jne
    inverted, so a switch-out records the wrong hot words and a task's saved rsp stays
    an old one, whose return-address word is now a stack address. nano_core's switch
    checks the resume point the tasks cell gives it (in the task's stack, returning into
    code): it refuses that one instead of jumping onto the stack (NX, nano_core down),
    charges the fault to tasks, which holds the switch slots, and ends the task it was
    for; tasks is reloaded, the task restarted, and the workload goes on clean."""
    seed = swifi_seed("tasks@1", "branch", *insn_before("tasks@1", "rec_put_hot", "jne ", "movq 24(%rsi), %rcx"))
    m = booted(machine, "inject@1", "swifi@1", "workload@1", args="console=serial seed=1", icount=True)
    check("started 2 workers" in m.command("work start"), "work start")
    until(lambda: re.search(r"work: [1-9]\d* operations", m.command("work status")), "the workers never ran")
    mark, a = inject(m, "fault inject tasks branch seed=%d" % seed)
    check(a.group("site") == "rec_put_hot+0x28", "armed another site: %r" % a.group(0))
    # The task whose record went wrong is switched back to when it has work: the shell
    # after a key, so the test types until the switch refuses it.
    type_until(m, r"ctx: refused to resume rsp [0-9a-f]{16} \(return address [0-9a-f]{16}\): not a saved context",
               mark, "the switch never refused a resume point", timeout=60)
    f = m.expect(r"faults: #(\d+) bad resume point: rsp [0-9a-f]+, return to [0-9a-f]+ in "
                 r"tasks:\(resume point\)\+0x0 \(task, task \d+ '\w+'\); recovering", 60, since=mark)
    m.expect(r"faults: #%s reload tasks@1 -> tasks@1; task \d+ restarted[^\n]*: recovered after \d+ us"
             % f.group(1), 60, since=mark)
    workers_go_on(m, mark)


def test_swifi_return_to_0_with_rsp_off_the_task_stack_is_the_cells(machine):
    """The 2k campaign's text.ramfs.s5 (docs/campaign-2k): a flipped bit makes
    siphash24_final's `rol` an `enter` of a 49 KB frame; rsp drops below the task's
    stack (into another task's) and the next return goes to 0. nano_core knows the
    running task's stack from its last resume: the jump to no code with rsp outside it
    is charged to the cell that ran last on it (ramfs, whose return address lies above
    the registers still pointing into the stack), handled on the task's own stack, and
    ramfs is reloaded and the task restarted instead of nano_core going down."""
    seed = swifi_seed("ramfs@1", "text", "siphash24_final", "rolq $13, %rax", flip=(0, 7))
    m = booted(machine, "swifi@1", "workload@1", icount=True)
    check("started 2 workers" in m.command("work start"), "work start")
    mark, a = inject(m, "fault inject ramfs text seed=%d" % seed)
    check(a.group("site") == "siphash24_final+0x11f" and a.group("new").startswith("c8"),
          "armed another site or bit: %r" % a.group(0))
    f = m.expect(r"faults: #(\d+) #PF page fault in ramfs:\w+\+0x[0-9a-f]+ \(task, task \d+ '\w+'\); recovering",
                 60, since=mark)
    m.expect(r"faults: #%s reload ramfs@1 -> ramfs@1; task \d+ restarted[^\n]*: recovered after \d+ us"
             % f.group(1), 60, since=mark)
    workers_go_on(m, mark)
