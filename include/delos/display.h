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
 * What the boot gave, for the display cells' switch between screens
 * (metamodules/display_switch.c, grant `console`): whether there is a VGA
 * text screen, an RGB framebuffer (its mode), whether the boot was UEFI,
 * and whether the adapter can change screens live (a BIOS boot's VBE
 * framebuffer on an adapter with the Bochs VBE interface, showing the mode
 * the loader reported when nano_core booted).
 */
struct display_facts {
	bool text, fb, efi, switchable;
	uint32_t width, height;
	uint8_t bpp;
};
void display_facts(struct display_facts *f);

/*
 * A display cell that switched the adapter says which screen it shows now:
 * VGA text (true: nano_core clears it and draws its log and fatal reports
 * there again) or the framebuffer (false: nano_core stops drawing text; call
 * it before the mode changes). Returns 0, or -1 (logged, nothing changed)
 * when the adapter cannot change screens.
 */
int display_set_shown(bool text);

#endif
