/*
 * What the loader gave for a screen, decided once at boot (display_init):
 * the VGA text screen, an RGB framebuffer, or none. nano_core draws only on
 * the text screen itself; display cells take the screen over (the ops
 * slot screen_write) and are loaded at boot only where their screen exists
 * (the manifest's boot_if=, see cells.manifest).
 *
 * The kernel argument console=serial gives no screen at all: nano_core does
 * not draw, and no display cell loads at boot.
 */
#ifndef DELOS_DISPLAY_H
#define DELOS_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include <delos/mb2.h>

/* An RGB framebuffer (grant `framebuffer`): pixels of bpp bits, rows of pitch bytes. */
struct boot_framebuffer {
	volatile uint8_t *pixels;	/* the whole [0, pitch * height) range, mapped */
	uint64_t phys;
	uint32_t pitch, width, height;
	uint8_t bpp;
	uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

/* Decides the screen from the boot information and the command line; logs the choice. */
void display_init(const struct mb2_info *boot);

/*
 * Whether the boot has the named screen: "text_screen" or "framebuffer".
 * *known is set false for any other name.
 */
bool display_has(const char *what, bool *known);

/*
 * The RGB framebuffer the loader set up, or NULL when there is none (text
 * mode, no tag, a tag that failed mb2's checks, console=serial, or a range
 * the physmap does not cover). The only way to the framebuffer's memory: a
 * cell granted `framebuffer` reaches that range and no other. Call it after
 * boot (the physmap's reach is checked on each call).
 */
const struct boot_framebuffer *boot_framebuffer(void);

/*
 * Makes the adapter show "text_screen" (VGA text, 80x25) or "framebuffer"
 * (the loader's RGB framebuffer), for a display cell taking the screen.
 * Returns 0 when it already does, 1 when it switched (the screen is blank:
 * a VGA font must be loaded again, and the caller redraws), or -1, logging
 * why, when it cannot. It can switch only from a BIOS boot's VBE
 * framebuffer on an adapter with the Bochs VBE interface (QEMU's -vga std);
 * under UEFI there is no text mode to go to.
 */
int display_show(const char *what);

/*
 * 0 when display_show(what) would succeed now, else -1, logging why; changes
 * nothing. A display cell's swap-in hook checks with it, and switches only in
 * cell_swap_done, once the swap has committed: a swap refused later leaves
 * the screen as it was.
 */
int display_can_show(const char *what);

#endif
