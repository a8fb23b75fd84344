/* The keyboard cell: PS/2 scancode set 1 to terminal bytes (see kbd.h). */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/dispatch.h>
#include "cells/kbd/kbd.h"
#include "metamodules/byteq.h"
#include "hal/io.h"

#define KBD_IRQ 1
#define OWNER "kbd"
#define PS2_DATA 0x60
#define PS2_STATUS 0x64
#define PS2_CMD 0x64
#define ST_OUT_FULL 0x01
#define ST_IN_FULL 0x02
#define ST_AUX 0x20
#define CFG_KBD_IRQ 0x01
#define SPIN_MAX 100000
#define KEY_CODES 0x3a

/* Scancode set 1 make codes 0x00-0x39 without and with shift; 0 = no byte. */
static const char plain[KEY_CODES] = {
	0, 0x1b, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', 0x7f, '\t',
	'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\r', 0, 'a', 's',
	'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
	'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
static const char shifted[KEY_CODES] = {
	0, 0x1b, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', 0x7f, '\t',
	'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\r', 0, 'A', 'S',
	'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
	'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ',
};

static uint32_t mods_load(void)
{
	struct kbd_state s = { 0 };

	sdb_get(KBD_STATE_RECORD, &s, sizeof(s), NULL);
	return s.mods;
}

static void mods_store(uint32_t mods)
{
	struct kbd_state s = { mods };

	sdb_put(OWNER, KBD_STATE_RECORD, KBD_STATE_TYPE, KBD_STATE_VERSION, &s, sizeof(s));
}

/* Applies a modifier key (make or break) to mods; false if code is not one. */
static bool modifier(uint8_t code, uint32_t *mods)
{
	bool up = code & 0x80;
	uint32_t bit;

	switch (code & 0x7f) {
	case 0x2a: bit = KBD_LSHIFT; break;
	case 0x36: bit = KBD_RSHIFT; break;
	case 0x1d: bit = KBD_CTRL; break;
	case 0x3a:
		if (!up)
			*mods ^= KBD_CAPS;
		return true;
	default: return false;
	}
	*mods = up ? (*mods & ~bit) : (*mods | bit);
	return true;
}

/* The byte an ordinary key gives under mods, or 0. */
static char translate(uint8_t code, uint32_t mods)
{
	if (code >= KEY_CODES)
		return 0;
	bool shift = mods & (KBD_LSHIFT | KBD_RSHIFT);
	char c = shift ? shifted[code] : plain[code];
	if ((mods & KBD_CAPS) && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
		c ^= 0x20;
	if ((mods & KBD_CTRL) && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
		c = (char)((c | 0x20) - 'a' + 1);
	return c;
}

/* Bytes for a key after the 0xE0 prefix: arrows, keypad Enter and '/'. */
static size_t translate_e0(uint8_t code, char *out)
{
	const char *arrow = code == 0x48 ? "A" : code == 0x50 ? "B" : code == 0x4d ? "C"
			  : code == 0x4b ? "D" : NULL;

	if (arrow) {
		out[0] = 0x1b, out[1] = '[', out[2] = arrow[0];
		return 3;
	}
	if (code == 0x1c || code == 0x35) {
		out[0] = code == 0x1c ? '\r' : '/';
		return 1;
	}
	return 0;
}

/* Turns one scancode byte into 0-3 terminal bytes in out, updating mods. */
static size_t scancode(uint8_t code, uint32_t *mods, char *out)
{
	if (code == 0xe0) {
		*mods |= KBD_E0;
		return 0;
	}
	bool e0 = *mods & KBD_E0;
	*mods &= ~KBD_E0;
	if (e0 && (code & 0x7f) == 0x2a)
		return 0; /* the fake shift some keyboards send around arrows */
	if (modifier(code, mods) || (code & 0x80))
		return 0;
	if (e0)
		return translate_e0(code, out);
	out[0] = translate(code, *mods);
	return out[0] ? 1 : 0;
}

/* Posts the waiting bytes, oldest first, while someone takes them. */
static void deliver(void)
{
	unsigned char c;

	for (unsigned i = 0; i < KBD_RX_MAX; i++) {
		if (byteq_peek(KBD_RX_RECORD, &c, 1) != 1)
			return;
		if (dispatch_post(KBD_EVENT, c) <= 0)
			return;
		byteq_drop(KBD_RX_RECORD, 1);
	}
}

int kbd_irq(uint64_t irq)
{
	uint32_t mods = mods_load(), before = mods;
	char out[16];
	size_t n = 0;

	(void)irq;
	for (int i = 0; i < 8 && n + 3 <= sizeof(out); i++) {
		uint8_t st = hal_inb(PS2_STATUS);
		if (!(st & ST_OUT_FULL))
			break;
		uint8_t code = hal_inb(PS2_DATA);
		if (!(st & ST_AUX))
			n += scancode(code, &mods, out + n);
	}
	if (mods != before)
		mods_store(mods);
	if (n)
		byteq_push(OWNER, KBD_RX_RECORD, out, n, KBD_RX_MAX);
	deliver();
	return 0;
}

int kbd_rx_room(uint64_t arg)
{
	uint64_t flags = irq_save();

	(void)arg;
	deliver();
	irq_restore(flags);
	return 0;
}

static bool wait_status(uint8_t bit, bool set)
{
	for (int spin = 0; spin < SPIN_MAX; spin++)
		if (!!(hal_inb(PS2_STATUS) & bit) == set)
			return true;
	return false;
}

/* Makes sure the controller raises IRQ 1 for the keyboard; false if no i8042. */
static bool controller_enable_irq(void)
{
	if (hal_inb(PS2_STATUS) == 0xff)
		return false;
	for (int i = 0; i < 32 && (hal_inb(PS2_STATUS) & ST_OUT_FULL); i++)
		hal_inb(PS2_DATA);
	if (!wait_status(ST_IN_FULL, false))
		return false;
	hal_outb(PS2_CMD, 0x20); /* read the configuration byte */
	if (!wait_status(ST_OUT_FULL, true))
		return false;
	uint8_t cfg = hal_inb(PS2_DATA);
	if (cfg & CFG_KBD_IRQ)
		return true;
	hal_outb(PS2_CMD, 0x60); /* write it back with the keyboard IRQ on */
	if (!wait_status(ST_IN_FULL, false))
		return false;
	hal_outb(PS2_DATA, cfg | CFG_KBD_IRQ);
	return true;
}

int cell_init(void)
{
	uint64_t flags = irq_save();
	int err = 0;

	if (!controller_enable_irq()) {
		irq_restore(flags);
		klog(LOG_WARN, "kbd: no PS/2 controller answers; no keyboard input");
		return 0;
	}
	if ((err = byteq_create(OWNER, KBD_RX_RECORD)) == 0 &&
	    (err = dispatch_subscribe(KBD_ROOM_EVENT, "kbd", "kbd_rx_room")) == 0 &&
	    (err = dispatch_route(KBD_IRQ, "kbd", "kbd_irq")) == 0)
		kbd_irq(KBD_IRQ);
	else if (err)
		dispatch_unsubscribe(KBD_ROOM_EVENT, "kbd", "kbd_rx_room");
	irq_restore(flags);
	if (err)
		klog(LOG_ERR, "kbd: cannot set up (error %d)", err);
	else
		klog(LOG_INFO, "kbd: PS/2 keyboard on IRQ %d", KBD_IRQ);
	return err;
}

void cell_exit(void)
{
	dispatch_unroute(KBD_IRQ);
	dispatch_unsubscribe(KBD_ROOM_EVENT, "kbd", "kbd_rx_room");
}
