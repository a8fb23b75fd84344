"""gdb commands for Delos cells (loaded by build/gdbinit).

nano_core.elf gives gdb nano_core's symbols; a cell is linked at run time into
the cell window, so gdb knows nothing of it until told where its sections
went. `delos-cells` reads the loader's list of cells from the running kernel
(nano_core/cells.c keeps the loader in `cs.ld`; loader/internal.h has the
list) and adds each cell's object (build/out/cells/NAME@VERSION.o) with
add-symbol-file at its live section addresses, as Linux's lx-symbols does for
modules. The loader is itself a cell (docs/loader-cell.md), so the layout of
its list is read from the loader cell's object (LOADER_OBJECT), whose DWARF
gdb is given for that moment only. It also sets a breakpoint on nano_core's
cells_changed, which runs after every load, unload and swap, and refreshes
there without stopping, so a breakpoint on a cell function (`break
ramfs_read`) follows the cell through a swap.

    delos-cells [OBJECT_ROOT]   (default: build/out beside this script's build/)
    delos-cells-off             stop following loads
"""
import os
import struct

import gdb

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ROOT = os.path.join(os.path.dirname(HERE), "out")
NO_INDEX = 0xFFFFFFFF
LOADER_OBJECT = os.path.join("cells", "linker@1.o")


def cstring(value):
    return value.string() if int(value) else ""


HIGHER_HALF = 0xFFFF800000000000
MAX_CELLS = 4096
MAX_SECS = 65536

# (struct, field) -> byte offset, and struct -> size, for the fields read.
FIELDS = {"loader": ["core"], "loader_cell": ["next", "name", "version", "path", "nsecs", "secs"],
          "placed": ["name", "addr", "shndx"]}


def layout(root):
    """The offsets of FIELDS and the sizes of their structs, from the loader cell's DWARF."""
    path = os.path.join(root, LOADER_OBJECT)
    gdb.execute("add-symbol-file %s -o 0" % path, to_string=True)
    try:
        out = {}
        for name, fields in FIELDS.items():
            t = gdb.lookup_type("struct " + name)
            out[name] = t.sizeof
            by_name = {f.name: f for f in t.fields()}
            for f in fields:
                out[(name, f)] = by_name[f].bitpos // 8
        return out
    finally:
        gdb.execute("remove-symbol-file %s" % path, to_string=True)


def read_u64(addr):
    return struct.unpack("<Q", gdb.selected_inferior().read_memory(addr, 8).tobytes())[0]


def read_u32(addr):
    return struct.unpack("<I", gdb.selected_inferior().read_memory(addr, 4).tobytes())[0]


def read_cstring(addr, limit=256):
    if not addr:
        return ""
    raw = gdb.selected_inferior().read_memory(addr, limit).tobytes()
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def live_cells(lay):
    """(NAME@VERSION, object path, {section name: address}) of every loaded cell but nano_core."""
    if int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF < HIGHER_HALF:
        return []  # stopped before nano_core runs in the higher half: no loader yet
    ld = int(gdb.parse_and_eval("(unsigned long)'nano_core/cells.c'::cs.ld"))
    if ld == 0:
        return []
    cells = []
    c = read_u64(ld + lay[("loader", "core")] + lay[("loader_cell", "next")])
    while c and len(cells) < MAX_CELLS:
        secs = {}
        nsecs = read_u32(c + lay[("loader_cell", "nsecs")])
        base = read_u64(c + lay[("loader_cell", "secs")])
        for i in range(min(nsecs, MAX_SECS)):
            s = base + i * lay["placed"]
            name = read_cstring(read_u64(s + lay[("placed", "name")]))
            if read_u32(s + lay[("placed", "shndx")]) != NO_INDEX and name and name not in secs:
                secs[name] = read_u64(s + lay[("placed", "addr")])
        cells.append(("%s@%s" % (read_cstring(read_u64(c + lay[("loader_cell", "name")])),
                                 read_cstring(read_u64(c + lay[("loader_cell", "version")]))),
                      read_cstring(read_u64(c + lay[("loader_cell", "path")])), secs))
        c = read_u64(c + lay[("loader_cell", "next")])
    return cells


class Cells:
    """The symbol files added for cells: NAME@VERSION -> (file, sections)."""

    def __init__(self):
        self.root = DEFAULT_ROOT
        self.added = {}
        self.breakpoint = None
        self.layout = None

    def refresh(self, quiet=False):
        try:
            if self.layout is None:
                self.layout = layout(self.root)
            cells = live_cells(self.layout)
        except gdb.error as e:  # e.g. stopped before paging is on: no cells yet
            cells = []
            if not quiet:
                print("delos-cells: no cells yet (%s)" % e)
        live = {ref: (os.path.join(self.root, path), secs) for ref, path, secs in cells}
        for ref, (path, secs) in list(self.added.items()):
            if live.get(ref) != (path, secs):
                gdb.execute("remove-symbol-file -a 0x%x" % secs[".text"], to_string=True)
                del self.added[ref]
                if not quiet:
                    print("delos-cells: removed %s" % ref)
        for ref, (path, secs) in sorted(live.items()):
            if ref in self.added:
                continue
            if ".text" not in secs or not os.path.exists(path):
                print("delos-cells: %s: no %s" % (ref, path if ".text" in secs else ".text"))
                continue
            args = " ".join("-s %s 0x%x" % (n, a) for n, a in sorted(secs.items()) if n != ".text")
            gdb.execute("add-symbol-file %s 0x%x %s" % (path, secs[".text"], args), to_string=True)
            self.added[ref] = (path, secs)
            if not quiet:
                print("delos-cells: %s .text at 0x%x" % (ref, secs[".text"]))


CELLS = Cells()


class ListChanged(gdb.Breakpoint):
    """Refreshes the cells' symbols whenever the loader's list changes; never stops."""

    def __init__(self):
        super().__init__("cells_changed", internal=True)
        self.silent = True

    def stop(self):
        try:
            CELLS.refresh(quiet=True)
        except gdb.error as e:
            print("delos-cells: %s" % e)
        return False


class DelosCells(gdb.Command):
    """Add the symbols of every loaded Delos cell, and follow loads, unloads and swaps.
Usage: delos-cells [OBJECT_ROOT]   (the folder holding cells/NAME@VERSION.o)"""

    def __init__(self):
        super().__init__("delos-cells", gdb.COMMAND_FILES)

    def invoke(self, arg, from_tty):
        if arg.strip():
            CELLS.root = os.path.abspath(arg.strip())
            CELLS.layout = None
        if CELLS.breakpoint is None:
            CELLS.breakpoint = ListChanged()
        CELLS.refresh()


class DelosCellsOff(gdb.Command):
    """Stop following the loader's list of cells (the added symbols stay)."""

    def __init__(self):
        super().__init__("delos-cells-off", gdb.COMMAND_FILES)

    def invoke(self, arg, from_tty):
        if CELLS.breakpoint is not None:
            CELLS.breakpoint.delete()
            CELLS.breakpoint = None


DelosCells()
DelosCellsOff()
