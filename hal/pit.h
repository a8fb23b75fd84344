/* 8254 PIT. */
#ifndef HAL_PIT_H
#define HAL_PIT_H

#include <stdint.h>

#define PIT_HZ 1193182u

/*
 * Busy-waits for `ticks` PIT ticks on channel 2 (gated through port 0x61, no
 * interrupt). Used to calibrate the TSC. ticks must be below 65536.
 */
void pit_wait_ticks(uint16_t ticks);

#endif
