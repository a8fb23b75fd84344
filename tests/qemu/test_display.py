"""The boot matrix, checked by reading the screen: each firmware and video card
gets its display cell (vga@1 on the VGA text screen, fb@1 on a VBE or GOP
framebuffer), and what a person would read there is read back by OCR.

Each test boots once, types `cells` through QEMU's keyboard (sendkey, the PS/2
path), waits for the answer on the serial line, then takes `screendump`s and
runs tesseract on them until the prompt and the answer are on the screen, or
a deadline passes. The last screen of each test is kept in build/out/screens/
as PNG, with its OCR text.
"""
import difflib
import os
import re
import struct
import subprocess
import time
import zlib
from delos import ROOT, check

SCREENS = os.path.join(ROOT, "build", "out", "screens")
OCR_DEADLINE = 120
# The part of the screen that is read: the left 45% (the cells' names and
# sizes, not their hex ranges, which only slow OCR down), scaled up twice.
CROP, SCALE = 0.45, 2
# QEMU key names for the characters typed here.
KEYS = {" ": "spc", "\n": "ret", "@": "shift-2"}


def ppm_to_png(src, dst):
    """PPM (QEMU's screendump) to a greyscale PNG of the screen's left part,
    light text made dark on white and scaled up, for tesseract. Returns the
    screen's (width, height)."""
    with open(src, "rb") as f:
        data = f.read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    check(m, "%s is not a binary PPM with 8-bit channels" % src)
    w, h = int(m.group(1)), int(m.group(2))
    cw = int(w * CROP)
    px = memoryview(data)[m.end():]
    rows = []
    for y in range(h):
        line = px[y * w * 3:(y * w + cw) * 3]
        grey = bytes(255 - max(p) for p in zip(line[0::3], line[1::3], line[2::3]))
        rows += [b"\0" + bytes(b for b in grey for _ in range(SCALE))] * SCALE

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    with open(dst, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", cw * SCALE, h * SCALE, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(b"".join(rows), 1)) + chunk(b"IEND", b""))
    return w, h


def ocr(png):
    """The text tesseract reads in png, as one block (a console's layout)."""
    p = subprocess.run(["tesseract", png, "-", "--psm", "6"], capture_output=True, text=True,
                       timeout=120)
    check(p.returncode == 0, "tesseract failed on %s: %s" % (png, p.stderr.strip()))
    return p.stdout


def type_keys(m, text):
    for ch in text:
        m.monitor("sendkey " + KEYS.get(ch, ch))


def similar(a, b):
    return difflib.SequenceMatcher(None, a, b).ratio()


def rows_missing(rows, text):
    """The rows (strings) that no line of the OCR text starts like: OCR misreads
    a character in a few ('@1' as '@i', 'l' as '1') and puts in or leaves out
    spaces ('shell' as 'shel l'), so a row counts as there when a line's start,
    spaces aside, is at least 70% like the row's."""
    lines = ["".join(l.split()) for l in text.splitlines() if l.strip()]
    return [r for r in rows
            if not any(similar("".join(r.split()), l[:len("".join(r.split()))]) >= 0.7 for l in lines)]


def read_screen_until(m, name, rows, patterns):
    """Screendump and OCR until every row is there and every regex matches; returns
    (text, screen size)."""
    os.makedirs(SCREENS, exist_ok=True)
    ppm = os.path.join(m._tmp, "screen.ppm")
    png = os.path.join(SCREENS, name + ".png")
    deadline = time.monotonic() + OCR_DEADLINE
    while True:
        size = ppm_to_png(m.screendump(ppm), png)
        text = ocr(png)
        with open(os.path.join(SCREENS, name + ".txt"), "w") as f:
            f.write(text)
        missing = rows_missing(rows, text) + [p for p in patterns if not re.search(p, text, re.M)]
        if not missing:
            return text, size
        check(time.monotonic() < deadline, "after %ss the screen (%dx%d, %s) lacks %r; OCR read:\n%s"
              % (OCR_DEADLINE, size[0], size[1], png, missing, text))


def cells_on_screen(m, name, display, size):
    """Types `cells` on the keyboard; checks the serial answer, then the screen."""
    type_keys(m, "cells\n")
    m.expect(r"cells\n", 30)
    out = m.expect(r"(?s)(.*?)delos> ", 30).group(1)
    for ref in ("serial@1", "kbd@1", "shell@1", display):
        check(re.search(r"^%s\s+\d+\s+\d+\s+ffffffff" % re.escape(ref), out, re.M),
              "cells typed on the keyboard does not list %s: %r" % (ref, out))
    # Each row of the answer as its first two columns (the cell and its text size).
    rows = [" ".join(l.split()[:2]) for l in out.splitlines() if l.strip()]
    text, got = read_screen_until(m, name, rows, [r"delos>\s*cells\s*$", r"delos>\s*_?\s*\Z"])
    check(got == size, "the screen is %dx%d, want %dx%d" % (got + size))
    return text


def test_display_bios_vga_text(machine):
    m = machine()
    m.boot(60)
    check("cells: fb@1 not loaded at boot: this boot has no framebuffer" in m.transcript,
          "fb@1 was not left out on a text screen")
    check("vga: the text screen is a cell's now" in m.transcript, "vga@1 did not take the screen")
    # A text-mode boot has no framebuffer to go to: refused with the reason, vga@1 stays.
    out = m.command("swap vga@1 fb@1")
    check("display: cannot show the framebuffer: the loader gave no framebuffer" in m.transcript
          and "swap: done" not in out, "swap vga@1 fb@1 on a text screen: %r" % out)
    cells_on_screen(m, "bios-vga-text", "vga@1", (720, 400))


def test_display_bios_vbe_framebuffer(machine):
    m = machine(grub_vars={"delos_gfxpayload": "800x600x32"}, extra=["-vga", "std"])
    m.boot(60)
    check(re.search(r"boot: RGB framebuffer 800x600, 32 bpp, pitch \d+, at 0x", m.transcript),
          "nano_core did not see GRUB's VBE framebuffer")
    check("cells: vga@1 not loaded at boot: this boot has no text_screen" in m.transcript,
          "vga@1 was not left out on a VBE framebuffer")
    check(re.search(r"fb: the 800x600 framebuffer \(32 bpp at 0x[0-9a-f]+\) is a cell's now, "
                    r"100x37 text, loaded", m.transcript), "fb@1 did not take the framebuffer")
    check("boot: the VBE framebuffer can give way to VGA text live (Bochs VBE interface)"
          in m.transcript, "nano_core did not find the Bochs VBE interface of -vga std")
    # Live swaps: fb@1 for itself keeps the screen (its cursor is in state_db).
    out = m.command("swap fb@1 fb@1")
    check(re.search(r"swap: done in \d+ us", out), "swap fb@1 fb@1: %r" % out)
    cells_on_screen(m, "bios-vbe-fb", "fb@1", (800, 600))
    # A swap refused after vga@1's hook (hello@9's hook fails) leaves the screen as it was:
    # the hook only checks, the mode changes once a swap commits (cell_swap_done).
    out = m.command("swap fb@1 vga@1 hello@1 hello@9")
    check("swap refused" in out and "nothing changed" in out, "the swap with hello@9: %r" % out)
    check("display: the adapter shows" not in m.transcript,
          "a refused swap switched the screen mode:\n" + m.transcript[-2000:])
    cells_on_screen(m, "bios-vbe-refused", "fb@1", (800, 600))
    # vga@1 takes the adapter back to VGA text (80x25 at 720x400), with its font...
    out = m.command("swap fb@1 vga@1")
    check(re.search(r"swap: done in \d+ us", out) and
          "display: the adapter shows VGA text (80x25) now" in m.transcript,
          "swap fb@1 vga@1 on a VBE framebuffer: %r" % out)
    text = cells_on_screen(m, "bios-vbe-to-vga", "vga@1", (720, 400))
    check(re.search(r"swap: done in", text), "the text screen lost the lines before the swap:\n" + text)
    # ...and fb@1 takes the VBE framebuffer back.
    out = m.command("swap vga@1 fb@1")
    check(re.search(r"swap: done in \d+ us", out) and
          "display: the adapter shows the VBE framebuffer now" in m.transcript,
          "swap vga@1 fb@1: %r" % out)
    text = cells_on_screen(m, "bios-vbe-back-to-fb", "fb@1", (800, 600))
    check(re.search(r"swap: done in", text), "the framebuffer lost the lines before the swap:\n" + text)


def test_display_uefi_gop_framebuffer(machine):
    m = machine(uefi=True, extra=["-vga", "std"])
    m.boot(150)
    check(re.search(r"boot: RGB framebuffer \d+x\d+, \d+ bpp", m.transcript),
          "nano_core did not see the GOP framebuffer")
    f = re.search(r"fb: the (\d+)x(\d+) framebuffer .* is a cell's now", m.transcript)
    check(f, "fb@1 did not take the GOP framebuffer")
    # UEFI has no VGA text mode: the swap is refused with the reason, and fb@1 keeps the screen.
    out = m.command("swap fb@1 vga@1")
    check("display: cannot show VGA text: UEFI firmware has no VGA text mode" in m.transcript
          and "swap: done" not in out, "swap fb@1 vga@1 under UEFI: %r" % out)
    cells_on_screen(m, "uefi-gop-fb", "fb@1", (int(f.group(1)), int(f.group(2))))
