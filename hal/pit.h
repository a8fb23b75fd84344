/* 8254 PIT. */
#ifndef HAL_PIT_H
#define HAL_PIT_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ 1193182u
/* Port reads before pit_wait_ticks gives up: well over a second on any PC. */
#define PIT_SPIN_MAX 50000000u

/*
 * Busy-waits for `ticks` PIT ticks on channel 2 (gated through port 0x61, no
 * interrupt). Used to calibrate the TSC. ticks must be below 65536.
 * Returns false if the count never ended (a platform with the PIT gated off).
 */
bool pit_wait_ticks(uint16_t ticks);

#endif
