# The fb cell's font: a PSF font from Debian's console fonts (package
# console-setup-linux, build/deps.sh), turned into a header of static const
# glyphs that only fb.c includes, so it lands in the cell's rodata.
FB_FONT_PSF ?= /usr/share/consolefonts/Lat15-VGA16.psf.gz
FB_GEN      := $(OUT)/gen/cells/fb

$(FB_GEN)/fb_font.h: build/tools/psf2h.py
	@mkdir -p $(@D)
	@test -r $(FB_FONT_PSF) || { echo "fb: no font $(FB_FONT_PSF): run build/deps.sh (console-setup-linux)"; exit 1; }
	python3 build/tools/psf2h.py $(FB_FONT_PSF) $@

$(KOUT)/cell/fb@1/cells/fb/fb.c.o: $(FB_GEN)/fb_font.h
CELL_CFLAGS_fb@1 += -I$(FB_GEN)
# Its switch back from VGA text to the VBE framebuffer, shared with vga@1.
CELL_LIB_fb@1 := metamodules/display_switch.c
