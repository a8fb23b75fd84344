/* hello: calls into two other cells, and offers hello_main to the console's `call`. */
#include <delos/cell.h>
#include <delos/log_sink.h>
#include <delos/ticker.h>

/* A jump table in .rodata and a string table: relocations a real cell has. */
static const char *const greetings[] = { "hello", "bonjour", "hallo", "ciao" };

int hello_main(void)
{
	uint64_t t = ticker_ticks();

	switch (t % 4) {
	case 0: sink_log("hello", "%s at tick %lu", greetings[0], t); break;
	case 1: sink_log("hello", "%s at tick %lu", greetings[1], t); break;
	case 2: sink_log("hello", "%s at tick %lu", greetings[2], t); break;
	default: sink_log("hello", "%s at tick %lu", greetings[3], t); break;
	}
	return 42;
}

int cell_init(void)
{
	sink_log("hello", "hello from a cell, %lu ms after boot", ticker_ms());
	return 0;
}
