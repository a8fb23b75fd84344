/*
 * Switching the adapter between VGA text and the loader's VBE framebuffer,
 * for the display cells (vga@1, fb@1), which compile metamodules/display_switch.c
 * in. nano_core keeps only what the boot gave (display_facts) and is told which
 * screen is shown (display_set_shown); the VGA and Bochs VBE registers are
 * programmed here, through port I/O (grant `port_io`). Which screen the
 * adapter shows is read back from the Bochs VBE enable register, so no cell
 * keeps it.
 */
#ifndef METAMODULES_DISPLAY_SWITCH_H
#define METAMODULES_DISPLAY_SWITCH_H

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
