"""Live swap through the console: success, the log, refusals that change nothing, a storm."""
import os
import re
import struct
from delos import ROOT, check

# Owners of records that change whenever a task blocks or wakes (tasks/blocked
# appears at the first block): no swap in this file names them.
LIVE_OWNERS = ("tasks", "sched_rr", "sched_prio")


def booted(machine):
    m = machine()
    m.boot()
    return m


def stable(cmd, out):
    """Drops what moves by itself: task run counts, record sizes of queues and history."""
    lines = out.splitlines()
    if cmd == "tasks":
        return [" ".join(l.split()[:4]) for l in lines]
    if cmd == "state":   # the rows, without their size and the count that follows them;
        # the scrub's progress line moves with every tick
        rows = [l.split() for l in lines if not l.startswith("scrub:")]
        return [" ".join(f[:3] + f[4:]) for f in rows if len(f) == 6 and f[4] not in LIVE_OWNERS]
    return lines


def snapshot(m):
    """What a refused swap must leave as it was."""
    return ["\n".join(stable(c, m.command(c)))
            for c in ("cells", "deps hello", "deps log_sink", "deps ticker", "state", "tasks")]


def test_swap_fresh_copy(machine):
    m = booted(machine)
    check("returned 42" in m.command("call hello hello_main"), "hello_main before the swap")
    out = m.command("swap hello@1 hello@1")
    check(re.search(r"swap: done in \d+ us \(world stopped \d+ us", out), "swap output: %r" % out)
    check("returned 42" in m.command("call hello hello_main"), "hello_main after the swap")
    check("hello@1 -> hello@1: ok" in m.command("swaps"), "swap not logged")


def test_swap_new_version_runs_its_hook(machine):
    m = booted(machine)
    out = m.command("swap hello@1 hello@2")
    check("version 2 takes over from version 1" in out, "swap-in hook did not run: %r" % out)
    check("returned 43" in m.command("call hello hello_main"), "calls do not reach version 2")
    check(re.search(r"^hello@2\s", m.command("cells"), re.M), "cells does not show hello@2")
    out = m.command("swap hello@2 hello@1")
    check("swap: done" in out, "swap back to version 1: %r" % out)
    check("returned 42" in m.command("call hello hello_main"), "calls do not reach version 1 again")


def elf_sections(data):
    """(type, flags, link, info, body) of every section of an ELF64 relocatable object."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3a)
    out = []
    for i in range(shnum):
        _, typ, flags, _, off, size, link, info, _, _ = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        out.append((typ, flags, link, info, data[off:off + size]))
    return out


def elf_symbols(secs):
    """[(name, bind, shndx)] of the object's symbol table."""
    typ, _, link, _, body = next(s for s in secs if s[0] == 2)   # SHT_SYMTAB
    strtab = secs[link][4]
    syms = []
    for k in range(0, len(body), 24):
        name, info, _, shndx = struct.unpack_from("<IBBH", body, k)
        syms.append((strtab[name:strtab.index(b"\0", name)].decode(), info >> 4, shndx))
    return syms


GOT_RELOCS = (9, 41, 42)                            # GOTPCREL, GOTPCRELX, REX_GOTPCRELX
ADDRESS_RELOCS = (1, 2, 4, 10, 11, 12, 13, 14, 15, 24)  # 64, PC32, PLT32, 32, 32S, 16, PC16, 8, PC8, PC64


def cell_object(ref):
    with open(os.path.join(ROOT, "build", "out", "iso", "cells", ref + ".o"), "rb") as f:
        return f.read()


def import_sites(user_ref, exports):
    """{symbol: sites} for what the object `user_ref` imports of `exports`, read from the
    object itself: each address relocation in a loaded section is one site, and a symbol
    reached through the GOT adds one (its slot)."""
    secs = elf_sections(cell_object(user_ref))
    syms = elf_symbols(secs)
    sites, got = {}, set()
    for typ, _, _, target, body in secs:
        if typ != 4 or not secs[target][1] & 2:       # SHT_RELA for an SHF_ALLOC section
            continue
        for k in range(0, len(body), 24):
            _, info, _ = struct.unpack_from("<QQq", body, k)
            name, _, shndx = syms[info >> 32]
            if shndx != 0 or name not in exports:
                continue
            sites.setdefault(name, 0)
            if info & 0xffffffff in GOT_RELOCS:
                got.add(name)
            elif info & 0xffffffff in ADDRESS_RELOCS:
                sites[name] += 1
    return {name: n + (name in got) for name, n in sites.items()}


def users_from_objects(m, ref):
    """{(user, symbol): sites} over every loaded cell that imports what `ref` exports."""
    exports = {n for n, bind, shndx in elf_symbols(elf_sections(cell_object(ref))) if bind == 1 and shndx != 0}
    loaded = re.findall(r"^(\S+@\S+)\s+\d+", m.command("cells"), re.M)
    uses = {}
    for user in loaded:
        if user != ref and not user.startswith("nano_core@"):
            for sym, n in import_sites(user, exports).items():
                uses[(user.split("@")[0], sym)] = n
    return uses


def test_swap_relinks_users(machine):
    m = booted(machine)
    uses = users_from_objects(m, "log_sink@1")
    check(uses, "no loaded cell imports from log_sink@1's object")
    out = m.command("swap -v log_sink@1 log_sink@1")
    for step in ("check", "quiesce", "relink", "handover", "commit", "pause", "total"):
        check(re.search(r"^  %s\s+\d+ ns" % step, out, re.M), "no %s time in %r" % (step, out))
    want = "relocations rewritten %d (in %d imports)" % (sum(uses.values()), len(uses))
    check(want in out, "relocation count: %r, want %r from the objects %r" % (out, want, uses))
    out = m.command("deps log_sink")
    got = {(u, s): int(n) for u, s, n in re.findall(r"^\s*<- (\w+):(\w+) \((\d+) sites?\)", out, re.M)}
    check(got == uses, "users of log_sink after the swap: %r, the objects say %r" % (got, uses))
    check("[hello]" in m.command("call hello hello_main"), "hello cannot log through the new log_sink")


def refusal(machine, old, new, message):
    m = booted(machine)
    before = snapshot(m)
    out = m.command("swap %s %s" % (old, new))
    check(message in out, "swap %s %s said %r, want %r" % (old, new, out, message))
    check("nothing changed" in out, "refusal does not say nothing changed")
    after = snapshot(m)
    for b, a in zip(before, after):
        check(a == b, "state changed by a refused swap:\n%s\n---\n%s" % (b, a))
    check("returned 42" in m.command("call hello hello_main"), "hello broken after a refusal")


def test_swap_refused_missing_export(machine):
    refusal(machine, "ticker@1", "hello_cmd@1", "does not export 'ticker_ticks' (used by hello)")


def test_swap_refused_state_spill(machine):
    refusal(machine, "hello@1", "bad_spill@1", "state spill: 'counter'")


def test_swap_refused_grant_violation(machine):
    refusal(machine, "hello@1", "bad_grant@1", "'hal_outb' needs grant 'port_io'")


def test_swap_refused_hook_failure(machine):
    refusal(machine, "hello@1", "hello@9", "swap-in hook failed: returned -22")


def test_swap_and_load_keep_one_version_of_each_name(machine):
    m = booted(machine)
    before = m.command("cells")
    for line, message in (
            ("swap hello@1 ramfs@1", "swap refused: ramfs@1 is already loaded"),
            ("swap hello@1 ramfs@2", "swap refused: ramfs@1 is already loaded"),
            ("swap ticker@1 hello@2 hello@1 hello@1", "swap refused: two new cells are named hello"),
            ("load ramfs@2", "load refused: ramfs@1 is already loaded"),
            ("load hello@1", "load refused: hello@1 is already loaded")):
        out = m.command(line)
        check(message in out, "%s said %r, want %r" % (line, out, message))
        check(m.command("cells") == before, "cells changed after %r:\n%s" % (line, out))
    # The old cells of a swap are leaving: each name may move to another version.
    out = m.command("swap ramfs@1 ramfs@2 hello@1 hello@9")
    check("swap-in hook failed" in out and "already loaded" not in out, "multi-pair swap: %r" % out)
    check(m.command("cells") == before, "cells changed after a refused swap")
    check("swap: done" in m.command("swap ramfs@1 ramfs@2 hello@1 hello@2"), "multi-pair swap refused")
    refs = re.findall(r"^(\S+)@\S+\s", m.command("cells"), re.M)
    check(len(refs) == len(set(refs)), "a cell name is listed twice: %r" % refs)
    check("returned 43" in m.command("call hello hello_main"), "hello@2 does not answer")


def test_swap_nano_core_refused(machine):
    m = booted(machine)
    check("nano_core is the one part that cannot be swapped" in m.command("swap nano_core@1 hello@1"),
          "nano_core swap not refused")
    check("usage: swap" in m.command("swap hello@1"), "swap with one argument")


def loader_range(m):
    """The range the loader cell linker@1 is mapped at (docs/loader-cell.md)."""
    r = re.search(r"^linker@1\s+\d+\s+\d+\s+(\S+)$", m.command("cells"), re.M)
    check(r, "cells does not list the loader cell linker@1")
    return r.group(1)


def test_swap_the_loader_live(machine):
    """The running loader links its successor; the commit moves nano_core's loader slot."""
    m = booted(machine)
    first = loader_range(m)
    out = m.command("swap linker@1 linker@1")
    check(re.search(r"swap: done in \d+ us", out), "loader swap: %r" % out)
    second = loader_range(m)
    check(second != first, "linker@1 still at %s after its swap" % first)
    check("returned 42" in m.command("call hello hello_main"), "hello after the loader swap")
    out = m.command("swap hello@1 hello@2")
    check("swap: done" in out, "a swap made by the new loader: %r" % out)
    check("returned 43" in m.command("call hello hello_main"), "hello@2 linked by the new loader")
    out = m.command("swap linker@1 linker@1")
    check("swap: done" in out, "the new loader swapping itself: %r" % out)
    check(loader_range(m) != second, "linker@1 still at %s after its second swap" % second)
    check(m.command("swaps").count("linker@1 -> linker@1: ok") == 2, "loader swaps not logged")
    check("returned 43" in m.command("call hello hello_main"), "hello@2 after the second loader swap")


def test_swap_the_loader_refused(machine):
    refusal(machine, "linker@1", "hello_cmd@1", "has no loader table this nano_core can call")
    m = booted(machine)
    out = m.command("unload linker")
    check("linker is the loader; it cannot be unloaded" in out, "unload of the loader: %r" % out)
    check(loader_range(m), "the loader left after a refused unload")


def heap_in_use(m):
    return int(re.search(r"heap: size \d+ in_use (\d+)", m.command("mem")).group(1))


def test_swap_storm(machine):
    m = booted(machine)
    uses = users_from_objects(m, "log_sink@1")
    before = heap_in_use(m)
    rounds = 60
    for i in range(rounds):
        for cmd in ("swap hello@1 hello@2", "swap log_sink@1 log_sink@1", "swap ticker@1 ticker@1",
                    "swap hello@2 hello@1"):
            out = m.command(cmd)
            check("swap: done" in out, "round %d: %s: %r" % (i, cmd, out))
    check("returned 42" in m.command("call hello hello_main"), "hello after the storm")
    out = m.command("deps log_sink")
    got = {(u, s): int(n) for u, s, n in re.findall(r"^\s*<- (\w+):(\w+) \((\d+) sites?\)", out, re.M)}
    check(got == uses, "deps after the storm: %r, the objects say %r" % (got, uses))
    check(m.command("swaps").count(": ok") >= 32, "swap log does not hold the last swaps")
    after = heap_in_use(m)
    check(after - before < 16384, "heap grew by %d bytes over %d swaps" % (after - before, 4 * rounds))
    check("check ok" in m.command("mem"), "heap check after the storm")
