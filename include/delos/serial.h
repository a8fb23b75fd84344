/*
 * serial (cell serial@1): COM1, a 16550 UART, driven by interrupts both ways.
 *
 * Input: IRQ 4 is routed through dispatch to serial_irq, which moves every
 * received byte into the record "serial/rx" and then posts each one, oldest
 * first, as the event "console.input" (dispatch_post). A byte leaves the
 * record only once a subscriber took it. When no one takes it (no listener,
 * or the listener's queue is full during a paste) the record fills and the
 * rest stays in the UART, with its receive interrupt off: nothing is
 * dropped, the sender waits (as QEMU's does), until a reader posts
 * "console.room" and serial_rx_room takes up the input again. If the UART itself overran (real hardware, LSR OE), the event gets
 * SERIAL_INPUT_LOST where the bytes went missing. A received NUL is dropped.
 *
 * Output: serial_write queues bytes in the record "serial/tx" and the
 * transmitter-empty interrupt sends them, a FIFO's worth at a time. When the
 * queue is full the writer sends the oldest bytes itself by polling, so no
 * byte is ever dropped.
 *
 * Both records are byte queues (metamodules/byteq.h) owned by "serial";
 * the cell keeps nothing else, so it can be swapped or reloaded at any time
 * without losing input or output. nano_core's log still writes COM1 by
 * polling; call serial_flush before printing with kprintf to keep the order.
 */
#ifndef CELLS_SERIAL_H
#define CELLS_SERIAL_H

#include <stdint.h>

#define SERIAL_RX_RECORD "serial/rx"
#define SERIAL_TX_RECORD "serial/tx"
#define SERIAL_RX_MAX 256u   /* received bytes waiting for a subscriber */
#define SERIAL_TX_MAX 1024u  /* bytes waiting for the transmitter */
#define SERIAL_EVENT "console.input"
#define SERIAL_ROOM_EVENT "console.room"  /* posted by a reader that has room again */
#define SERIAL_INPUT_LOST 0x100u          /* posted as input: bytes were lost here */

/*
 * Queues len bytes for COM1, turning "\n" into "\r\n". Returns len, or -1 if
 * buf is NULL with len > 0. Callable from any context; never sleeps.
 */
int serial_write(const char *buf, uint64_t len);

/* Sends everything queued by polling and returns once the queue is empty. */
void serial_flush(void);

/* The IRQ 4 handler (a dispatch route): receives, transmits, posts input. */
int serial_irq(uint64_t irq);

/* The "console.room" subscriber: does what serial_irq does, for input left waiting. */
int serial_rx_room(uint64_t arg);

#endif
