/*
 * server.h: the HTTP side: libmicrohttpd daemon, request accumulation and
 * limits, the shim's own endpoints, and the call to metastore.http_dispatch.
 */
#ifndef MS_SHIM_SERVER_H
#define MS_SHIM_SERVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct server_config
{
	const char *listen;			/* IPv4 or IPv6 literal */
	int			port;
	const char *database_url;
	int			pool_size;
	size_t		body_limit;		/* bytes */
	int			pool_timeout_ms;
	int			request_timeout_s;	/* idle connection timeout */
	int			max_connections;
	int			sse_heartbeat_ms;	/* event streams: heartbeat and safety-net fetch interval */
	int			sse_max_streams;	/* event streams open at a time; 0 = none */
} server_config;

/* Open the pool and start listening; false (after logging why) when the daemon cannot start. */
bool		server_start(const server_config *cfg);

/* Stop accepting connections; requests already received keep being served. */
void		server_quiesce(void);

/* Requests being processed now (the drain loop waits for zero). */
long		server_inflight(void);

/* Cancel statements still running so their requests end now (drain ran out of time). */
void		server_abort_inflight(void);

/* Close every connection, join the connection threads, close the pool. */
void		server_stop(void);

#endif
