#!/usr/bin/env python3
"""nano_core knows no cell by name.

Fails, listing each hit, when a cell name of cells.manifest appears as a
word of a string literal in nano_core's sources (#include lines aside), or
as a word of the strings of the built nano_core.elf's loaded data (.rodata,
.data and the symbol table .ksyms). Names are matched as whole words: a
cell `tasks` is not found in "task" nor in "tasks_list".

  tests/build/no_cell_names.py [MANIFEST] [SOURCE_DIR] [ELF]
"""
import os
import re
import subprocess
import sys

# Words that are cell names but also name something of nano_core's own:
# `console=serial` is a kernel argument (the serial line, not the cell).
ALLOWED = {("serial", "console=serial"), ("serial", "console serial")}
ALLOWED_STRINGS = {"serial"}
# Known and still to be replaced by an ops slot (none: the quiescence walk asks
# the tasks_inside slot). Printed each time one is used.
PENDING = set()


def cell_names(manifest):
    names = set()
    with open(manifest) as f:
        for line in f:
            m = re.match(r"cell\s+([a-z0-9_]+)@", line)
            if m:
                names.add(m.group(1))
    return names


def literals(path):
    text = open(path, errors="replace").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    for n, line in enumerate(text.splitlines(), 1):
        for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', line):
            yield n, lit, line.strip()


def hits_in(names, s):
    return [w for w in re.findall(r"[A-Za-z0-9_]+", s) if w in names]


def main():
    manifest = sys.argv[1] if len(sys.argv) > 1 else "cells.manifest"
    src = sys.argv[2] if len(sys.argv) > 2 else "nano_core"
    elf = sys.argv[3] if len(sys.argv) > 3 else None
    names = cell_names(manifest)
    if not names:
        print("no-cell-names: no cell in %s" % manifest)
        return 1
    bad = []
    pending_strings = set()
    for fname in sorted(os.listdir(src)):
        if not fname.endswith((".c", ".h", ".S")):
            continue
        path = os.path.join(src, fname)
        for n, lit, line in literals(path):
            if line.startswith("#include"):
                continue
            for w in hits_in(names, lit):
                if (fname, w) in PENDING:
                    print("no-cell-names: note: %s:%d still names '%s' (to become an ops slot)"
                          % (path, n, w))
                    pending_strings.add(lit)
                    continue
                if not any(w == a and a2 in line.replace('", "', " ").replace('"', "")
                           for a, a2 in ALLOWED):
                    bad.append("%s:%d: cell name '%s' in \"%s\"" % (path, n, w, lit))
    if elf:
        out = ""
        for sec in (".rodata", ".data", ".ksyms"):
            dump = os.path.join(os.path.dirname(elf), "no_cell_names%s.bin" % sec)
            subprocess.run(["llvm-objcopy", "-O", "binary", "--only-section=" + sec, elf, dump],
                           check=True)
            out += subprocess.run(["strings", "-a", "-n", "3", dump], capture_output=True,
                                  text=True, check=True).stdout
            os.unlink(dump)
        for s in out.splitlines():
            for w in hits_in(names, s):
                if s not in ALLOWED_STRINGS | pending_strings and \
                        not any(w == a and a2 in s for a, a2 in ALLOWED):
                    bad.append("%s: cell name '%s' in the string \"%s\"" % (elf, w, s.strip()))
    if bad:
        print("no-cell-names: nano_core names cells (use an ops slot, include/delos/ops.h):")
        print("\n".join(bad))
        return 1
    print("no-cell-names: none of the %d cell names of %s is in %s%s" %
          (len(names), manifest, src, " or " + elf if elf else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
