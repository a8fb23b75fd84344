/* The CMOS real-time clock's registers: stateless reads. */
#ifndef HAL_CMOS_H
#define HAL_CMOS_H

#include <stdint.h>
#include "hal/io.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define CMOS_NMI_OFF 0x80   /* keeps NMIs masked while the index is set */

/* RTC registers 0x00 seconds, 0x02 minutes, 0x04 hours, 0x07 day, 0x08 month,
 * 0x09 year (BCD or binary, as register 0x0b says), 0x0a status A. */
static inline uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, CMOS_NMI_OFF | reg);
	return inb(CMOS_DATA);
}

#endif
