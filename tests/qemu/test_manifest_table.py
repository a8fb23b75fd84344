"""A manifest table that fails its checks: nano_core says why and keeps its own console."""
import os
import shutil
import subprocess
import tempfile

from delos import ROOT, check

TREE = os.path.join(ROOT, "build", "out", "iso")


def iso_with_table(edit):
    """An ISO like the built one whose manifest.bin went through edit(bytes) -> bytes."""
    tmp = tempfile.mkdtemp(prefix="delos-table-")
    tree = os.path.join(tmp, "iso")
    shutil.copytree(TREE, tree)
    path = os.path.join(tree, "manifest.bin")
    with open(path, "rb") as f:
        table = f.read()
    with open(path, "wb") as f:
        f.write(edit(table))
    iso = os.path.join(tmp, "delos.iso")
    subprocess.run(["grub-mkrescue", "-o", iso, tree], check=True, capture_output=True)
    return tmp, iso


def flip_a_byte(table):
    return table[:100] + bytes([table[100] ^ 1]) + table[101:]


def test_manifest_table_changed_byte_boots_nano_core_alone(machine):
    tmp, iso = iso_with_table(flip_a_byte)
    try:
        m = machine(iso=iso)
        m.expect(r"cells: the manifest module: manifest table: checksum mismatch: the table was "
                 r"changed; no cells will load", 60)
        m.boot()
        out = m.command("cells")
        check("nano_core@core" in out and "shell@1" not in out, "cells loaded: %r" % out)
        out = m.command("help")
        check("load" in out and "ops slot console_command" in out, "not nano_core's fallback console")
        check("no kcmds@1 in cells.manifest" in m.command("load kcmds@1"), "a cell loaded without a manifest")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
