/* HPET: stateless access to the main counter of the block mapped at base. */
#ifndef HAL_HPET_H
#define HAL_HPET_H

#include <stdint.h>

/* The counter's period in femtoseconds (0 or over 100 ns: not a working HPET). */
uint32_t hpet_period_fs(volatile uint8_t *base);
/* Starts the main counter if it is stopped (legacy replacement routing left off). */
void hpet_start(volatile uint8_t *base);
uint64_t hpet_counter(volatile uint8_t *base);
/* The bits of the counter that count: all 64, or the low 32 on a 32-bit HPET. */
uint64_t hpet_counter_mask(volatile uint8_t *base);

#endif
