/* ticker: a steady tick count derived from the TSC, so the cell holds no state. */
#ifndef CELLS_TICKER_H
#define CELLS_TICKER_H

#include <stdint.h>

#define TICKER_HZ 100

/* Ticks of 1/TICKER_HZ s since the boot loader's hand-off. */
uint64_t ticker_ticks(void);
/* Milliseconds since the boot loader's hand-off. */
uint64_t ticker_ms(void);

#endif
