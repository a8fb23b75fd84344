"""The ramfs, its tokens and the workload, driven through the console."""
import re

from delos import check, until


def booted(machine):
    m = machine()
    m.boot()
    return m


def size_of(m, name):
    out = m.command("stat " + name)
    found = re.search(r"^%s: (\d+) bytes, id \d+, generation \d+, mode 0644, layout (\d)" % re.escape(name),
                      out, re.M)
    check(found, "stat %s: %r" % (name, out))
    return int(found.group(1)), int(found.group(2))


def test_ramfs_console_round_trip(machine):
    m = booted(machine)
    check("0 files" in m.command("ls"), "a fresh ramfs is not empty")
    check("write: a: 12 bytes written, size 12" in m.command("write a hello world"), "write")
    check(m.command("cat a") == "hello world\n", "cat after write")
    check("append: a: 7 bytes written, size 19" in m.command("append a again!"), "append")
    check(m.command("cat a") == "hello world\nagain!\n", "cat after append")
    check(size_of(m, "a") == (19, 1), "stat a")
    check("write: a: 4 bytes written, size 4" in m.command("write a new"), "write truncates")
    m.command("write b other")
    out = m.command("ls")
    check(re.search(r"^a\s+4$", out, re.M) and re.search(r"^b\s+6$", out, re.M) and "2 files" in out,
          "ls: %r" % out)
    check("mv: b: file exists" in m.command("mv a b"), "mv onto an existing file")
    check("mv: a -> c" in m.command("mv a c"), "mv")
    check("cat: a: no such file" in m.command("cat a"), "the old name still reads")
    check(m.command("cat c") == "new\n", "cat after mv")
    check("rm: removed c" in m.command("rm c"), "rm")
    check("rm: c: no such file" in m.command("rm c"), "rm twice")
    check("stat: c: no such file" in m.command("stat c"), "stat after rm")
    check("1 file" in m.command("ls"), "ls after rm")


def test_ramfs_bad_input(machine):
    m = booted(machine)
    long_name = "x" * 40
    check("write: %s: bad file name" % long_name in m.command("write %s t" % long_name), "a 40-byte name")
    check("write: %s: 3 bytes written" % ("y" * 39) in m.command("write %s ok" % ("y" * 39)),
          "a 39-byte name")
    check("usage: cat FILE" in m.command("cat"), "cat without a file")
    check("usage: write FILE TEXT..." in m.command("write f"), "write without text")
    check("usage: mv FROM TO" in m.command("mv a"), "mv with one name")
    check(("y" * 39) in m.command("ls") and "1 file" in m.command("ls"), "only the good file exists")


def test_ramfs_file_larger_than_one_record(machine):
    m = booted(machine)
    line = "%02d" + "-0123456789abcdef" * 8          # 138 bytes and a newline per line
    for i in range(32):
        out = m.command("append big " + line % i)
        check("append: big: 139 bytes written" in out, "append %d: %r" % (i, out))
    size, _ = size_of(m, "big")
    check(size == 32 * 139 and size > 4096, "big is %d bytes" % size)
    out = m.command("cat big")
    check(out == "".join((line % i) + "\n" for i in range(32)), "cat big differs")


def test_ramfs_forged_token_refused(machine):
    m = booted(machine)
    out = m.command("tokcheck")
    check("read with a forged token (bit 160 flipped): token refused: forged or altered" in out,
          "the forged token: %r" % out)
    check("512 of 512 single-bit changes refused" in out, "bit flips: %r" % out)
    check("sealed for 'log': token refused: sealed for another server, not 'ramfs'" in out,
          "a token of another server: %r" % out)
    check("the genuine token reads 12 bytes" in out and "tokcheck: ok" in out, "tokcheck: %r" % out)
    check("0 files" in m.command("ls"), "tokcheck left its scratch file")


def work_status(m):
    out = m.command("work status")
    found = re.search(r"work: (\d+) operations, (\d+) errors", out)
    check(found, "work status: %r" % out)
    return int(found.group(1)), int(found.group(2))


def work_done(m, at_least):
    """Polls `work status` until the workers counted `at_least` operations; stops at the
    first error. Returns (operations, errors)."""
    last = [None]

    def enough():
        last[0] = ops, errors = work_status(m)
        check(errors == 0, "workload errors: %d after %d operations" % (errors, ops))
        return ops >= at_least and last[0]
    return until(enough, lambda: "the workload did %r, want %d operations" % (last[0], at_least))


def test_workload_runs_clean(machine):
    m = booted(machine)
    check("loaded workload@1" in m.command("load workload@1"), "load workload@1")
    check(work_status(m) == (0, 0), "counts before the first start")
    check("work: started 2 workers" in m.command("work start"), "work start")
    check("already running" in m.command("work start"), "a second start")
    ops, errors = work_done(m, 200)
    check(re.search(r"^work-0-0\s+\d+$", m.command("ls"), re.M), "the workers' files")
    out = m.command("work stop")
    found = re.search(r"work: stopped after (\d+) operations, 0 errors", out)
    check(found and int(found.group(1)) >= ops, "work stop: %r" % out)
    check(work_status(m)[0] == int(found.group(1)), "counts moved after stop")
    check("MISMATCH" not in m.transcript, "a worker logged a mismatch")


def test_ramfs_live_swap_to_v2_under_load(machine):
    m = booted(machine)
    m.command("write keep made by ramfs@1")
    m.command("load workload@1")
    m.command("work start")
    before, _ = work_done(m, 100)
    out = m.command("swap ramfs@1 ramfs@2")
    check("swap: done" in out, "swap: %r" % out)
    check(re.search(r"ramfs: took over from ramfs@1; \d+ files? migrated to layout 2", m.transcript),
          "the swap-in hook did not migrate")
    at_swap, _ = work_status(m)
    check(at_swap >= before, "operations went back across the swap: %d -> %d" % (before, at_swap))
    after_swap, _ = work_done(m, at_swap + 100)   # the workers go on in ramfs@2
    inodes = re.findall(r"^ramfs/i/\S+\s+49534652\s+(\d+)\s+(\d+) ramfs\s+ok$", m.command("state ramfs/i/"), re.M)
    check(inodes and all(v == ("2", "80") for v in inodes), "inodes after the swap: %r" % inodes)
    check("swap: done" in m.command("swap tokens@1 tokens@1"), "a fresh copy of tokens@1")
    check(m.transcript.count("tokens: new key for this boot") == 1, "the token key changed")
    check(size_of(m, "keep") == (16, 2), "keep after the swap")
    check(m.command("cat keep") == "made by ramfs@1\n", "keep's contents after the swap")
    m.command("append keep and ramfs@2")
    check(re.search(r"modified \d+\.\d{6} s after boot", m.command("stat keep")), "no mtime in layout 2")
    ops, errors = work_done(m, after_swap + 1)   # and across the swap of tokens@1
    check("tokcheck: ok" in m.command("tokcheck"), "tokcheck on ramfs@2")
    out = m.command("work stop")
    stopped = re.search(r"work: stopped after (\d+) operations, 0 errors", out)
    check(stopped and int(stopped.group(1)) >= ops, "work stop after the swap: %r" % out)
    check("MISMATCH" not in m.transcript, "a worker logged a mismatch")
