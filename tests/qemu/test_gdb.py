"""Debugging cells with gdb: build/gdb/delos.py gives gdb the symbols of the live cells."""
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time

from delos import ROOT, check

ELF = os.path.join(ROOT, "build", "out", "kernel", "nano_core.elf")
SCRIPT = os.path.join(ROOT, "build", "gdb", "delos.py")

# Each hit of ramfs_read prints its backtrace and the object its code is from,
# without stopping; Ctrl-C (SIGINT) ends the `continue`, then gdb detaches.
GDB_COMMANDS = """\
set pagination off
set confirm off
set architecture i386:x86-64
file {elf}
source {script}
set breakpoint pending on
target remote 127.0.0.1:{port}
delos-cells
python
class Watch(gdb.Breakpoint):
    def stop(self):
        where = gdb.execute("info symbol $pc", to_string=True).strip()
        bt = gdb.execute("bt 3", to_string=True)
        print("HIT " + where + "\\n" + bt + "END", flush=True)
        return False
Watch("ramfs_read")
print("READY", flush=True)
end
continue
detach
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Gdb:
    def __init__(self, port):
        self.out = ""
        self.cmds = tempfile.NamedTemporaryFile("w", suffix=".gdb", delete=False)
        self.cmds.write(GDB_COMMANDS.format(elf=ELF, script=SCRIPT, port=port))
        self.cmds.close()
        self.proc = subprocess.Popen(["gdb", "-nx", "-batch", "-x", self.cmds.name], cwd=ROOT,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

    def expect(self, pattern, timeout=60):
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while not rx.search(self.out):
            left = deadline - time.monotonic()
            check(left > 0 and self.proc.poll() is None,
                  "gdb: no %r in:\n%s" % (pattern, self.out))
            if select.select([self.proc.stdout], [], [], min(left, 0.5))[0]:
                self.out += os.read(self.proc.stdout.fileno(), 65536).decode("utf-8", "replace")
        return rx.search(self.out)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.cmds.name)


def hits(out, obj):
    return [h for h in re.findall(r"HIT (.*?)END", out, re.S) if obj in h.split("\n")[0]]


def test_gdb_breaks_in_a_cell_and_follows_a_swap(machine):
    port = free_port()
    m = machine(extra=["-gdb", "tcp:127.0.0.1:%d" % port])
    m.boot()
    m.command("write gdbnote hello from ramfs")
    g = Gdb(port)
    try:
        g.expect(r"READY")
        check(re.search(r"delos-cells: ramfs@1 \.text at 0x[0-9a-f]+", g.out),
              "ramfs@1's symbols not added:\n" + g.out)
        before = len(hits(g.out, "ramfs@1.o"))
        check("hello from ramfs" in m.command("cat gdbnote"), "cat failed")
        g.expect(r"HIT ramfs_read( \+ \d+)? in section \.text of \S*cells/ramfs@1\.o.*?END")
        hit = hits(g.out, "ramfs@1.o")[before]  # the first hit of this cat
        check(re.search(r"#0 +(0x[0-9a-f]+ in )?ramfs_read \(", hit), "frame 0 is not ramfs_read:\n" + hit)
        check(re.search(r"#1 +0x[0-9a-f]+ in ramfs_cmd_cat \(.*cells/ramfs/commands\.c", hit),
              "frame 1 is not ramfs_cmd_cat:\n" + hit)
        out = m.command("swap ramfs@1 ramfs@2")
        check("swap: done" in out, "swap failed: %r" % out)
        check("hello from ramfs" in m.command("cat gdbnote"), "cat after the swap failed")
        g.expect(r"HIT ramfs_read( \+ \d+)? in section \.text of \S*cells/ramfs@2\.o.*?END")
        hit = hits(g.out, "ramfs@2.o")[0]
        check(re.search(r"#1 +0x[0-9a-f]+ in ramfs_cmd_cat \(", hit), "no ramfs_cmd_cat in:\n" + hit)
        check(re.search(r"#0 +(0x[0-9a-f]+ in )?ramfs_read \(", hit), "frame 0 is not ramfs_read:\n" + hit)
    finally:
        g.close()
    check(m.command("cat gdbnote").count("hello from ramfs") == 1, "the guest did not run on after gdb")
