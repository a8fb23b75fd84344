#!/usr/bin/env python3
"""Runs a fault-injection campaign (tests/campaigns/NAME.cfg); see the README ("Campaigns").

  tests/campaigns/campaign.py CFG [--jobs N] [--out DIR] [--sshloginfile FILE]
                              [--no-snapshot] [--speed N] [--limit N]

1. Boots the ISO once, plays the experiment's setup (the lines before `snapshot`) and
   saves the VM (QEMU savevm in a small qcow2 disk); every run starts from it (-loadvm).
2. Golden runs: the experiment without its `inject` lines, once per swap schedule. They
   must be clean; their outputs are what the runs are held to.
3. The fan-out: seeds x kinds x cells x swap schedules (and any `run` lines), each an
   independent QEMU run, through GNU parallel (local cores, or --sshloginfile).
4. Classifies every run against its golden run; writes results.csv and report.md.

Rerunning the same campaign skips the runs that finished (their result files are kept
in DIR/runs/); an ISO or experiment that changed since the campaign began is refused.
"""
import argparse
import csv
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXP = os.path.join(ROOT, "tests", "experiments", "exp.py")
ISO = os.path.join(ROOT, "build", "out", "delos.iso")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(EXP))
import report  # noqa: E402
import exp  # noqa: E402

OUTCOMES = report.OUTCOMES
CSV_FIELDS = report.CSV_FIELDS


class ConfigError(Exception):
    pass


def parse_seeds(text):
    seeds = []
    for part in text.replace(",", " ").split():
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ConfigError("seeds: '%s' is not N or N-M" % part)
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ConfigError("seeds: %s ends before it starts" % part)
        seeds += range(lo, hi + 1)
    return seeds


def parse_config(path):
    cfg = {"experiment": None, "seeds": [], "kinds": [], "cells": [], "swaps": [""],
           "set": {}, "runs": [], "exclude": set(), "jobs": None, "speed_sample": 0, "after": ""}
    try:
        text = open(path).read()
    except OSError as e:
        raise ConfigError(str(e))
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("set "):
            k, eq, v = line[4:].partition("=")
            if not eq or not re.fullmatch(r"[A-Za-z_]\w*", k.strip()):
                raise ConfigError("line %d: set NAME = VALUE" % n)
            cfg["set"][k.strip()] = v.strip()
            continue
        if line.startswith("run "):
            run = {}
            try:
                words = shlex.split(line[4:])
            except ValueError as e:
                raise ConfigError("line %d: %s" % (n, e))
            for w in words:
                k, eq, v = w.partition("=")
                if not eq or k not in ("cell", "kind", "seed", "site", "swap"):
                    raise ConfigError("line %d: run cell=C kind=K seed=N|site=\"FUNCTION:INSN\" [swap=I]" % n)
                run[k] = v
            if "site" in run and "seed" not in run:
                # The seed that picks this instruction on this build (delos.swifi_seed).
                fn, colon, insn = run.pop("site").partition(":")
                try:
                    run["seed"] = str(exp.delos.swifi_seed(run.get("cell", ""), run.get("kind", ""), fn, insn))
                except exp.delos.TestFailure as e:
                    raise ConfigError("line %d: %s" % (n, e))
            if not {"cell", "kind", "seed"} <= set(run) or not run["seed"].isdigit():
                raise ConfigError("line %d: run needs cell=, kind= and seed=N or site=" % n)
            cfg["runs"].append(run)
            continue
        k, eq, v = line.partition("=")
        k, v = k.strip(), v.strip()
        if not eq:
            raise ConfigError("line %d: KEY = VALUE, not '%s'" % (n, line))
        if k == "experiment":
            cfg[k] = v
        elif k == "seeds":
            cfg[k] = parse_seeds(v)
        elif k in ("kinds", "cells"):
            cfg[k] = v.split()
        elif k == "swaps":
            # Schedules split by |: "none", or OLD@V NEW@V pairs swapped in the first window
            # and undone in the second; "PAIRS / PAIRS" gives the second swap itself
            # (nothing after / for none).
            cfg[k] = ["" if s.strip() == "none" else " ".join(s.split()) for s in v.split("|")]
            for s in cfg[k]:
                for part in s.split("/"):
                    if len(part.split()) % 2 or s.count("/") > 1:
                        raise ConfigError("line %d: a swap schedule is OLD@V NEW@V pairs [/ pairs], "
                                          "or none" % n)
        elif k == "exclude":
            for w in v.split():
                if not re.fullmatch(r"[\w-]+:[\w-]+", w):
                    raise ConfigError("line %d: exclude KIND:CELL ..., not '%s'" % (n, w))
                cfg[k].add(w)
        elif k in ("jobs", "speed_sample"):
            if not v.isdigit():
                raise ConfigError("line %d: %s takes a number" % (n, k))
            cfg[k] = int(v)
        elif k == "after":
            if v and not re.fullmatch(r"\d+(ms|calls)", v):
                raise ConfigError("line %d: after = Nms or Ncalls" % n)
            cfg[k] = v
        else:
            raise ConfigError("line %d: unknown key '%s' (experiment, seeds, kinds, cells, swaps, "
                              "after, exclude, jobs, speed_sample, set, run)" % (n, k))
    if not cfg["experiment"]:
        raise ConfigError("no 'experiment = PATH'")
    if not os.path.isfile(os.path.join(ROOT, cfg["experiment"])):
        raise ConfigError("experiment %s: no such file" % cfg["experiment"])
    if not (cfg["seeds"] and cfg["kinds"] and cfg["cells"]) and not cfg["runs"]:
        raise ConfigError("nothing to run: give seeds, kinds and cells, or run lines")
    return cfg


def there(schedule):
    return schedule.split("/")[0].strip()


def back(schedule):
    """The second swap: what follows '/', or the first undone (pairs reversed)."""
    if "/" in schedule:
        return schedule.split("/")[1].strip()
    w = schedule.split()
    pairs = [(w[i], w[i + 1]) for i in range(0, len(w), 2)]
    return " ".join("%s %s" % (b, a) for a, b in reversed(pairs))


def plan(cfg):
    """Every run, in a fixed order: (id, vars)."""
    runs = []
    for wi, sw in enumerate(cfg["swaps"]):
        for kind in cfg["kinds"]:
            for cell in cfg["cells"]:
                if "%s:%s" % (kind, cell) in cfg["exclude"]:
                    continue
                for seed in cfg["seeds"]:
                    runs.append((cell, kind, seed, wi))
    for r in cfg["runs"]:
        wi = int(r.get("swap", 0))
        if wi >= len(cfg["swaps"]):
            raise ConfigError("run swap=%d: there are %d schedules" % (wi, len(cfg["swaps"])))
        runs.append((r["cell"], r["kind"], int(r["seed"]), wi))
    out, seen = [], set()
    for cell, kind, seed, wi in runs:
        rid = "%s.%s.s%d.w%d" % (kind, cell, seed, wi)
        if rid in seen:
            continue
        seen.add(rid)
        out.append((rid, {"cell": cell, "kind": kind, "seed": str(seed), "swap": there(cfg["swaps"][wi]),
                          "swap_back": back(cfg["swaps"][wi]), "schedule": str(wi)}))
    return out


def file_hash(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def exp_args(cfg, v, extra_sets=()):
    sets = dict(cfg["set"])
    sets.update({"cell": v["cell"], "kind": v["kind"], "seed": v["seed"], "swap": v["swap"],
                 "swap_back": v["swap_back"], "after": cfg["after"]})
    sets.update(dict(extra_sets))
    out = []
    for k in sorted(sets):
        out += ["--set", "%s=%s" % (k, sets[k])]
    return out


def run_exp(args):
    p = subprocess.run([sys.executable, EXP] + args + ["--print-json"], capture_output=True, text=True)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode not in (0, 1) or not lines:
        raise ConfigError("the experiment did not run: %s%s" % (p.stdout[-800:], p.stderr[-800:]))
    return json.loads(lines[-1])


# ---------------------------------------------------------------- classification

def classify(r, golden):
    """(outcome, subclass, detail, activated, detection latency us, recovery time us)."""
    armed = r.get("armed")
    faults = r.get("faults") or []
    gfaults = len(golden.get("faults") or [])
    new = faults[gfaults:] if len(faults) > gfaults else []
    fired = r.get("fired")
    if armed and armed.get("injector") == "swifi@1":
        activated = "yes" if fired else "no"
    elif new or r.get("status") == "down":
        activated = "yes"
    else:
        activated = "unknown"
    lat = rec = ""
    if new:
        t0 = new[0]["t_ns"]
        if fired:
            lat = str(max(0, (t0 - fired["t_ns"]) // 1000))
        ends = [f["t_ns"] + f["recover_us"] * 1000 for f in new if "recover_us" in f]
        if ends and all("recover_us" in f for f in new):
            rec = str((max(ends) - t0) // 1000)
    status = r.get("status")
    steps = r.get("steps") or []
    bad = [s for s in steps if not s["ok"] and s["kind"] not in ("swap",)]
    swaps_refused = sum(1 for s in r.get("swaps") or [] if not s["ok"])
    detail = "; ".join(s.get("why", s["kind"]) for s in bad)[:300]
    if swaps_refused:
        detail = ("%d swap(s) refused; " % swaps_refused + detail).strip("; ")
    if status == "error":
        return "error", "", r.get("reason") or "", activated, lat, rec
    if armed and armed.get("garbled"):
        activated = "yes"
    if status == "down":
        return "nano_core down", "", r.get("reason") or "QEMU exited", activated, lat, rec
    if status == "hang":
        return "hang", "", r.get("reason") or "", activated, lat, rec
    if not armed and not r.get("golden"):
        inj = [s for s in steps if s["kind"] == "inject"]
        return "error", "", "not injected: %s" % (inj[0].get("why", "") if inj else "no inject line"), \
            activated, lat, rec
    if r.get("given_up"):
        return "cell given up", "", detail or "gave up", activated, lat, rec
    unrecovered = [f for f in new if f.get("outcome", "recovered") != "recovered"]
    if unrecovered:
        return "cell given up", "", "%s: %s" % (unrecovered[0].get("action", ""),
                                                unrecovered[0].get("outcome", "")), activated, lat, rec
    exp = r.get("expects") or {}
    w = r.get("workload") or {}
    gw = golden.get("workload") or {}
    wrong = []
    if exp.get("workload-clean") is False:
        wrong.append("workload: %s errors, %s mismatches" % (w.get("errors"), w.get("mismatches")))
    if gw.get("files") is not None and w.get("files") is not None and w["files"] != gw["files"]:
        wrong.append("verify checked %s files, golden %s" % (w["files"], gw["files"]))
    if exp.get("answers") is False:
        wrong.append("the console's answer differs from the golden run")
    other = [s for s in bad if s["kind"] in ("run", "until", "wait")]
    if other:
        wrong.append(other[0].get("why", "a command's output differs"))
    if armed and armed.get("garbled"):
        wrong.insert(0, "the console printed garbage in place of the injector's answer")
    if wrong:
        return "silent corruption", "detected" if new else "undetected", "; ".join(wrong)[:300], \
            activated, lat, rec
    if new:
        return "recovered", "", detail, activated, lat, rec
    sub = {"yes": "no effect", "no": "not reached"}.get(activated, "no effect seen")
    return "not manifested", sub, detail, activated, lat, rec


def down_why(transcript_path):
    """Where nano_core went down: its own function that faulted and the cell that called
    it (the first frame of a cell in the backtrace), from the transcript."""
    try:
        t = open(transcript_path, errors="replace").read()
    except OSError:
        return ""
    m = re.search(r"\*\*\* EXCEPTION (\d+) (#\w+)[^\n]*\nRIP ([0-9a-f]+) <([^>]*)>", t)
    if not m:
        return ""
    bt = t[m.end():]
    bt = bt[:bt.find("PANIC")] if "PANIC" in bt else bt[:4000]
    frames = re.findall(r"^  #(\d+) +[0-9a-f]+ <([^>]+)>", bt, re.M)
    cell = [f for n, f in frames if ":" in f]
    if m.group(4) == "?":
        up = [f for n, f in frames if n != "0" and f != "?"]
        return "%s at %s, no code there%s%s" % (
            m.group(2), m.group(3), ", from nano_core:%s" % up[0] if up and ":" not in up[0] else "",
            " (first cell frame %s)" % cell[0] if cell else "")
    if ":" in m.group(4):
        return "%s in %s" % (m.group(2), m.group(4))
    return "%s in nano_core:%s%s" % (m.group(2), m.group(4),
                                     ", called from %s" % cell[0] if cell else "")


def reparse(r, runs_dir):
    """A run recorded before its armed line could be read whole (a log line inside it),
    or before its recovery lines could be read (a fault without its recovery time):
    read it again from the transcript."""
    if runs_dir and any("recover_us" not in f for f in r.get("faults") or []):
        try:
            t = open(os.path.join(runs_dir, r.get("transcript", r["id"] + ".txt")), errors="replace").read()
            r = dict(r, faults=exp.parse_faults(t))
        except OSError:
            pass
    if r.get("armed") is None and not r.get("golden") and runs_dir:
        try:
            t = open(os.path.join(runs_dir, r.get("transcript", r["id"] + ".txt")), errors="replace").read()
        except OSError:
            return r
        armed = exp.parse_armed(t)
        fired = re.search(r"swifi: fired id=(\S+) kind=\S+ cell=\S+ site=(\S+) t=\d+", t)
        if not armed and fired:
            # The fault went off inside the injector's own answer (the console's path), so
            # its armed line never came out; swifi's fired line names the site.
            armed = {"id": fired.group(1), "site": fired.group(2), "injector": "swifi@1"}
            if "swifi: armed " in t:
                armed["garbled"] = True
        if not armed and "swifi: armed " in t:
            # The injector began its answer and the console garbled the rest: the fault
            # was in the console's own output path, and it showed.
            armed = {"id": "", "site": "", "injector": "swifi@1", "garbled": True}
        if armed:
            r = dict(r, armed=armed)
            if r.get("status") == "failed":
                steps = [dict(s, ok=True) if s["kind"] == "inject" else s for s in r["steps"]]
                r["steps"] = steps
                if all(s["ok"] for s in steps):
                    r["status"] = "ok"
    return r


def csv_row(r, golden, runs_dir=None):
    r = reparse(r, runs_dir)
    outcome, sub, detail, activated, lat, rec = classify(r, golden)
    if outcome == "nano_core down" and runs_dir:
        why = down_why(os.path.join(runs_dir, r.get("transcript", r["id"] + ".txt")))
        if why:
            detail = "%s; %s" % (why, detail)
    v = r.get("vars") or {}
    armed = r.get("armed") or {}
    return {"run": r["id"], "seed": v.get("seed", ""), "kind": v.get("kind", ""),
            "cell": v.get("cell", ""), "swap": v.get("swap", ""), "site": armed.get("site", ""),
            "insn": armed.get("insn", ""), "activated": activated, "outcome": outcome,
            "subclass": sub, "detection_latency_us": lat, "recovery_time_us": rec,
            "detail": re.sub(r"[^\x20-\x7e]", "?", detail)[:300], "transcript": "runs/%s" % r.get("transcript", r["id"] + ".txt")}


# ---------------------------------------------------------------- the campaign

class Campaign:
    def __init__(self, a, cfg):
        self.a, self.cfg = a, cfg
        self.name = os.path.splitext(os.path.basename(a.cfg))[0]
        self.out = a.out or os.path.join(ROOT, "build", "out", "campaigns", self.name)
        self.runs_dir = os.path.join(self.out, "runs")
        self.exp = os.path.join(ROOT, cfg["experiment"])
        self.snapshot = os.path.join(self.out, "snapshot.qcow2")
        self.jobs = a.jobs or cfg["jobs"] or os.cpu_count() or 1
        self.proc = None
        # The campaign boots its own copy of the ISO, so that a rebuild meanwhile
        # changes none of its runs.
        self.iso = os.path.join(self.out, "delos.iso")

    def log(self, text):
        print(text, flush=True)
        with open(os.path.join(self.out, "progress.log"), "a") as f:
            f.write(text + "\n")

    def check_identity(self):
        """One campaign, one build: refuse to resume over a changed ISO or experiment."""
        if not os.path.exists(self.iso):
            shutil.copyfile(ISO, self.iso)
        ident = {"iso": file_hash(self.iso), "experiment": file_hash(self.exp),
                 "cfg": file_hash(self.a.cfg)}
        path = os.path.join(self.out, "campaign.json")
        if os.path.exists(path):
            old = json.load(open(path))
            changed = [k for k in ident if old.get(k) != ident[k]]
            if changed:
                raise ConfigError("%s changed since this campaign began (%s); remove %s to start "
                                  "over" % (" and ".join(changed), path, self.out))
        else:
            with open(path, "w") as f:
                json.dump(ident, f)

    def save_snapshot(self):
        if os.path.exists(self.snapshot):
            return
        self.log("campaign %s: booting once and saving the VM after the setup" % self.name)
        t0 = time.monotonic()
        tmp = self.snapshot + ".tmp"
        r = run_exp([self.exp, "--iso", self.iso, "--out", self.out, "--id", "setup", "--save-snapshot", tmp]
                    + exp_args(self.cfg, {"cell": "", "kind": "", "seed": "0", "swap": "",
                                          "swap_back": ""}))
        if not r["ok"] or not os.path.exists(tmp):
            raise ConfigError("the setup failed (%s: %s); see %s/setup.txt" % (
                r["status"], r.get("reason") or [s.get("why") for s in r["steps"] if not s["ok"]],
                self.out))
        os.replace(tmp, self.snapshot)
        self.log("campaign %s: snapshot saved in %.1f s" % (self.name, time.monotonic() - t0))

    def golden(self):
        """One fault-free run per swap schedule, from the snapshot."""
        goldens = {}
        for wi, sw in enumerate(self.cfg["swaps"]):
            path = os.path.join(self.out, "golden.w%d.json" % wi)
            if os.path.exists(path):
                goldens[str(wi)] = json.load(open(path))
                continue
            v = {"cell": "", "kind": "", "seed": "0", "swap": there(sw), "swap_back": back(sw)}
            r = run_exp([self.exp, "--iso", self.iso, "--out", self.out, "--id", "golden.w%d" % wi,
                         "--skip-inject"]
                        + (["--snapshot", self.snapshot] if not self.a.no_snapshot else [])
                        + exp_args(self.cfg, v))
            problems = [s.get("why", s["kind"]) for s in r["steps"] if not s["ok"]]
            if r["status"] != "ok" or problems or r["faults"]:
                os.unlink(path) if os.path.exists(path) else None
                raise ConfigError("the golden run (schedule %d) is not clean: %s %s %s; see %s" % (
                    wi, r["status"], r.get("reason") or "", problems or r["faults"],
                    os.path.join(self.out, "golden.w%d.txt" % wi)))
            goldens[str(wi)] = r
            self.log("campaign %s: golden run (schedule %d: %s) clean: %s operations, %s files "
                     "verified" % (self.name, wi, sw or "no swaps", r["workload"]["operations"]
                                   if r.get("workload") else "-",
                                   r["workload"]["files"] if r.get("workload") else "-"))
        return goldens

    def finished(self):
        done = {}
        if os.path.isdir(self.runs_dir):
            for f in os.listdir(self.runs_dir):
                if f.endswith(".json"):
                    try:
                        done[f[:-5]] = json.load(open(os.path.join(self.runs_dir, f)))
                    except (OSError, ValueError):
                        pass        # a partial file from an interrupted write: run it again
        return done

    def parallel(self, jobs, rows, snapshot, out_dir, on_result):
        """Runs rows [(id, vars)] through GNU parallel; on_result(json) for each line."""
        os.makedirs(out_dir, exist_ok=True)
        jobfile = os.path.join(out_dir, "jobs.tsv")
        keys = ["cell", "kind", "seed", "swap", "swap_back"]
        with open(jobfile, "w") as f:
            for rid, v in rows:
                f.write("\t".join([rid] + [v[k] for k in keys]) + "\n")
        sets = dict(self.cfg["set"])
        sets["after"] = self.cfg["after"]
        fixed = []
        for k in sorted(sets):
            fixed += ["--set", "%s=%s" % (k, sets[k])]
        cmd = ["parallel", "--jobs", str(jobs), "--colsep", "\t", "--line-buffer",
               "--joblog", os.path.join(out_dir, "joblog")]
        exp, snap, odir = EXP, snapshot, out_dir
        if self.a.sshloginfile:
            # Every host has this checkout, built, at the same path (--workdir .):
            # the snapshot goes once to each (--basefile), the transcripts come back.
            rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731
            exp, snap, odir = rel(EXP), rel(snapshot) if snapshot else None, rel(out_dir)
            cmd += ["--sshloginfile", self.a.sshloginfile, "--workdir", ROOT]
            if snap:
                cmd += ["--basefile", snap]
            cmd += ["--return", os.path.join(odir, "{1}.txt"), "--cleanup"]
        cmd += ["python3", exp, self.exp if not self.a.sshloginfile else os.path.relpath(self.exp, ROOT),
                "--out", odir, "--print-json", "--id", "{1}",
                "--iso", self.iso if not self.a.sshloginfile else os.path.relpath(self.iso, ROOT)]
        if snap:
            cmd += ["--snapshot", snap]
        cmd += ["--set", "cell={2}", "--set", "kind={3}", "--set", "seed={4}",
                "--set", "swap={5}", "--set", "swap_back={6}"] + fixed
        cmd += ["::::", jobfile]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                     start_new_session=True)
        for line in self.proc.stdout:
            if line.startswith("{"):
                try:
                    on_result(json.loads(line))
                except ValueError:
                    pass
        self.proc.wait()
        self.proc = None

    def stop(self, *_):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.end_runs()
        self.log("campaign %s: interrupted; rerun to go on (finished runs are kept)" % self.name)
        sys.exit(130)

    def end_runs(self):
        """Ends every run still going in this campaign's directory. GNU parallel runs each
        job in a process group of its own, and one it could not end in time (SIGKILLed
        itself) would write its result after the campaign had said what was finished."""
        pattern = "--out %s " % self.runs_dir
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            subprocess.run(["pkill", "-%d" % sig, "-f", "--", pattern], capture_output=True)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True).returncode:
                    return
                time.sleep(0.1)

    def speed(self, rows, goldens):
        """Runs per minute with and without the snapshot, over the same sample of runs."""
        path = os.path.join(self.out, "speed.json")
        if os.path.exists(path):
            return json.load(open(path))
        figures = {"jobs": self.jobs, "sample": len(rows)}
        for label, snap in (("with_snapshot", self.snapshot), ("without_snapshot", None)):
            d = os.path.join(self.out, "speed", label)
            shutil.rmtree(d, ignore_errors=True)
            t0 = time.monotonic()
            self.parallel(self.jobs, rows, snap, d, lambda r: None)
            figures[label] = round(len(rows) * 60.0 / (time.monotonic() - t0), 1)
        with open(path, "w") as f:
            json.dump(figures, f)
        self.log("campaign %s: %s runs/min with the snapshot, %s without (sample of %d, %d jobs)" % (
            self.name, figures["with_snapshot"], figures["without_snapshot"], len(rows), self.jobs))
        return figures

    def main(self):
        os.makedirs(self.runs_dir, exist_ok=True)
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        self.check_identity()
        runs = plan(self.cfg)
        if self.a.limit:
            runs = runs[:self.a.limit]
        if not self.a.no_snapshot:
            self.save_snapshot()
        goldens = self.golden()
        done = self.finished()
        pending = [(rid, v) for rid, v in runs if rid not in done]
        total = len(runs)
        counts = {}
        for rid, _ in runs:
            if rid in done:
                o = classify(done[rid], goldens[done[rid]["vars"].get("schedule", "0")]
                             if "schedule" in done[rid]["vars"] else goldens["0"])[0]
                counts[o] = counts.get(o, 0) + 1
        ndone = total - len(pending)
        self.log("campaign %s: %d runs (%d kinds x %d cells x %d seeds x %d swap schedules%s), "
                 "%d finished before, %d to run, %d jobs" % (
                     self.name, total, len(self.cfg["kinds"]), len(self.cfg["cells"]),
                     len(self.cfg["seeds"]), len(self.cfg["swaps"]),
                     " + %d listed" % len(self.cfg["runs"]) if self.cfg["runs"] else "",
                     ndone, len(pending), self.jobs))
        by_id = dict(runs)
        t0 = time.monotonic()
        started = ndone
        state = {"done": ndone}

        def on_result(r):
            rid = r["id"]
            if rid not in by_id:
                return
            if r.get("status") == "error":
                # The harness failed (e.g. QEMU never restored the snapshot): not a result.
                self.log("[%d/%d] %s: not run (%s); it is run again" % (
                    state["done"], total, rid, (r.get("reason") or "")[:200]))
                return
            sched = by_id[rid]["schedule"]
            r["vars"]["schedule"] = sched
            tmp = os.path.join(self.runs_dir, rid + ".json.tmp")
            with open(tmp, "w") as f:
                f.write(json.dumps(r, sort_keys=True) + "\n")
            os.replace(tmp, os.path.join(self.runs_dir, rid + ".json"))
            o = classify(r, goldens[sched])[0]
            counts[o] = counts.get(o, 0) + 1
            state["done"] += 1
            el = time.monotonic() - t0
            rate = (state["done"] - started) / el * 60 if el > 0 else 0
            left = total - state["done"]
            eta = left / rate * 60 if rate > 0 else 0
            self.log("[%d/%d] %s: %s | %s | %.1f runs/min, ETA %s (%dm%02ds)" % (
                state["done"], total, rid, o,
                ", ".join("%s %d" % (k, counts[k]) for k in OUTCOMES + ["error"] if counts.get(k)),
                rate, time.strftime("%H:%M", time.gmtime(time.time() + eta)), eta // 60, eta % 60))

        # Seed by seed, so that a campaign cut short still has every kind, cell and
        # schedule; results.csv keeps the plan's order.
        pending.sort(key=lambda x: (int(x[1]["seed"]), x[0]))
        if self.a.report_only:
            pending = []
        for attempt in range(2):        # once, and once more for runs the harness failed
            if pending:
                self.parallel(self.jobs, pending, None if self.a.no_snapshot else self.snapshot,
                              self.runs_dir, on_result)
            done = self.finished()
            pending = [(rid, v) for rid, v in pending if rid not in done]
        fan_out_wall = time.monotonic() - t0
        done = self.finished()
        missing = [rid for rid, _ in runs if rid not in done]
        rows = [csv_row(done[rid], goldens[by_id[rid]["schedule"]], self.runs_dir)
                for rid, _ in runs if rid in done]
        csv_path = os.path.join(self.out, "results.csv")
        with open(csv_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            w.writeheader()
            w.writerows(rows)
        meta = {"name": self.name, "config": os.path.relpath(self.a.cfg, ROOT),
                "experiment": self.cfg["experiment"], "jobs": self.jobs,
                "window": self.cfg["set"].get("window", ""),
                "swaps": self.cfg["swaps"], "snapshot": not self.a.no_snapshot}
        if pending:
            meta["fan_out_runs_per_min"] = round(len(pending) * 60.0 / fan_out_wall, 1)
        mpath = os.path.join(self.out, "meta.json")
        if os.path.exists(mpath):
            old = json.load(open(mpath))
            old.update(meta)
            meta = old
        n = self.a.speed if self.a.speed is not None else self.cfg["speed_sample"]
        if n and not self.a.report_only:
            meta["speed"] = self.speed(runs[:n], goldens)
        with open(mpath, "w") as f:
            json.dump(meta, f, indent=1)
        report.write_report(csv_path, os.path.join(self.out, "report.md"), meta)
        self.log("campaign %s: %d of %d runs in %s (results.csv, report.md)%s" % (
            self.name, len(rows), total, os.path.relpath(self.out, ROOT),
            "; %d did not finish: rerun to go on" % len(missing) if missing else ""))
        return 0 if not missing else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cfg")
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--out")
    ap.add_argument("--sshloginfile")
    ap.add_argument("--no-snapshot", action="store_true", help="boot every run from scratch")
    ap.add_argument("--speed", type=int, help="measure runs/min with and without the snapshot "
                    "over this many runs (default: speed_sample in the cfg)")
    ap.add_argument("--limit", type=int, help="only the first N runs of the plan")
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing: results.csv and report.md from the runs finished so far")
    a = ap.parse_args()
    try:
        cfg = parse_config(a.cfg)
        if not os.path.exists(ISO):
            raise ConfigError("no %s: run make first" % os.path.relpath(ISO, ROOT))
        return Campaign(a, cfg).main()
    except ConfigError as e:
        print("campaign: %s: %s" % (a.cfg, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
