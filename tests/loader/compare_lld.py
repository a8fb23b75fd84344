#!/usr/bin/env python3
"""Compare the loader with ld.lld, section by section.

For each object: give every undefined global a made-up address, link the
object with cell-link at a fixed base, then link the same object with ld.lld
using a linker script that puts every section at the address from cell-link's
.map (and --defsym for the same symbols, --no-relax since the loader never
relaxes GOT loads), and compare every placed section byte for byte.

Objects with R_X86_64_32 relocations are linked low (below 4 GiB), the rest
in the top 2 GiB as cells are. Exits 1 if any section differs or any link
fails.

    compare_lld.py --cell-link build/out/host/cell-link --out DIR OBJ...
"""
import argparse
import os
import struct
import subprocess
import sys

HIGH_BASE = 0xFFFFFFFF80400000
HIGH_SYMS = 0xFFFFFFFF80100000
LOW_BASE = 0x400000
LOW_SYMS = 0x100000
SHT_SYMTAB, SHT_RELA, SHT_NOBITS = 2, 4, 8
SHF_ALLOC = 2
R_X86_64_32, R_X86_64_16, R_X86_64_8 = 10, 12, 14
STB_LOCAL, STB_WEAK = 0, 2


class Elf:
    """Just enough ELF64 little-endian reading for this script."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        if self.data[:4] != b"\x7fELF" or self.data[4] != 2:
            raise ValueError(f"{path}: not an ELF64 file")
        shoff, = struct.unpack_from("<Q", self.data, 0x28)
        shnum, shstrndx = struct.unpack_from("<HH", self.data, 0x3C)
        self.sections = [self._shdr(shoff + 64 * i) for i in range(shnum)]
        names = self.sections[shstrndx]
        for s in self.sections:
            s["name"] = self._str(names["offset"] + s["name_off"])

    def _shdr(self, off):
        f = struct.unpack_from("<IIQQQQIIQQ", self.data, off)
        return dict(name_off=f[0], type=f[1], flags=f[2], addr=f[3], offset=f[4],
                    size=f[5], link=f[6], info=f[7], entsize=f[9])

    def _str(self, off):
        return self.data[off:self.data.index(b"\0", off)].decode()

    def symbols(self):
        for s in self.sections:
            if s["type"] != SHT_SYMTAB:
                continue
            strtab = self.sections[s["link"]]["offset"]
            for k in range(s["size"] // 24):
                name, info, _, shndx, _, _ = struct.unpack_from(
                    "<IBBHQQ", self.data, s["offset"] + 24 * k)
                yield self._str(strtab + name), info >> 4, shndx

    def relocs(self):
        """(type, symbol name) of every relocation of an allocated section."""
        syms = list(self.symbols())
        for s in self.sections:
            if s["type"] != SHT_RELA:
                continue
            if not self.sections[s["info"]]["flags"] & SHF_ALLOC:
                continue
            for k in range(s["size"] // 24):
                info, = struct.unpack_from("<Q", self.data, s["offset"] + 24 * k + 8)
                yield info & 0xFFFFFFFF, syms[info >> 32][0]

    def contents(self, s):
        if s["type"] == SHT_NOBITS:
            return bytes(s["size"])
        return self.data[s["offset"]:s["offset"] + s["size"]]


def made_up_symbols(obj, low):
    """An address for every undefined strong global (weak ones stay 0);
    symbols under 8- or 16-bit absolute relocations get small values."""
    names = sorted({n for n, bind, shndx in obj.symbols()
                    if shndx == 0 and n and bind not in (STB_LOCAL, STB_WEAK)})
    narrow = {n for t, n in obj.relocs() if t in (R_X86_64_8, R_X86_64_16)}
    base = LOW_SYMS if low else HIGH_SYMS
    return {n: (0x10 + i if n in narrow else base + 0x100 * i)
            for i, n in enumerate(names)}


def read_map(path):
    rows = []
    with open(path) as f:
        for line in f:
            index, name, addr, size = line.split()
            rows.append((index, name, int(addr, 16), int(size, 16)))
    return rows


def write_script(path, rows):
    with open(path, "w") as f:
        f.write("SECTIONS {\n")
        for _, name, addr, _ in rows:
            f.write(f"  {name} {addr:#x} : {{ *({name}) }}\n")
        f.write("  /DISCARD/ : { *(.eh_frame) *(.note.gnu.property) }\n}\n")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{r.stderr.strip()}")


def compare(obj_path, args):
    name = os.path.basename(obj_path)
    stem = os.path.join(args.out, os.path.splitext(name)[0])
    obj = Elf(obj_path)
    low = any(t == R_X86_64_32 for t, _ in obj.relocs())
    base = LOW_BASE if low else HIGH_BASE
    syms = made_up_symbols(obj, low)
    symargs = [a for n, v in syms.items() for a in ("--sym", f"{n}={v:x}")]
    run([args.cell_link, obj_path, "--base", f"{base:x}", "--allow-state",
         *symargs, "-o", stem + ".img"])
    rows = read_map(stem + ".img.map")
    names = [r[1] for r in rows]
    if len(set(names)) != len(names):
        raise RuntimeError("two placed sections share a name; a linker script cannot tell them apart")
    write_script(stem + ".ld", rows)
    defsyms = [a for n, v in syms.items() for a in ("--defsym", f"{n}={v:#x}")]
    run(["ld.lld", "--no-relax", "-e", "0", "-T", stem + ".ld", *defsyms,
         "-o", stem + ".elf", obj_path])
    with open(stem + ".img", "rb") as f:
        image = f.read()
    lld = {s["name"]: s for s in lld_elf(stem + ".elf").sections}
    for _, sec, addr, size in rows:
        theirs = lld.get(sec)
        if theirs is None or theirs["addr"] != addr or theirs["size"] != size:
            raise RuntimeError(f"{sec}: ld.lld placed it differently or dropped it")
        mine = image[addr - base:addr - base + size]
        ref = lld_elf(stem + ".elf").contents(theirs)
        if mine != ref:
            k = next(i for i in range(size) if mine[i] != ref[i])
            raise RuntimeError(f"{sec}+{k:#x}: loader {mine[k]:#04x}, ld.lld {ref[k]:#04x}")
    return len(rows)


_elf_cache = {}


def lld_elf(path):
    """ld.lld's output, read once per object."""
    if path not in _elf_cache:
        _elf_cache.clear()
        _elf_cache[path] = Elf(path)
    return _elf_cache[path]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cell-link", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("objects", nargs="+")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    for path in args.objects:
        try:
            n = compare(path, args)
            print(f"ok   {os.path.basename(path)}: {n} sections identical")
        except (RuntimeError, ValueError, OSError) as e:
            failed += 1
            print(f"FAIL {os.path.basename(path)}: {e}")
    print(f"{len(args.objects) - failed} identical, {failed} different")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
