/* Out-of-line port I/O, exported to cells granted `port_io`. */
#include "hal/io.h"

void hal_outb(uint16_t port, uint8_t v) { outb(port, v); }
void hal_outw(uint16_t port, uint16_t v) { outw(port, v); }
void hal_outl(uint16_t port, uint32_t v) { outl(port, v); }
uint8_t hal_inb(uint16_t port) { return inb(port); }
uint16_t hal_inw(uint16_t port) { return inw(port); }
uint32_t hal_inl(uint16_t port) { return inl(port); }
