/* The CMOS real-time clock's registers: stateless reads and writes. */
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

/* Status registers: A's low nibble picks the periodic rate, B's PIE enables it, and
 * reading C acknowledges the interrupt (PF says the periodic one fired). */
#define CMOS_RTC_A 0x0a
#define CMOS_RTC_B 0x0b
#define CMOS_RTC_C 0x0c
#define CMOS_RTC_A_RATE 0x0f
#define CMOS_RTC_B_PIE  0x40
#define CMOS_RTC_C_PF   0x40

/* Like cmos_read, but leaves the NMI mask bit clear (for the NMI watchdog's source). */
static inline uint8_t cmos_read_nmi_on(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

static inline void cmos_write_nmi_on(uint8_t reg, uint8_t v)
{
	outb(CMOS_INDEX, reg);
	outb(CMOS_DATA, v);
}

#endif
