#!/usr/bin/env python3
"""celltool's build-time tests.

Compiles the tiny cells in tests/celltool/cells/ with the kernel's flags, runs
celltool on them, and checks its exit status and every line it prints. Prints
"PASS name" or "FAIL name" per case, then "N passed, N failed"; exits 1 if any
case failed.

    python3 tests/celltool/run.py [--celltool PATH] [--cc CC] [--ld LD]
                                  [--cflags "KERNEL CFLAGS"] [CASE...]
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXPORTS = "nano_core/exports.list"

# The top Makefile's KCFLAGS (less -MMD -MP); `make celltool-tests` passes the
# real ones with --cflags.
DEFAULT_CFLAGS = (
    "--target=x86_64-unknown-none-elf -std=gnu11 -ffreestanding -nostdlib "
    "-fno-pic -fno-pie -mcmodel=kernel -mno-red-zone -fno-omit-frame-pointer "
    "-mno-omit-leaf-frame-pointer -mno-mmx -mno-sse -mno-sse2 -mno-avx "
    "-msoft-float -fno-stack-protector -fno-asynchronous-unwind-tables -O2 -g "
    "-Wall -Wextra -Werror -Iinclude -I."
)


class Case:
    """One celltool run: build objects, run celltool, compare.

    objects maps an output path (relative to the build dir) to the sources
    and extra flags that make it; several sources are merged with ld -r.
    argv may name objects as {name}, relative to the build dir. expect_err
    and expect_out are the exact lines, in order, on stderr and stdout, or
    None to skip a stream; expect_out_has lists lines that stdout must hold.
    """

    def __init__(self, name, argv, rc, expect_err=(), expect_out=None,
                 expect_out_has=(), objects=None):
        self.name = name
        self.argv = argv
        self.rc = rc
        self.expect_err = list(expect_err) if expect_err is not None else None
        self.expect_out = expect_out
        self.expect_out_has = list(expect_out_has)
        self.objects = objects or {}


def cell(path, *sources, flags=()):
    return {path: (list(sources), list(flags))}


def spill(obj, what):
    return "celltool: {%s}: state spill: %s" % (obj, what)


GRANTS_CORE = ["--exports", EXPORTS, "--grants", "core"]

CASES = [
    Case("clean_cell_passes",
         ["check"] + GRANTS_CORE + ["{clean.o}"], 0, expect_out=[],
         objects=cell("clean.o", "clean.c")),
    Case("static_in_bss",
         ["check", "{bss.o}"], 1,
         [spill("bss.o", "'counter' in .bss (4 bytes)")],
         objects=cell("bss.o", "bss.c")),
    Case("initialised_data",
         ["check"] + GRANTS_CORE + ["{data.o}"], 1,
         [spill("data.o", "'data_limit' in .data (4 bytes)")],
         objects=cell("data.o", "data.c")),
    Case("common_symbol",
         ["check", "{common.o}"], 1,
         [spill("common.o", "'common_total' is a common symbol (4 bytes)")],
         objects=cell("common.o", "common.c", flags=["-fcommon"])),
    Case("thread_local",
         ["check", "{tls.o}"], 1,
         [spill("tls.o", "'tls_depth' in .tbss (4 bytes)")],
         objects=cell("tls.o", "tls.c")),
    Case("function_local_static",
         ["check", "{static_local.o}"], 1,
         [spill("static_local.o", "'next_id.id' in .bss (8 bytes)")],
         objects=cell("static_local.o", "static_local.c")),
    Case("port_io_without_grant",
         ["check"] + GRANTS_CORE + ["{beeper.o}"], 1,
         ["celltool: {beeper.o}: 'hal_outb' needs grant 'port_io', "
          "which beeper is not granted"],
         objects=cell("beeper.o", "beeper.c")),
    Case("port_io_with_grant",
         ["check", "--exports", EXPORTS, "--grants", "core,port_io",
          "{beeper.o}"], 0,
         objects=cell("beeper.o", "beeper.c")),
    Case("no_grants_means_none",
         ["check", "--exports", EXPORTS, "{beeper.o}"], 1,
         ["celltool: {beeper.o}: 'hal_outb' needs grant 'port_io', "
          "which beeper is not granted",
          "celltool: {beeper.o}: 'kprintf' needs grant 'core', "
          "which beeper is not granted"],
         objects=cell("beeper.o", "beeper.c")),
    Case("every_violation_named",
         ["check"] + GRANTS_CORE + ["{many.o}"], 1,
         [spill("many.o", "'buffer' in .bss (64 bytes)"),
          spill("many.o", "'hits' in .data (4 bytes)"),
          "celltool: {many.o}: 'hal_inb' needs grant 'port_io', "
          "which many is not granted"],
         objects=cell("many.o", "many.c")),
    Case("unnamed_data",
         ["check", "{unnamed.o}"], 1,
         [spill("unnamed.o", "unnamed data in .data (8 bytes)")],
         objects=cell("unnamed.o", "unnamed.s")),
    Case("merged_with_ld_r",
         ["check"] + GRANTS_CORE + ["{merged.o}"], 1,
         [spill("merged.o", "'counter' in .bss (4 bytes)")],
         objects=cell("merged.o", "clean.c", "bss.c")),
    Case("several_objects",
         ["check", "{clean.o}", "{data.o}", "{bss.o}"], 1,
         [spill("data.o", "'data_limit' in .data (4 bytes)"),
          spill("bss.o", "'counter' in .bss (4 bytes)")],
         objects={**cell("clean.o", "clean.c"), **cell("data.o", "data.c"),
                  **cell("bss.o", "bss.c")}),
    Case("grants_from_manifest_refused",
         ["check", "--exports", EXPORTS, "--manifest",
          "tests/celltool/test.manifest", "{cells/beeper@1.o}"], 1,
         ["celltool: {cells/beeper@1.o}: 'hal_outb' needs grant 'port_io', "
          "which beeper is not granted"],
         objects=cell("cells/beeper@1.o", "beeper.c")),
    Case("grants_from_manifest_allowed",
         ["check", "--exports", EXPORTS, "--manifest",
          "tests/celltool/test.manifest", "{cells/beeper@2.o}"], 0,
         objects=cell("cells/beeper@2.o", "beeper.c")),
    Case("manifest_matches_name_at_version",
         ["check", "--exports", EXPORTS, "--manifest",
          "tests/celltool/test.manifest", "{elsewhere/beeper@2.o}"], 0,
         objects=cell("elsewhere/beeper@2.o", "beeper.c")),
    Case("object_not_in_manifest",
         ["check", "--exports", EXPORTS, "--manifest",
          "tests/celltool/test.manifest", "{cells/beeper@3.o}"], 1,
         ["celltool: {cells/beeper@3.o}: no entry in "
          "tests/celltool/test.manifest for this object"],
         objects=cell("cells/beeper@3.o", "beeper.c")),
    Case("guarded_export_without_grant",
         ["check", "--exports", EXPORTS, "--manifest",
          "tests/celltool/guard.manifest", "{cells/hooker@1.o}"], 1,
         ["celltool: {cells/hooker@1.o}: 'store_hook' needs grant 'test_hooks', "
          "which hooker is not granted"],
         objects=cell("cells/hooker@1.o", "hooker.c")),
    Case("guarded_export_with_grant",
         ["check", "--exports", EXPORTS, "--manifest",
          "tests/celltool/guard.manifest", "{cells/hooker@2.o}"], 0,
         objects=cell("cells/hooker@2.o", "hooker.c")),
    Case("guard_of_an_export_passes",
         ["check", "--exports", EXPORTS, "--manifest",
          "tests/celltool/guard.manifest", "{cells/store@1.o}"], 0,
         objects=cell("cells/store@1.o", "store.c")),
    Case("guard_of_a_missing_export",
         ["check", "--exports", EXPORTS, "--manifest",
          "tests/celltool/guard.manifest", "{cells/store@2.o}"], 1,
         ["celltool: {cells/store@2.o}: guard 'no_such_hook' (grant 'test_hooks') "
          "names no symbol that store exports"],
         objects=cell("cells/store@2.o", "store.c")),
    Case("the_tree_guards_the_state_db_fail_point",
         ["check", "--exports", EXPORTS, "--manifest", "cells.manifest",
          "{cells/bad_hook@1.o}"], 1,
         ["celltool: {cells/bad_hook@1.o}: 'statedb_set_fail_point' needs grant "
          "'test_hooks', which bad_hook is not granted"],
         objects=cell("cells/bad_hook@1.o", "../../cells/hook_user/hook_user.c")),
    Case("manifest_guard_grant_is_a_grant",
         ["manifest", "--exports", EXPORTS, "--list",
          "tests/celltool/guard.manifest"], 0,
         expect_out_has=[
             "cell store@1 object=cells/store@1.o grants=core boot=no "
             "recovery=none guard=test_hooks:store_hook",
             "cell store@2 object=cells/store@2.o grants=core boot=no "
             "recovery=none guard=test_hooks:store_hook,no_such_hook",
             "cell hooker@2 object=cells/hooker@2.o grants=core,test_hooks "
             "boot=no recovery=none"]),
    Case("not_an_object",
         ["check", "tests/celltool/bad.manifest"], 1,
         ["celltool: tests/celltool/bad.manifest: not an ELF file"]),
    Case("missing_file",
         ["check", "tests/celltool/no-such.o"], 1,
         ["celltool: tests/celltool/no-such.o: No such file or directory"]),
    Case("grants_need_exports",
         ["check", "--grants", "core", "{clean.o}"], 2, None,
         objects=cell("clean.o", "clean.c")),
    Case("manifest_good",
         ["manifest", "--exports", EXPORTS, "cells.manifest"], 0,
         expect_out=[]),
    Case("manifest_typo_names_line",
         ["manifest", "tests/celltool/bad.manifest"], 1,
         ["tests/celltool/bad.manifest:7: unknown recovery policy 'rebot'"]),
    Case("manifest_unknown_grant",
         ["manifest", "--exports", EXPORTS,
          "tests/celltool/unknown_grant.manifest"], 1,
         ["tests/celltool/unknown_grant.manifest:2: unknown grant 'port_oi' "
          "(not in nano_core/exports.list nor a guard=)"]),
    Case("manifest_unknown_boot_if",
         ["manifest", "tests/celltool/boot_if.manifest"], 1,
         ["tests/celltool/boot_if.manifest:2: unknown boot_if 'framebufer' "
          "(text_screen, framebuffer or arg:KEY=VALUE)",
          "tests/celltool/boot_if.manifest:4: unknown boot_if 'arg:bench' "
          "(text_screen, framebuffer or arg:KEY=VALUE)"]),
    Case("manifest_list",
         ["manifest", "--list", "tests/celltool/test.manifest"], 0,
         expect_out=[
             "cell beeper@1 object=cells/beeper@1.o grants=core boot=no "
             "recovery=none",
             "cell beeper@2 object=cells/beeper@2.o grants=core,port_io "
             "boot=no recovery=fallback:beeper@1"]),
    Case("boot_cycle_fails_the_build",
         ["table", "--exports", EXPORTS, "--objects", "{}", "--output", "{table.bin}",
          "tests/celltool/cycle.manifest"], 1,
         ["tests/celltool/cycle.manifest: boot cells form a dependency cycle: "
          "cyc_a@1 -> cyc_b@1 -> cyc_a@1 (cyc_a@1 imports cyc_b_value, "
          "cyc_b@1 imports cyc_a_value)"],
         objects={**cell("cells/cyc_a@1.o", "../../cells/cyc_a/cyc_a.c"),
                  **cell("cells/cyc_b@1.o", "../../cells/cyc_b/cyc_b.c"),
                  **cell("cells/provider@1.o", "provider.c")}),
    Case("boot_order_follows_imports",
         ["table", "--exports", EXPORTS, "--objects", "{}", "--output", "{table.bin}",
          "tests/celltool/order.manifest"], 0, [],
         expect_out=["boot order: provider@1 cyc_b@1 beeper@1"],
         objects={**cell("cells/cyc_b@1.o", "../../cells/cyc_b/cyc_b.c"),
                  **cell("cells/provider@1.o", "provider.c"),
                  **cell("cells/beeper@1.o", "beeper.c")}),
    Case("boot_import_nobody_exports",
         ["table", "--exports", EXPORTS, "--objects", "{}", "--output", "{table.bin}",
          "tests/celltool/unresolved.manifest"], 1,
         ["tests/celltool/unresolved.manifest:3: boot cell cyc_b@1 imports cyc_a_value, "
          "which neither nano_core nor any boot cell exports"],
         objects=cell("cells/cyc_b@1.o", "../../cells/cyc_b/cyc_b.c")),
    Case("info_report",
         ["info", "--exports", EXPORTS, "{beeper.o}"], 0,
         expect_out_has=[
             "exports:",
             "  beep                             .text",
             "imports:",
             "  hal_outb                         port_io",
             "  kprintf                          core",
             "  log_write                        cell",
             "grants needed: port_io core"],
         objects=cell("beeper.o", "beeper.c")),
    Case("info_sections",
         ["info", "{many.o}"], 0,
         expect_out_has=["sections:"],
         objects=cell("many.o", "many.c")),
]


def build(case, tools, outdir):
    """Builds the case's objects; returns an error string or None."""
    for path, (sources, flags) in case.objects.items():
        target = os.path.join(outdir, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        parts = []
        for i, src in enumerate(sources):
            part = target if len(sources) == 1 else "%s.part%d.o" % (target, i)
            cflags = shlex.split(tools.cflags)
            if src.endswith(".s"):
                cflags = [f for f in cflags if f.startswith("--target")]
            cmd = ([tools.cc] + cflags + flags +
                   ["-c", os.path.join(HERE, "cells", src), "-o", part])
            res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if res.returncode:
                return "compile failed: %s\n%s" % (" ".join(cmd), res.stderr)
            parts.append(part)
        if len(parts) > 1:
            cmd = [tools.ld, "-r", "-o", target] + parts
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode:
                return "link failed: %s\n%s" % (" ".join(cmd), res.stderr)
    return None


def expand(text, outdir):
    """Replaces {obj} with the object's path under outdir."""
    out, rest = "", text
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        out += head + os.path.join(outdir, name)
    return out + rest


def lines(text):
    return [line for line in text.split("\n") if line != ""]


def check(case, res, outdir):
    """Returns a list of mismatches between what celltool did and expected."""
    problems = []
    if res.returncode != case.rc:
        problems.append("exit status %d, expected %d" % (res.returncode, case.rc))
    if case.expect_err is not None:
        want = [expand(line, outdir) for line in case.expect_err]
        if lines(res.stderr) != want:
            problems.append("stderr:\n  got  %r\n  want %r" %
                            (lines(res.stderr), want))
    if case.expect_out is not None and lines(res.stdout) != case.expect_out:
        problems.append("stdout:\n  got  %r\n  want %r" %
                        (lines(res.stdout), case.expect_out))
    for want in case.expect_out_has:
        if not any(line.startswith(want) for line in lines(res.stdout)):
            problems.append("stdout lacks a line starting %r:\n%s" %
                            (want, res.stdout))
    return problems


def run_case(case, tools, outdir):
    error = build(case, tools, outdir)
    if error:
        return [error]
    argv = [tools.celltool] + [expand(arg, outdir) for arg in case.argv]
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    return check(case, res, outdir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--celltool", default="build/out/host/celltool")
    parser.add_argument("--cc", default="clang")
    parser.add_argument("--ld", default="ld.lld")
    parser.add_argument("--cflags", default=DEFAULT_CFLAGS)
    parser.add_argument("cases", nargs="*", help="run only these cases")
    tools = parser.parse_args()
    tools.celltool = os.path.abspath(os.path.join(ROOT, tools.celltool))

    selected = [c for c in CASES if not tools.cases or c.name in tools.cases]
    unknown = set(tools.cases) - {c.name for c in CASES}
    if unknown:
        sys.exit("run.py: unknown case(s): %s" % ", ".join(sorted(unknown)))
    passed = failed = 0
    for case in selected:
        with tempfile.TemporaryDirectory(prefix="celltool-") as outdir:
            problems = run_case(case, tools, outdir)
        if problems:
            failed += 1
            print("FAIL %s" % case.name)
            for problem in problems:
                print("  " + problem.replace("\n", "\n  "))
        else:
            passed += 1
            print("PASS %s" % case.name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
