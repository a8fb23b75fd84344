#include "hal/pit.h"
#include "hal/io.h"

bool pit_wait_ticks(uint16_t ticks)
{
	uint8_t gate = inb(0x61);

	outb(0x61, (gate & ~0x02) | 0x01);	/* speaker off, gate channel 2 on */
	outb(0x43, 0xb0);			/* channel 2, lo/hi, mode 0 */
	outb(0x42, ticks & 0xff);
	outb(0x42, ticks >> 8);
	/* Mode 0 starts counting on the next gate edge: toggle it. */
	gate = inb(0x61);
	outb(0x61, gate & ~0x01);
	outb(0x61, gate | 0x01);
	for (uint32_t spin = 0; spin < PIT_SPIN_MAX; spin++)
		if (inb(0x61) & 0x20)
			return true;
	return false;
}
