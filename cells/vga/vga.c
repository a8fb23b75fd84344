/* The VGA text console cell (see vga.h). */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/display.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/mm.h>
#include <delos/sdb.h>
#include <delos/vga.h>
#include "hal/io.h"
#include "metamodules/display_switch.h"
#include "fb_font.h"	/* the fb cell's glyphs (build/tools/psf2h.py), for a VGA font */
#include <delos/string.h>

#define OWNER "vga"
#define TEXT_PHYS 0xb8000
#define FONT_PHYS 0xa0000	/* plane 2 while the font is loaded */
#define COLS 80
#define ROWS 25
#define ATTR 0x0700
#define CRTC_INDEX 0x3d4
#define CRTC_DATA 0x3d5

static volatile uint16_t *screen(void)
{
	return phys_map(TEXT_PHYS, COLS * ROWS * 2);
}

/* One block move of the text buffer (memmove, eight bytes a step), then
 * the blank line four cells a store. */
static void scroll(volatile uint16_t *s, uint16_t attr)
{
	volatile uint64_t *w = (volatile uint64_t *)s;
	uint64_t blank = (uint64_t)(attr | ' ') * 0x0001000100010001ull;

	memmove((void *)s, (const void *)(s + COLS), COLS * (ROWS - 1) * 2);
	for (int i = 0; i < COLS / 4; i++)
		w[COLS * (ROWS - 1) / 4 + i] = blank;
}

static void newline(volatile uint16_t *s, struct vga_cell_cursor *c)
{
	c->col = 0;
	if (++c->row >= ROWS) {
		scroll(s, c->attr);
		c->row = ROWS - 1;
	}
}

/*
 * col == COLS means the last column was just written: the wrap waits for the
 * next printable byte, so a full 80-column line followed by '\n' takes one
 * screen line, not two.
 */
static void put(volatile uint16_t *s, struct vga_cell_cursor *c, char ch)
{
	if (ch == '\n') {
		newline(s, c);
	} else if (ch == '\r') {
		c->col = 0;
	} else if (ch == '\b') {
		if (c->col)
			c->col--;
	} else if (ch == '\t') {
		do
			put(s, c, ' ');
		while (c->col % 8 && c->col < COLS);
	} else if (ch >= ' ' && ch < 0x7f) {
		if (c->col >= COLS)
			newline(s, c);
		s[c->row * COLS + c->col++] = c->attr | (uint8_t)ch;
	}
}

static void sync_hw_cursor(const struct vga_cell_cursor *c)
{
	uint16_t pos = c->row * COLS + (c->col < COLS ? c->col : COLS - 1);

	hal_outb(CRTC_INDEX, 0x0f);
	hal_outb(CRTC_DATA, pos & 0xff);
	hal_outb(CRTC_INDEX, 0x0e);
	hal_outb(CRTC_DATA, pos >> 8);
}

/* Where the hardware cursor stands (nano_core kept it in step with its text). */
static struct vga_cell_cursor read_hw_cursor(void)
{
	uint16_t pos;

	hal_outb(CRTC_INDEX, 0x0f);
	pos = hal_inb(CRTC_DATA);
	hal_outb(CRTC_INDEX, 0x0e);
	pos |= (uint16_t)hal_inb(CRTC_DATA) << 8;
	if (pos >= COLS * ROWS)
		pos = 0;
	return (struct vga_cell_cursor){ pos / COLS, pos % COLS, ATTR, 0 };
}

/* The cursor record, made sane whatever it holds. */
static struct vga_cell_cursor cursor_load(void)
{
	struct vga_cell_cursor c;

	if (sdb_get(VGA_CURSOR_RECORD, &c, sizeof(c), NULL) != sizeof(c))
		return read_hw_cursor();
	if (c.row >= ROWS || c.col > COLS)
		c.row = c.col = 0;
	if (!c.attr)
		c.attr = ATTR;
	return c;
}

static int cursor_store(const struct vga_cell_cursor *c)
{
	return sdb_put(OWNER, VGA_CURSOR_RECORD, VGA_CURSOR_TYPE, VGA_CURSOR_VERSION, c, sizeof(*c));
}

int vga_write(const char *buf, uint64_t len)
{
	volatile uint16_t *s;

	if (!buf && len)
		return -1;
	if (!vga_text_present() || !(s = screen()))
		return 0;
	uint64_t flags = irq_save();
	struct vga_cell_cursor c = cursor_load();
	for (uint64_t i = 0; i < len; i++)
		put(s, &c, buf[i]);
	cursor_store(&c);
	sync_hw_cursor(&c);
	irq_restore(flags);
	return (int)len;
}

static void seq_write(uint8_t index, uint8_t v)
{
	hal_outb(0x3c4, index);
	hal_outb(0x3c5, v);
}

static void gc_write(uint8_t index, uint8_t v)
{
	hal_outb(0x3ce, index);
	hal_outb(0x3cf, v);
}

/*
 * Loads the cell's 8x16 font (the fb cell's PSF glyphs, printable ASCII;
 * other codes blank) into plane 2, 32 bytes a character, then puts the
 * sequencer and graphics controller back as text mode has them.
 */
static int load_font(void)
{
	volatile uint8_t *plane = phys_map(FONT_PHYS, 256 * 32);

	if (!plane)
		return -1;
	seq_write(2, 0x04);	/* write plane 2 only */
	seq_write(4, 0x06);	/* sequential addressing, no odd/even */
	gc_write(4, 0x02);	/* read plane 2 */
	gc_write(5, 0x00);	/* no odd/even */
	gc_write(6, 0x04);	/* planes at 0xa0000, 64 KiB */
	for (int ch = 0; ch < 256; ch++)
		for (int row = 0; row < 32; row++)
			plane[ch * 32 + row] = ch >= FONT_FIRST && ch <= FONT_LAST && row < FONT_HEIGHT
						       ? font_glyphs[ch - FONT_FIRST][row] : 0;
	seq_write(2, 0x03);
	seq_write(4, 0x02);
	gc_write(4, 0x00);
	gc_write(5, 0x10);
	gc_write(6, 0x0e);
	return 0;
}

/*
 * Takes the screen over, continuing where the cursor record or the hardware
 * cursor stands. Where the adapter showed a VBE framebuffer and can go back
 * to text (display_show), it is switched, given the font, cleared, and
 * shows the log's last lines.
 */
static int take_screen(const char *how)
{
	int shown = display_show("text_screen");
	volatile uint16_t *s;

	if (shown < 0 || !vga_text_present()) {
		klog(LOG_ERR, "vga: no VGA text screen on this boot; refused");
		return -1;
	}
	if (!(s = screen())) {
		klog(LOG_ERR, "vga: cannot map the text screen at 0x%x", TEXT_PHYS);
		return -1;
	}
	if (shown == 1 && load_font()) {
		klog(LOG_ERR, "vga: cannot map the font planes at 0x%x", FONT_PHYS);
		display_show("framebuffer");
		return -1;
	}
	uint64_t flags = irq_save();
	ops_register(OPS_SCREEN_WRITE, "vga", "vga_write", OPS_TYPE_SCREEN_WRITE);
	struct vga_cell_cursor c = cursor_load();
	if (shown == 1) {
		c = (struct vga_cell_cursor){ 0, 0, ATTR, 0 };
		for (int i = 0; i < COLS * ROWS; i++)
			s[i] = ATTR | ' ';
	}
	int err = cursor_store(&c);
	irq_restore(flags);
	if (err) {
		klog(LOG_ERR, "vga: cannot keep the cursor: %s", sdb_strerror(err));
		return err;
	}
	if (shown == 1)
		log_screen_replay(ROWS - 1);
	klog(LOG_INFO, "vga: the text screen is a cell's now (cursor at %u,%u, %s)", c.row, c.col, how);
	return 0;
}

int cell_init(void)
{
	return take_screen("loaded");
}

/* Checks only: the screen changes hands once the swap has committed (cell_swap_done). */
int cell_swap_in(uint64_t old_version)
{
	(void)old_version;
	return display_can_show("text_screen");
}

int cell_swap_done(uint64_t old_version)
{
	(void)old_version;
	return take_screen("swapped in");
}
