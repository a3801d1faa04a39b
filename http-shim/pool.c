/*
 * pool.c: the libpq connection pool.
 *
 * One mutex guards an array of slots and a FIFO queue of waiting threads.
 * A request thread takes a free slot (preferring an already-connected one)
 * or queues; a released slot is handed directly to the oldest waiter, so
 * under load requests are served in arrival order and a newcomer cannot
 * overtake a thread that has been waiting (which would stretch the tail
 * latency towards the pool timeout).  Every network operation -- connecting,
 * the liveness check, the query -- runs outside the lock, so a slow or dead
 * database never blocks threads that only read the gauges or give a
 * connection back.  A slot whose connection
 * failed becomes "broken" and is reconnected by the next request that takes
 * it, so the pool recovers by itself once the database is back.
 */
#include "pool.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum slot_state
{
	SLOT_EMPTY,					/* never connected */
	SLOT_IDLE,					/* connected, free */
	SLOT_BUSY,					/* handed out (or being connected) */
	SLOT_BROKEN					/* connection closed after a failure; reconnect on next use */
} slot_state;

struct pool_conn
{
	int			index;
	slot_state	state;
	PGconn	   *conn;
	PGcancel   *cancel;			/* guarded by the pool mutex: pool_cancel_busy reads it */
	bool		prepared;
};

/* A thread waiting for a slot; lives on the waiter's stack. */
typedef struct waiter
{
	pthread_cond_t cv;
	pool_conn  *given;			/* set by put_back when it hands a slot over */
	struct waiter *next;
} waiter;

static struct
{
	pthread_mutex_t mu;
	pthread_condattr_t cv_attr; /* CLOCK_MONOTONIC, for every waiter's condvar */
	waiter	   *head;			/* FIFO of waiting threads */
	waiter	   *tail;
	pool_conn  *slots;
	int			size;
	int			timeout_ms;
	bool		shutting_down;
	char	   *conninfo;
	char	   *stmt_name;
	char	   *stmt_sql;
	int			nparams;
	struct timespec last_failure_log;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Monotonic seconds, for waits that must not jump with the wall clock. */
static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Server notices (RAISE NOTICE in dispatch) must not reach stderr raw: that would break the JSON log. */
static void
notice_to_log(void *arg, const char *message)
{
	(void) arg;
	log_msgf(LOG_DEBUG, "database notice: %s", message);
}

/* Copy the configuration; waits use CLOCK_MONOTONIC so timeouts survive wall-clock changes. */
bool
pool_init(const char *conninfo, int size, int timeout_ms,
		  const char *stmt_name, const char *stmt_sql, int nparams)
{
	if (pthread_condattr_init(&P.cv_attr) != 0 ||
		pthread_condattr_setclock(&P.cv_attr, CLOCK_MONOTONIC) != 0)
		return false;
	P.slots = calloc((size_t) size, sizeof(pool_conn));
	P.conninfo = strdup(conninfo ? conninfo : "");
	P.stmt_name = strdup(stmt_name);
	P.stmt_sql = strdup(stmt_sql);
	if (!P.slots || !P.conninfo || !P.stmt_name || !P.stmt_sql)
		return false;
	for (int i = 0; i < size; i++)
	{
		P.slots[i].index = i;
		P.slots[i].state = SLOT_EMPTY;
	}
	P.size = size;
	P.timeout_ms = timeout_ms;
	P.nparams = nparams;
	return true;
}

/* While the database is down every request tries to connect: log the reason at most once a second. */
static void
log_connect_failure(const char *why)
{
	struct timespec now;
	bool		loud;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&P.mu);
	loud = now.tv_sec != P.last_failure_log.tv_sec;
	if (loud)
		P.last_failure_log = now;
	pthread_mutex_unlock(&P.mu);
	log_msgf(loud ? LOG_WARN : LOG_DEBUG, "database connection failed: %s", why);
}

/* Drop the slot's connection (owner thread only); the cancel handle is detached under the lock. */
static void
close_slot(pool_conn *pc)
{
	PGcancel   *cancel;

	pthread_mutex_lock(&P.mu);
	cancel = pc->cancel;
	pc->cancel = NULL;
	pthread_mutex_unlock(&P.mu);
	if (cancel)
		PQfreeCancel(cancel);
	if (pc->conn)
		PQfinish(pc->conn);
	pc->conn = NULL;
	pc->prepared = false;
}

/*
 * Open a connection with the shim's settings.  connect_timeout comes before
 * dbname so a conninfo can override it; client_encoding comes after so it
 * cannot: the shim validates everything as UTF-8 and must receive UTF-8.
 */
static PGconn *
connect_db(const char *application_name)
{
	/*
	 * search_path is pinned to what http_dispatch runs under anyway, so that
	 * it does not have to switch it (and back) on every request; options in
	 * DATABASE_URL come after and still win.
	 */
	const char *const keys[] = {"connect_timeout", "options", "dbname", "client_encoding",
	"fallback_application_name", NULL};
	const char *const vals[] = {"5", "-c search_path=pg_catalog,\\ pg_temp", P.conninfo, "UTF8",
	application_name, NULL};
	PGconn	   *conn;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL)
	{
		log_connect_failure("out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		log_connect_failure(PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, notice_to_log, NULL);
	return conn;
}

/* Open the slot's connection. */
static bool
open_slot(pool_conn *pc)
{
	PGconn	   *conn;
	PGcancel   *cancel;

	conn = connect_db("metastore-http");
	if (conn == NULL)
		return false;
	cancel = PQgetCancel(conn);
	pc->conn = conn;
	pc->prepared = false;
	pthread_mutex_lock(&P.mu);
	pc->cancel = cancel;
	pthread_mutex_unlock(&P.mu);
	log_msgf(LOG_DEBUG, "database connection %d opened (backend pid %d)", pc->index, PQbackendPID(conn));
	return true;
}

/* See pool.h. */
PGconn *
pool_connect_dedicated(const char *application_name)
{
	return connect_db(application_name);
}

/*
 * An idle session never receives anything unsolicited (we do not LISTEN,
 * and parameter reports wait for the next command), except when the server
 * ends it: restart, pg_terminate_backend, idle_session_timeout send a FATAL
 * and close.  So a readable socket on an idle connection means it is gone.
 * (libpq would still say CONNECTION_OK after reading the FATAL until it
 * also reads the EOF, so PQstatus alone is not enough.)  One poll(2) here
 * saves the request a 503.
 */
static bool
still_alive(pool_conn *pc)
{
	struct pollfd pfd;

	if (PQstatus(pc->conn) != CONNECTION_OK)
		return false;
	pfd.fd = PQsocket(pc->conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0)
		return false;
	if (poll(&pfd, 1, 0) == 0)
		return true;
	if (PQconsumeInput(pc->conn))
		log_msgf(LOG_DEBUG, "database connection %d: unsolicited input while idle: %s", pc->index,
				 PQerrorMessage(pc->conn));
	return false;
}

/* Hand out a slot that is not busy; the caller holds the lock.  Connected slots first. */
static pool_conn *
take_free_slot(void)
{
	pool_conn  *fallback = NULL;

	for (int i = 0; i < P.size; i++)
	{
		pool_conn  *pc = &P.slots[i];

		if (pc->state == SLOT_IDLE)
		{
			pc->state = SLOT_BUSY;
			return pc;
		}
		if (fallback == NULL && (pc->state == SLOT_EMPTY || pc->state == SLOT_BROKEN))
			fallback = pc;
	}
	if (fallback)
		fallback->state = SLOT_BUSY;
	return fallback;
}

/* Free a slot: hand it straight to the oldest waiter if there is one, else mark it free. */
static void
put_back(pool_conn *pc, slot_state state)
{
	waiter	   *w;

	pthread_mutex_lock(&P.mu);
	w = P.head;
	if (w != NULL)
	{
		P.head = w->next;
		if (P.head == NULL)
			P.tail = NULL;
		pc->state = SLOT_BUSY;
		w->given = pc;
		pthread_cond_signal(&w->cv);
	}
	else
		pc->state = state;
	pthread_mutex_unlock(&P.mu);
}

/* Take a waiter that gave up (timeout, shutdown) out of the queue; the caller holds the lock. */
static void
unlink_waiter(waiter *w)
{
	waiter	  **pp = &P.head;
	waiter	   *prev = NULL;

	while (*pp && *pp != w)
	{
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp == NULL)
		return;
	*pp = w->next;
	if (P.tail == w)
		P.tail = prev;
}

/* See pool.h: wait for a slot, then make sure it holds a working connection. */
pool_status
pool_acquire(pool_conn **out, double *waited_s)
{
	double		start = mono_now();
	struct timespec deadline;
	pool_conn  *pc = NULL;
	bool		timed_out = false;

	*out = NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += P.timeout_ms / 1000;
	deadline.tv_nsec += (long) (P.timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&P.mu);
	if (!P.shutting_down && P.head == NULL)
		pc = take_free_slot();
	if (pc == NULL && !P.shutting_down && P.timeout_ms > 0)
	{
		waiter		w;

		w.given = NULL;
		w.next = NULL;
		pthread_cond_init(&w.cv, &P.cv_attr);
		if (P.tail)
			P.tail->next = &w;
		else
			P.head = &w;
		P.tail = &w;
		while (w.given == NULL && !P.shutting_down && !timed_out)
		{
			if (pthread_cond_timedwait(&w.cv, &P.mu, &deadline) == ETIMEDOUT)
				timed_out = true;
		}
		pc = w.given;
		if (pc == NULL)
			unlink_waiter(&w);
		pthread_cond_destroy(&w.cv);
	}
	pthread_mutex_unlock(&P.mu);
	*waited_s = mono_now() - start;

	if (pc == NULL)
		return P.shutting_down ? POOL_SHUTDOWN : POOL_TIMEOUT;

	if (pc->conn != NULL && !still_alive(pc))
	{
		log_msgf(LOG_INFO, "database connection %d was closed by the server; reconnecting", pc->index);
		close_slot(pc);
	}
	if (pc->conn == NULL && !open_slot(pc))
	{
		put_back(pc, SLOT_BROKEN);
		return POOL_UNAVAILABLE;
	}
	*out = pc;
	return POOL_OK;
}

/* Accessor so that callers never see the slot's internals. */
PGconn *
pool_pg(pool_conn *pc)
{
	return pc->conn;
}

/* Prepare once per connection, then execute with text parameters (the server infers their types). */
PGresult *
pool_exec_prepared(pool_conn *pc, const char *const *values)
{
	for (int attempt = 0; attempt < 2; attempt++)
	{
		PGresult   *res;
		const char *state;

		if (!pc->prepared)
		{
			res = PQprepare(pc->conn, P.stmt_name, P.stmt_sql, P.nparams, NULL);
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				return res;
			PQclear(res);
			pc->prepared = true;
		}
		res = PQexecPrepared(pc->conn, P.stmt_name, P.nparams, values, NULL, NULL, 0);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* 26000: the statement vanished (e.g. DISCARD ALL in a pooler in front of us): prepare again */
		if (attempt == 0 && state && strcmp(state, "26000") == 0 && PQstatus(pc->conn) == CONNECTION_OK)
		{
			PQclear(res);
			pc->prepared = false;
			continue;
		}
		return res;
	}
	return NULL;				/* not reached */
}

/* A connection left inside a transaction or in a bad state is never handed to the next request. */
void
pool_release(pool_conn *pc, bool broken)
{
	if (pc == NULL)
		return;
	if (!broken && (PQstatus(pc->conn) != CONNECTION_OK ||
					PQtransactionStatus(pc->conn) != PQTRANS_IDLE))
		broken = true;
	if (broken)
		close_slot(pc);
	put_back(pc, broken ? SLOT_BROKEN : SLOT_IDLE);
}

/* For the metastore_pool_connections gauges. */
void
pool_stats(int *idle, int *busy, int *broken, int *size)
{
	*idle = *busy = *broken = 0;
	pthread_mutex_lock(&P.mu);
	for (int i = 0; i < P.size; i++)
	{
		switch (P.slots[i].state)
		{
			case SLOT_IDLE:
				(*idle)++;
				break;
			case SLOT_BUSY:
				(*busy)++;
				break;
			case SLOT_BROKEN:
				(*broken)++;
				break;
			case SLOT_EMPTY:
				break;
		}
	}
	*size = P.size;
	pthread_mutex_unlock(&P.mu);
}

/* Shutdown's last resort: running statements end with 57014 and their requests answer at once. */
void
pool_cancel_busy(void)
{
	char		err[256];

	pthread_mutex_lock(&P.mu);
	for (int i = 0; i < P.size; i++)
	{
		if (P.slots[i].state == SLOT_BUSY && P.slots[i].cancel &&
			!PQcancel(P.slots[i].cancel, err, sizeof(err)))
			log_msgf(LOG_WARN, "cancel of database connection %d failed: %s", i, err);
	}
	pthread_mutex_unlock(&P.mu);
}

/* Waiters return POOL_SHUTDOWN instead of sleeping through their timeout. */
void
pool_shutdown(void)
{
	pthread_mutex_lock(&P.mu);
	P.shutting_down = true;
	for (waiter *w = P.head; w; w = w->next)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&P.mu);
}

/* Close every connection and free the pool (after the HTTP daemon has stopped). */
void
pool_destroy(void)
{
	for (int i = 0; i < P.size; i++)
		close_slot(&P.slots[i]);
	free(P.slots);
	free(P.conninfo);
	free(P.stmt_name);
	free(P.stmt_sql);
	P.slots = NULL;
	P.conninfo = P.stmt_name = P.stmt_sql = NULL;
	P.size = 0;
	pthread_condattr_destroy(&P.cv_attr);
}
