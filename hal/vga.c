#include "hal/vga.h"
#include "hal/io.h"
#include <delos/string.h>

#define ATTR 0x0700	/* light grey on black */

/* One block move of the text buffer (memmove, eight bytes a step), then
 * the blank line four cells a store. */
static void scroll(volatile uint16_t *screen)
{
	volatile uint64_t *w = (volatile uint64_t *)screen;
	uint64_t blank = (uint64_t)(ATTR | ' ') * 0x0001000100010001ull;

	memmove((void *)screen, (const void *)(screen + VGA_COLS), VGA_COLS * (VGA_ROWS - 1) * 2);
	for (int i = 0; i < VGA_COLS / 4; i++)
		w[VGA_COLS * (VGA_ROWS - 1) / 4 + i] = blank;
}

void vga_clear(volatile uint16_t *screen, struct vga_cursor *cur)
{
	for (int i = 0; i < VGA_COLS * VGA_ROWS; i++)
		screen[i] = ATTR | ' ';
	cur->row = cur->col = 0;
}

void vga_putc(volatile uint16_t *screen, struct vga_cursor *cur, char c)
{
	if (c == '\n') {
		cur->col = 0;
		cur->row++;
	} else if (c == '\r') {
		cur->col = 0;
	} else if (c == '\b') {
		if (cur->col)
			cur->col--;
	} else {
		screen[cur->row * VGA_COLS + cur->col] = ATTR | (uint8_t)c;
		if (++cur->col == VGA_COLS) {
			cur->col = 0;
			cur->row++;
		}
	}
	if (cur->row == VGA_ROWS) {
		scroll(screen);
		cur->row = VGA_ROWS - 1;
	}
}

void vga_sync_cursor(const struct vga_cursor *cur)
{
	uint16_t pos = cur->row * VGA_COLS + cur->col;

	outb(0x3d4, 0x0f);
	outb(0x3d5, pos & 0xff);
	outb(0x3d4, 0x0e);
	outb(0x3d5, pos >> 8);
}

#define DISPI_INDEX 0x1ce
#define DISPI_DATA 0x1cf
enum { DISPI_ID, DISPI_XRES, DISPI_YRES, DISPI_BPP, DISPI_ENABLE };
#define DISPI_ENABLED 0x01

static uint16_t dispi_read(uint16_t reg)
{
	outw(DISPI_INDEX, reg);
	return inw(DISPI_DATA);
}

bool bochs_dispi_present(void)
{
	uint16_t id = dispi_read(DISPI_ID);

	return id >= 0xb0c0 && id <= 0xb0cf;
}

bool bochs_dispi_mode(uint16_t *xres, uint16_t *yres, uint16_t *bpp)
{
	if (!(dispi_read(DISPI_ENABLE) & DISPI_ENABLED))
		return false;
	*xres = dispi_read(DISPI_XRES);
	*yres = dispi_read(DISPI_YRES);
	*bpp = dispi_read(DISPI_BPP);
	return true;
}
