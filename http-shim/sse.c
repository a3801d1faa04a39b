/*
 * sse.c: the Server-Sent Events stream of metastore.events.
 *
 * Each stream runs on its HTTP connection's own thread (the daemon has a
 * thread per connection), inside libmicrohttpd's content reader callback,
 * which may block.  It holds one database connection of its own, outside
 * the pool, that LISTENs on metastore_events and also runs the stream's
 * fetches, so that streams never take pooled connections away from
 * requests.  The notification is only a wake-up (LISTEN is open to every
 * database role, so its payload is never forwarded): on one, and once per
 * heartbeat interval as a safety net, the stream asks
 * http_dispatch('GET', '/api/v1/events', {after: <last id sent>, limit:
 * 1000}, <the client's headers>) -- the database authenticates the client's
 * key again on every fetch and returns only what its principal may read --
 * and writes each event as
 *
 *     id: <id>\nevent: <resource_type>\ndata: <the event, JSON on one line>\n\n
 *
 * Waiting is one poll(2) on three descriptors: the database socket, the
 * shim's shutdown eventfd, and the client's socket (POLLRDHUP), so a stream
 * ends at once when the shim stops or the client hangs up, and no later than
 * its next read when the database connection breaks.  A fetch is sent
 * asynchronously and waited for the same way, so nothing here blocks past a
 * shutdown.  Notifications that arrive while a fetch runs cause one more
 * fetch (cheap: an index range scan that usually finds nothing), never a
 * missed event: ids follow commit order, so "after the last id sent" is a
 * complete cursor.
 */
#include "sse.h"
#include "json.h"
#include "log.h"
#include "pool.h"

#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_SQL "LISTEN metastore_events"
/* A fetch that takes longer ends the stream (the client reconnects and resumes). */
#define FETCH_TIMEOUT_MS 30000
/* Longest request id (server.c keeps at most 128 characters). */
#define STREAM_ID_MAX 128
/* An output buffer that grew past this (a large catch-up) is released once sent. */
#define OUT_KEEP_BYTES (256 * 1024)

static struct
{
	int			heartbeat_ms;
	int			max_streams;
	const char *dispatch_sql;
	int			wake_fd;		/* eventfd, readable once the shim stops */
	int			stopping;		/* atomic */
	long		open;			/* atomic: reserved slots = open streams */
	uint64_t	events_sent;	/* atomic */
} S = {.wake_fd = -1};

typedef enum stream_state
{
	STREAM_RUNNING,
	STREAM_END,					/* end the chunked body normally: the client reconnects */
	STREAM_ABORT				/* close the connection (the client is gone, or we ran out of memory) */
} stream_state;

struct sse_stream
{
	char		request_id[STREAM_ID_MAX + 1];
	char	   *headers;		/* request headers as JSON, sent with every fetch */
	char	   *query_prefix;	/* the client's query object without its closing brace */
	bool		query_empty;
	int			client_fd;
	PGconn	   *conn;
	long long	last_id;		/* cursor: every visible event up to here has been queued */
	bool		listening;
	bool		need_fetch;
	bool		keepalive_due;
	int64_t		next_tick_ms;	/* heartbeat and safety-net fetch, after this long without output */
	jbuf		out;			/* SSE text not yet handed to libmicrohttpd */
	size_t		out_pos;
	stream_state state;
	char		reason[96];		/* why it ended, for the log */
	uint64_t	events;
	uint64_t	bytes;
	int64_t		start_ms;
};

/* Monotonic milliseconds. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* See sse.h. */
bool
sse_init(int heartbeat_ms, int max_streams, const char *dispatch_sql)
{
	S.heartbeat_ms = heartbeat_ms;
	S.max_streams = max_streams;
	S.dispatch_sql = dispatch_sql;
	S.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return S.wake_fd >= 0;
}

/* See sse.h. */
int
sse_max_streams(void)
{
	return S.max_streams;
}

/* See sse.h: a compare-and-swap loop, so the limit holds under concurrent connects. */
bool
sse_reserve(void)
{
	long		n = __atomic_load_n(&S.open, __ATOMIC_RELAXED);

	do
	{
		if (n >= S.max_streams)
			return false;
	} while (!__atomic_compare_exchange_n(&S.open, &n, n + 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return true;
}

/* See sse.h. */
void
sse_release(void)
{
	__atomic_fetch_sub(&S.open, 1, __ATOMIC_RELAXED);
}

/* See sse.h.  The eventfd is never read, so it stays readable for every stream. */
void
sse_shutdown(void)
{
	uint64_t	one = 1;

	__atomic_store_n(&S.stopping, 1, __ATOMIC_RELAXED);
	if (S.wake_fd >= 0 && write(S.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_msgf(LOG_WARN, "event streams: cannot signal shutdown: %s", strerror(errno));
}

/* See sse.h. */
void
sse_cleanup(void)
{
	if (S.wake_fd >= 0)
		close(S.wake_fd);
	S.wake_fd = -1;
}

/* See sse.h. */
void
sse_stats(long *open, uint64_t *events_sent)
{
	*open = __atomic_load_n(&S.open, __ATOMIC_RELAXED);
	*events_sent = __atomic_load_n(&S.events_sent, __ATOMIC_RELAXED);
}

/* Record why the stream ends (the first reason wins). */
static void
end_stream(sse_stream *s, stream_state how, const char *reason)
{
	if (s->state != STREAM_RUNNING)
		return;
	s->state = how;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

/* See sse.h. */
sse_stream *
sse_stream_new(const char *request_id, const char *headers_json, const char *query_json, long long after,
			   int client_fd)
{
	sse_stream *s = calloc(1, sizeof(sse_stream));
	size_t		qlen = strlen(query_json);

	if (s == NULL || qlen < 2 || query_json[qlen - 1] != '}')
	{
		free(s);
		sse_release();
		return NULL;
	}
	snprintf(s->request_id, sizeof(s->request_id), "%s", request_id);
	s->headers = strdup(headers_json);
	s->query_prefix = strndup(query_json, qlen - 1);
	s->query_empty = qlen == 2;
	s->client_fd = client_fd;
	s->last_id = after;
	s->state = STREAM_RUNNING;
	s->start_ms = now_ms();
	jb_init(&s->out);
	/* a first comment, so that the client sees the stream open before any event */
	jb_puts(&s->out, ": connected\n\n");
	if (s->headers == NULL || s->query_prefix == NULL || s->out.failed)
	{
		sse_stream_free(s);
		return NULL;
	}
	return s;
}

/* An event id as the list route writes it: 1..19 digits that fit a bigint. */
static bool
parse_id(const char *v, size_t n, long long *out)
{
	char		buf[24];
	char	   *end;
	long long	id;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	errno = 0;
	id = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = id;
	return true;
}

/* The members of one event the framing needs. */
typedef struct event_fields
{
	const char *id;
	size_t		id_len;
	const char *type;			/* raw value, quotes included */
	size_t		type_len;
} event_fields;

/* json_each_member_raw callback over one event. */
static int
on_event_member(void *cls, const char *name, size_t name_len, const char *value, size_t value_len)
{
	event_fields *f = cls;

	if (name_len == 2 && memcmp(name, "id", 2) == 0)
	{
		f->id = value;
		f->id_len = value_len;
	}
	else if (name_len == 13 && memcmp(name, "resource_type", 13) == 0)
	{
		f->type = value;
		f->type_len = value_len;
	}
	return 0;
}

/* An event type we can put on an "event:" line as it is: a plain JSON string of [A-Za-z0-9._-], 1..64 long. */
static bool
type_ok(const char *v, size_t n)
{
	if (n < 3 || n > 66 || v[0] != '"' || v[n - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < n; i++)
	{
		char		c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* State of one take: the framed batch is built aside and queued only when the whole body was good. */
typedef struct take_ctx
{
	jbuf		batch;
	long long	last_id;
	size_t		count;
	bool		have_events;
	const char *bad;			/* what was wrong, for the log */
} take_ctx;

/* json_each_element_raw callback over the events array: frame one event. */
static int
on_event(void *cls, const char *name, size_t name_len, const char *value, size_t value_len)
{
	take_ctx   *t = cls;
	event_fields f = {0};
	long long	id;

	(void) name;
	(void) name_len;
	if (value_len == 0 || value[0] != '{' || json_each_member_raw(value, value_len, on_event_member, &f) != 0)
	{
		t->bad = "an event is not a JSON object";
		return 1;
	}
	if (f.id == NULL || !parse_id(f.id, f.id_len, &id))
	{
		t->bad = "an event has no numeric id";
		return 1;
	}
	jb_printf(&t->batch, "id: %lld\n", id);
	if (f.type != NULL && type_ok(f.type, f.type_len))
	{
		jb_puts(&t->batch, "event: ");
		jb_append(&t->batch, f.type + 1, f.type_len - 2);
		jb_putc(&t->batch, '\n');
	}
	jb_puts(&t->batch, "data: ");
	jb_json_compact(&t->batch, value, value_len);
	jb_puts(&t->batch, "\n\n");
	if (id > t->last_id)
		t->last_id = id;
	t->count++;
	return 0;
}

/* json_each_member_raw callback over the list body. */
static int
on_list_member(void *cls, const char *name, size_t name_len, const char *value, size_t value_len)
{
	take_ctx   *t = cls;
	long long	id;

	if (name_len == 6 && memcmp(name, "events", 6) == 0)
	{
		if (value_len == 0 || value[0] != '[')
		{
			t->bad = "\"events\" is not an array";
			return 1;
		}
		t->have_events = true;
		if (json_each_element_raw(value, value_len, on_event, t) != 0)
		{
			if (t->bad == NULL)
				t->bad = "\"events\" is not well-formed JSON";
			return 1;
		}
	}
	else if (name_len == 7 && memcmp(name, "last_id", 7) == 0)
	{
		if (!parse_id(value, value_len, &id))
		{
			t->bad = "\"last_id\" is not an event id";
			return 1;
		}
		if (id > t->last_id)
			t->last_id = id;
	}
	return 0;
}

/* See sse.h. */
bool
sse_stream_take(sse_stream *s, const char *body, size_t len)
{
	take_ctx	t;
	bool		ok;

	jb_init(&t.batch);
	t.last_id = s->last_id;
	t.count = 0;
	t.have_events = false;
	t.bad = NULL;
	if (json_each_member_raw(body, len, on_list_member, &t) != 0 && t.bad == NULL)
		t.bad = "the body is not a JSON object";
	if (t.bad == NULL && !t.have_events)
		t.bad = "the body has no \"events\"";
	ok = t.bad == NULL && !t.batch.failed;
	if (!ok)
		log_msgf(LOG_ERROR, "event stream %s: GET %s returned an unexpected body: %s", s->request_id,
				 SSE_EVENTS_PATH, t.bad ? t.bad : "out of memory");
	else
	{
		if (t.batch.len > 0)
			jb_append(&s->out, t.batch.data, t.batch.len);
		s->last_id = t.last_id;
		s->events += t.count;
		__atomic_fetch_add(&S.events_sent, (uint64_t) t.count, __ATOMIC_RELAXED);
		/* a full page: there may be more right behind it */
		if (t.count >= SSE_FETCH_LIMIT)
			s->need_fetch = true;
	}
	jb_free(&t.batch);
	return ok;
}

/* See sse.h.  LISTEN first, then one catch-up fetch covers whatever committed in between. */
bool
sse_stream_listen(sse_stream *s)
{
	PGresult   *res;
	jbuf		f;

	s->conn = pool_connect_dedicated("metastore-http-events");
	if (s->conn == NULL)
		return false;
	res = PQexec(s->conn, LISTEN_SQL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		log_msgf(LOG_WARN, "event stream %s: LISTEN failed: %s", s->request_id, PQerrorMessage(s->conn));
		PQclear(res);
		return false;
	}
	PQclear(res);
	s->listening = true;
	s->need_fetch = true;
	s->next_tick_ms = now_ms() + S.heartbeat_ms;

	jb_init(&f);
	jb_puts(&f, "\"request_id\":");
	jb_cstring_or_null(&f, s->request_id);
	jb_printf(&f, ",\"last_id\":%lld,\"backend_pid\":%d", s->last_id, PQbackendPID(s->conn));
	if (!f.failed)
		log_event(LOG_INFO, "event stream opened", f.data);
	jb_free(&f);
	return true;
}

/* See sse.h (also libmicrohttpd's free callback of the response). */
void
sse_stream_free(void *cls)
{
	sse_stream *s = cls;

	if (s == NULL)
		return;
	if (s->listening)
	{
		jbuf		f;

		jb_init(&f);
		jb_puts(&f, "\"request_id\":");
		jb_cstring_or_null(&f, s->request_id);
		jb_printf(&f, ",\"events\":%llu,\"bytes\":%llu,\"last_id\":%lld,\"duration_ms\":%lld,\"reason\":",
				  (unsigned long long) s->events, (unsigned long long) s->bytes, s->last_id,
				  (long long) (now_ms() - s->start_ms));
		jb_cstring_or_null(&f, s->reason[0] ? s->reason : "connection closed");
		if (!f.failed)
			log_event(LOG_INFO, "event stream closed", f.data);
		jb_free(&f);
	}
	if (s->conn)
		PQfinish(s->conn);
	jb_free(&s->out);
	free(s->headers);
	free(s->query_prefix);
	free(s);
	sse_release();
}

typedef enum wake
{
	WAKE_TIMEOUT,
	WAKE_DATABASE,				/* the database socket is readable */
	WAKE_STOP,					/* the shim is shutting down */
	WAKE_CLIENT,				/* the client hung up */
	WAKE_ERROR
} wake;

/* Sleep until the deadline or until one of the stream's three descriptors has news. */
static wake
wait_for(sse_stream *s, int64_t deadline_ms)
{
	struct pollfd p[3];
	int64_t		t = deadline_ms - now_ms();
	int			n;

	if (__atomic_load_n(&S.stopping, __ATOMIC_RELAXED))
		return WAKE_STOP;
	if (t < 0)
		t = 0;
	if (t > INT_MAX)
		t = INT_MAX;
	p[0].fd = PQsocket(s->conn);
	p[0].events = POLLIN;
	p[1].fd = S.wake_fd;
	p[1].events = POLLIN;
	p[2].fd = s->client_fd;
	p[2].events = POLLRDHUP;	/* not POLLIN: a client may send bytes we never read */
	for (int i = 0; i < 3; i++)
		p[i].revents = 0;
	n = poll(p, 3, (int) t);
	if (n < 0)
		return errno == EINTR ? WAKE_TIMEOUT : WAKE_ERROR;
	if (p[1].revents)
		return WAKE_STOP;
	if (p[2].revents)
		return WAKE_CLIENT;
	if (p[0].revents)
		return WAKE_DATABASE;
	return WAKE_TIMEOUT;
}

/* Read what the database sent; a notification asks for a fetch.  False when the connection is gone. */
static bool
consume(sse_stream *s)
{
	PGnotify   *n;

	if (!PQconsumeInput(s->conn) || PQstatus(s->conn) != CONNECTION_OK)
	{
		log_msgf(LOG_WARN, "event stream %s: database connection lost: %s", s->request_id,
				 PQerrorMessage(s->conn));
		return false;
	}
	while ((n = PQnotifies(s->conn)) != NULL)
	{
		s->need_fetch = true;
		PQfreemem(n);
	}
	return true;
}

/* Act on a wake-up other than a timeout; false when the stream ended. */
static bool
handle_wake(sse_stream *s, wake w)
{
	switch (w)
	{
		case WAKE_STOP:
			end_stream(s, STREAM_END, "shutdown");
			return false;
		case WAKE_CLIENT:
			/* ended normally: libmicrohttpd's write of the last chunk then fails quietly and it closes */
			end_stream(s, STREAM_END, "client closed the connection");
			return false;
		case WAKE_ERROR:
			log_msgf(LOG_ERROR, "event stream %s: poll failed: %s", s->request_id, strerror(errno));
			end_stream(s, STREAM_ABORT, "poll failed");
			return false;
		case WAKE_DATABASE:
			if (!consume(s))
			{
				end_stream(s, STREAM_END, "database connection lost");
				return false;
			}
			return true;
		case WAKE_TIMEOUT:
			return true;
	}
	return true;
}

/* One fetch of the events after the cursor, through http_dispatch with the client's headers. */
static void
fetch(sse_stream *s)
{
	jbuf		q;
	const char *values[5];
	int64_t		deadline;
	PGresult   *res;
	PGresult   *extra;

	s->need_fetch = false;
	jb_init(&q);
	jb_puts(&q, s->query_prefix);
	if (!s->query_empty)
		jb_putc(&q, ',');
	/* jsonb keeps the last of duplicate keys: these win over the client's own after and limit */
	jb_printf(&q, "\"after\":\"%lld\",\"limit\":\"%d\"}", s->last_id, SSE_FETCH_LIMIT);
	if (q.failed)
	{
		end_stream(s, STREAM_ABORT, "out of memory");
		goto done;
	}
	values[0] = "GET";
	values[1] = SSE_EVENTS_PATH;
	values[2] = q.data;
	values[3] = s->headers;
	values[4] = NULL;
	if (!PQsendQueryParams(s->conn, S.dispatch_sql, 5, NULL, values, NULL, NULL, 0))
	{
		log_msgf(LOG_WARN, "event stream %s: cannot send the fetch: %s", s->request_id, PQerrorMessage(s->conn));
		end_stream(s, STREAM_END, "database connection lost");
		goto done;
	}
	deadline = now_ms() + FETCH_TIMEOUT_MS;
	while (PQisBusy(s->conn))
	{
		wake		w = wait_for(s, deadline);

		if (w == WAKE_TIMEOUT && now_ms() >= deadline)
		{
			log_msgf(LOG_WARN, "event stream %s: no answer to a fetch within %d ms", s->request_id, FETCH_TIMEOUT_MS);
			end_stream(s, STREAM_END, "fetch timed out");
			goto done;
		}
		if (!handle_wake(s, w))
			goto done;			/* PQfinish drops the statement still running */
	}
	res = PQgetResult(s->conn);
	while ((extra = PQgetResult(s->conn)) != NULL)
		PQclear(extra);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 3)
	{
		log_msgf(LOG_WARN, "event stream %s: fetch failed: %s", s->request_id,
				 res && PQresultStatus(res) != PGRES_TUPLES_OK ? PQresultErrorMessage(res) :
				 "http_dispatch did not return one row of 3 columns");
		end_stream(s, STREAM_END, "fetch failed");
	}
	else if (PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), "200") != 0)
	{
		/* the key was revoked, a grant changed, ...: the reconnect gets the database's answer */
		char		why[64];

		snprintf(why, sizeof(why), "GET %s answered %.8s", SSE_EVENTS_PATH,
				 PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
		log_msgf(LOG_INFO, "event stream %s: %s; ending the stream", s->request_id, why);
		end_stream(s, STREAM_END, why);
	}
	else if (PQgetisnull(res, 0, 2) ||
			 !sse_stream_take(s, PQgetvalue(res, 0, 2), (size_t) PQgetlength(res, 0, 2)))
		end_stream(s, STREAM_END, "unexpected event list");
	PQclear(res);
	/* notifications that arrived with the answer may be for events it did not see yet */
	if (s->state == STREAM_RUNNING && !consume(s))
		end_stream(s, STREAM_END, "database connection lost");

done:
	jb_free(&q);
}

/*
 * See sse.h.  Returns queued text first; otherwise fetches when asked to,
 * writes a heartbeat when the stream was quiet for an interval, and else
 * sleeps in wait_for.  Never returns 0 (that would make libmicrohttpd spin).
 */
ssize_t
sse_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	sse_stream *s = cls;

	(void) pos;
	for (;;)
	{
		int64_t		now;

		if (s->out_pos < s->out.len)
		{
			size_t		n = s->out.len - s->out_pos;

			if (n > max)
				n = max;
			memcpy(buf, s->out.data + s->out_pos, n);
			s->out_pos += n;
			if (s->out_pos == s->out.len)
			{
				if (s->out.cap > OUT_KEEP_BYTES)
					jb_free(&s->out);
				else
					jb_reset(&s->out);
				s->out_pos = 0;
			}
			s->bytes += n;
			s->keepalive_due = false;
			s->next_tick_ms = now_ms() + S.heartbeat_ms;
			return (ssize_t) n;
		}
		if (s->out.failed)
			end_stream(s, STREAM_ABORT, "out of memory");
		if (s->state == STREAM_RUNNING && __atomic_load_n(&S.stopping, __ATOMIC_RELAXED))
			end_stream(s, STREAM_END, "shutdown");
		if (s->state != STREAM_RUNNING)
			return s->state == STREAM_END ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
		if (s->need_fetch)
		{
			fetch(s);
			continue;
		}
		if (s->keepalive_due)
		{
			s->keepalive_due = false;
			jb_puts(&s->out, ": keepalive\n\n");
			continue;
		}
		now = now_ms();
		if (now >= s->next_tick_ms)
		{
			/* a quiet interval: look once more (a lost wake-up, a revoked key), then keep the line alive */
			s->need_fetch = true;
			s->keepalive_due = true;
			s->next_tick_ms = now + S.heartbeat_ms;
			continue;
		}
		handle_wake(s, wait_for(s, s->next_tick_ms));
	}
}
