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

/* BIOS mode 3 (80x25 text, 16 colours, 9-dot 720x400). */
static const uint8_t mode3_seq[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_crtc[25] = {
	0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00,
	0x00, 0x00, 0x50, 0x9c, 0x0e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
};
static const uint8_t mode3_gc[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_ac[21] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
	0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00,
};
/* The 16 text colours (6-bit DAC levels), at the DAC entries mode3_ac names. */
static const uint8_t text_rgb[16][3] = {
	{ 0, 0, 0 }, { 0, 0, 42 }, { 0, 42, 0 }, { 0, 42, 42 }, { 42, 0, 0 }, { 42, 0, 42 },
	{ 42, 21, 0 }, { 42, 42, 42 }, { 21, 21, 21 }, { 21, 21, 63 }, { 21, 63, 21 },
	{ 21, 63, 63 }, { 63, 21, 21 }, { 63, 21, 63 }, { 63, 63, 21 }, { 63, 63, 63 },
};

void vga_set_text_mode(void)
{
	outb(0x3c2, 0x67);
	for (uint8_t i = 0; i < sizeof(mode3_seq); i++) {
		outb(0x3c4, i);
		outb(0x3c5, mode3_seq[i]);
	}
	/* Unlock CRTC 0-7 (CR11 bit 7), keeping CR03 bit 7 set as mode 3 has it. */
	outb(0x3d4, 0x11);
	outb(0x3d5, inb(0x3d5) & 0x7f);
	for (uint8_t i = 0; i < sizeof(mode3_crtc); i++) {
		outb(0x3d4, i);
		outb(0x3d5, mode3_crtc[i]);
	}
	for (uint8_t i = 0; i < sizeof(mode3_gc); i++) {
		outb(0x3ce, i);
		outb(0x3cf, mode3_gc[i]);
	}
	(void)inb(0x3da);	/* the attribute controller's flip-flop to "index" */
	for (uint8_t i = 0; i < sizeof(mode3_ac); i++) {
		outb(0x3c0, i);
		outb(0x3c0, mode3_ac[i]);
	}
	for (int i = 0; i < 16; i++) {
		outb(0x3c8, mode3_ac[i]);
		for (int k = 0; k < 3; k++)
			outb(0x3c9, text_rgb[i][k]);
	}
	(void)inb(0x3da);
	outb(0x3c0, 0x20);	/* palette address source: the screen shows again */
}

#define DISPI_INDEX 0x1ce
#define DISPI_DATA 0x1cf
enum { DISPI_ID, DISPI_XRES, DISPI_YRES, DISPI_BPP, DISPI_ENABLE };
#define DISPI_ENABLED 0x01
#define DISPI_LFB 0x40

static uint16_t dispi_read(uint16_t reg)
{
	outw(DISPI_INDEX, reg);
	return inw(DISPI_DATA);
}

static void dispi_write(uint16_t reg, uint16_t v)
{
	outw(DISPI_INDEX, reg);
	outw(DISPI_DATA, v);
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

void bochs_dispi_off(void)
{
	dispi_write(DISPI_ENABLE, 0);
}

void bochs_dispi_on(uint16_t xres, uint16_t yres, uint16_t bpp)
{
	dispi_write(DISPI_ENABLE, 0);
	dispi_write(DISPI_XRES, xres);
	dispi_write(DISPI_YRES, yres);
	dispi_write(DISPI_BPP, bpp);
	dispi_write(DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB);
}
