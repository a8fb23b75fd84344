#!/usr/bin/env python3
"""Builds a campaign's report.md (tables and gnuplot charts) from its results.csv.

  tests/campaigns/report.py RESULTS.CSV [REPORT.MD] [--meta META.JSON]

The charts (SVG) and the transcripts of the runs that took nano_core down are put
beside REPORT.MD (default: report.md beside the CSV), so the folder stands alone.
"""
import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys

OUTCOMES = ["not manifested", "recovered", "silent corruption", "cell given up",
            "nano_core down", "hang"]
CSV_FIELDS = ["run", "seed", "kind", "cell", "swap", "site", "insn", "activated", "outcome",
              "subclass", "detection_latency_us", "recovery_time_us", "detail", "transcript"]


class ReportError(Exception):
    pass


def read_rows(path):
    try:
        with open(path, newline="") as f:
            r = csv.DictReader(f)
            missing = [c for c in ("seed", "kind", "cell", "site", "outcome", "detection_latency_us",
                                   "recovery_time_us", "transcript") if c not in (r.fieldnames or [])]
            if missing:
                raise ReportError("%s has no column %s" % (path, ", ".join(missing)))
            rows = list(r)
    except OSError as e:
        raise ReportError(str(e))
    for i, row in enumerate(rows, 2):
        if row["outcome"] not in OUTCOMES + ["error"]:
            raise ReportError("%s line %d: unknown outcome '%s'" % (path, i, row["outcome"]))
    return rows


def pct(a, b):
    return "%.1f%%" % (100.0 * a / b) if b else "-"


def quantile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def median(values):
    v = sorted(values)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def table(rows, key, columns):
    groups = sorted({r[key] for r in rows})
    head = "| %s | runs | %s | manifested | recovered of manifested |" % (key, " | ".join(columns))
    out = [head, "|" + " --- |" * (len(columns) + 4)]
    for g in groups:
        sel = [r for r in rows if r[key] == g]
        c = {o: sum(1 for r in sel if r["outcome"] == o) for o in columns}
        man = len(sel) - c.get("not manifested", 0) - sum(1 for r in sel if r["outcome"] == "error")
        out.append("| %s | %d | %s | %d | %s |" % (g, len(sel), " | ".join(str(c[o]) for o in columns),
                                                   man, pct(c.get("recovered", 0), man)))
    return "\n".join(out)


def gnuplot(script, cwd):
    p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, cwd=cwd)
    if p.returncode != 0:
        raise ReportError("gnuplot failed: %s" % p.stderr[-500:])


def charts(rows, outdir, columns):
    """outcomes_by_kind.svg (stacked bars) and recovery_cdf.svg; returns their names."""
    kinds = sorted({r["kind"] for r in rows})
    with open(os.path.join(outdir, "outcomes_by_kind.dat"), "w") as f:
        f.write("kind\t" + "\t".join('"%s"' % c for c in columns) + "\n")
        for k in kinds:
            sel = [r for r in rows if r["kind"] == k]
            f.write(k + "\t" + "\t".join(str(sum(1 for r in sel if r["outcome"] == c)) for c in columns)
                    + "\n")
    gnuplot("""set terminal svg size 900,480 dynamic noenhanced font "sans,11"
set output "outcomes_by_kind.svg"
set title "Outcomes by fault kind"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.75
set key outside right top
set ylabel "runs"
set xtics rotate by -30
set yrange [0:*]
plot for [i=2:%d] "outcomes_by_kind.dat" using i:xtic(1) title columnheader(i)
""" % (len(columns) + 1), outdir)
    rec = sorted(int(r["recovery_time_us"]) for r in rows if r["recovery_time_us"].strip())
    with open(os.path.join(outdir, "recovery_cdf.dat"), "w") as f:
        for i, v in enumerate(rec, 1):
            f.write("%d\t%.5f\n" % (v, i / len(rec)))
        if not rec:
            f.write("0\t0\n")
    gnuplot("""set terminal svg size 900,420 dynamic noenhanced font "sans,11"
set output "recovery_cdf.svg"
set title "Recovery time (fault detected to recovered), %d recovered faults"
set xlabel "guest time (us)"
set ylabel "fraction of recoveries"
set logscale x
set yrange [0:1.02]
set grid
set key off
plot "recovery_cdf.dat" using 1:2 with steps lw 2
""" % len(rec), outdir)
    return ["outcomes_by_kind.svg", "recovery_cdf.svg"]


def write_report(csv_path, md_path, meta=None):
    meta = meta or {}
    rows = read_rows(csv_path)
    outdir = os.path.dirname(os.path.abspath(md_path))
    os.makedirs(outdir, exist_ok=True)
    src_dir = os.path.dirname(os.path.abspath(csv_path))
    columns = OUTCOMES + (["error"] if any(r["outcome"] == "error" for r in rows) else [])
    n = len(rows)
    count = {o: sum(1 for r in rows if r["outcome"] == o) for o in columns}
    errors = count.get("error", 0)
    valid = n - errors
    manifested = valid - count["not manifested"]
    reached = sum(1 for r in rows if r["activated"] == "yes")
    noeffect = sum(1 for r in rows if r["outcome"] == "not manifested" and r["subclass"] == "no effect")
    notreached = sum(1 for r in rows if r["outcome"] == "not manifested" and r["subclass"] == "not reached")
    rec = [int(r["recovery_time_us"]) for r in rows if r["outcome"] == "recovered"
           and r["recovery_time_us"].strip()]
    lat = [int(r["detection_latency_us"]) for r in rows if r["detection_latency_us"].strip()]
    down = [r for r in rows if r["outcome"] == "nano_core down"]
    name = meta.get("name") or os.path.basename(outdir)
    L = ["# Campaign %s" % name, ""]
    if meta:
        L.append("Config `%s`, experiment `%s`, %s QEMU jobs, window %s per phase, swap schedules: %s."
                 % (meta.get("config", "?"), meta.get("experiment", "?"), meta.get("jobs", "?"),
                    meta.get("window") or "-",
                    "; ".join(s or "none" for s in meta.get("swaps", [])) or "none"))
        L.append("")
    L += ["## Summary", "",
          "| figure | value |", "| --- | --- |",
          "| runs (faults injected) | %d |" % n,
          "| kinds | %d (%s) |" % (len({r['kind'] for r in rows}), ", ".join(sorted({r['kind'] for r in rows}))),
          "| cells | %d (%s) |" % (len({r['cell'] for r in rows}), ", ".join(sorted({r['cell'] for r in rows}))),
          "| site reached (activated=yes) | %d |" % reached,
          "| not manifested | %d (%d not reached, %d reached with no effect) |" % (
              count["not manifested"], notreached, noeffect),
          "| manifested | %d |" % manifested,
          "| recovered, workload verified | %d (%s of manifested) |" % (count["recovered"],
                                                                       pct(count["recovered"], manifested)),
          "| silent corruption | %d |" % count["silent corruption"],
          "| cell given up | %d |" % count["cell given up"],
          "| hang | %d |" % count["hang"],
          "| nano_core down | %d |" % count["nano_core down"],
          "| nano_core survival | %s of runs |" % pct(valid - count["nano_core down"], valid)]
    if errors:
        L.append("| harness errors (not classified) | %d |" % errors)
    if rec:
        L.append("| recovery time, median / worst | %s us / %d us |" % (median(rec), max(rec)))
    if lat:
        L.append("| detection latency, median / worst | %s us / %d us |" % (median(lat), max(lat)))
    sp = meta.get("speed")
    if sp:
        L.append("| runs per minute, %d jobs, from the snapshot | %s |" % (sp["jobs"], sp["with_snapshot"]))
        L.append("| runs per minute, %d jobs, booting each run | %s |" % (sp["jobs"], sp["without_snapshot"]))
    if meta.get("fan_out_runs_per_min"):
        L.append("| runs per minute over the whole fan-out | %s |" % meta["fan_out_runs_per_min"])
    L += ["", "Outcomes: *not manifested* (the site was never reached within the window, or was "
          "reached with no effect seen), *recovered* (detected, the cell recovered, the workload "
          "verified against the golden run), *silent corruption* (the workload or a command saw "
          "data other than the golden run's), *cell given up* (recovery ran out of tries or "
          "failed), *nano_core down* (panic, triple fault, reboot), *hang* (no answer within "
          "the limit). Times are guest time (`-icount shift=0`: 1 instruction = 1 ns).", ""]
    L += ["## By kind", "", table(rows, "kind", columns), "", "## By cell", "",
          table(rows, "cell", columns), ""]
    try:
        imgs = charts(rows, outdir, columns)
        L += ["## Charts", ""] + ["![%s](%s)" % (i[:-4], i) for i in imgs] + [""]
    except (ReportError, OSError) as e:
        L += ["## Charts", "", "(not drawn: %s)" % e, ""]
    L += ["## Beside other systems", "",
          "| system | faults | manifested | recovered | OS survived |", "| --- | --- | --- | --- | --- |",
          "| Delos (this campaign) | %d injected | %d | %d (%s of manifested, workload verified) | %s of runs |"
          % (n, manifested, count["recovered"], pct(count["recovered"], manifested),
             pct(valid - count["nano_core down"], valid)),
          "| Theseus (OSDI'20 artifact) | - | 617 | 428 (69%) | - |",
          "| Nooks (SOSP'03) | - | - | about 99% of crashes | - |",
          "| MINIX 3 (DSN 2009) | 3.4 million, into drivers | - | - | no OS crash |", ""]
    L += ["## What took nano_core down", ""]
    if not down:
        L += ["Nothing: nano_core survived every run.", ""]
    else:
        causes = {}
        for r in down:
            why = (r.get("detail") or "QEMU exited").split("; ")
            key = why[0]
            key = re.sub(r"\b[0-9a-f]{16}\b", "ADDR", key)
            key = re.sub(r"\+0x[0-9a-f]+", "", key)
            causes.setdefault(key, []).append(r)
        L += ["| cause (what nano_core said) | runs | kinds | cells |", "| --- | --- | --- | --- |"]
        for key, rs in sorted(causes.items(), key=lambda kv: -len(kv[1])):
            L.append("| %s | %d | %s | %s |" % (key.replace("|", "/"), len(rs),
                                                ", ".join(sorted({r["kind"] for r in rs})),
                                                ", ".join(sorted({r["cell"] for r in rs}))))
        L.append("")
        tdir = os.path.join(outdir, "transcripts")
        L += ["Each of these runs, with its transcript (beside this report, under `runs/` in the "
              "campaign's own folder, or copied to `transcripts/` when the report is written "
              "elsewhere; the other runs' transcripts are the CSV's `transcript` column, under the "
              "campaign's folder in `build/out/campaigns/`).", "",
              "| run | kind | cell | site | why | transcript |", "| --- | --- | --- | --- | --- | --- |"]
        for r in down:
            src = os.path.join(src_dir, r["transcript"])
            link = r["transcript"]
            if os.path.isfile(src) and os.path.abspath(src) != os.path.abspath(os.path.join(outdir, link)):
                os.makedirs(tdir, exist_ok=True)
                shutil.copyfile(src, os.path.join(tdir, os.path.basename(src)))
                link = "transcripts/" + os.path.basename(src)
            L.append("| %s | %s | %s | %s | %s | [%s](%s) |" % (
                r["run"] if "run" in r else "", r["kind"], r["cell"], r["site"] or "-",
                (r.get("detail") or "").replace("|", "/"), os.path.basename(link), link))
        L.append("")
    sc = [r for r in rows if r["outcome"] == "silent corruption"]
    if sc:
        L += ["## Silent corruption", "", "| run | site | what differed |", "| --- | --- | --- |"]
        for r in sc[:50]:
            L.append("| %s | %s | %s |" % (r.get("run", ""), r["site"], (r.get("detail") or "").replace("|", "/")))
        L.append("")
    with open(md_path, "w") as f:
        f.write("\n".join(L))
    return md_path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("md", nargs="?")
    ap.add_argument("--meta")
    a = ap.parse_args()
    md = a.md or os.path.join(os.path.dirname(os.path.abspath(a.csv)), "report.md")
    try:
        meta = json.load(open(a.meta)) if a.meta else {}
        write_report(a.csv, md, meta)
    except (ReportError, OSError, ValueError) as e:
        print("report: %s" % e, file=sys.stderr)
        return 2
    print("report: wrote %s" % md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
