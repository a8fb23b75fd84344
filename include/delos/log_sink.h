/* log_sink: the cells' log, tagged with the calling cell's name. */
#ifndef CELLS_LOG_SINK_H
#define CELLS_LOG_SINK_H

/* Logs one INFO line "[cell] text", printf-formatted. */
void sink_log(const char *cell, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
