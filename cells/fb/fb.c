/* The framebuffer text console cell (see fb.h). */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/display.h>
#include <delos/log.h>
#include <delos/ops.h>
#include <delos/sdb.h>
#include <delos/string.h>
#include "cells/fb/fb.h"
#include "metamodules/display_switch.h"
#include "fb_font.h"	/* generated from a PSF font by build/tools/psf2h.py */

#define OWNER "fb"
#define TAB 8
#define UNDERLINE_ROWS 2

/* Where to draw: the framebuffer, its text grid and colours, for one call. */
struct screen {
	const struct boot_framebuffer *f;
	unsigned bytes;		/* per pixel */
	unsigned cols, rows;
	uint32_t fg, bg, ink;	/* ink: fg ^ bg, what the cursor XORs */
};

static uint32_t channel(uint8_t v, uint8_t pos, uint8_t size)
{
	return (uint32_t)(v >> (8 - size)) << pos;
}

static uint32_t rgb(const struct boot_framebuffer *f, uint8_t r, uint8_t g, uint8_t b)
{
	return channel(r, f->red_pos, f->red_size) | channel(g, f->green_pos, f->green_size) |
	       channel(b, f->blue_pos, f->blue_size);
}

static bool screen_open(struct screen *s)
{
	const struct boot_framebuffer *f = boot_framebuffer();

	if (!f)
		return false;
	*s = (struct screen){ f, (f->bpp + 7u) / 8u, f->width / FONT_WIDTH, f->height / FONT_HEIGHT,
			      rgb(f, 0xc0, 0xc0, 0xc0), rgb(f, 0, 0, 0), 0 };
	s->ink = s->fg ^ s->bg;
	return s->cols && s->rows;
}

static volatile uint8_t *pixel_at(const struct screen *s, unsigned x, unsigned y)
{
	return s->f->pixels + (uint64_t)y * s->f->pitch + (uint64_t)x * s->bytes;
}

static void pixel_put(const struct screen *s, volatile uint8_t *p, uint32_t v)
{
	if (s->bytes == 4) {
		*(volatile uint32_t *)p = v;
		return;
	}
	for (unsigned i = 0; i < s->bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t pixel_get(const struct screen *s, volatile uint8_t *p)
{
	uint32_t v = 0;

	if (s->bytes == 4)
		return *(volatile uint32_t *)p;
	for (unsigned i = 0; i < s->bytes; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void draw_glyph(const struct screen *s, unsigned row, unsigned col, char ch)
{
	const uint8_t *g = font_glyphs[(uint8_t)ch - FONT_FIRST];

	for (unsigned y = 0; y < FONT_HEIGHT; y++) {
		volatile uint8_t *p = pixel_at(s, col * FONT_WIDTH, row * FONT_HEIGHT + y);
		const uint8_t *bits = g + y * FONT_ROW_BYTES;
		for (unsigned x = 0; x < FONT_WIDTH; x++, p += s->bytes)
			pixel_put(s, p, (bits[x / 8] & (0x80 >> (x % 8))) ? s->fg : s->bg);
	}
}

/* Paints pixel rows [y0, y1) with the background. */
static void clear_rows(const struct screen *s, unsigned y0, unsigned y1)
{
	for (unsigned y = y0; y < y1; y++) {
		volatile uint8_t *p = pixel_at(s, 0, y);
		for (unsigned x = 0; x < s->f->width; x++, p += s->bytes)
			pixel_put(s, p, s->bg);
	}
}

static void toggle_cursor(const struct screen *s, struct fb_cursor *c)
{
	unsigned col = c->col < s->cols ? c->col : s->cols - 1;

	for (unsigned y = FONT_HEIGHT - UNDERLINE_ROWS; y < FONT_HEIGHT; y++) {
		volatile uint8_t *p = pixel_at(s, col * FONT_WIDTH, c->row * FONT_HEIGHT + y);
		for (unsigned x = 0; x < FONT_WIDTH; x++, p += s->bytes)
			pixel_put(s, p, pixel_get(s, p) ^ s->ink);
	}
	c->shown = !c->shown;
}

/*
 * Moves the text up by a quarter of the screen at once and blanks the rows
 * freed: a scroll reads the whole framebuffer back, which is slow on real
 * hardware (uncached or write-combined video memory), so it is done once
 * every rows/4 lines rather than on every line.
 */
static unsigned scroll(const struct screen *s)
{
	unsigned n = s->rows / 4 ? s->rows / 4 : 1;
	uint64_t line = (uint64_t)s->f->pitch * FONT_HEIGHT;

	memmove((void *)s->f->pixels, (const void *)(s->f->pixels + line * n), line * (s->rows - n));
	clear_rows(s, (s->rows - n) * FONT_HEIGHT, s->rows * FONT_HEIGHT);
	return n;
}

static void newline(const struct screen *s, struct fb_cursor *c)
{
	c->col = 0;
	if (++c->row >= s->rows)
		c->row = s->rows - scroll(s);
}

/* col == cols means the last column was just written: the wrap waits for the next printable byte. */
static void put(const struct screen *s, struct fb_cursor *c, char ch)
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
		while (c->col % TAB && c->col < s->cols);
	} else if (ch >= FONT_FIRST && ch <= FONT_LAST) {
		if (c->col >= s->cols)
			newline(s, c);
		draw_glyph(s, c->row, c->col++, ch);
	}
}

/* A fresh screen: blank, the cursor home. */
static struct fb_cursor screen_reset(const struct screen *s)
{
	clear_rows(s, 0, s->f->height);
	return (struct fb_cursor){ 0, 0, (uint16_t)s->cols, (uint16_t)s->rows, 0, { 0 } };
}

/* The cursor record if it fits this screen; *ok false when there is none that does. */
static struct fb_cursor cursor_load(const struct screen *s, bool *ok)
{
	struct fb_cursor c;

	*ok = sdb_get(FB_CURSOR_RECORD, &c, sizeof(c), NULL) == sizeof(c) && c.cols == s->cols &&
	      c.rows == s->rows && c.row < s->rows && c.col <= s->cols;
	return c;
}

static int cursor_store(const struct fb_cursor *c)
{
	return sdb_put(OWNER, FB_CURSOR_RECORD, FB_CURSOR_TYPE, FB_CURSOR_VERSION, c, sizeof(*c));
}

int fb_write(const char *buf, uint64_t len)
{
	struct screen s;
	bool ok;

	if (!buf && len)
		return -1;
	if (!screen_open(&s))
		return 0;
	uint64_t flags = irq_save();
	struct fb_cursor c = cursor_load(&s, &ok);
	if (!ok)
		c = screen_reset(&s);
	if (c.shown)
		toggle_cursor(&s, &c);
	for (uint64_t i = 0; i < len; i++)
		put(&s, &c, buf[i]);
	toggle_cursor(&s, &c);
	cursor_store(&c);
	irq_restore(flags);
	return (int)len;
}

/*
 * Takes the screen: continues from the cursor record when it fits (a reload
 * or a swap from another fb version), else starts on a blank screen that
 * shows the log's last lines, so the boot before it is there to read.
 */
static int take_screen(const char *how)
{
	struct screen s;
	bool ok;
	int shown = display_show("framebuffer");

	if (shown < 0 || !screen_open(&s)) {
		klog(LOG_ERR, "fb: the loader gave no RGB framebuffer this cell can use; refused");
		return -1;
	}
	uint64_t flags = irq_save();
	struct fb_cursor c = cursor_load(&s, &ok);
	bool fresh = !ok || shown == 1;	/* 1: the adapter was showing VGA text */
	if (fresh) {
		c = screen_reset(&s);
		toggle_cursor(&s, &c);
	}
	int err = cursor_store(&c);
	if (!err)
		ops_register(OPS_SCREEN_WRITE, "fb", "fb_write", OPS_TYPE_SCREEN_WRITE);
	irq_restore(flags);
	if (err) {
		klog(LOG_ERR, "fb: cannot keep the cursor: %s", sdb_strerror(err));
		return err;
	}
	/* A blank screen shows the boot so far: the log's last screenful but one line. */
	if (fresh)
		log_screen_replay(s.rows - 1);
	klog(LOG_INFO, "fb: the %ux%u framebuffer (%u bpp at 0x%lx) is a cell's now, %ux%u text, %s",
	     s.f->width, s.f->height, s.f->bpp, s.f->phys, s.cols, s.rows, how);
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
	return display_can_show("framebuffer");
}

int cell_swap_done(uint64_t old_version)
{
	(void)old_version;
	return take_screen("swapped in");
}
