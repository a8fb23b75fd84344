"""Campaigns (tests/campaigns/): the golden run is clean, the known-bad case (a fault in
nano_core's own code) is classified "nano_core down", and a campaign interrupted and
resumed gives the same results as one that ran straight through."""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

from delos import check, until, ROOT

CAMPAIGN = os.path.join(ROOT, "tests", "campaigns", "campaign.py")
CFG = os.path.join(ROOT, "tests", "campaigns", "ci.cfg")
sys.path.insert(0, os.path.join(ROOT, "tests", "campaigns"))
import report  # noqa: E402

# What the two campaigns must agree on: everything but guest-time figures and the
# free-text detail, which depend on when the host's keystrokes reach the guest.
SAME = ["run", "seed", "kind", "cell", "swap", "site", "insn", "activated", "outcome",
        "subclass", "transcript"]


def campaign(out, jobs=2):
    return subprocess.run([sys.executable, CAMPAIGN, CFG, "--jobs", str(jobs), "--out", out],
                          capture_output=True, text=True, timeout=900)


def rows(out):
    with open(os.path.join(out, "results.csv"), newline="") as f:
        return list(csv.DictReader(f))


def planned():
    sys.path.insert(0, os.path.dirname(CAMPAIGN))
    import campaign as c
    return [rid for rid, _ in c.plan(c.parse_config(CFG))]


def test_campaign_golden_known_bad_and_resume(machine):
    tmp = tempfile.mkdtemp(prefix="delos-campaign-")
    try:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        ids = planned()
        p = campaign(a)
        check(p.returncode == 0, "the campaign failed: %s%s" % (p.stdout[-3000:], p.stderr[-2000:]))
        for g in ("golden.w0.json", "golden.w1.json"):
            r = json.load(open(os.path.join(a, g)))
            w = r["workload"]
            check(r["status"] == "ok" and r["ok"] and not r["faults"] and r["armed"] is None,
                  "%s is not clean: %s %s" % (g, r["status"], r["faults"]))
            check(w["operations"] > 0 and w["errors"] == 0 and w["files"] > 0 and w["mismatches"] == 0,
                  "%s: the workload is not verified: %r" % (g, w))
        got = rows(a)
        check([r["run"] for r in got] == ids, "results.csv rows %r, the plan %r"
              % ([r["run"] for r in got], ids))
        bad = [r for r in got if r["cell"] == "nano_core"]
        check(len(bad) == 1 and bad[0]["outcome"] == "nano_core down",
              "the fault in nano_core's own code: %r" % bad)
        check(all(r["outcome"] in report.OUTCOMES for r in got),
              "unclassified runs: %r" % [(r["run"], r["outcome"], r["detail"]) for r in got
                                         if r["outcome"] not in report.OUTCOMES])
        rec = [r for r in got if r["outcome"] == "recovered"]
        check(rec and all(re.fullmatch(r"\d+", r["recovery_time_us"]) for r in rec),
              "no recovered run with its recovery time: %r" % got)
        check(os.path.isfile(os.path.join(a, "report.md")), "no report.md")

        # The same campaign, interrupted once a few runs are done, then run again.
        q = subprocess.Popen([sys.executable, CAMPAIGN, CFG, "--jobs", "2", "--out", b],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log = []

        def some_done():
            line = q.stdout.readline()
            log.append(line)
            return re.match(r"\[([5-9]|1\d)/%d\]" % len(ids), line) or q.poll() is not None
        until(some_done, lambda: "the campaign never finished 5 runs: %s" % "".join(log), 300)
        check(q.poll() is None, "the campaign ended before it could be interrupted: %s" % "".join(log))
        q.send_signal(signal.SIGINT)
        q.communicate(timeout=120)
        runs_dir = os.path.join(b, "runs")
        kept = {f: open(os.path.join(runs_dir, f)).read() for f in os.listdir(runs_dir)
                if f.endswith(".json")}
        check(5 <= len(kept) < len(ids), "%d runs finished before the interruption" % len(kept))
        check(not os.path.exists(os.path.join(b, "results.csv")), "an interrupted campaign wrote its CSV")
        p = campaign(b)
        check(p.returncode == 0, "the resumed campaign failed: %s%s" % (p.stdout[-3000:], p.stderr[-2000:]))
        check("%d finished before, %d to run" % (len(kept), len(ids) - len(kept)) in p.stdout,
              "the resumed campaign did not skip the %d finished runs: %s" % (len(kept), p.stdout[:2000]))
        for f, text in kept.items():
            check(open(os.path.join(runs_dir, f)).read() == text, "resuming ran %s again" % f)
        again = rows(b)
        for x, y in zip(got, again):
            check([x[k] for k in SAME] == [y[k] for k in SAME],
                  "resumed and uninterrupted differ:\n%r\n%r" % (x, y))
            check(bool(x["recovery_time_us"]) == bool(y["recovery_time_us"]),
                  "recovery time in one CSV only: %r %r" % (x, y))
        check(len(again) == len(got), "resumed CSV has %d rows, uninterrupted %d" % (len(again), len(got)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
