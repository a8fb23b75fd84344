#!/usr/bin/env python3
"""The fault injector's site table (cells/swifi/sites.h), made at build time.

    swifi_sites.py -o OUT.bin [--core ELF:FUNC,FUNC...] NAME@VERSION=OBJ ...

For each cell object, `llvm-objdump -d -r` gives every instruction of its
.text: offset, bytes, mnemonic, operands, and the relocation that patches it.
Each becomes a site with its length and operand kinds (register source and
destination, the register of a memory operand's address computation,
conditional branch forward or backward, call, ret, a global function's entry).
Padding (nop, int3) and instructions that cannot be single-stepped in place
(cli, sti, pushf, popf, iret, hlt, rep-prefixed string loops) are left out.
`--core` adds nano_core's own functions FUNC... from its linked ELF, by
absolute address, for the test-only injection into nano_core.

The output is one little-endian blob (format: cells/swifi/sites.h) with no
pointers, so the cell that links it carries no relocations for it.
"""
import argparse
import re
import struct
import subprocess
import sys

MAGIC = b"SWS1"
HDR = struct.Struct("<4s9I")         # magic, ncells, nfuncs, nsites, strings_len, 4 offsets, pad
CELL = struct.Struct("<8IQ")         # name, text_size, first_func, nfuncs, first_site, nsites, flags, pad, base
FUNC = struct.Struct("<4I")          # name, start, size, flags
SITE = struct.Struct("<IIHBBBBBB")   # off, insn, func, len, flags, src, dst, ptr, byte0

F_JCC, F_BACK, F_CALL, F_RET, F_MEM, F_ENTRY = 1, 2, 4, 8, 16, 32
FN_GLOBAL = 1
CELL_CORE = 1
NONE = 0xff

REGS = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"] + ["r%d" % i for i in range(8, 16)]
ALIASES = {}
for i, (q, d, w, b) in enumerate([("rax", "eax", "ax", "al"), ("rcx", "ecx", "cx", "cl"),
                                  ("rdx", "edx", "dx", "dl"), ("rbx", "ebx", "bx", "bl"),
                                  ("rsp", "esp", "sp", "spl"), ("rbp", "ebp", "bp", "bpl"),
                                  ("rsi", "esi", "si", "sil"), ("rdi", "edi", "di", "dil")]):
    for n in (q, d, w, b):
        ALIASES[n] = i
for n, i in (("ah", 0), ("ch", 1), ("dh", 2), ("bh", 3)):
    ALIASES[n] = i
for i in range(8, 16):
    for suffix in ("", "d", "w", "b"):
        ALIASES["r%d%s" % (i, suffix)] = i
RSP = 4

SKIP = re.compile(r"^(nop|int3|ud2|hlt|cli|sti|pushf|popf|iret|int$|lgdt|lidt|ltr|wrmsr|swapgs|sysret|"
                  r"outs|ins|in$|inb|inw|inl|out$|outb|outw|outl|invlpg|wbinvd)")
NO_WRITE = re.compile(r"^(cmp|test|bt$|btl|btq|push|call|jmp|j[a-z]+$|ret)")
ONE_OP_DST = re.compile(r"^(pop|set|inc|dec|not|neg|bswap)")
ONE_OP_SRC = re.compile(r"^(push|call|jmp|inc|dec|not|neg|bswap|mul|div|imul|idiv)")
JCC = re.compile(r"^j(?!mp)[a-z]+$")

LINE = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{2} )+)\s*(.*)$")
LABEL = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
RELOC = re.compile(r"^\s*[0-9a-f]+:\s+(R_X86_64_\w+)\s+(\S+)")


def split_operands(text):
    out, depth, cur = [], 0, ""
    for c in text:
        if c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += c == "("
        depth -= c == ")"
        cur += c
    if cur.strip():
        out.append(cur.strip())
    return out


def reg_of(op):
    m = re.fullmatch(r"%(\w+)", op)
    return ALIASES.get(m.group(1)) if m else None


def mem_reg(op):
    """The register of a memory operand's address computation: its base, else its index."""
    m = re.search(r"\((%\w+)?(?:,(%\w+)(?:,\d)?)?\)", op)
    if not m:
        return None
    for r in (m.group(1), m.group(2)):
        idx = ALIASES.get(r[1:]) if r else None
        if idx is not None and idx != RSP:
            return idx
    return None


def classify(addr, mnem, ops_text, func_start, is_entry):
    """(flags, src, dst, ptr) for one instruction, or None when it is no site."""
    base = mnem.split()[-1] if mnem else ""
    if not base or SKIP.match(base) or mnem.startswith("rep") or re.search(r"%[cd]r\d", ops_text):
        return None
    ops = split_operands(re.sub(r"\s*#.*$", "", re.sub(r"<[^>]*>", "", ops_text)))
    flags = F_ENTRY if is_entry else 0
    src = dst = ptr = NONE
    if JCC.match(base):
        flags |= F_JCC
        m = re.match(r"0x([0-9a-f]+)", ops_text)
        if m and int(m.group(1), 16) <= addr:
            flags |= F_BACK
    if base.startswith("call"):
        flags |= F_CALL
    if base.startswith("ret"):
        flags |= F_RET
    mems = [o for o in ops if "(" in o and not o.startswith("*%")]
    if mems:
        flags |= F_MEM
        r = mem_reg(mems[0])
        if r is not None and "%rip" not in mems[0]:
            ptr = r
    regs = [reg_of(o.lstrip("*")) for o in ops]
    if len(ops) >= 2:
        for r in regs[:-1]:
            if r is not None and r != RSP:
                src = r
                break
        if regs[-1] is not None and regs[-1] != RSP and not NO_WRITE.match(base):
            dst = regs[-1]
    elif len(ops) == 1 and regs[0] is not None and regs[0] != RSP:
        if ONE_OP_DST.match(base):
            dst = regs[0]
        if ONE_OP_SRC.match(base):
            src = regs[0]
    return flags, src, dst, ptr


def disassemble(path):
    """[(addr, bytes, mnemonic, operands, reloc_symbol)] of .text, and function labels."""
    out = subprocess.run(["llvm-objdump", "-d", "-r", "--section=.text", path], check=True,
                         capture_output=True, text=True).stdout
    insns, labels, prefix = [], [], None
    for line in out.splitlines():
        m = LABEL.match(line)
        if m:
            labels.append((int(m.group(1), 16), m.group(2)))
            continue
        m = RELOC.match(line)
        if m and insns:
            insns[-1][4] = re.sub(r"[-+]0x[0-9a-f]+$", "", m.group(2))
            continue
        m = LINE.match(line)
        if not m:
            continue
        addr, raw = int(m.group(1), 16), bytes.fromhex(m.group(2).replace(" ", ""))
        rest = m.group(3).split("\t", 1)
        mnem, ops = rest[0].strip(), rest[1].strip() if len(rest) > 1 else ""
        if mnem in ("lock", "rep", "repne", "rep;") and not ops:
            prefix = (addr, raw, mnem)
            continue
        if prefix and prefix[0] + len(prefix[1]) == addr:
            addr, raw, mnem = prefix[0], prefix[1] + raw, prefix[2] + " " + mnem
        prefix = None
        insns.append([addr, raw, mnem, ops, None])
    return insns, labels


def globals_of(path):
    out = subprocess.run(["llvm-nm", "-P", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    g = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] in ("T", "t"):
            g[f[0]] = (int(f[2], 16), int(f[3], 16) if len(f) > 3 else 0, f[1] == "T")
    return g


class Table:
    def __init__(self):
        self.cells, self.funcs, self.sites = [], [], []
        self.strings, self.string_at = bytearray(), {}

    def string(self, s):
        if s not in self.string_at:
            self.string_at[s] = len(self.strings)
            self.strings += s.encode() + b"\0"
        return self.string_at[s]

    def add(self, name, path, only=None, core=False):
        insns, labels = disassemble(path)
        syms = globals_of(path)
        if only is not None:
            labels = [l for l in labels if l[1] in only]
        if not insns or not labels:
            return
        base = min(a for a, _ in labels) if core else 0
        text_end = max(a + len(r) for a, r, *_ in insns)
        first_func, first_site = len(self.funcs), len(self.sites)
        starts = sorted(labels)
        for i, (start, fname) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else text_end
            size = syms.get(fname, (0, 0, False))[1] or end - start
            glob = syms.get(fname, (0, 0, False))[2]
            self.funcs.append((self.string(fname), start - base, size, FN_GLOBAL if glob else 0))
        fi = 0
        for addr, raw, mnem, ops, reloc in insns:
            while fi + 1 < len(starts) and starts[fi + 1][0] <= addr:
                fi += 1
            start, fname = starts[fi]
            size = self.funcs[first_func + fi][2]
            if addr < start or addr >= start + size or len(raw) > 15:
                continue
            c = classify(addr, mnem, ops, start, addr == start and syms.get(fname, (0, 0, False))[2])
            if not c:
                continue
            flags, src, dst, ptr = c
            text = mnem + (" " + (reloc if reloc and (flags & F_CALL) else ops) if ops else "")
            text = re.sub(r"\s+", " ", re.sub(r"\s*#.*$", "", text)).strip()
            self.sites.append((addr - base, self.string(text[:60]), fi, len(raw), flags, src, dst,
                               ptr, raw[0]))
        text_size = text_end - base
        self.cells.append((self.string(name), text_size, first_func, len(self.funcs) - first_func,
                           first_site, len(self.sites) - first_site, base if core else 0, core))

    def blob(self):
        offs, pos = [], HDR.size
        parts = [b"".join(CELL.pack(n, ts, ff, nf, fs, ns, CELL_CORE if core else 0, 0, base)
                          for n, ts, ff, nf, fs, ns, base, core in self.cells),
                 b"".join(FUNC.pack(*f) for f in self.funcs),
                 b"".join(SITE.pack(*s) for s in self.sites),
                 bytes(self.strings)]
        for p in parts:
            offs.append(pos)
            pos += (len(p) + 7) & ~7
        out = HDR.pack(MAGIC, len(self.cells), len(self.funcs), len(self.sites), len(self.strings), *offs, 0)
        for p in parts:
            out += p + b"\0" * (((len(p) + 7) & ~7) - len(p))
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", required=True)
    ap.add_argument("--core", help="ELF:FUNC,FUNC... of nano_core")
    ap.add_argument("cells", nargs="*", help="NAME@VERSION=OBJECT")
    a = ap.parse_args()
    t = Table()
    for spec in a.cells:
        name, _, path = spec.partition("=")
        t.add(name, path)
    if a.core:
        path, _, funcs = a.core.partition(":")
        t.add("nano_core", path, only=set(funcs.split(",")), core=True)
    data = t.blob()
    with open(a.o, "wb") as f:
        f.write(data)
    print("swifi_sites: %d cells, %d functions, %d sites, %d bytes" %
          (len(t.cells), len(t.funcs), len(t.sites), len(data)), file=sys.stderr)


if __name__ == "__main__":
    main()
