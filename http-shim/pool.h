/*
 * pool.h: a fixed-size pool of libpq connections shared by the connection
 * threads.  Connections are opened lazily, checked before reuse, reopened
 * after a failure, and each prepares the dispatch statement once.
 */
#ifndef MS_SHIM_POOL_H
#define MS_SHIM_POOL_H

#include <stdbool.h>
#include <libpq-fe.h>

typedef struct pool_conn pool_conn;

typedef enum pool_status
{
	POOL_OK,
	POOL_TIMEOUT,				/* every connection stayed busy for the whole wait */
	POOL_UNAVAILABLE,			/* a free slot, but the database refused or is down */
	POOL_SHUTDOWN				/* the shim is stopping */
} pool_status;

/*
 * Set up `size` empty slots (nothing connects yet).  conninfo is a libpq
 * connection string or URI ("" = libpq defaults/environment); the statement
 * is prepared on each connection the first time pool_exec_prepared runs on it.
 */
bool		pool_init(const char *conninfo, int size, int timeout_ms,
					  const char *stmt_name, const char *stmt_sql, int nparams);

/* Take a live connection, waiting up to the pool timeout; *waited_s is the time spent here. */
pool_status pool_acquire(pool_conn **out, double *waited_s);

/* The libpq handle of an acquired connection, for ad-hoc queries (the readiness probe). */
PGconn	   *pool_pg(pool_conn *pc);

/* Run the prepared statement (preparing it first if this connection has not); caller PQclears. */
PGresult   *pool_exec_prepared(pool_conn *pc, const char *const *values);

/*
 * A connection outside the pool, with the pool's settings (conninfo,
 * client_encoding, search_path, connect_timeout), for a caller that keeps it
 * for a long time (an event stream's LISTEN).  NULL when the database cannot
 * be reached (logged); the caller PQfinishes it.
 */
PGconn	   *pool_connect_dedicated(const char *application_name);

/* Give a connection back; broken = the caller saw it fail, so close it and reconnect later. */
void		pool_release(pool_conn *pc, bool broken);

/* Sample the gauges: connected and free, handed out, closed after a failure. */
void		pool_stats(int *idle, int *busy, int *broken, int *size);

/* Ask the server to cancel every running statement (graceful shutdown ran out of time). */
void		pool_cancel_busy(void);

/* Fail current and future waiters with POOL_SHUTDOWN. */
void		pool_shutdown(void);

/* Close every connection; no connection may be in use. */
void		pool_destroy(void);

#endif
