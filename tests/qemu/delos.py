"""Boot the real Delos ISO in QEMU and drive its serial console.

A Machine owns one QEMU process whose serial line is connected to our
stdin/stdout pipes. Everything the guest prints is kept in `transcript`,
which the runner prints when a test fails.
"""
import os
import re
import select
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ISO = os.path.join(ROOT, "build", "out", "delos.iso")
OVMF = "/usr/share/ovmf/OVMF.fd"
PROMPT = "delos> "
# Zero or more kernel log lines ("[    1.234567] LEVEL text"), as they may land in an echo.
LOG_LINES = r"(?:\[\s*\d+\.\d{6}\] [^\n]*\n)*"
# A kernel log line that another task printed inside a line of output, and the rest of that line.
SPLIT_LINE = re.compile(r"([^\n])(\[\s*\d+\.\d{6}\] [^\n]*\n)([^\n]*(?:\n|$))")


def unsplit(out):
    """Moves each log line printed inside another line to after it, joining that line."""
    while True:
        joined = SPLIT_LINE.sub(r"\1\3\2", out)
        if joined == out:
            return out
        out = joined


# Deadlines are wall-clock and QEMU runs under TCG beside other work, so every timeout
# below is multiplied by this. A deadline only bounds how long a failing test hangs; no
# test waits on the clock to let something happen.
TIMEOUT_SCALE = 4


class TestFailure(Exception):
    pass


SWIFI_SITES = os.path.join(ROOT, "build", "out", "kernel", "swifi", "sites.bin")
SWIFI_SEED = os.path.join(ROOT, "build", "out", "host", "swifi-seed")


def swifi_seed(cell, kind, function, insn, flip=None):
    """The first seed with which `fault inject CELL KIND seed=N` picks instruction insn of
    function on this build (build/tools/swifi_seed.c, the injector's own choice code);
    for kind text, flip=(BYTE, BIT) asks that it also flips that bit of that byte."""
    opts = ["--flip", "%d:%d" % flip] if flip else []
    p = subprocess.run([SWIFI_SEED] + opts + [SWIFI_SITES, cell, kind, function, insn],
                       capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip().isdigit():
        raise TestFailure("no seed picks %s in %s of %s for %s on this build: %s"
                          % (insn, function, cell, kind, p.stderr.strip()))
    return int(p.stdout)


def check(cond, message):
    if not cond:
        raise TestFailure(message)


def until(fn, what, timeout=60):
    """Calls fn() until it returns something true, and returns that. `what` (a string,
    or a function giving one) says what never happened if the deadline passes. fn must
    itself wait on something it observes (a console command's answer, a monitor round
    trip, a line of output), so the loop never spins and never sleeps blindly."""
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TestFailure("timed out after %ss: %s" % (timeout * TIMEOUT_SCALE,
                                                          what() if callable(what) else what))


def decode_exit(rc):
    """QEMU's isa-debug-exit status 2(N+1)+1 back to the guest's N; None otherwise."""
    if rc is not None and rc >= 3 and rc % 2 == 1:
        return (rc - 3) // 2
    return None


def ppm_complete(path):
    """True when path holds a whole binary PPM (header and every pixel)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    return bool(m) and len(data) >= m.end() + int(m.group(1)) * int(m.group(2)) * 3


class Machine:
    def __init__(self, uefi=False, args="", icount=False, memory="256M", extra=(), args_disk=True,
                 grub_vars=None, iso=ISO):
        self.transcript = ""
        self._pos = 0
        self._tmp = tempfile.mkdtemp(prefix="delos-test-")
        cmd = ["qemu-system-x86_64", "-m", memory, "-no-reboot", "-display", "none",
               "-serial", "stdio", "-monitor", "unix:%s/monitor,server,nowait" % self._tmp,
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-drive", "file=%s,format=raw,if=none,id=cd,media=cdrom,readonly=on" % iso,
               "-device", "ide-cd,drive=cd,bus=ide.1,bootindex=1"]
        if uefi:
            cmd += ["-bios", OVMF]
        if icount:
            # Guest time = instructions; sleep=off makes idle time jump to the next timer
            # too, so no guest-time figure depends on how busy the host is.
            cmd += ["-icount", "shift=0,sleep=off"]
        if args_disk:
            cmd += self._args_disk(args, grub_vars or {})
        cmd += list(extra)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

    def _args_disk(self, args, grub_vars):
        """A small FAT disk holding /delos-args.cfg, which grub.cfg sources: the
        kernel arguments, no menu wait, and any other grub.cfg variables
        (e.g. default=2 for the third menu entry, delos_gfxpayload=800x600x32)."""
        cfg = os.path.join(self._tmp, "delos-args.cfg")
        img = os.path.join(self._tmp, "args.img")
        with open(cfg, "w") as f:
            f.write('set delos_args="%s"\nset timeout=0\n' % args)
            for name, value in grub_vars.items():
                f.write('set %s="%s"\n' % (name, value))
        subprocess.run(["mformat", "-C", "-i", img, "-f", "1440", "::"], check=True)
        subprocess.run(["mcopy", "-i", img, cfg, "::/"], check=True)
        return ["-drive", "file=%s,format=raw,if=none,id=args" % img,
                "-device", "ide-hd,drive=args,bus=ide.0"]

    def _read_some(self, timeout):
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return True
        data = os.read(fd, 65536)
        if not data:
            return False
        self.transcript += data.decode("utf-8", "replace").replace("\r", "")
        return True

    def mark(self):
        """Where the next expect starts looking; pass it to expect(since=) to look back."""
        return self._pos

    def expect(self, pattern, timeout=30, since=None):
        """Waits for a regex in the output after the last match, or after `since` (a mark()
        taken earlier, for a line another task may print before or after what was matched
        since); returns the match."""
        rx = re.compile(pattern)
        timeout *= TIMEOUT_SCALE
        deadline = time.monotonic() + timeout
        start = self._pos if since is None else since
        while True:
            m = rx.search(self.transcript, start)
            if m:
                self._pos = max(self._pos, m.end())
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("timed out after %ss waiting for %r" % (timeout, pattern))
            if not self._read_some(min(left, 0.5)) and self.proc.poll() is not None:
                raise TestFailure("QEMU exited (status %s) while waiting for %r"
                                  % (self.proc.returncode, pattern))

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def boot(self, timeout=60):
        self.expect(re.escape(PROMPT), timeout)

    def command(self, line, timeout=30):
        """Types a line at the prompt; returns what it printed before the next prompt.
        Kernel log lines that another task prints while the line is echoed may split
        the echo: they are allowed anywhere inside it, up to its newline. One that lands inside a line
        of the output is moved after that line, which is joined again."""
        self.send(line + "\r")
        echo = LOG_LINES.join(re.escape(c) for c in line) + LOG_LINES + r"\n"
        start = self.expect(echo, timeout).end()
        end = self.expect(re.escape(PROMPT), timeout).start()
        return unsplit(self.transcript[start:end])

    def monitor(self, command, timeout=30):
        """Runs a command in QEMU's human monitor (e.g. 'sendkey a'); returns once the
        monitor has carried it out and prompts again, with what it printed."""
        import socket
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(os.path.join(self._tmp, "monitor"))
            self._monitor_until(s, b"", deadline, command)  # the banner and first prompt
            s.sendall((command + "\n").encode())
            return self._monitor_until(s, b"\r\n", deadline, command)

    @staticmethod
    def _monitor_until(s, before, deadline, command):
        """Reads the monitor until its prompt follows `before`; returns what came first."""
        data = b""
        while (before + b"(qemu) ") not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                raise TestFailure("the QEMU monitor did not answer %r: %r" % (command, data[-200:]))
            chunk = s.recv(65536)
            if not chunk:
                raise TestFailure("the QEMU monitor closed during %r" % command)
            data += chunk
        return data.decode("utf-8", "replace")

    def screendump(self, path, timeout=10):
        """Writes the screen to path (PPM) through the monitor; waits until the file is whole."""
        if os.path.exists(path):
            os.unlink(path)
        self.monitor('screendump "%s"' % path)

        def whole():
            if ppm_complete(path):
                return True
            self.monitor("info status")  # one more turn of QEMU's main loop
            return False
        until(whole, "screendump wrote no whole image to %s" % path, timeout / TIMEOUT_SCALE)
        return path

    def wait_exit(self, timeout=30):
        """Waits for QEMU to end; returns the guest's exit code (None if not from the guest)."""
        timeout *= TIMEOUT_SCALE
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("QEMU still running after %ss" % timeout)
            self._read_some(min(left, 0.5))
        while self._read_some(0):
            if not select.select([self.proc.stdout], [], [], 0)[0]:
                break
        return decode_exit(self.proc.returncode)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
