/* The boot's screen: see delos/display.h. */
#include "nano_core/boot.h"
#include <delos/display.h>
#include <delos/kernel.h>
#include <delos/log.h>
#include <delos/mm.h>
#include <delos/string.h>
#include "nano_core/physmap.h"
#include "hal/vga.h"

/* What the loader gave; owned by nano_core, set once by display_init. */
static struct {
	bool text, fb;
	struct boot_framebuffer info;
	bool switchable;	/* a BIOS VBE framebuffer on a Bochs VBE adapter */
	bool efi;
} disp;

/*
 * A VBE framebuffer can be left for VGA text and taken back only where the
 * adapter has a documented way to leave its VBE mode without the video BIOS
 * (which long mode cannot call): the Bochs VBE interface, showing the very
 * mode the loader reported.
 */
static void check_switchable(const struct mb2_framebuffer *f, bool efi)
{
	uint16_t x, y, bpp;

	if (efi || !bochs_dispi_present() || !bochs_dispi_mode(&x, &y, &bpp) || x != f->width ||
	    y != f->height || bpp != f->bpp)
		return;
	disp.switchable = true;
	klog(LOG_INFO, "boot: the VBE framebuffer can give way to VGA text live (Bochs VBE interface)");
}

/* Keeps an RGB framebuffer that mb2 accepted (boot_framebuffer checks its mapping). */
static void take_framebuffer(const struct mb2_framebuffer *f)
{
	disp.info = (struct boot_framebuffer){
		.pixels = phys_to_virt(f->addr), .phys = f->addr, .pitch = f->pitch, .width = f->width,
		.height = f->height, .bpp = f->bpp,
		.red_pos = f->red_pos, .red_size = f->red_size,
		.green_pos = f->green_pos, .green_size = f->green_size,
		.blue_pos = f->blue_pos, .blue_size = f->blue_size,
	};
	disp.fb = true;
	klog(LOG_INFO, "boot: RGB framebuffer %ux%u, %u bpp, pitch %u, at 0x%lx",
	     f->width, f->height, f->bpp, f->pitch, f->addr);
}

/*
 * VGA text exists on BIOS boots unless the loader set a graphics mode: an
 * EGA text tag, or no framebuffer tag at all without UEFI.
 */
void display_init(const struct mb2_info *boot)
{
	bool efi = boot->has_efi32 || boot->has_efi64;
	bool tag = boot->has_framebuffer;

	disp.efi = efi;

	if (cmdline_has("console", "serial")) {
		klog(LOG_INFO, "boot: console=serial: no screen is used");
		return;
	}
	if ((tag && boot->fb.type == MB2_FB_EGA_TEXT) || (!tag && !efi)) {
		disp.text = true;
		log_enable_vga();
		return;
	}
	klog(LOG_INFO, "boot: no VGA text screen (%s)", efi ? "UEFI" : "graphics framebuffer");
	if (tag && boot->fb.type == MB2_FB_RGB && boot->fb.rgb_ok) {
		take_framebuffer(&boot->fb);
		check_switchable(&boot->fb, efi);
	}
	else if (tag)
		klog(LOG_WARN, "boot: the loader's framebuffer (type %u) cannot be drawn on; no screen",
		     boot->fb.type);
	else
		klog(LOG_WARN, "boot: the loader gave no framebuffer; no screen");
}

bool display_has(const char *what, bool *known)
{
	*known = true;
	if (strcmp(what, "text_screen") == 0)
		return disp.text;
	if (strcmp(what, "framebuffer") == 0)
		return disp.fb;
	*known = false;
	return false;
}

/* The physmap is built after display_init, so its reach is checked here. */
const struct boot_framebuffer *boot_framebuffer(void)
{
	const struct boot_framebuffer *f = &disp.info;

	if (!disp.fb || !phys_map(f->phys, (uint64_t)f->pitch * f->height))
		return NULL;
	return f;
}

void display_facts(struct display_facts *f)
{
	*f = (struct display_facts){ disp.text, disp.fb, disp.efi, disp.switchable,
				     disp.info.width, disp.info.height, disp.info.bpp };
}

int display_set_shown(bool text)
{
	if (!disp.switchable) {
		klog(LOG_ERR, "display: this boot's adapter cannot change screens; refused");
		return -1;
	}
	if (text)
		log_enable_vga();
	else
		log_disable_vga();
	return 0;
}
