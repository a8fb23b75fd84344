#!/usr/bin/env python3
"""The report builds from a CSV: tests/campaigns/fixture.csv holds ten runs whose figures
are known (4 recovered of 8 manifested, one nano_core down, recovery times 1000, 2000,
3000 and 9000 us); the report must say so, draw both charts and link the transcript of
the run that took nano_core down (copied beside the report)."""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import report  # noqa: E402


def main():
    tmp = tempfile.mkdtemp(prefix="delos-report-")
    try:
        shutil.copyfile(os.path.join(HERE, "fixture.csv"), os.path.join(tmp, "results.csv"))
        os.makedirs(os.path.join(tmp, "runs"))
        with open(os.path.join(tmp, "runs", "nop.tasks.s1.w1.txt"), "w") as f:
            f.write("delos> \nPANIC: unhandled #UD in nano_core\n")
        out = os.path.join(tmp, "docs")
        os.makedirs(out)
        md = report.write_report(os.path.join(tmp, "results.csv"), os.path.join(out, "report.md"),
                                 {"name": "fixture", "speed": {"jobs": 2, "with_snapshot": 120.0,
                                                               "without_snapshot": 9.5}})
        text = open(md).read()
        want = ["| runs (faults injected) | 10 |",
                "| manifested | 8 |",
                "| recovered, workload verified | 4 (50.0% of manifested) |",
                "| silent corruption | 1 |",
                "| nano_core down | 1 |",
                "| nano_core survival | 90.0% of runs |",
                "| not manifested | 2 (1 not reached, 1 reached with no effect) |",
                "| recovery time, median / worst | 2500.0 us / 9000 us |",
                "| runs per minute, 2 jobs, from the snapshot | 120.0 |",
                "| runs per minute, 2 jobs, booting each run | 9.5 |",
                "| nop | 4 | 0 | 1 | 1 | 0 | 1 | 1 | 4 | 25.0% |",
                "| ramfs | 4 | 1 | 2 | 1 | 0 | 0 | 0 | 3 | 66.7% |",
                "![outcomes_by_kind](outcomes_by_kind.svg)",
                "[nop.tasks.s1.w1.txt](transcripts/nop.tasks.s1.w1.txt)"]
        bad = [w for w in want if w not in text]
        for name in ("outcomes_by_kind.svg", "recovery_cdf.svg", "transcripts/nop.tasks.s1.w1.txt"):
            p = os.path.join(out, name)
            if not os.path.isfile(p) or os.path.getsize(p) == 0:
                bad.append("no file " + name)
        svg = open(os.path.join(out, "outcomes_by_kind.svg")).read()
        if "nano_core down" not in svg:
            bad.append("the stacked bars have no 'nano_core down' key")
        # A CSV without the needed columns is refused, naming the column.
        with open(os.path.join(tmp, "bad.csv"), "w") as f:
            f.write("seed,kind\n1,text\n")
        try:
            report.write_report(os.path.join(tmp, "bad.csv"), os.path.join(tmp, "bad.md"))
            bad.append("a CSV without an outcome column was accepted")
        except report.ReportError as e:
            if "outcome" not in str(e):
                bad.append("the refusal does not name the missing column: %s" % e)
        if bad:
            print("report test failed:\n  " + "\n  ".join(bad) + "\n--- report.md ---\n" + text)
            return 1
        print("report test: ok (%d checks)" % (len(want) + 5))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
