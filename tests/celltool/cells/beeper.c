/* Uses port I/O: needs the port_io grant. */
void hal_outb(unsigned short port, unsigned char value);
int kprintf(const char *fmt, ...);
int log_write(const char *text);

void beep(void)
{
	hal_outb(0x61, 3);
	kprintf("beep\n");
	log_write("beep");
}
