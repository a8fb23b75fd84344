/*
 * kbd (cell kbd@1): the PS/2 keyboard on IRQ 1 (routed through dispatch).
 *
 * Scancodes (set 1, which the i8042 produces by translation) become bytes
 * of a terminal: letters, digits and punctuation with shift and caps lock,
 * Enter as '\r', Backspace as 0x7f, Tab, Escape, Ctrl+letter as 1..26, and
 * the arrow keys as "ESC [ A/B/C/D". Each byte goes into the record
 * "kbd/rx" and is then posted as the event "console.input", oldest first,
 * leaving the record only once a subscriber took it. Bytes a subscriber
 * refused (its queue was full) are posted again at the next key or when it
 * posts "console.room".
 *
 * The modifier state (shift, ctrl, caps lock, a pending 0xE0 prefix) is the
 * record "kbd/state", a struct kbd_state, so a swap in the middle of a
 * shifted key loses nothing.
 */
#ifndef CELLS_KBD_H
#define CELLS_KBD_H

#include <stdint.h>

#define KBD_RX_RECORD "kbd/rx"
#define KBD_STATE_RECORD "kbd/state"
#define KBD_RX_MAX 64u
#define KBD_EVENT "console.input"
#define KBD_ROOM_EVENT "console.room"

#define KBD_STATE_TYPE 0x5344424bu /* "KBDS" */
#define KBD_STATE_VERSION 1u

enum kbd_mod {
	KBD_LSHIFT = 1 << 0,
	KBD_RSHIFT = 1 << 1,
	KBD_CTRL = 1 << 2,
	KBD_CAPS = 1 << 3,
	KBD_E0 = 1 << 4,  /* the previous byte was the 0xE0 prefix */
};

struct kbd_state {
	uint32_t mods;  /* enum kbd_mod bits */
};

/* The IRQ 1 handler (a dispatch route). */
int kbd_irq(uint64_t irq);

/* The "console.room" subscriber: posts the bytes kept back. */
int kbd_rx_room(uint64_t arg);

#endif
