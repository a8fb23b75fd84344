#include <delos/cell.h>
#include <delos/time.h>
#include <delos/log_sink.h>
#include <delos/ticker.h>

uint64_t ticker_ms(void)
{
	return time_ns() / 1000000;
}

uint64_t ticker_ticks(void)
{
	return time_ns() / (1000000000 / TICKER_HZ);
}

int cell_init(void)
{
	sink_log("ticker", "%u Hz, tick %lu", TICKER_HZ, ticker_ticks());
	return 0;
}
