#include "hal/uart.h"
#include "hal/io.h"

enum {
	UART_DATA = 0, UART_IER = 1, UART_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_SCRATCH = 7,
};

#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20

void uart_init(uint16_t port, uint32_t baud)
{
	uint16_t divisor = (uint16_t)(115200 / baud);

	outb(port + UART_IER, 0);
	outb(port + UART_LCR, 0x80);	/* divisor latch */
	outb(port + UART_DATA, divisor & 0xff);
	outb(port + UART_IER, divisor >> 8);
	outb(port + UART_LCR, 0x03);	/* 8N1 */
	outb(port + UART_FCR, 0xc7);	/* FIFO on, cleared, 14-byte threshold */
	outb(port + UART_MCR, 0x03);	/* DTR, RTS */
}

bool uart_present(uint16_t port)
{
	outb(port + UART_SCRATCH, 0x5a);
	return inb(port + UART_SCRATCH) == 0x5a;
}

void uart_putc(uint16_t port, char c)
{
	for (int spin = 0; spin < 100000; spin++)
		if (inb(port + UART_LSR) & LSR_THR_EMPTY)
			break;
	outb(port + UART_DATA, (uint8_t)c);
}

int uart_getc(uint16_t port)
{
	if (!(inb(port + UART_LSR) & LSR_DATA_READY))
		return -1;
	return inb(port + UART_DATA);
}

void uart_enable_rx_irq(uint16_t port)
{
	outb(port + UART_MCR, 0x0b);	/* DTR, RTS, OUT2 (routes the IRQ) */
	outb(port + UART_IER, 0x01);	/* received data available */
}
