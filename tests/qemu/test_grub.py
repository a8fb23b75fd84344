"""GRUB's part of the boot: no error or warning on the screen, with or without an
args disk (without one, the menu waits its timeout and boots the default entry,
as on a real PC).

Under UEFI the firmware console, which GRUB writes to, also reaches the serial
line. Under BIOS GRUB writes to the screen through the BIOS; SeaBIOS's serial
console (the fw_cfg file etc/sercon-port, with no VGA card) copies that text to
the serial line, so the test reads exactly what the screen would show.
"""
import os
import re
import tempfile
from delos import check

# The first line nano_core logs; everything before it is firmware and GRUB.
KERNEL_START = r"\] INFO  Delos nano_core"

# What GRUB's multiboot2 loader printed under OVMF before nano_core asked for
# a framebuffer and grub.cfg loaded the video drivers.
NO_CONSOLE = "WARNING: no console will be available to OS"


# Terminal control sequences (SeaBIOS and OVMF move the cursor and set colours
# between characters); stripped so that the text reads as it does on screen.
CONTROL = re.compile(r"\x1b(\[[0-9;?=]*[A-Za-z]|[A-Za-z])")


def grub_errors(text):
    return [line.strip() for line in text.splitlines() if "error:" in line]


def boot_and_check(machine, uefi, args, tmp, args_disk=True):
    extra = []
    if not uefi:
        port = os.path.join(tmp, "sercon-port")
        with open(port, "wb") as f:
            f.write((0x3F8).to_bytes(2, "little"))
        extra = ["-vga", "none", "-fw_cfg", "name=etc/sercon-port,file=%s" % port]
    m = machine(uefi=uefi, args=args, extra=extra, args_disk=args_disk)
    start = m.expect(KERNEL_START, 150 if uefi else 60).start()
    before = CONTROL.sub("", m.transcript[:start])
    # Proof that GRUB's screen output reaches us at all, or "no error" means nothing.
    check("Welcome to GRUB!" in before, "GRUB's screen output is not on the serial line")
    check(re.search(r"Delos: booting nano_core %s\s*\n" % re.escape(args), before),
          "grub.cfg did not echo its kernel arguments %r" % args)
    errors = grub_errors(before)
    check(not errors, "GRUB printed errors before nano_core: %r" % errors)
    check(NO_CONSOLE not in before, "GRUB printed %r" % NO_CONSOLE)
    m.expect(r"boot: GRUB .*, command line '%s'," % re.escape(args))
    m.boot(150 if uefi else 60)


def test_grub_quiet_bios(machine):
    with tempfile.TemporaryDirectory() as tmp:
        boot_and_check(machine, False, "", tmp, args_disk=False)


def test_grub_quiet_uefi(machine):
    with tempfile.TemporaryDirectory() as tmp:
        boot_and_check(machine, True, "", tmp, args_disk=False)


def test_grub_args_disk_bios(machine):
    with tempfile.TemporaryDirectory() as tmp:
        boot_and_check(machine, False, "grubtest=bios", tmp)


def test_grub_args_disk_uefi(machine):
    with tempfile.TemporaryDirectory() as tmp:
        boot_and_check(machine, True, "grubtest=uefi", tmp)


# The menu's other entries, chosen through the args disk (default=N) as a
# person would with the arrow keys.
def test_grub_menu_serial_only(machine):
    m = machine(grub_vars={"default": "2"})
    m.expect(r"command line 'console=serial',", 60)
    m.boot(60)
    check("boot: console=serial: no screen is used" in m.transcript, "console=serial not taken")
    for ref in ("vga@1", "fb@1"):
        check("cells: %s not loaded at boot" % ref in m.transcript, "%s loaded with console=serial" % ref)
    out = m.command("cells")
    check("shell@1" in out and "vga@1" not in out and "fb@1" not in out,
          "cells with console=serial: %r" % out)


def test_grub_menu_benchmarks(machine):
    """The second entry boots bench@1 (boot_if=arg:bench=boot), which runs the whole
    suite with no keyboard: its table begins with the CPU and the TSC source, and
    every benchmark gives its rows; then the console is there as usual."""
    m = machine(grub_vars={"default": "1"}, args="grubtest=bench", icount=True)
    m.expect(r"command line 'bench=boot grubtest=bench',", 60)
    m.expect(r"bench: bench=boot: running 'bench all'", 120)
    m.expect(r"bench: begin\ncpu: \S.*\ntsc: \d+\.\d+ MHz from \w+", 60)
    end = m.expect(r"bench: end, (\d+) rows", 600)
    check(int(end.group(1)) >= 30, "the boot run gave %s rows" % end.group(1))
    m.expect(r"bench: bench=boot done, 0 failed", 60)
    check("cells" in m.command("help"), "no console after the boot run")
