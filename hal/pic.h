/* The two cascaded 8259 PICs. */
#ifndef HAL_PIC_H
#define HAL_PIC_H

#include <stdint.h>

#define PIC_VECTOR_BASE 0x20

/* Remaps IRQ 0-15 to vectors 0x20-0x2f and masks every line. */
void pic_init(void);
void pic_unmask(uint8_t irq);
void pic_mask(uint8_t irq);
void pic_eoi(uint8_t irq);

#endif
