/* 16550 UART: stateless register access; the caller owns any buffering. */
#ifndef HAL_UART_H
#define HAL_UART_H

#include <stdbool.h>
#include <stdint.h>

#define COM1_PORT 0x3f8
#define COM1_IRQ  4

/* Programs 8N1 at the given baud rate with FIFOs on; interrupts stay off. */
void uart_init(uint16_t port, uint32_t baud);
/* Returns false when no UART answers at this port (scratch register test). */
bool uart_present(uint16_t port);
void uart_putc(uint16_t port, char c);
/* Returns the next received byte, or -1 when none is waiting. */
int uart_getc(uint16_t port);
/* Raises an interrupt when a byte arrives (IER bit 0, MCR OUT2). */
void uart_enable_rx_irq(uint16_t port);

#endif
