/* The display cells' switch between VGA text and the VBE framebuffer (metamodules/display_switch.h). */
#include <delos/display.h>
#include <delos/log.h>
#include <delos/string.h>
#include "hal/io.h"
#include "metamodules/display_switch.h"

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

/* Writes values[0..n) to the indexed registers 0..n-1 behind index/data ports. */
static void write_indexed(uint16_t index, uint16_t data, const uint8_t *values, uint8_t n)
{
	for (uint8_t i = 0; i < n; i++) {
		hal_outb(index, i);
		hal_outb(data, values[i]);
	}
}

/*
 * Programs the VGA registers for 80x25 colour text (BIOS mode 3: misc,
 * sequencer, CRTC, graphics and attribute controllers) and the 16 text
 * colours of the DAC. The font in plane 2 is the caller's to load: a
 * graphics mode has drawn over it.
 */
static void set_text_mode(void)
{
	hal_outb(0x3c2, 0x67);
	write_indexed(0x3c4, 0x3c5, mode3_seq, sizeof(mode3_seq));
	/* Unlock CRTC 0-7 (CR11 bit 7), keeping CR03 bit 7 set as mode 3 has it. */
	hal_outb(0x3d4, 0x11);
	hal_outb(0x3d5, hal_inb(0x3d5) & 0x7f);
	write_indexed(0x3d4, 0x3d5, mode3_crtc, sizeof(mode3_crtc));
	write_indexed(0x3ce, 0x3cf, mode3_gc, sizeof(mode3_gc));
	(void)hal_inb(0x3da);	/* the attribute controller's flip-flop to "index" */
	write_indexed(0x3c0, 0x3c0, mode3_ac, sizeof(mode3_ac));
	for (int i = 0; i < 16; i++) {
		hal_outb(0x3c8, mode3_ac[i]);
		for (int k = 0; k < 3; k++)
			hal_outb(0x3c9, text_rgb[i][k]);
	}
	(void)hal_inb(0x3da);
	hal_outb(0x3c0, 0x20);	/* palette address source: the screen shows again */
}

/* The Bochs VBE interface (ports 0x1ce/0x1cf); nano_core checked at boot that it is there. */
#define DISPI_INDEX 0x1ce
#define DISPI_DATA 0x1cf
enum { DISPI_XRES = 1, DISPI_YRES, DISPI_BPP, DISPI_ENABLE };
#define DISPI_ENABLED 0x01
#define DISPI_LFB 0x40

static void dispi_write(uint16_t reg, uint16_t v)
{
	hal_outw(DISPI_INDEX, reg);
	hal_outw(DISPI_DATA, v);
}

/* Whether the adapter shows VGA text now. */
static bool text_shown(const struct display_facts *f)
{
	if (!f->switchable)
		return f->text;
	hal_outw(DISPI_INDEX, DISPI_ENABLE);
	return !(hal_inw(DISPI_DATA) & DISPI_ENABLED);
}

/* Why the adapter cannot show VGA text (text) or the framebuffer now. */
static const char *why_not(const struct display_facts *f, bool text)
{
	if (!f->text && !f->fb)
		return "this boot has no screen";
	if (!text)
		return "the loader gave no framebuffer (a text-mode boot)";
	if (f->efi)
		return "UEFI firmware has no VGA text mode";
	return "the adapter has no Bochs VBE interface, and only its video BIOS, which long "
	       "mode cannot call, leaves a VBE mode";
}

/*
 * What display_show(what) would do: -1 (refused, logged why), 0 (the adapter
 * shows it already) or 1 (a switch, *text saying to which).
 */
static int plan_show(const struct display_facts *f, const char *what, bool *text)
{
	if (strcmp(what, "text_screen") == 0)
		*text = true;
	else if (strcmp(what, "framebuffer") == 0)
		*text = false;
	else
		return -1;
	if (*text == text_shown(f) && (*text ? f->text || f->switchable : f->fb))
		return 0;
	if (!f->switchable) {
		klog(LOG_ERR, "display: cannot show %s: %s", *text ? "VGA text" : "the framebuffer",
		     why_not(f, *text));
		return -1;
	}
	return 1;
}

int display_can_show(const char *what)
{
	struct display_facts f;
	bool text;

	display_facts(&f);
	return plan_show(&f, what, &text) < 0 ? -1 : 0;
}

int display_show(const char *what)
{
	struct display_facts f;
	bool text;
	int plan;

	display_facts(&f);
	if ((plan = plan_show(&f, what, &text)) <= 0)
		return plan;
	if (text) {
		dispi_write(DISPI_ENABLE, 0);
		set_text_mode();
		display_set_shown(true);
	} else {
		display_set_shown(false);	/* nano_core stops drawing text before the mode goes */
		dispi_write(DISPI_ENABLE, 0);
		dispi_write(DISPI_XRES, (uint16_t)f.width);
		dispi_write(DISPI_YRES, (uint16_t)f.height);
		dispi_write(DISPI_BPP, f.bpp);
		dispi_write(DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB);
	}
	klog(LOG_INFO, "display: the adapter shows %s now", text ? "VGA text (80x25)" :
	     "the VBE framebuffer");
	return 1;
}
