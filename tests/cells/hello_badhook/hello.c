/* A hello whose swap-in hook refuses: a swap to it must roll back completely. */
#include <delos/cell.h>
#include <stdint.h>
#include <delos/log_sink.h>

int cell_swap_in(uint64_t old_version);

int hello_main(void)
{
	return 99;
}

int cell_swap_in(uint64_t old_version)
{
	sink_log("hello", "version 9 refuses to take over from version %lu", old_version);
	return -22;
}
