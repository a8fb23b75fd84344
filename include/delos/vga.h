/*
 * vga (cell vga@1): the 80x25 VGA text screen at physical 0xb8000, as a
 * console output. Present on BIOS boots in text mode; the manifest boots it
 * only there (boot_if=). On a BIOS VBE framebuffer that can be switched
 * back to text (display_show, metamodules/display_switch.c: the Bochs VBE
 * interface of QEMU's -vga std)
 * cell_init and, in a swap, cell_swap_done (after the commit; the swap-in
 * hook only checks) switch it, load the 8x16 font into plane 2 and show the
 * log's last lines; elsewhere (UEFI, other adapters) they refuse.
 *
 * The cursor is the record "vga/cursor" (a struct vga_cell_cursor): the
 * screen itself is the rest of the state, and it lives in video memory.
 * cell_init and cell_swap_done take the screen over (ops slot screen_write) and
 * continue where the record or nano_core's hardware cursor stood.
 */
#ifndef CELLS_VGA_H
#define CELLS_VGA_H

#include <stdint.h>

#define VGA_CURSOR_RECORD "vga/cursor"
#define VGA_CURSOR_TYPE 0x52534356u /* "VCSR" */
#define VGA_CURSOR_VERSION 1u

struct vga_cell_cursor {
	uint16_t row;   /* 0..24 */
	uint16_t col;   /* 0..80; 80: the row is full, the next printable byte wraps */
	uint16_t attr;  /* attribute byte in the high half: 0x0700 light grey on black */
	uint16_t pad;
};

/*
 * Draws len bytes at the cursor: printable ASCII, '\n' (new line), '\r',
 * '\b' (cursor left), '\t' (to the next multiple of 8); other bytes are
 * skipped. Scrolls at the bottom. Returns len, 0 when there is no text
 * screen, or -1 if buf is NULL with len > 0. Callable from any context.
 */
int vga_write(const char *buf, uint64_t len);

#endif
