#!/usr/bin/env python3
"""Runs every Delos test and ends with one line: "N passed, N failed".

  tests/run.py [--host BIN...] [--script NAME=MAKE_TARGET...] [-k SUBSTRING] [-j JOBS]

Host unit tests are Criterion binaries (each test case counts); QEMU tests
are the functions named test_* in tests/qemu/test_*.py, each given a fresh
Machine and a time limit; scripts are make targets that pass when make succeeds.
"""
import argparse
import concurrent.futures
import importlib.util
import os
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "qemu"))
import delos  # noqa: E402


class Result:
    def __init__(self, name, ok, detail="", seconds=0.0):
        self.name, self.ok, self.detail, self.seconds = name, ok, detail, seconds


def run_host_binary(path):
    """One Result per Criterion test case, parsed from its TAP output."""
    name = os.path.basename(path)
    t0 = time.monotonic()
    p = subprocess.run([path, "--tap=-", "-j1"], capture_output=True, text=True,
                       errors="backslashreplace", timeout=600)
    secs = time.monotonic() - t0
    results = []
    for line in p.stdout.splitlines():
        m = re.match(r"(not ok|ok)(?: \d+)? - (\S+)", line)
        if m:
            results.append(Result("%s:%s" % (name, m.group(2)), m.group(1) == "ok", "", secs))
    bad = [r for r in results if not r.ok]
    for r in bad:
        r.detail = p.stdout + p.stderr
    if p.returncode != 0 and not bad:
        results.append(Result(name, False, "exit status %d\n%s%s" % (p.returncode, p.stdout, p.stderr), secs))
    if not results:
        results.append(Result(name, False, "no test cases ran\n" + p.stdout + p.stderr, secs))
    return results


def run_script(spec):
    """NAME=TARGET: passes when `make TARGET` succeeds."""
    name, target = spec.split("=", 1)
    t0 = time.monotonic()
    p = subprocess.run(["make", "--no-print-directory", target], capture_output=True, text=True,
                       timeout=1800)
    return [Result(name, p.returncode == 0, p.stdout + p.stderr, time.monotonic() - t0)]


def discover_qemu_tests(pattern):
    tests = []
    qdir = os.path.join(HERE, "qemu")
    for fname in sorted(os.listdir(qdir)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fname[:-3], os.path.join(qdir, fname))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for attr in sorted(dir(mod)):
            fn = getattr(mod, attr)
            if attr.startswith("test_") and callable(fn):
                name = "qemu:%s" % attr[5:]
                if pattern in name:
                    tests.append((name, fn))
    return tests


def run_qemu_test(name, fn):
    """Runs fn(machine_factory); the test boots what it needs through the factory."""
    machines = []

    def machine(**kw):
        m = delos.Machine(**kw)
        machines.append(m)
        return m

    t0 = time.monotonic()
    try:
        fn(machine)
        ok, detail = True, ""
    except delos.TestFailure as e:
        ok, detail = False, str(e)
    except Exception:
        ok, detail = False, traceback.format_exc()
    finally:
        for m in machines:
            m.close()
    if not ok:
        for i, m in enumerate(machines):
            detail += "\n--- transcript of machine %d ---\n%s" % (i, m.transcript)
    return [Result(name, ok, detail, time.monotonic() - t0)]


def report(results):
    for r in results:
        print("%s %s (%.1fs)" % ("PASS" if r.ok else "FAIL", r.name, r.seconds), flush=True)
        if not r.ok:
            print("    " + r.detail.replace("\n", "\n    "), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", nargs="*", default=[])
    ap.add_argument("--script", action="append", default=[])
    ap.add_argument("-k", default="", help="run only tests whose name contains this")
    ap.add_argument("-j", type=int, default=max(1, os.cpu_count() or 1))
    a = ap.parse_args()

    t0 = time.monotonic()
    results = []
    for b in a.host:
        if a.k in os.path.basename(b) or not a.k:
            r = run_host_binary(b)
            report(r)
            results += r
    for s in a.script:
        if a.k in s.split("=", 1)[0]:
            r = run_script(s)
            report(r)
            results += r
    tests = discover_qemu_tests(a.k)
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as pool:
        for r in pool.map(lambda t: run_qemu_test(*t), tests):
            report(r)
            results += r
    passed = sum(r.ok for r in results)
    failed = len(results) - passed
    print("wall time %.0fs" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
