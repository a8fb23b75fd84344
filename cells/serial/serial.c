/*
 * The serial cell: the console UART (the SPCR's, else COM1) by interrupts,
 * its queues in state_db (see serial.h).
 */
#include <delos/cell.h>
#include <delos/ctx.h>
#include <delos/log.h>
#include <delos/dispatch.h>
#include "metamodules/byteq.h"
#include <delos/platform.h>
#include <delos/serial.h>
#include "hal/io.h"
#include <delos/fault.h>

/* nano_core chose the console UART at boot; it is asked each time, never kept. */
#define PORT uart_port()
#define PORT_IRQ uart_irq()
#define OWNER "serial"

static uint16_t uart_port(void)
{
	uint16_t port;
	uint8_t irq;

	console_uart(&port, &irq);
	return port;
}

static uint8_t uart_irq(void)
{
	uint16_t port;
	uint8_t irq;

	console_uart(&port, &irq);
	return irq;
}

enum { UART_DATA = 0, UART_IER = 1, UART_IIR = 2, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6,
       UART_SCRATCH = 7 };

#define IER_RX      0x01
#define IER_THRE    0x02
#define IIR_NONE    0x01
#define IIR_FIFO    0xc0	/* both set: the FIFOs are on (a 16550A) */
#define MCR_OUT2    0x0b	/* DTR, RTS, OUT2: OUT2 routes the UART's line to the PIC */
#define LSR_DR      0x01
#define LSR_OE      0x02	/* overrun: the UART dropped received bytes */
#define LSR_THRE    0x20
#define FIFO_DEPTH  16
/* Bytes sent per transmitter-empty: two short of the FIFO, so that a byte
 * nano_core's polling log writes at the same moment still fits. */
#define FIFO_FILL   (FIFO_DEPTH - 2)
#define SPIN_MAX    100000
#define IRQ_ROUNDS  64

/*
 * The work this cell owes, for its progress heartbeat (progress= in
 * cells.manifest, cell_owe in fault.h): bytes serial_write took that have not
 * reached the UART, and bytes taken from the UART that have not been posted
 * to the subscriber. A fault that loses either without faulting or looping
 * leaves a debt that is never paid, and nano_core reports the cell hung.
 */
#define LANE_TX 0
#define LANE_RX 1

static void irq_enable(uint8_t bit, bool on)
{
	uint8_t ier = hal_inb(PORT + UART_IER);

	ier = on ? (ier | bit) : (ier & ~bit);
	hal_outb(PORT + UART_IER, ier);
}

static void tx_irq_enable(bool on)
{
	irq_enable(IER_THRE, on);
}

static bool thr_empty(void)
{
	return hal_inb(PORT + UART_LSR) & LSR_THRE;
}

/*
 * Moves up to FIFO_FILL queued bytes (one without FIFOs) into the UART. With wait, polls
 * until the transmitter is empty first. Returns how many bytes were sent, or
 * -1 when the queue is empty. Interrupts off.
 */
static int tx_send_some(bool wait)
{
	char buf[FIFO_FILL];
	bool fifo = (hal_inb(PORT + UART_IIR) & IIR_FIFO) == IIR_FIFO;
	int n = byteq_peek(SERIAL_TX_RECORD, buf, fifo ? sizeof(buf) : 1);

	if (n < 0) {
		/* A corrupt queue cannot be trusted; start again empty (what it held is lost). */
		klog(LOG_ERR, "serial: transmit queue unreadable (%s); emptied", sdb_strerror(n));
		sdb_delete(SERIAL_TX_RECORD);
		cell_forgive(LANE_TX);
		return -1;
	}
	if (n == 0)
		return -1;
	for (int spin = 0; wait && !thr_empty() && spin < SPIN_MAX; spin++)
		;
	if (!thr_empty())
		return 0;
	for (int i = 0; i < n; i++)
		hal_outb(PORT + UART_DATA, (uint8_t)buf[i]);
	/* Paid only for what left the queue: bytes sent again and again from a queue
	 * that does not drain pay nothing. */
	int dropped = byteq_drop(SERIAL_TX_RECORD, (size_t)n);
	if (dropped > 0)
		cell_paid(LANE_TX, (uint64_t)dropped);
	return n;
}

/* Queues n bytes, sending the oldest by polling while the queue is full. */
static void tx_queue(const char *s, size_t n)
{
	while (n) {
		int put = byteq_push(OWNER, SERIAL_TX_RECORD, s, n, SERIAL_TX_MAX);
		if (put < 0) {
			/* No memory or a corrupt queue: send by polling, in order. */
			while (tx_send_some(true) >= 0)
				;
			for (size_t i = 0; i < n; i++) {
				for (int spin = 0; !thr_empty() && spin < SPIN_MAX; spin++)
					;
				hal_outb(PORT + UART_DATA, (uint8_t)s[i]);
			}
			cell_paid(LANE_TX, n);
			return;
		}
		if (put == 0)
			tx_send_some(true);
		s += put;
		n -= (size_t)put;
	}
}

int serial_write(const char *buf, uint64_t len)
{
	char chunk[128];
	uint64_t i = 0;

	if (!buf && len)
		return -1;
	/* Each chunk is owed as it is queued, until it reaches the UART. An absent
	 * UART (its registers read 0xff; IER's top bits are always 0) takes
	 * nothing, and nothing is owed to it. */
	bool owed = len && hal_inb(PORT + UART_IER) != 0xff;
	while (i < len) {
		size_t n = 0;
		for (; i < len && n + 2 <= sizeof(chunk); i++) {
			if (buf[i] == '\n')
				chunk[n++] = '\r';
			chunk[n++] = buf[i];
		}
		uint64_t flags = irq_save();
		if (owed)
			cell_owe(LANE_TX, n);
		tx_queue(chunk, n);
		tx_irq_enable(true);
		irq_restore(flags);
	}
	return (int)len;
}

void serial_flush(void)
{
	for (;;) {
		uint64_t flags = irq_save();
		int sent = tx_send_some(true);
		if (sent < 0)
			tx_irq_enable(false);
		irq_restore(flags);
		if (sent < 0)
			return;
	}
}

/* Posts the waiting input, oldest first, while someone takes it (a NUL marks lost input). */
static void rx_deliver(void)
{
	unsigned char c;
	unsigned i;
	bool refused = false;

	for (i = 0; i < SERIAL_RX_MAX; i++) {
		if (byteq_peek(SERIAL_RX_RECORD, &c, 1) != 1)
			break;
		if ((refused = dispatch_post(SERIAL_EVENT, c ? c : SERIAL_INPUT_LOST) <= 0))
			break;
		byteq_drop(SERIAL_RX_RECORD, 1);
	}
	if (i)
		cell_paid(LANE_RX, i);	/* once for the round: each call looks the caller up */
	/* The subscriber takes no more: the rest waits on it, not on this cell
	 * (serial_rx_room brings it). */
	if (refused)
		cell_forgive(LANE_RX);
}

/* Free places in "serial/rx"; a corrupt queue is emptied first. */
static size_t rx_room(void)
{
	int have = byteq_len(SERIAL_RX_RECORD);

	if (have < 0) {
		klog(LOG_ERR, "serial: receive queue unreadable (%s); emptied", sdb_strerror(have));
		sdb_delete(SERIAL_RX_RECORD);
		cell_forgive(LANE_RX);
		have = 0;
	}
	return (size_t)have >= SERIAL_RX_MAX ? 0 : SERIAL_RX_MAX - (size_t)have;
}

/*
 * Moves what the UART holds into "serial/rx", no more than fits, and posts
 * it, a FIFO's worth at a time: a paste keeps the UART full for as long as
 * this runs, so bytes go on to the subscriber as they come. What does not fit
 * stays in the UART (see serial.h), with the receive interrupt off until
 * serial_rx_room, so that the transmitter's interrupts still come. An overrun
 * the UART reports becomes a NUL in the queue, before the byte that follows.
 */
static void rx_drain(void)
{
	char buf[FIFO_DEPTH];

	for (int round = 0; round < IRQ_ROUNDS; round++) {
		size_t room = rx_room(), n = 0;
		room = room < sizeof(buf) ? room : sizeof(buf);
		while (n + 2 <= room) {
			uint8_t lsr = hal_inb(PORT + UART_LSR);
			if (lsr & LSR_OE)
				buf[n++] = '\0';
			if (!(lsr & LSR_DR))
				break;
			char c = (char)hal_inb(PORT + UART_DATA);
			if (c)
				buf[n++] = c;
		}
		if (room < 2)
			irq_enable(IER_RX, false);
		if (n == 0)
			return;
		int put = byteq_push(OWNER, SERIAL_RX_RECORD, buf, n, SERIAL_RX_MAX);
		if (put > 0)
			cell_owe(LANE_RX, (uint64_t)put);
		rx_deliver();
	}
}

/* Sends the next FIFO's worth, or stops the transmit interrupt when done. */
static void tx_refill(void)
{
	if (tx_send_some(false) < 0)
		tx_irq_enable(false);
}

int serial_irq(uint64_t irq)
{
	(void)irq;
	for (int i = 0; i < IRQ_ROUNDS; i++) {
		uint8_t iir = hal_inb(PORT + UART_IIR);
		if (iir & IIR_NONE)
			break;
		switch (iir & 0x0e) {
		case 0x02: tx_refill(); break;          /* transmitter empty */
		case 0x04: case 0x0c: rx_drain(); break; /* data, or timeout with data */
		case 0x06: hal_inb(PORT + UART_LSR); break;
		default: hal_inb(PORT + UART_MSR); break;
		}
	}
	rx_drain();
	rx_deliver();
	return 0;
}

int serial_rx_room(uint64_t arg)
{
	uint64_t flags = irq_save();

	(void)arg;
	irq_enable(IER_RX, true);
	serial_irq(PORT_IRQ);
	irq_restore(flags);
	return 0;
}

static bool uart_present(void)
{
	hal_outb(PORT + UART_SCRATCH, 0x5a);
	return hal_inb(PORT + UART_SCRATCH) == 0x5a;
}

int cell_init(void)
{
	int err;

	if (!uart_present()) {
		klog(LOG_WARN, "serial: no UART at port 0x%x", PORT);
		return 0;
	}
	if ((err = byteq_create(OWNER, SERIAL_RX_RECORD)) < 0 ||
	    (err = byteq_create(OWNER, SERIAL_TX_RECORD)) < 0) {
		klog(LOG_ERR, "serial: cannot create its queues: %s", sdb_strerror(err));
		return err;
	}
	uint64_t flags = irq_save();
	hal_outb(PORT + UART_MCR, MCR_OUT2);
	hal_outb(PORT + UART_IER, IER_RX | (byteq_len(SERIAL_TX_RECORD) > 0 ? IER_THRE : 0));
	err = dispatch_route(PORT_IRQ, "serial", "serial_irq");
	if (err == 0 && (err = dispatch_subscribe(SERIAL_ROOM_EVENT, "serial", "serial_rx_room")) < 0)
		dispatch_unroute(PORT_IRQ);
	if (err == 0)
		serial_irq(PORT_IRQ); /* whatever arrived before the route */
	irq_restore(flags);
	if (err)
		klog(LOG_ERR, "serial: cannot route IRQ %d or take %s: error %d", PORT_IRQ,
		     SERIAL_ROOM_EVENT, err);
	else
		klog(LOG_INFO, "serial: UART 0x%x on IRQ %d, %u-byte transmit queue in state_db",
		     PORT, PORT_IRQ, SERIAL_TX_MAX);
	return err;
}

/*
 * After a swap or a reload (recovery reloads as a swap) has committed: the
 * old copy may have left the receive interrupt off with its queue full, or
 * output queued with the transmit interrupt off (a fault that stopped it
 * draining them does both), and no interrupt will come to take them up. Run
 * them once, as cell_init does: what the queues hold goes on.
 */
int cell_swap_done(uint64_t old_version);
int cell_swap_done(uint64_t old_version)
{
	(void)old_version;
	if (!uart_present())
		return 0;
	uint64_t flags = irq_save();
	if (byteq_len(SERIAL_TX_RECORD) > 0)
		tx_irq_enable(true);
	serial_rx_room(0);
	irq_restore(flags);
	return 0;
}

void cell_exit(void)
{
	serial_flush();
	uint64_t flags = irq_save();
	dispatch_unroute(PORT_IRQ);
	dispatch_unsubscribe(SERIAL_ROOM_EVENT, "serial", "serial_rx_room");
	hal_outb(PORT + UART_IER, 0);
	irq_restore(flags);
}
