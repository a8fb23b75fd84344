"""state_db transactions seen from the console: a refused swap changes no
record, and a ramfs migration is all or nothing."""
import re

from delos import check

FILES = {"a.txt": "alpha", "b.txt": "bravo bravo", "c.txt": "charlie " * 40}


def booted_with_files(machine):
    m = machine()
    m.boot()
    for name, text in FILES.items():
        out = m.command("write %s %s" % (name, text.strip()))
        check("bytes written" in out, "write %s: %r" % (name, out))
    return m


def ramfs_records(m):
    """Every ramfs record as the `state` listing shows it (name, type, version,
    size, owner, checksum status), sorted."""
    out = m.command("state ramfs/")
    rows = sorted(tuple(line.split()) for line in out.splitlines() if line.startswith("ramfs/"))
    check(len(rows) >= 2 * len(FILES), "too few ramfs records: %r" % out)
    return rows


def check_files(m, layout):
    for name, text in FILES.items():
        out = m.command("cat " + name)
        check(out == text.strip() + "\n", "cat %s after the swap: %r" % (name, out))
        st = m.command("stat " + name)
        check(re.search(r"layout %d\b" % layout, st), "stat %s: %r, expected layout %d" % (name, st, layout))


def test_sdb_refused_swap_leaves_ramfs_records_as_they_were(machine):
    """ramfs@2's hook migrates every file, then hello@9's hook fails: the swap
    is refused and ramfs@1 still reads every file from records as they were."""
    m = booted_with_files(machine)
    before = ramfs_records(m)
    out = m.command("swap ramfs@1 ramfs@2 hello@1 hello@9")
    check("swap refused at step 'handover'; nothing changed" in out, "swap: %r" % out)
    check(re.search(r"ramfs: took over from ramfs@1; 3 files migrated to layout 2", m.transcript),
          "ramfs@2's hook did not run before hello@9's failed")
    check(ramfs_records(m) == before, "ramfs records changed by a refused swap")
    check_files(m, 1)
    check(re.search(r"^ramfs@1\s", m.command("cells"), re.M), "ramfs@1 is no longer loaded")


def test_sdb_ramfs_swap_alone_migrates_every_file(machine):
    m = booted_with_files(machine)
    before = ramfs_records(m)
    out = m.command("swap ramfs@1 ramfs@2")
    check("swap: done" in out, "swap: %r" % out)
    after = ramfs_records(m)
    inodes = [r for r in after if r[0].startswith("ramfs/i/")]
    check(len(inodes) == len(FILES) and all(r[2] == "2" for r in inodes),
          "inodes after the swap: %r" % inodes)
    unchanged = [r for r in before if not r[0].startswith("ramfs/i/")]
    check(all(r in after for r in unchanged), "records other than inodes changed")
    check_files(m, 2)


def test_sdb_migration_stopped_halfway_leaves_nothing_migrated(machine):
    """The store refuses the second inode ramfs@2's migration rewrites (it runs
    at the check step, in the swap's background transaction): the migration
    fails halfway, the swap is refused, and not even the inode rewritten
    before the failure stays migrated."""
    m = booted_with_files(machine)
    before = ramfs_records(m)
    check("loaded hook_user@1" in m.command("load hook_user@1"), "load hook_user@1")
    out = m.command("call hook_user hook_user_fail_second_txn_write")
    check("returned 0" in out, "arming the fail point: %r" % out)
    out = m.command("swap ramfs@1 ramfs@2")
    check("swap refused at step 'check'; nothing changed" in out, "swap: %r" % out)
    check(re.search(r"ramfs: cannot migrate the files of ramfs@1 to layout 2", m.transcript),
          "the hook did not fail in its migration")
    check("returned 0" in m.command("call hook_user hook_user_disarm"), "disarm")
    check(ramfs_records(m) == before, "ramfs records changed by a refused swap")
    check_files(m, 1)
    out = m.command("swap ramfs@1 ramfs@2")
    check("swap: done" in out, "the same swap, with the store willing: %r" % out)
    check_files(m, 2)


def test_sdb_task_ending_inside_a_transaction_aborts_it(machine):
    m = machine()
    m.boot()
    check("loaded hook_user@1" in m.command("load hook_user@1"), "load hook_user@1")
    check("returned 0" in m.command("call hook_user hook_user_abandon_in_task"), "spawn")
    aborted = r"state_db: task \d+ left a transaction of 1 records open \(the task ended\); aborted"
    if not re.search(aborted, m.transcript):   # the task may end while `call` still prints
        m.expect(aborted)
    out = m.command("state hook_user/")
    check("hook_user/abandoned" not in out, "the abandoned write was committed: %r" % out)
    check("bytes written" in m.command("write after.txt still works"), "a ramfs write afterwards")
    check(m.command("cat after.txt") == "still works\n", "cat afterwards")
