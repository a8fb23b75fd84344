/* Breaks every rule at once: each violation must get its own line. */
unsigned char hal_inb(unsigned short port);

static char buffer[64];
int hits = 1;

int many(unsigned i)
{
	buffer[i % 64] = (char)hal_inb(0x60);
	return hits++ + buffer[0];
}
