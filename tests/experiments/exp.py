#!/usr/bin/env python3
"""Plays one experiment script (tests/experiments/NAME.exp) on the real Delos ISO.

  tests/experiments/exp.py SCRIPT [--set NAME=VALUE ...] [--out DIR] [--id ID]
                           [--snapshot QCOW2 | --save-snapshot QCOW2] [--no-icount]
                           [--skip-inject] [--print-json]

Boots the ISO in QEMU (under -icount shift=0,sleep=off unless --no-icount), types the
script's lines on the serial console and writes, under DIR (default
build/out/experiments/), ID.json (one JSON line: what happened, step by step) and
ID.txt (the transcript). The format of scripts is in the README ("Experiments").

--save-snapshot plays the script up to its `snapshot` line, saves the VM there (QEMU
savevm into a small qcow2 disk that also holds the kernel arguments) and ends.
--snapshot starts from such a file (QEMU -loadvm) and plays only what follows
`snapshot`. --skip-inject leaves out every `inject` line (a golden run).
"""
import argparse
import json
import select
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import delos  # noqa: E402

# The runner enforces every limit itself (see WALL_PER_GUEST), so the harness's
# scaling is off here.
delos.TIMEOUT_SCALE = 1
OUT = os.path.join(ROOT, "build", "out", "experiments")
SNAPSHOT_TAG = "exp"
# A hung guest cannot say what time it is, so a guest-time limit is enforced on the CPU
# time QEMU spends (its user + system time, which under TCG follows the instructions it
# emulates, and, with sleep=off, an idle guest's jumps from timer to timer too, however
# loaded the host): WALL_PER_GUEST CPU seconds per guest second, never less than
# WALL_FLOOR. A wall-clock backstop of BACKSTOP times that catches a QEMU that gets no
# CPU at all. Both can be set per run (--wall-per-guest, --wall-floor) or per script
# (`limits`).
WALL_PER_GUEST = 10.0
WALL_FLOOR = 2.5
BACKSTOP = 10.0
START_BUDGET = 60.0         # CPU seconds for a boot, or a restore, to reach the prompt
DEFAULT_WITHIN = 0.5        # guest seconds, where a line gives no `within`
# Kinds of the test injector (tests/cells/inject: `inject CELL SYM ud2|loop`) at the start
# of a function the seed picks; every other kind is swifi@1's (`fault inject`).
KINDS_TEST_INJECTOR = {"ud2": "ud2", "selfloop": "loop"}
# A kernel log line that another task printed in the middle of a command's output.
LOG_SPLICE = re.compile(r"\[\s*\d+\.\d{6}\] [A-Z]+ +[^\n]*\n")


def select_ready(f):
    return bool(select.select([f], [], [], 0)[0])


def parse_faults(t):
    """The fault log's lines in a transcript, in guest time: detection and recovery (the
    time to the service answering again, the backoff the policy waited included)."""
    faults = []
    for m in LOG_RX.finditer(t):
        # The site is CELL:SYMBOL+0xOFF; a missed heartbeat's symbol is "(no heartbeat)"
        # or "(no progress)", with a space.
        d = re.match(r"faults: #(\d+) (.*) in (\S+(?: [^ ()]+\)\S*)?) \((\S+), task", m.group(4))
        if d:
            faults.append({"seq": int(d.group(1)), "what": d.group(2), "site": d.group(3),
                           "context": d.group(4),
                           "t_ns": int(m.group(1)) * 10**9 + int(m.group(2)) * 1000})
        e = re.match(r"faults: #(\d+) (.*): (.*) after (\d+) us(?: \(\d+ us of backoff\))?$",
                     m.group(4))
        if e:
            for f in faults:
                if f["seq"] == int(e.group(1)):
                    f.update(action=e.group(2), outcome=e.group(3), recover_us=int(e.group(4)))
    return faults


class ScriptError(Exception):
    pass


class Hang(Exception):
    """The console gave no answer within the limit."""


class Down(Exception):
    """QEMU ended under the script: nano_core halted, triple-faulted or rebooted."""


class StartFailed(Exception):
    """QEMU never showed the prompt after its boot or its restore: not the run's fault."""


# ---------------------------------------------------------------- parsing

def parse_duration(text, lineno):
    """'200ms', '1.5s', '300us', '5000ns' or a bare number of seconds -> guest seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s)?", text)
    if not m:
        raise ScriptError("line %d: '%s' is not a duration (e.g. 200ms, 2s)" % (lineno, text))
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, None: 1.0}[m.group(2)]
    return float(m.group(1)) * scale


def substitute(text, variables, lineno):
    """${NAME}, which must be set, and ${NAME:-DEFAULT}, DEFAULT (may be empty) when it is not."""
    def one(m):
        name = m.group(1)
        if name not in variables:
            if m.group(2) is not None:
                return m.group(2)[2:]
            raise ScriptError("line %d: ${%s} is not set (--set %s=VALUE)" % (lineno, name, name))
        return variables[name]
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}", one, text)


def options(words, lineno, allowed):
    """Trailing `expect REGEX` / `within DURATION` pairs."""
    opts = {}
    i = 0
    while i < len(words):
        key = words[i]
        if key not in allowed or i + 1 >= len(words):
            raise ScriptError("line %d: expected %s, got '%s'" % (
                lineno, " or ".join("'%s VALUE'" % a for a in allowed), " ".join(words[i:])))
        opts[key] = words[i + 1]
        i += 2
    if "within" in opts:
        opts["within"] = parse_duration(opts["within"], lineno)
    if "expect" in opts:
        try:
            re.compile(opts["expect"])
        except re.error as e:
            raise ScriptError("line %d: bad regex %r: %s" % (lineno, opts["expect"], e))
    return opts


def parse(text, variables):
    """The script as a list of steps (dicts), repeat blocks unrolled."""
    root = []
    stack = [(root, 0, 0)]
    boot = None
    limits = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = substitute(raw, variables, lineno)
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise ScriptError("line %d: %s" % (lineno, e))
        if not words:
            continue
        kind, args = words[0], words[1:]
        body = stack[-1][0]
        step = {"line": lineno, "kind": kind, "text": raw.strip()}
        if kind == "boot":
            if boot is not None or root or len(stack) > 1:
                raise ScriptError("line %d: 'boot' comes once, before every other line" % lineno)
            boot = " ".join(args)
            continue
        if kind == "limits":
            for a in args:
                k, _, v = a.partition("=")
                if k not in ("wall_per_guest", "wall_floor") or not re.fullmatch(r"\d+(\.\d+)?", v):
                    raise ScriptError("line %d: limits takes wall_per_guest=N wall_floor=SECONDS" % lineno)
                limits[k] = float(v)
            continue
        if kind == "repeat":
            if len(args) != 1 or not args[0].isdigit():
                raise ScriptError("line %d: repeat N" % lineno)
            stack.append(([], int(args[0]), lineno))
            continue
        if kind == "end":
            if len(stack) == 1:
                raise ScriptError("line %d: 'end' without 'repeat'" % lineno)
            block, count, _ = stack.pop()
            for i in range(count):
                stack[-1][0].extend(dict(s, iteration=i) for s in block)
            continue
        if kind in ("run", "until"):
            if not args:
                raise ScriptError("line %d: %s \"COMMAND\" [expect REGEX] [within T]" % (lineno, kind))
            step["command"] = args[0]
            step.update(options(args[1:], lineno, ("expect", "within")))
            if kind == "until" and "expect" not in step:
                raise ScriptError("line %d: until needs 'expect REGEX'" % lineno)
        elif kind == "wait":
            if not args:
                raise ScriptError("line %d: wait REGEX [within T]" % lineno)
            step["expect"] = args[0]
            step.update(options(args[1:], lineno, ("within",)))
            re.compile(step["expect"])
        elif kind == "pass":
            if len(args) != 1:
                raise ScriptError("line %d: pass DURATION (guest time to let go by)" % lineno)
            step["duration"] = parse_duration(args[0], lineno)
        elif kind == "swap":
            pairs = [a for a in args if a != "within"]
            if "within" in args:
                i = args.index("within")
                pairs = args[:i]
                step.update(options(args[i:], lineno, ("within",)))
            if len(pairs) % 2:
                raise ScriptError("line %d: swap OLD@V NEW@V [OLD@V NEW@V ...] [within T]" % lineno)
            if not pairs:
                continue            # an empty swap schedule: nothing to do
            step["pairs"] = pairs
        elif kind == "inject":
            if not [a for a in args if "=" not in a]:
                continue            # no fault in this run (its variables left empty)
            if len(args) < 2 or "=" in args[0] or "=" in args[1]:
                raise ScriptError("line %d: inject CELL KIND [seed=N] [after=Nms|Ncalls]" % lineno)
            step["cell"], step["fault"] = args[0], args[1]
            for a in args[2:]:
                k, _, v = a.partition("=")
                if k in ("seed", "after") and v == "":
                    continue        # left empty: the injector's default
                if k == "seed" and re.fullmatch(r"\d+", v):
                    step["seed"] = int(v)
                elif k == "after" and re.fullmatch(r"\d+(ms|calls)", v):
                    step["after"] = v
                elif k == "within":
                    step["within"] = parse_duration(v, lineno)
                else:
                    raise ScriptError("line %d: inject takes seed=N and after=Nms|Ncalls, not '%s'"
                                      % (lineno, a))
        elif kind == "expect":
            if not args or args[0] not in ("recovered", "workload-clean", "answers"):
                raise ScriptError("line %d: expect recovered|workload-clean|answers" % lineno)
            step["what"] = args[0]
            step.update(options(args[1:], lineno, ("within",)))
        elif kind == "snapshot":
            if args:
                raise ScriptError("line %d: snapshot takes nothing" % lineno)
            if len(stack) > 1 or any(s["kind"] == "snapshot" for s in root):
                raise ScriptError("line %d: one snapshot, outside repeat blocks" % lineno)
        else:
            raise ScriptError("line %d: unknown line '%s' (boot, limits, run, until, wait, pass, "
                              "swap, inject, expect, snapshot, repeat, end)" % (lineno, kind))
        body.append(step)
    if len(stack) > 1:
        raise ScriptError("line %d: repeat without 'end'" % stack[-1][2])
    return boot or "", limits, root


# ---------------------------------------------------------------- playing

# A kernel log line; it may start after a prompt or inside an echo.
LOG_RX = re.compile(r"\[\s*(\d+)\.(\d{6})\] ([A-Z]+) +(.*)$", re.M)
FIRED_RX = re.compile(r"swifi: fired id=(\S+) kind=\S+ cell=\S+ site=\S+ t=(\d+)")
DOWN_RX = re.compile(r"^(PANIC: .*|\*\*\* EXCEPTION .*|.*triple fault.*)$", re.M)
# What nano_core says when it goes down: the fault that could not be contained, where.
DOWN_WHY = [re.compile(r"^(fault: .* while .*)$", re.M), re.compile(r"^(PANIC: .*)$", re.M),
            re.compile(r"^(\*\*\* EXCEPTION [^,\n]*)", re.M), re.compile(r"^RIP [0-9a-f]+ (<[^>]*>)", re.M)]


def parse_armed(text):
    """swifi's armed line, field by field: a kernel log line another task printed may
    have landed inside it, even split from its own '['."""
    i = text.find("swifi: armed ")
    if i < 0:
        return None
    seg = text[i:i + 2000]
    seg = LOG_SPLICE.sub("", seg)
    seg = re.sub(r"\[?\s*\d+\.\d{6}\] [A-Z]+ +[^\n]*\n", "", seg)
    end = re.search(r"after=\S+", seg)
    seg = seg[:end.end()] if end else seg.split("\n", 1)[0]
    got = {}
    for k in ("id", "kind", "cell", "site", "addr", "old", "new"):
        m = re.search(r"\b%s=([^\s\[]+)" % k, seg)
        got[k] = m.group(1) if m else ""
    m = re.search(r'insn="([^"]*)"', seg)
    got["insn"] = m.group(1) if m else ""
    if not got["id"] or not got["site"]:
        return None
    got["injector"] = "swifi@1"
    return got


def log_time_ns(transcript, rx):
    """Guest time (ns) of the first kernel log line whose text matches rx, or None."""
    for m in LOG_RX.finditer(transcript):
        if re.search(rx, m.group(4)):
            return int(m.group(1)) * 10**9 + int(m.group(2)) * 1000
    return None


def cell_functions(cell):
    """The global functions of a cell's object, sorted: sites for the test injector."""
    objs = sorted(f for f in os.listdir(os.path.join(ROOT, "build", "out", "cells"))
                  if f.startswith(cell + "@") and f.endswith(".o"))
    if not objs:
        raise ScriptError("no object for cell '%s' in build/out/cells" % cell)
    out = subprocess.run(["llvm-nm", "--defined-only", os.path.join(ROOT, "build", "out", "cells", objs[0])],
                         capture_output=True, text=True, check=True).stdout
    names = sorted({l.split()[2] for l in out.splitlines()
                    if len(l.split()) == 3 and l.split()[1] == "T"
                    and l.split()[2] not in ("cell_init", "cell_exit")})
    if not names:
        raise ScriptError("cell '%s' exports no function" % cell)
    return names


class Player:
    def __init__(self, args, boot_args, limits):
        self.a = args
        self.boot_args = boot_args
        self.wall_per_guest = args.wall_per_guest or limits.get("wall_per_guest", WALL_PER_GUEST)
        self.wall_floor = args.wall_floor or limits.get("wall_floor", WALL_FLOOR)
        self.m = None
        self.steps = []
        self.result = {"armed": None, "fired": None, "swaps": [], "expects": {}, "commands": []}
        self.tmp = tempfile.mkdtemp(prefix="delos-exp-")

    def wall(self, guest_seconds):
        return max(self.wall_floor, guest_seconds * self.wall_per_guest)

    # -- QEMU

    def disk(self):
        """The kernel arguments on a small FAT disk, in qcow2 so that savevm can use it."""
        cfg = os.path.join(self.tmp, "delos-args.cfg")
        raw = os.path.join(self.tmp, "args.img")
        qcow = os.path.join(self.tmp, "args.qcow2")
        with open(cfg, "w") as f:
            f.write('set delos_args="%s"\nset timeout=0\n' % self.boot_args)
        subprocess.run(["mformat", "-C", "-i", raw, "-f", "1440", "::"], check=True)
        subprocess.run(["mcopy", "-i", raw, cfg, "::/"], check=True)
        subprocess.run(["qemu-img", "convert", "-O", "qcow2", raw, qcow], check=True)
        return qcow

    def start(self):
        extra = []
        if self.a.snapshot:
            qcow = os.path.join(self.tmp, "run.qcow2")
            shutil.copyfile(self.a.snapshot, qcow)
            extra = ["-loadvm", SNAPSHOT_TAG]
        else:
            qcow = self.disk()
        self.qcow = qcow
        extra = ["-drive", "file=%s,format=qcow2,if=none,id=args" % qcow,
                 "-device", "ide-hd,drive=args,bus=ide.0"] + extra
        t0 = time.monotonic()
        self.m = delos.Machine(icount=not self.a.no_icount, args_disk=False, extra=extra,
                               iso=self.a.iso or delos.ISO)
        try:
            if self.a.snapshot:
                self.send_line("")      # a fresh prompt from the restored shell
            self.expect(re.escape(delos.PROMPT), START_BUDGET, "prompt after the %s" % (
                "restore" if self.a.snapshot else "boot"))
        except (Hang, Down) as e:
            raise StartFailed(str(e))
        self.result["start_wall_s"] = round(time.monotonic() - t0, 3)

    def cpu_seconds(self):
        """QEMU's user + system time so far (every thread)."""
        try:
            with open("/proc/%d/stat" % self.m.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def send_line(self, text):
        try:
            self.m.send(text + "\r")
        except (BrokenPipeError, OSError):
            raise Down("QEMU exited (status %s)" % self.m.proc.poll())

    def expect(self, pattern, budget, what=None):
        """Waits for a regex after the last match, for at most `budget` CPU seconds of
        QEMU (BACKSTOP times that in wall time); returns the match."""
        rx = re.compile(pattern)
        cpu0, wall0 = self.cpu_seconds(), time.monotonic()
        while True:
            m = rx.search(self.m.transcript, self.m._pos)
            if m:
                self.m._pos = m.end()
                return m
            alive = self.m._read_some(0.05)
            if not alive and self.m.proc.poll() is not None:
                while self.m._read_some(0.05) and self.m.proc.stdout:
                    if not select_ready(self.m.proc.stdout):
                        break
                m = rx.search(self.m.transcript, self.m._pos)
                if m:
                    self.m._pos = m.end()
                    return m
                raise Down("QEMU exited (status %s)" % self.m.proc.returncode)
            used = self.cpu_seconds() - cpu0
            if used > budget or time.monotonic() - wall0 > budget * BACKSTOP:
                raise Hang("no %s within %.1f s of QEMU's CPU time (%.1f s wall)" % (
                    what or repr(pattern), used, time.monotonic() - wall0))

    def command(self, line, wall):
        """Types a line; returns what it printed before the next prompt."""
        start = len(self.m.transcript)
        self.send_line(line)
        echo = delos.LOG_LINES.join(re.escape(c) for c in line) + r"\n"
        self.m._pos = max(self.m._pos, start)
        self.expect(echo, wall, "echo of %r" % line)
        begin = self.m._pos
        end = self.expect(re.escape(delos.PROMPT), wall, "prompt after %r" % line).start()
        return LOG_SPLICE.sub("", self.m.transcript[begin:end])

    def guest_us(self):
        """The guest's clock, by `uptime`. A shell that faults and is restarted drops the
        line it was running, and a serial driver that faults drops the keystrokes it was
        taking in (they were read from the UART: no echo comes); it is asked again, a
        few times (once only after no echo, so that a real hang costs two waits, not
        four), before giving up."""
        echo_lost = False
        for _ in range(4):
            try:
                out = self.command("uptime", self.wall(0.05))
            except Hang:
                if echo_lost:
                    raise
                echo_lost = True
                continue
            m = re.search(r"(\d+) us of guest time", out)
            if m:
                return int(m.group(1))
        raise Hang("the console no longer answers uptime: %r" % out[-300:])

    # -- steps

    def play(self, steps):
        for s in steps:
            rec = {"line": s["line"], "kind": s["kind"], "ok": True}
            self.steps.append(rec)
            getattr(self, "do_" + s["kind"])(s, rec)

    def do_snapshot(self, s, rec):
        if self.a.save_snapshot:
            self.m.monitor("savevm %s" % SNAPSHOT_TAG, 120)

    def do_run(self, s, rec):
        within = s.get("within", DEFAULT_WITHIN)
        out = self.command(s["command"], self.wall(within))
        rec["output"] = out[-2000:]
        self.result["commands"].append({"line": s["line"], "command": s["command"], "output": out[-2000:]})
        if "expect" in s and not re.search(s["expect"], out):
            rec["ok"] = False
            rec["why"] = "%r did not print %r" % (s["command"], s["expect"])

    def do_until(self, s, rec):
        within = s.get("within", DEFAULT_WITHIN)
        cpu0 = self.cpu_seconds()
        start = self.guest_us()
        while True:
            out = self.command(s["command"], self.wall(within))
            if re.search(s["expect"], out):
                rec["output"] = out[-2000:]
                return
            now = self.guest_us()
            if now - start > within * 1e6 or self.cpu_seconds() - cpu0 > self.wall(within):
                rec["ok"] = False
                rec["why"] = "%r never printed %r within %gs" % (s["command"], s["expect"], within)
                return

    def do_wait(self, s, rec):
        within = s.get("within", DEFAULT_WITHIN)
        try:
            self.expect(s["expect"], self.wall(within))
        except Hang:
            rec["ok"] = False
            rec["why"] = "no %r within %gs" % (s["expect"], within)

    def do_pass(self, s, rec):
        start = self.guest_us()
        cpu0 = self.cpu_seconds()
        while self.guest_us() - start < s["duration"] * 1e6:
            if self.cpu_seconds() - cpu0 > self.wall(s["duration"]):
                raise Hang("guest time did not pass %gs" % s["duration"])
            self.m._read_some(0.02)

    def do_swap(self, s, rec):
        within = s.get("within", DEFAULT_WITHIN)
        out = self.command("swap " + " ".join(s["pairs"]), self.wall(within))
        ok = bool(re.search(r"swap: done in \d+ us", out))
        rec["ok"] = ok
        if not ok:
            rec["why"] = out.strip()[-300:]
        self.result["swaps"].append({"pairs": s["pairs"], "ok": ok})

    def do_inject(self, s, rec):
        if self.a.skip_inject:
            rec["skipped"] = True
            return
        within = s.get("within", DEFAULT_WITHIN)
        seed = s.get("seed", 0)
        if s["fault"] in KINDS_TEST_INJECTOR:
            # The test injector: a ud2 or a jmp-to-itself at the start of a function the
            # seed picks from the cell's global functions.
            names = cell_functions(s["cell"])
            sym = names[seed % len(names)]
            self.result["armed"] = {"id": "1", "kind": s["fault"], "cell": s["cell"],
                                    "site": "%s+0x0" % sym, "injector": "inject@1"}
            out = self.command("inject %s %s %s" % (s["cell"], sym, KINDS_TEST_INJECTOR[s["fault"]]),
                               self.wall(within))
            m = re.search(r"inject: \S+ at (\S+) \(([0-9a-f]+)\)", out)
            if not m:
                rec["ok"] = False
                rec["why"] = out.strip()[-300:]
                return
            self.result["armed"] = {"id": "1", "kind": s["fault"], "cell": s["cell"],
                                    "site": "%s+0x0" % sym, "addr": "0x" + m.group(2),
                                    "injector": "inject@1"}
            return
        if s["cell"] == "nano_core" and s["fault"] in ("pf", "gpf", "div0", "ud", "stack"):
            # nano_core's own exception test (the console's `fault KIND`): it halts.
            self.result["armed"] = {"id": "1", "kind": s["fault"], "cell": "nano_core",
                                    "site": "kcmd_fault", "injector": "nano_core"}
            self.send_line("fault %s" % s["fault"])
            return
        line = "fault inject %s %s seed=%d" % (s["cell"], s["fault"], seed)
        if "after" in s:
            line += " after=%s" % s["after"]
        out = self.command(line, self.wall(within))
        armed = parse_armed(out)
        if not armed:
            rec["ok"] = False
            rec["why"] = out.strip()[-300:]
            return
        self.result["armed"] = armed

    def do_expect(self, s, rec):
        within = s.get("within", DEFAULT_WITHIN)
        what = s["what"]
        if what == "answers":
            out = self.command("call hello hello_main", self.wall(within))
            ok = "returned 42" in out
            why = None if ok else "hello_main: %r" % out.strip()[-200:]
        elif what == "recovered":
            ok, why = self.faults_settled(within)
        else:
            ok, why = self.workload_clean(within)
        rec["ok"] = ok
        if why:
            rec["why"] = why
        self.result["expects"][what] = ok

    def faults_settled(self, within):
        """Polls `faults` until no fault is still being recovered; ok if each recovered."""
        cpu0 = self.cpu_seconds()
        start = self.guest_us()
        while True:
            out = self.command("faults", self.wall(within))
            rows = [l for l in out.splitlines() if re.match(r"^ *\d+ +\d+\.\d{6}s ", l)]
            pending = [l for l in rows if l.endswith("recovering")]
            if not pending:
                self.result["faults_table"] = rows
                bad = [l for l in rows if not re.search(r"; recovered in \d+ us$", l)]
                return (not bad, "; ".join(bad)[-400:] if bad else None)
            if self.cpu_seconds() - cpu0 > self.wall(within) or self.guest_us() - start > within * 1e6:
                self.result["faults_table"] = rows
                raise Hang("a fault was still being recovered after %gs: %s" % (within, pending[0]))

    def workload_clean(self, within):
        out = self.command("work stop", self.wall(within))
        m = re.search(r"work: (?:stopped after )?(\d+) operations, (\d+) errors", out)
        if not m and "not running" in out:
            out = self.command("work status", self.wall(within))
            m = re.search(r"work: (\d+) operations, (\d+) errors", out)
        v = self.command("work verify", self.wall(within))
        mv = re.search(r"work: verify: (\d+) files checked, (\d+) mismatches", v)
        w = {"operations": int(m.group(1)) if m else None, "errors": int(m.group(2)) if m else None,
             "files": int(mv.group(1)) if mv else None, "mismatches": int(mv.group(2)) if mv else None,
             "mismatch_lines": len(re.findall(r"workload: MISMATCH", self.m.transcript))}
        self.result["workload"] = w
        ok = (m and mv and w["errors"] == 0 and w["mismatches"] == 0 and w["files"] > 0
              and w["mismatch_lines"] == 0)
        return (bool(ok), None if ok else "work: %r / %r" % (out.strip()[-200:], v.strip()[-200:]))

    # -- the end

    def finish(self, status, reason):
        t = self.m.transcript if self.m else ""
        r = self.result
        r["status"] = status            # ok, failed, hang, down, error
        r["reason"] = reason
        r["steps"] = self.steps
        r["ok"] = status == "ok" and all(s["ok"] for s in self.steps)
        if status == "ok" and not r["ok"]:
            r["status"] = "failed"
        if r["armed"] is None and not self.a.skip_inject:
            r["armed"] = parse_armed(t)     # the injector answered, then the prompt never came
        fired = FIRED_RX.search(t)
        if fired:
            r["fired"] = {"id": fired.group(1), "t_ns": int(fired.group(2))}
        down = DOWN_RX.search(t)
        if down:
            why = [m.group(1) for m in (rx.search(t) for rx in DOWN_WHY) if m]
            r["status"], r["reason"] = "down", "; ".join(why) or down.group(1)
        r["faults"] = parse_faults(t)
        r["given_up"] = any("gave up" in f.get("action", "") or f.get("outcome") == "cell failed"
                            for f in r["faults"]) or bool(re.search(r"gave up after \d+ tries", t))
        return r

    def close(self):
        if self.m:
            self.m.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("script")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--id")
    ap.add_argument("--snapshot")
    ap.add_argument("--save-snapshot")
    ap.add_argument("--skip-inject", action="store_true")
    ap.add_argument("--no-icount", action="store_true")
    ap.add_argument("--iso", help="the ISO to boot (default build/out/delos.iso)")
    ap.add_argument("--wall-per-guest", type=float)
    ap.add_argument("--wall-floor", type=float)
    ap.add_argument("--print-json", action="store_true", help="also print the result line")
    a = ap.parse_args(argv)

    variables = {}
    for s in a.set:
        k, eq, v = s.partition("=")
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            ap.error("--set takes NAME=VALUE, not %r" % s)
        variables[k] = v
    run_id = a.id or os.path.splitext(os.path.basename(a.script))[0]
    if not re.fullmatch(r"[A-Za-z0-9_.@+-]+", run_id):
        ap.error("--id %r: letters, digits and _.@+- only" % run_id)
    try:
        with open(a.script) as f:
            boot, limits, steps = parse(f.read(), variables)
    except (OSError, ScriptError) as e:
        print("exp: %s: %s" % (a.script, e), file=sys.stderr)
        return 2
    cut = [i for i, s in enumerate(steps) if s["kind"] == "snapshot"]
    if (a.snapshot or a.save_snapshot) and not cut:
        print("exp: %s has no 'snapshot' line" % a.script, file=sys.stderr)
        return 2
    if a.snapshot and not os.path.isfile(a.snapshot):
        print("exp: no snapshot file %s (make one with --save-snapshot)" % a.snapshot, file=sys.stderr)
        return 2
    if a.snapshot:
        steps = steps[cut[0] + 1:]
    elif a.save_snapshot:
        steps = steps[:cut[0] + 1]

    os.makedirs(a.out, exist_ok=True)
    p = Player(a, boot, limits)
    t0 = time.monotonic()
    status, reason = "ok", None

    def terminated(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, terminated)    # GNU parallel ending a job: no QEMU left behind
    try:
        p.start()
        p.play(steps)
    except SystemExit:
        p.close()
        raise
    except StartFailed as e:
        status, reason = "error", "start: %s" % e
    except Down as e:
        status, reason = "down", str(e)
    except Hang as e:
        status, reason = "hang", str(e)
    except ScriptError as e:
        status, reason = "error", str(e)
    except delos.TestFailure as e:
        status, reason = "error", str(e)
    r = p.finish(status, reason)
    if a.save_snapshot and status == "ok" and r["ok"]:
        p.m.proc.kill()
        p.m.proc.wait()
        shutil.copyfile(p.qcow, a.save_snapshot)
    r.update(id=run_id, script=a.script, vars=variables, boot=boot,
             snapshot=bool(a.snapshot), golden=a.skip_inject,
             wall_s=round(time.monotonic() - t0, 3), transcript=run_id + ".txt")
    with open(os.path.join(a.out, run_id + ".txt"), "w") as f:
        f.write(p.m.transcript if p.m else "")
    p.close()
    line = json.dumps(r, sort_keys=True)
    tmp = os.path.join(a.out, run_id + ".json.tmp")
    with open(tmp, "w") as f:
        f.write(line + "\n")
    os.replace(tmp, os.path.join(a.out, run_id + ".json"))
    if a.print_json:
        print(line, flush=True)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
