/* VGA text mode (80x25, colour). The caller passes the screen's mapped address. */
#ifndef HAL_VGA_H
#define HAL_VGA_H

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

#endif
