/*
 * fb (cell fb@1): a text console drawn into the RGB framebuffer the loader
 * set up (UEFI's GOP, or a VBE mode under BIOS), in an 8x16 PSF font from
 * Debian's console fonts turned into rodata at build time (fb.mk). It
 * scrolls (a quarter of the screen at a time), shows a cursor (an underline,
 * drawn by XOR so it never hides a glyph) and carries nano_core's log once it
 * has taken the screen over (from the log's last screenful on a blank screen).
 *
 * It reaches the framebuffer, and no other memory, through grant
 * `framebuffer` (boot_framebuffer). Where the loader gave no RGB framebuffer
 * cell_init and the swap-in hook refuse, saying so. Where vga@1 had switched
 * the adapter to VGA text (display_show, metamodules/display_switch.c, grant
 * `port_io`), they switch it back to the VBE mode
 * and start on a blank screen with the log's last lines.
 *
 * The cursor is the record "fb/cursor" (a struct fb_cursor); the picture
 * itself lives in the framebuffer. The record names the geometry it was
 * made for; a record for another geometry is not trusted.
 */
#ifndef CELLS_FB_H
#define CELLS_FB_H

#include <stdint.h>

#define FB_CURSOR_RECORD "fb/cursor"
#define FB_CURSOR_TYPE 0x52534346u /* "FCSR" */
#define FB_CURSOR_VERSION 1u

struct fb_cursor {
	uint16_t row, col;	/* col == cols: the row is full, the next printable byte wraps */
	uint16_t cols, rows;	/* the text grid this record was made for */
	uint16_t shown;		/* the underline is drawn at row, col */
	uint16_t pad[3];
};

/*
 * Draws len bytes at the cursor: printable ASCII, '\n', '\r', '\b' (cursor
 * left), '\t' (to the next multiple of 8); other bytes are skipped. Scrolls
 * at the bottom. Returns len, 0 when there is no framebuffer, or -1 if buf
 * is NULL with len > 0. Callable from any context.
 */
int fb_write(const char *buf, uint64_t len);

#endif
