/* Uses port I/O: needs the port_io grant. */
void hal_outb(unsigned short port, unsigned char v);

void ports_beep(void)
{
	hal_outb(0x61, 3);
}
