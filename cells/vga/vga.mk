# The vga cell loads the fb cell's font (cells/fb/fb.mk) into the VGA font
# plane when it takes a screen that was showing a VBE framebuffer.
$(KOUT)/cell/vga@1/cells/vga/vga.c.o: $(FB_GEN)/fb_font.h
CELL_CFLAGS_vga@1 += -I$(FB_GEN)
# Its switch back from a VBE framebuffer to VGA text, shared with fb@1.
CELL_LIB_vga@1 := metamodules/display_switch.c
