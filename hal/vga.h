/* VGA text mode (80x25, colour). The caller passes the screen's mapped address. */
#ifndef HAL_VGA_H
#define HAL_VGA_H

#include <stdbool.h>
#include <stdint.h>

#define VGA_TEXT_PHYS 0xb8000
#define VGA_COLS 80
#define VGA_ROWS 25

struct vga_cursor {
	uint16_t row, col;
};

void vga_clear(volatile uint16_t *screen, struct vga_cursor *cur);
/* Writes one character at the cursor, handling \n, \r, \b and scrolling. */
void vga_putc(volatile uint16_t *screen, struct vga_cursor *cur, char c);
/* Moves the hardware cursor (CRTC registers) to the cursor position. */
void vga_sync_cursor(const struct vga_cursor *cur);

/*
 * The Bochs VBE interface (ports 0x1ce/0x1cf) of QEMU's -vga std, Bochs and
 * VirtualBox: the one way back from a VBE graphics mode to VGA text without
 * the video BIOS. bochs_dispi_present reads its ID register. nano_core only
 * reads it at boot; the display cells switch modes (metamodules/display_switch.c).
 */
bool bochs_dispi_present(void);
/* The mode it shows, or false when it is off (VGA modes). */
bool bochs_dispi_mode(uint16_t *xres, uint16_t *yres, uint16_t *bpp);

#endif
