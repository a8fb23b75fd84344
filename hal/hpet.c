#include "hal/hpet.h"

#define HPET_CAP     0x000
#define HPET_CONFIG  0x010
#define HPET_COUNTER 0x0f0
#define HPET_ENABLE  1u

uint32_t hpet_period_fs(volatile uint8_t *base)
{
	return *(volatile uint32_t *)(base + HPET_CAP + 4);
}

void hpet_start(volatile uint8_t *base)
{
	volatile uint64_t *config = (volatile uint64_t *)(base + HPET_CONFIG);

	*config |= HPET_ENABLE;
}

uint64_t hpet_counter(volatile uint8_t *base)
{
	return *(volatile uint64_t *)(base + HPET_COUNTER);
}

uint64_t hpet_counter_mask(volatile uint8_t *base)
{
	return *(volatile uint32_t *)(base + HPET_CAP) & (1u << 13) ? ~0ull : 0xffffffffull;
}
