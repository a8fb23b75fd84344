"""The benchmark cell (cells/bench/bench.h) in its short mode: what CI checks of
`make bench`. Every benchmark must give its rows, each sane (positive, min <=
median <= max, the runs it says); no figure is compared with any bound of time."""
import re
from delos import check

ROW = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", re.M)

# The rows each benchmark gives (micro.csv's names).
ROWS = {
    "xcall": ["xcall_local", "xcall_local_far", "xcall_cross"],
    "core_call": ["core_call"],
    "ctx_switch": ["ctx_switch"],
    "spawn_join": ["spawn_join"],
    "sdb_get": ["sdb_get16", "sdb_get16_name", "sdb_get4k", "sdb_get4k_name"],
    "sdb_update": ["sdb_update16", "sdb_update4k", "sdb_put16", "sdb_put4k"],
    "sdb_txn": ["sdb_txn4", "sdb_txn4k"],
    "token": ["token_seal", "token_open"],
    "ramfs_rw": ["ramfs_write4k", "ramfs_read4k"],
    "link": ["link_1k", "link_10k", "link_100k"],
    "swap": ["swap_%s_%s" % (k, n) for n in ("hello", "log_sink", "dispatch", "sched", "ramfs")
             for k in ("pause", "total")],
    "recover": ["recover_restart", "recover_reload"],
    "tick": ["timer_tick"],
}


def table(out):
    block = re.search(r"bench: begin\ncpu: ([^\n]+)\ntsc: ([^\n]+)\n(.*?)bench: end, (\d+) rows", out, re.S)
    check(block, "no table: %r" % out[-3000:])
    check(not re.search(r"bench: \w+ failed", out), "a benchmark failed: %r" % out[-3000:])
    rows = {r[0]: [int(v) for v in r[1:]] for r in ROW.findall(block.group(3))}
    check(len(rows) == int(block.group(4)), "%d rows read, the table says %s" % (len(rows), block.group(4)))
    return block.group(1), block.group(2), rows


def test_bench_quick_rows_are_sane(machine):
    m = machine(icount=True)
    m.boot()
    check("bench@1" not in m.command("cells"), "bench@1 booted without bench=boot")
    check("loaded bench@1" in m.command("load bench@1"), "load bench@1")
    out = m.command("bench nosuch xcall")
    check("no benchmark named 'nosuch'" in out and "bench: begin" not in out,
          "an unknown name was not refused before anything ran: %r" % out)
    listed = re.findall(r"^  (\w+) ", m.command("bench list"), re.M)
    check(listed == list(ROWS), "bench list: %r" % listed)
    cpu, tsc, rows = table(m.command("bench -q all", timeout=600))
    check(cpu.strip() and re.match(r"\d+\.\d{3} MHz from \w+", tsc), "header: %r %r" % (cpu, tsc))
    want = [r for names in ROWS.values() for r in names]
    check(sorted(rows) == sorted(want), "rows %s, expected %s" % (sorted(rows), sorted(want)))
    for name, (med, lo, hi, runs, ns) in rows.items():
        check(min(med, lo, hi, runs, ns) > 0, "%s: a figure is not positive: %r" % (name, rows[name]))
        check(lo <= med <= hi, "%s: min %d, median %d, max %d" % (name, lo, med, hi))
    # One benchmark alone, by name, gives only its rows.
    _, _, one = table(m.command("bench -q token"))
    check(sorted(one) == sorted(ROWS["token"]), "bench token gave %s" % sorted(one))
    # The system is whole afterwards: the swaps and faults left every service answering.
    check("returned 42" in m.command("call hello hello_main"), "hello after the suite")
    check("sched_rr@1" in m.command("cells"), "the scheduler was not swapped back")
