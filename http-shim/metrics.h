/*
 * metrics.h: Prometheus counters, gauges and histograms kept in lock-free
 * atomics (many connection threads update them, /metrics reads them).
 */
#ifndef MS_SHIM_METRICS_H
#define MS_SHIM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* Count one finished request and its duration (seconds, from request line to response sent). */
void		metrics_observe_request(size_t route, const char *method, int status, double seconds);

/* Time a request waited for a pooled connection. */
void		metrics_observe_pool_wait(double seconds);

/* Requests being processed now: +1 when the handler first sees one, -1 when it completes. */
void		metrics_inflight_add(long delta);
long		metrics_inflight(void);

/* Render every metric in text format 0.0.4; the pool and event-stream figures are sampled by the caller. */
void		metrics_render(jbuf *out, int pool_idle, int pool_busy, int pool_broken, int pool_size,
						   long sse_streams, uint64_t sse_events_sent);

#endif
