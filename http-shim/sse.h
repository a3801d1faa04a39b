/*
 * sse.h: GET /api/v1/events/stream, the Server-Sent Events stream of
 * metastore.events.  server.c checks the request (through http_dispatch,
 * so the database authenticates it) and queues the response; this module
 * owns what happens after: a dedicated connection that LISTENs on
 * metastore_events, the fetches of new events through http_dispatch with the
 * client's own headers, the SSE framing, heartbeats, and the stream's end.
 */
#ifndef MS_SHIM_SSE_H
#define MS_SHIM_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The stream's path, and the database routes it reads through. */
#define SSE_PATH "/api/v1/events/stream"
#define SSE_EVENTS_PATH "/api/v1/events"
#define SSE_LATEST_PATH "/api/v1/events/latest"
/* Events asked for per fetch (the list route's maximum). */
#define SSE_FETCH_LIMIT 1000

/*
 * Once at start: heartbeat interval, the stream limit (0: the shim serves no
 * stream), and the dispatch statement (5 text parameters) to fetch with.
 * False when the wake-up descriptor cannot be created.
 */
bool		sse_init(int heartbeat_ms, int max_streams, const char *dispatch_sql);

/* The configured limit (0 = streams are off). */
int			sse_max_streams(void);

/* Take a stream slot before any work; false at the limit.  Give it back with sse_release unless a stream took it. */
bool		sse_reserve(void);
void		sse_release(void);

/* Wake every stream so that it ends now (graceful shutdown); streams opened afterwards end at once. */
void		sse_shutdown(void);

/* After the HTTP daemon stopped: close the wake-up descriptor. */
void		sse_cleanup(void);

/* For /metrics: streams open now, events sent since start. */
void		sse_stats(long *open, uint64_t *events_sent);

typedef struct sse_stream sse_stream;

/*
 * A stream for one request, owning the reserved slot from here on.
 * headers_json: the request headers object passed to every fetch;
 * query_json: the client's query object (its after and limit are overridden
 * per fetch); after: the cursor to start from (the first page's last_id
 * moves it on); client_fd: the connection's socket, watched for a hang-up (-1:
 * not watched).  NULL when out of memory (the slot is released).
 */
sse_stream *sse_stream_new(const char *request_id, const char *headers_json, const char *query_json,
						   long long after, int client_fd);

/*
 * Queue the events of a 200 body of GET /api/v1/events ({"events": [...],
 * "last_id": N}) as SSE messages and move the cursor past them; false when
 * the body does not have that shape (logged).
 */
bool		sse_stream_take(sse_stream *s, const char *body, size_t len);

/* Open the stream's own database connection and LISTEN; false when the database cannot be reached. */
bool		sse_stream_listen(sse_stream *s);

/* Drop a stream that was never handed to libmicrohttpd. */
void		sse_stream_free(void *cls);

/* libmicrohttpd content reader: blocks until there is something to send or the stream ends. */
ssize_t		sse_stream_read(void *cls, uint64_t pos, char *buf, size_t max);

#endif
