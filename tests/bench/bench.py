#!/usr/bin/env python3
"""Delos benchmarks in deterministic guest time.

Boots the real ISO under QEMU with -icount shift=0 (one instruction = 1 ns of
guest time, TSC at 1 GHz), so the figures do not depend on the host's load.
Reports boot times (to the boot cells up, and to the first prompt), link time
per cell, and live-swap step times; writes build/out/bench/results.csv and,
with gnuplot, build/out/bench/swap_steps.png.
Then the hot-path micro-benchmarks (taskdemo_bench, cells/taskdemo/bench.c):
build/out/bench/micro.csv, and a table of them beside the figures before the
hot path and the targets.
"""
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qemu"))
import delos  # noqa: E402

OUT = os.path.join(delos.ROOT, "build", "out", "bench")
STEPS = ("check", "quiesce", "relink", "handover", "commit", "pause", "unmap", "total")
SWAP_RUNS = 21


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def boot_figures(m):
    """Guest us to "boot cells up" (nano_core, once the boot cells run; absent when
    no shell cell takes the console) and to "boot: prompt" (the first prompt), and
    the link time of each boot cell."""
    up = re.search(r"boot: boot cells up\b.*? after (\d+) us of guest time", m.transcript)
    prompt = re.search(r"boot: prompt after (\d+) us of guest time", m.transcript)
    if not prompt:
        raise delos.TestFailure("the boot log has no 'boot: prompt after N us' line")
    links = {k: int(v) for k, v in re.findall(r"cells: linked (\S+) in (\d+) ns", m.transcript)}
    return int(up.group(1)) if up else None, int(prompt.group(1)), links


def swap_steps(m, cmd):
    out = m.command(cmd)
    if "swap: done" not in out:
        raise delos.TestFailure("%s: %r" % (cmd, out))
    steps = {s: int(v) for s, v in re.findall(r"^  (\w+)\s+(\d+) ns", out, re.M)}
    relocs = int(re.search(r"relocations rewritten (\d+)", out).group(1))
    return steps, relocs


def bench_swaps(m, cmd, runs):
    samples = [swap_steps(m, cmd) for _ in range(runs)]
    return {s: med([x[0][s] for x in samples]) for s in STEPS}, samples[0][1]


def bench_reload(m, runs):
    times = []
    for _ in range(runs):
        m.command("unload hello")
        out = m.command("load hello@1")
        times += [int(t) for t in re.findall(r"cells: linked hello@1 in (\d+) ns", out)]
    return times


MICRO = ("ctx_switch", "timer_tick", "sdb_get16", "sdb_update16", "sdb_put16", "sdb_txn4")
# Guest cycles before the hot path (taskdemo_bench, -icount shift=0) and the targets.
MICRO_BEFORE = {"ctx_switch": 30229, "timer_tick": 29769, "sdb_get16": 1543,
                "sdb_update16": None, "sdb_put16": 23264, "sdb_txn4": None}
MICRO_TARGET = {"ctx_switch": 300, "timer_tick": 500, "sdb_get16": 100,
                "sdb_update16": 200, "sdb_put16": None, "sdb_txn4": 1000}


def bench_micro(m):
    """Runs taskdemo_bench once; returns {name: (median, min, max, runs)}."""
    m.command("load taskdemo@1", timeout=120)
    m.expect(r"taskdemo: demo done", timeout=300)
    out = m.command("call taskdemo taskdemo_bench", timeout=600)
    if "returned 0" not in out:
        raise delos.TestFailure("taskdemo_bench: %r" % out)
    rows = {}
    for name, med_, lo, hi, runs in re.findall(
            r"micro (\w+) median (\d+) min (\d+) max (\d+) runs (\d+)", out):
        rows[name] = (int(med_), int(lo), int(hi), int(runs))
    missing = [n for n in MICRO if n not in rows]
    if missing:
        raise delos.TestFailure("taskdemo_bench gave no %s: %r" % (missing, out))
    return rows


# The same CPU with SSE4.2, where state_db's checksums use the crc32 instruction.
SSE42 = ("-cpu", "qemu64,+sse4.2")


def bench_micro_sse42():
    with delos.Machine(icount=True, extra=SSE42) as m:
        m.boot(timeout=120)
        return bench_micro(m)


def write_micro(rows, sse42=None):
    with open(os.path.join(OUT, "micro.csv"), "w") as f:
        f.write("name,median_cycles,min_cycles,max_cycles,runs,median_ns\n")
        for n in MICRO:
            med_, lo, hi, runs = rows[n]
            f.write("%s,%d,%d,%d,%d,%d\n" % (n, med_, lo, hi, runs, med_))  # TSC at 1 GHz
    fmt = "%-14s %10s %10s %10s %10s %12s %10s"
    print(fmt % ("hot path", "before", "median", "min", "max", "sse4.2 med", "target"))
    for n in MICRO:
        med_, lo, hi, _ = rows[n]
        before, target = MICRO_BEFORE[n], MICRO_TARGET[n]
        print(fmt % (n, before if before else "-", med_, lo, hi, sse42[n][0] if sse42 else "-",
                     "<= %d" % target if target else "-"))
    print("(guest cycles under -icount shift=0: 1 instruction = 1 ns, TSC at 1 GHz; micro.csv is"
          " the default CPU, 'sse4.2 med' the same with %s)" % " ".join(SSE42))


def recovered_us(m, action):
    """The guest time from detection to the recovery action done of the next fault
    recovered by `action`, less the backoff the policy waited before acting (a
    manifest setting, not the mechanism's cost), from its log line (which console
    output may split)."""
    found = m.expect(r"(?s)faults: #\d+ %s.*?: recovered after (\d+) us \((\d+) us of backoff\)"
                     % re.escape(action), 120)
    return int(found.group(1)) - int(found.group(2))


def bench_recovery():
    """recover_POLICY_CELL: guest time from detection to the recovery action done
    (the restarted task queued, or the reload's swap committed, and an abandoned IRQ
    line unmasked), with a ud2 injected at the cell's entry point, less any backoff.
    The shell's reload is its second fault (escalation); the restarts of serial and
    ramfs, whose manifest policy is reload, boot with recovery=serial:restart,..."""
    rows = []
    with delos.Machine(icount=True) as m:
        m.boot(timeout=120)
        m.command("load inject@1")
        m.command("inject shell shell_execute ud2")
        m.send("help\r")
        rows.append(("recover_restart_shell", recovered_us(m, "restart shell@1")))
        m.send("help\r")
        rows.append(("recover_reload_shell", recovered_us(m, "reload shell@1")))
        m.expect(re.escape(delos.PROMPT), 60)
        m.send("inject serial serial_irq ud2\r")
        rows.append(("recover_reload_serial", recovered_us(m, "reload serial@1")))
        m.expect(re.escape(delos.PROMPT), 60)
        m.command("load workload@1")
        m.command("work start")
        m.send("inject ramfs ramfs_read ud2\r")
        rows.append(("recover_reload_ramfs", recovered_us(m, "reload ramfs@1")))
    with delos.Machine(icount=True, args="recovery=serial:restart,ramfs:restart") as m:
        m.boot(timeout=120)
        m.command("load inject@1")
        m.send("inject serial serial_irq ud2\r")
        rows.append(("recover_restart_serial", recovered_us(m, "restart serial@1")))
        m.expect(r"faults: #\d+ reload serial@1 -> serial@1.*?: recovered", 120)
        m.expect(re.escape(delos.PROMPT), 60)
        m.command("load workload@1")
        m.command("work start")
        m.send("inject ramfs ramfs_read ud2\r")
        rows.append(("recover_restart_ramfs", recovered_us(m, "restart ramfs@1")))
    with open(os.path.join(OUT, "micro.csv"), "a") as f:
        for name, us in rows:
            f.write("%s,%d\n" % (name, us * 1000))
    return rows


def plot(rows):
    if subprocess.run(["which", "gnuplot"], capture_output=True).returncode:
        return
    data = os.path.join(OUT, "swap_steps.dat")
    with open(data, "w") as f:
        for name, steps, _ in rows:
            f.write('"%s" %s\n' % (name, " ".join(str(steps[s] / 1000) for s in STEPS[:5])))
    script = """set terminal png size 900,500; set output '%s'
set style data histograms; set style histogram rowstacked; set style fill solid border -1
set ylabel 'guest time (us, -icount shift=0)'; set title 'Delos live swap: median step times'
set key outside
plot '%s' using 2:xtic(1) title 'check', '' using 3 title 'quiesce', '' using 4 title 'relink', \
'' using 5 title 'handover', '' using 6 title 'commit'
""" % (os.path.join(OUT, "swap_steps.png"), data)
    subprocess.run(["gnuplot"], input=script, text=True, check=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    with delos.Machine(icount=True) as m:
        m.boot(timeout=120)
        cells_up_us, prompt_us, links = boot_figures(m)
        rows = []
        for name, cmd in (("log_sink (2 users)", "swap -v log_sink@1 log_sink@1"),
                          ("hello v1->v1 (leaf)", "swap -v hello@1 hello@1"),
                          ("dispatch (IRQ routes)", "swap -v dispatch@1 dispatch@1")):
            steps, relocs = bench_swaps(m, cmd, SWAP_RUNS)
            rows.append((name, steps, relocs))
        reload_ns = bench_reload(m, 10)
        micro = bench_micro(m)
    if cells_up_us is not None:
        print("boot to boot cells up: %d us of guest time" % cells_up_us)
    print("boot to prompt: %d us of guest time" % prompt_us)
    print("link time per boot cell (guest ns): " + ", ".join("%s %d" % kv for kv in sorted(links.items())))
    print("link time of hello@1, load after unload: median %d ns over %d runs" % (med(reload_ns), len(reload_ns)))
    print("%-24s %s %8s" % ("swap (median of %d)" % SWAP_RUNS, " ".join("%9s" % s for s in STEPS), "relocs"))
    for name, steps, relocs in rows:
        print("%-24s %s %8d" % (name, " ".join("%9d" % steps[s] for s in STEPS), relocs))
    print("(ns of guest time; target: pause < 50000, total < 1000000; Theseus ~29 ms)")
    with open(os.path.join(OUT, "results.csv"), "w") as f:
        f.write("swap,%s,relocs\n" % ",".join(STEPS))
        for name, steps, relocs in rows:
            f.write("%s,%s,%d\n" % (name, ",".join(str(steps[s]) for s in STEPS), relocs))
    plot(rows)
    write_micro(micro, bench_micro_sse42())
    print("recovery (guest ns, detection to the recovery action done; also in micro.csv):")
    for name, us in bench_recovery():
        print("  %-24s %9d" % (name, us * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
