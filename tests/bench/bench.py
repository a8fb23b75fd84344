#!/usr/bin/env python3
"""make bench: Delos's benchmark suite, and the report.

    tests/bench/bench.py [--kvm]
    tests/bench/bench.py --only "swap sdb_get"   (those suites only: the table, no files)

Boots the real ISO under QEMU with -icount shift=0 (one instruction = 1 ns of
guest time; the TSC runs at 1 GHz), so the figures do not depend on the
host's load; with --kvm (make bench KVM=1) on KVM with the host's CPU, for
real cycles. In that boot: the boot figures (to the boot cells up, to the
first prompt, the link time of each boot cell), then `load bench@1` and
`bench all` (cells/bench/bench.h), whose table gives the rows of
build/out/bench/micro.csv. Then state_db's rows again on a CPU with SSE4.2
(crc32 checksums), and the recovery of ramfs, serial and the shell from an
injected fault (rows recover_restart_NAME / recover_reload_NAME).

On the host: Delos's loader against glibc's dlopen on the same generated
code (tests/bench/loader_vs_dlopen.c, build/out/bench/dlopen.csv), with a
perf profile of each side where perf may run.

Then tests/bench/report.py writes build/out/bench/report.md and its charts.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qemu"))
import delos  # noqa: E402

OUT = os.path.join(delos.ROOT, "build", "out", "bench")
HOST = os.path.join(delos.ROOT, "build", "out", "host")
SSE42 = ("-cpu", "qemu64,+sse4.2")
KVM = ("-enable-kvm", "-cpu", "host")
ROW = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", re.M)
STEPS = ("check", "quiesce", "relink", "handover", "commit")
STEP = re.compile(r"^note: swap (\w+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", re.M)
DLOPEN_SIZES = (10, 100, 1000, 4000)


def machine(kvm, extra=(), args=""):
    return delos.Machine(icount=not kvm, extra=(KVM if kvm else ()) + tuple(extra), args=args)


def boot_figures(m):
    """Guest us to "boot cells up" and to the first prompt, and each boot cell's link time."""
    up = re.search(r"boot: boot cells up\b.*? after (\d+) us of guest time", m.transcript)
    prompt = re.search(r"boot: prompt after (\d+) us of guest time", m.transcript)
    links = {k: int(v) for k, v in re.findall(r"cells: linked (\S+) in (\d+) ns", m.transcript)}
    return {"cells_up_us": int(up.group(1)) if up else None,
            "prompt_us": int(prompt.group(1)) if prompt else None, "boot_links_ns": links}


def run_suite(m, line):
    """Types `line` (bench ...) and returns the block's header, rows and notes."""
    out = m.command(line, timeout=900)
    block = re.search(r"bench: begin\n(.*?)bench: end, (\d+) rows", out, re.S)
    if not block:
        raise delos.TestFailure("%s printed no table: %r" % (line, out[-2000:]))
    text = block.group(1)
    failed = re.findall(r"bench: (\w+) failed", out)
    if failed:
        raise delos.TestFailure("%s: %s failed: %r" % (line, ", ".join(failed), out[-3000:]))
    rows = {r[0]: tuple(int(v) for v in r[1:]) for r in ROW.findall(text)}
    if len(rows) != int(block.group(2)):
        raise delos.TestFailure("%s: %d rows read of %s: %r" % (line, len(rows), block.group(2), text))
    head = {"cpu": re.search(r"^cpu: (.*)$", text, re.M).group(1),
            "tsc": re.search(r"^tsc: (.*)$", text, re.M).group(1)}
    steps = {n: dict(zip(STEPS, (float(v) for v in vs))) for n, *vs in STEP.findall(text)}
    notes = [n for n in re.findall(r"^note: (.*)$", text, re.M)]
    return head, rows, steps, notes, text


def recovered_us(m, action):
    """The guest time from detection to the recovery action done of the next fault
    recovered by `action`, less the backoff the policy waited before acting (a
    manifest setting, not the mechanism's cost), from its log line (which console
    output may split)."""
    found = m.expect(r"(?s)faults: #\d+ %s.*?: recovered after (\d+) us \((\d+) us of backoff\)"
                     % re.escape(action), 120)
    return int(found.group(1)) - int(found.group(2))


def bench_recovery(kvm):
    """recover_POLICY_CELL: guest time from detection to the recovery action done
    (the restarted task queued, or the reload's swap committed, and an abandoned IRQ
    line unmasked), with a ud2 injected at the cell's entry point, less any backoff.
    The shell's reload is its second fault (escalation); the restarts of serial and
    ramfs, whose manifest policy is reload, boot with recovery=serial:restart,..."""
    rows = []
    with machine(kvm) as m:
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
    with machine(kvm, args="recovery=serial:restart,ramfs:restart") as m:
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
    return rows


def tsc_hz(head):
    mhz = re.match(r"([\d.]+) MHz", head["tsc"])
    return float(mhz.group(1)) * 1e6 if mhz else 1e9


def write_csvs(rows, head, recovery, steps):
    hz = tsc_hz(head)
    with open(os.path.join(OUT, "micro.csv"), "w") as f:
        f.write("name,median_cycles,min_cycles,max_cycles,runs,median_ns\n")
        for name, (med, lo, hi, runs, ns) in rows.items():
            f.write("%s,%d,%d,%d,%d,%d\n" % (name, med, lo, hi, runs, ns))
        for name, us in recovery:   # one run each, measured in guest us
            cyc = int(us * 1000 * hz / 1e9)
            f.write("%s,%d,%d,%d,1,%d\n" % (name, cyc, cyc, cyc, us * 1000))
    with open(os.path.join(OUT, "results.csv"), "w") as f:
        f.write("swap,%s,pause,total\n" % ",".join(s + "_us" for s in STEPS))
        for name, st in steps.items():
            pause, total = rows["swap_pause_" + name][4], rows["swap_total_" + name][4]
            f.write("%s,%s,%.1f,%.1f\n" % (name, ",".join("%.1f" % st[s] for s in STEPS),
                                           pause / 1000, total / 1000))


def host_bench():
    """Loader against dlopen, A/B alternating in one run; then a perf profile of each side."""
    exe = os.path.join(HOST, "loader-vs-dlopen")
    pairs = []
    for n in DLOPEN_SIZES:
        pairs += [os.path.join(HOST, "dlopen", "gen_%d.o" % n), os.path.join(HOST, "dlopen", "gen_%d.so" % n)]
    out = subprocess.run([exe, "--rounds", "11"] + pairs, capture_output=True, text=True)
    if out.returncode:
        raise delos.TestFailure("loader-vs-dlopen: %s" % out.stderr)
    with open(os.path.join(OUT, "dlopen.csv"), "w") as f:
        f.write(out.stdout)
    profile = {}
    for side in ("loader", "dlopen"):
        data = os.path.join(OUT, "perf.%s.data" % side)
        rec = subprocess.run(["perf", "record", "-q", "-F", "4000", "-o", data, "--", exe, "--rounds", "3",
                              "--only", side] + pairs[-4:-2], capture_output=True, text=True)
        if rec.returncode:
            profile[side] = "perf record failed: %s" % rec.stderr.strip()[:200]
            continue
        lines = []
        for sort, keep in (("dso", 4), ("dso,sym", 8)):
            rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                                  "--sort", sort], capture_output=True, text=True)
            lines += [ln.rstrip() for ln in rep.stdout.splitlines()
                      if re.match(r"\s+\d+\.\d+%", ln)][:keep] + [""]
        profile[side] = "\n".join(lines).strip("\n")
        os.unlink(data)
    with open(os.path.join(OUT, "dlopen_profile.json"), "w") as f:
        json.dump({"object": os.path.basename(pairs[-4]), "profile": profile}, f, indent=1)
    return out.stdout


def qemu_version():
    out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvm", action="store_true", help="run on KVM with the host's CPU, not -icount")
    ap.add_argument("--only", metavar="SUITES",
                    help="run only these bench suites (bench@1's names, e.g. \"swap\") and print "
                         "their table; writes no file")
    opt = ap.parse_args()
    if opt.kvm and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("bench: KVM=1 needs /dev/kvm (readable and writable); it is not here", file=sys.stderr)
        return 2
    if opt.only:
        with machine(opt.kvm) as m:
            m.boot(timeout=120)
            if "loaded bench@1" not in m.command("load bench@1", timeout=120):
                raise delos.TestFailure("load bench@1 failed")
            print(run_suite(m, "bench " + opt.only)[4], end="")
        return 0
    os.makedirs(OUT, exist_ok=True)
    with machine(opt.kvm) as m:
        m.boot(timeout=120)
        boot = boot_figures(m)
        if "loaded bench@1" not in m.command("load bench@1", timeout=120):
            raise delos.TestFailure("load bench@1 failed")
        head, rows, steps, notes, table = run_suite(m, "bench all")
    sse42 = {}
    if not opt.kvm:
        with machine(False, SSE42) as m:
            m.boot(timeout=120)
            m.command("load bench@1", timeout=120)
            sse42 = run_suite(m, "bench sdb_get sdb_update sdb_txn")[1]
    recovery = bench_recovery(opt.kvm)
    write_csvs(rows, head, recovery, steps)
    dl = host_bench()
    meta = {"mode": "kvm" if opt.kvm else "icount", "cpu": head["cpu"], "tsc": head["tsc"],
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "qemu": qemu_version(), "command": "make bench" + (" KVM=1" if opt.kvm else ""),
            "notes": notes, "boot": boot,
            "sse42": {k: v[0] for k, v in sse42.items()}}
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    with open(os.path.join(OUT, "table.txt"), "w") as f:
        f.write(table)
    print("boot: cells up after %s us, prompt after %s us of guest time"
          % (boot["cells_up_us"], boot["prompt_us"]))
    print(table, end="")
    print("recovery (host-injected faults, guest us): " + ", ".join("%s %d" % r for r in recovery))
    print("loader vs dlopen (host):\n" + dl, end="")
    rep = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), OUT, OUT])
    if rep.returncode:
        return rep.returncode
    print("wrote %s" % ", ".join(os.path.join(OUT, n) for n in ("micro.csv", "report.md")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
