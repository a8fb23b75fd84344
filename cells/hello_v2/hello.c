/* hello, version 2: a new greeting, and a swap-in hook that learns the old version. */
#include <delos/cell.h>
#include <stdint.h>
#include <delos/log_sink.h>
#include <delos/ticker.h>

int cell_swap_in(uint64_t old_version);

int hello_main(void)
{
	sink_log("hello", "hello from version 2 at tick %lu", ticker_ticks());
	return 43;
}

int cell_swap_in(uint64_t old_version)
{
	sink_log("hello", "version 2 takes over from version %lu", old_version);
	return 0;
}

int cell_init(void)
{
	sink_log("hello", "version 2 loaded");
	return 0;
}
