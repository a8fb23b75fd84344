#!/usr/bin/env python3
"""Writes the benchmark report from make bench's CSV files.

    report.py DIR OUTDIR           DIR/micro.csv (and, when present, results.csv,
                                   dlopen.csv, dlopen_profile.json, meta.json) to
                                   OUTDIR/report.md and its gnuplot charts
    report.py --check DIR OUTDIR   the same, then checks the report (make
                                   bench-report-check, with the fixture in
                                   tests/bench/fixture): every row and every
                                   anchor is in it, the charts are drawn, and a
                                   CSV with a bad row is refused

A row of micro.csv must be name,median_cycles,min_cycles,max_cycles,runs,median_ns
with positive figures and min <= median <= max; anything else is refused with
the file, line and reason, and no report is written.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HEADER = ["name", "median_cycles", "min_cycles", "max_cycles", "runs", "median_ns"]

# Published figures of other systems: (what, Delos rows, anchor, value, source).
ANCHORS = [
    ("IPC call / cross-cell call", ["xcall_cross", "xcall_local_far", "xcall_local"], "seL4 IPC call",
     "~720 cycles", "sel4bench, x86_64 Skylake, 2026"),
    ("thread yield", ["ctx_switch"], "seL4 thread yield", "~480 cycles",
     "sel4bench, x86_64 Skylake, 2026"),
    ("null system call", ["core_call"], "Theseus null syscall", "0.24 us",
     "Theseus OSDI'20 artifact, lmbench"),
    ("null system call", ["core_call"], "Linux getpid", "~100-300 ns",
     "common measurements on current x86_64 Linux"),
    ("context switch", ["ctx_switch"], "Theseus context switch", "9.6 us",
     "Theseus OSDI'20 artifact, lmbench"),
    ("live swap, total", ["swap_total_hello", "swap_total_log_sink", "swap_total_dispatch",
                          "swap_total_sched", "swap_total_ramfs"], "Theseus live swap", "~29 ms",
     "Theseus OSDI'20 artifact (~28 ms loading, ~1.1 ms the rest)"),
    ("stopped-world pause", ["swap_pause_hello", "swap_pause_log_sink", "swap_pause_dispatch",
                             "swap_pause_sched", "swap_pause_ramfs"], "kpatch stop_machine pause",
     "1-40 ms", "kpatch (Linux live patching)"),
    ("fault to service again", ["recover_restart", "recover_reload", "recover_restart_shell",
                                "recover_reload_shell", "recover_reload_serial", "recover_restart_serial", "recover_restart_ramfs",
                                "recover_reload_ramfs"], "MINIX 3 heartbeat period", "1 s",
     "MINIX 3 reincarnation server (DSN 2009)"),
]

# The targets of the hot path (issue figures), in cycles.
TARGETS = {"ctx_switch": 300, "timer_tick": 500, "sdb_get16": 100, "sdb_update16": 200,
           "sdb_txn4": 1000}


class BadInput(Exception):
    pass


def read_micro(path):
    rows = []
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = next(r, None)
        if head != HEADER:
            raise BadInput("%s:1: header is %r, not %s" % (path, head, ",".join(HEADER)))
        for n, line in enumerate(r, 2):
            if len(line) != len(HEADER):
                raise BadInput("%s:%d: %d fields, not %d" % (path, n, len(line), len(HEADER)))
            try:
                med, lo, hi, runs, ns = (int(v) for v in line[1:])
            except ValueError:
                raise BadInput("%s:%d: a figure is not an integer: %r" % (path, n, line))
            if min(med, lo, hi, runs, ns) <= 0:
                raise BadInput("%s:%d: %s: figures must be positive" % (path, n, line[0]))
            if not lo <= med <= hi:
                raise BadInput("%s:%d: %s: min %d <= median %d <= max %d does not hold"
                               % (path, n, line[0], lo, med, hi))
            rows.append((line[0], med, lo, hi, runs, ns))
    if not rows:
        raise BadInput("%s: no rows" % path)
    return rows


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fmt_ns(ns):
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 1e3:
        return "%.1f us" % (ns / 1e3)
    return "%d ns" % ns


def gnuplot(script):
    if not shutil.which("gnuplot"):
        return False
    return subprocess.run(["gnuplot"], input=script, text=True).returncode == 0


def charts(outdir, rows, steps, dl):
    made = []
    if steps:
        data = os.path.join(outdir, "swap_steps.dat")
        with open(data, "w") as f:
            for s in steps:
                f.write('"%s" %s\n' % (s["swap"], " ".join(s[k] for k in
                        ("check_us", "quiesce_us", "relink_us", "handover_us", "commit_us"))))
        png = os.path.join(outdir, "swap_steps.png")
        if gnuplot("""set terminal png size 900,500; set output '%s'
set style data histograms; set style histogram rowstacked; set style fill solid border -1
set ylabel 'median time (us)'; set title 'Delos live swap: median step times'; set key outside
plot '%s' using 2:xtic(1) title 'check', '' using 3 title 'quiesce', '' using 4 title 'relink', \\
'' using 5 title 'handover', '' using 6 title 'commit'
""" % (png, data)):
            made.append("swap_steps.png")
    link = [(int(n[5:-1]), ns) for n, _, _, _, _, ns in rows if n.startswith("link_") and n.endswith("k")]
    if link:
        data = os.path.join(outdir, "link_size.dat")
        with open(data, "w") as f:
            for kb, ns in sorted(link):
                f.write("%d %f\n" % (kb, ns / 1000))
        extra = ""
        if dl:
            host = os.path.join(outdir, "dlopen_size.dat")
            with open(host, "w") as f:
                for d in dl:
                    f.write("%f %s %s\n" % (int(d["obj_bytes"]) / 1024, d["loader_us"], d["dlopen_us"]))
            extra = (", '%s' using 1:2 with linespoints title 'host: Delos loader (object KB)', "
                     "'' using 1:3 with linespoints title 'host: glibc dlopen+dlclose'" % host)
        png = os.path.join(outdir, "link_size.png")
        if gnuplot("""set terminal png size 900,500; set output '%s'
set logscale xy; set xlabel 'cell size (KB)'; set ylabel 'time per load (us)'
set title 'Link time against size'; set key left top
plot '%s' using 1:2 with linespoints title 'Delos guest: load+link (KB text+rodata)'%s
""" % (png, data, extra)):
            made.append("link_size.png")
    return made


def report(indir, outdir):
    rows = read_micro(os.path.join(indir, "micro.csv"))
    by = {r[0]: r for r in rows}
    steps = read_csv(os.path.join(indir, "results.csv"))
    dl = read_csv(os.path.join(indir, "dlopen.csv"))
    meta, prof = {}, {}
    if os.path.exists(os.path.join(indir, "meta.json")):
        meta = json.load(open(os.path.join(indir, "meta.json")))
    if os.path.exists(os.path.join(indir, "dlopen_profile.json")):
        prof = json.load(open(os.path.join(indir, "dlopen_profile.json")))
    os.makedirs(outdir, exist_ok=True)
    made = charts(outdir, rows, steps, dl)
    mode = meta.get("mode", "icount")
    L = ["# Delos benchmarks", ""]
    L.append("Taken with `%s` on %s: %s, CPU `%s`, TSC %s. %s" % (
        meta.get("command", "make bench"), meta.get("date", "an unrecorded date"),
        meta.get("qemu", "QEMU"), meta.get("cpu", "?"), meta.get("tsc", "?"),
        "Guest time under `-icount shift=0`: one instruction = 1 ns, the TSC at 1 GHz, so "
        "cycles count instructions and the figures are deterministic, not those of a real CPU."
        if mode == "icount" else "On KVM with the host's CPU: real cycles, with the host's noise."))
    L += ["", "## The table", "", "| row | median cycles | min | max | runs | median |",
          "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, med, lo, hi, runs, ns in rows:
        L.append("| `%s` | %d | %d | %d | %d | %s |" % (name, med, lo, hi, runs, fmt_ns(ns)))
    if meta.get("notes"):
        L += ["", "Notes the suite printed under its table:", "", "```"] + meta["notes"] + ["```"]
    L += ["", "## Beside published figures", "",
          "| figure | Delos | anchor | its figure | source |", "| --- | --- | --- | --- | --- |"]
    for what, names, anchor, value, source in ANCHORS:
        have = ["`%s` %s" % (n, fmt_ns(by[n][5])) for n in names if n in by]
        L.append("| %s | %s | %s | %s | %s |" % (what, "; ".join(have) or "-", anchor, value, source))
    if mode == "icount":
        L += ["", "Under icount a guest ns is an instruction, so Delos's column counts work, not "
              "time; the anchors are real-hardware figures. `make bench KVM=1` gives real cycles."]
    tgt = [(n, TARGETS[n]) for n in TARGETS if n in by]
    if tgt:
        L += ["", "Hot-path targets (cycles): " + ", ".join(
            "`%s` %d (target <= %d)" % (n, by[n][1], t) for n, t in tgt) + "."]
    if meta.get("sse42"):
        L += ["", "state_db with SSE4.2 (`-cpu qemu64,+sse4.2`, crc32 checksums), median cycles: " +
              ", ".join("`%s` %d" % kv for kv in sorted(meta["sse42"].items())) + "."]
    if steps:
        L += ["", "## Swap steps (median us)", "", "| swap | check | quiesce | relink | handover | commit | pause | total |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for s in steps:
            L.append("| %s | %s |" % (s["swap"], " | ".join(s[k] for k in (
                "check_us", "quiesce_us", "relink_us", "handover_us", "commit_us", "pause", "total"))))
    if dl:
        L += ["", "## Delos's loader against glibc's dlopen (host)", "",
              "The same generated C (N functions calling each other and an import), linked by the "
              "loader from memory as a cell (`ld.lld -r`, kernel flags) and by "
              "`dlopen(RTLD_NOW)`+`dlclose` as a shared object from the file system, alternating "
              "A/B in rounds of one run (medians of each thread's CPU time, user and system, so "
              "the host's other load stays out). Both are built without jump tables "
              "(`-fno-jump-tables`, as Linux builds its kernel for retpolines; tests/bench.mk). "
              "`check` is the loader's validation alone; "
              "`syscalls` replays the file and mapping system calls of one dlopen; `relocs` count "
              "what each side applies (the object's allocated sections; the shared object's "
              "`.rela.dyn` and `.rela.plt`), and `ns/reloc` divides each side's time by them.", "",
              "| object | obj bytes | .so bytes | loader us | dlopen us | ratio | check us | syscalls us "
              "| loader relocs | dlopen relocs | loader ns/reloc | dlopen ns/reloc |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for d in dl:
            per = ["-", "-", "-", "-"]
            if d.get("obj_relocs") and d.get("so_relocs"):
                no, ns = int(d["obj_relocs"]), int(d["so_relocs"])
                per = [str(no), str(ns),
                       "%.1f" % (float(d["loader_us"]) * 1000 / no) if no else "-",
                       "%.1f" % (float(d["dlopen_us"]) * 1000 / ns) if ns else "-"]
            L.append("| %s | %s | %s | %s | %s | **%s** | %s | %s | %s |" % (
                d["name"], d["obj_bytes"], d["so_bytes"], d["loader_us"], d["dlopen_us"],
                d["ratio"], d["check_us"], d["syscall_us"], " | ".join(per)))
        per_fn = ""
        big = dl[-1]
        m = re.match(r"gen_(\d+)\.o$", big["name"])
        if m and big.get("obj_relocs") and big.get("so_relocs"):
            n = int(m.group(1))
            per_fn = ": %.1f a function here, against %.1f in the shared object" % (
                int(big["obj_relocs"]) / n, int(big["so_relocs"]) / n)
        L += ["", "Goal: ratio <= 0.5.", "",
              "What dominates: the loader does a static linker's work at load time. It validates "
              "and patches every relocation of the object (calls and string addresses%s), resolves and defines every symbol (the cell's address-sorted "
              "symbol table and export hash) and copies the code; its time follows the "
              "relocations. ld had already done that work for the shared object, leaving one "
              "relocation a function (its PLT slot, bound by name under RTLD_NOW): dlopen's time "
              "is ld.so's symbol look-ups by name and the kernel's mapping, page faults and "
              "unmapping, and it follows the exported names." % per_fn]
        if prof.get("profile"):
            L += ["", "Where the time goes (perf record, %s; by object, then by symbol). The "
                  "loader's side maps resident memory it does not zero (the loader writes every "
                  "byte), as nano_core maps RAM frames for a cell (no system call, no page "
                  "fault); dlopen's kernel share is its file and mapping system calls and page "
                  "faults." % prof.get("object", "")]
            for side, text in prof["profile"].items():
                L += ["", "%s:" % side, "", "```", text, "```"]
    if made:
        L += ["", "## Charts", ""] + ["![%s](%s)" % (m, m) for m in made]
    path = os.path.join(outdir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    return path, rows, made


def check(indir, outdir):
    path, rows, made = report(indir, outdir)
    text = open(path).read()
    missing = ["row %s" % r[0] for r in rows if "`%s`" % r[0] not in text]
    missing += ["anchor %s" % a[2] for a in ANCHORS if a[2] not in text or a[3] not in text]
    if shutil.which("gnuplot"):
        missing += ["chart %s" % c for c in ("swap_steps.png", "link_size.png")
                    if c not in made or os.path.getsize(os.path.join(outdir, c)) == 0]
    if missing:
        print("bench-report-check: %s lacks %s" % (path, ", ".join(missing)))
        return 1
    # A bad row is refused, naming it, and writes no report.
    bad = tempfile.mkdtemp(prefix="bench-bad-")
    with open(os.path.join(indir, "micro.csv")) as f:
        lines = f.read().splitlines()
    name = lines[1].split(",")[0]
    lines[1] = "%s,10,20,30,5,10" % name   # min 20 > median 10
    with open(os.path.join(bad, "micro.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    try:
        report(bad, os.path.join(bad, "out"))
        print("bench-report-check: a row with min > median was not refused")
        return 1
    except BadInput as e:
        if name not in str(e) or os.path.exists(os.path.join(bad, "out", "report.md")):
            print("bench-report-check: the refusal does not name %s or a report was written: %s" % (name, e))
            return 1
    finally:
        shutil.rmtree(bad)
    print("bench-report-check: %s has all %d rows, %d anchors and %d charts; a bad row is refused"
          % (path, len(rows), len(ANCHORS), len(made)))
    return 0


def main(argv):
    do_check = argv[:1] == ["--check"]
    args = argv[1:] if do_check else argv
    if len(args) != 2:
        print(__doc__.strip().splitlines()[0] + "\nusage: report.py [--check] DIR OUTDIR", file=sys.stderr)
        return 2
    try:
        if do_check:
            return check(*args)
        path = report(*args)[0]
    except (BadInput, OSError) as e:
        print("report: %s" % e, file=sys.stderr)
        return 1
    print("report: wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
