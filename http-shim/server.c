/*
 * server.c: libmicrohttpd callbacks, request accumulation and limits, the
 * shim's own endpoints (/health, /health/live, /health/ready, /metrics) and
 * the one call that serves everything else: metastore.http_dispatch.
 *
 * Threading: MHD_USE_THREAD_PER_CONNECTION (with MHD's internal polling
 * thread accepting).  Every request ends in a blocking libpq call, and
 * waiting for a pooled connection blocks too.  With MHD's thread pool, one
 * worker multiplexes many connections, so one slow statement would stall
 * every other connection on that worker -- including /health and /metrics.
 * With a thread per connection a blocked request blocks only its own
 * keep-alive connection; N connections simply queue in the pool's FIFO
 * (pool size 8 serves 16+ connections, each waiting its turn up to the pool
 * timeout).  The cost, one thread per open connection, is bounded by
 * --max-connections.  The alternative (suspend/resume plus asynchronous libpq)
 * would save threads at the price of a hand-written event loop.
 *
 * Request life cycle in MHD 0.9.75: the URI callback creates our `request`
 * (with the raw request-target, before MHD decodes it); the access handler
 * runs once after the headers (size limit and content type are judged
 * there), once per body chunk, and once at the end, where the response is
 * produced; the completion callback logs, counts and frees.
 */
#include "server.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "routes.h"
#include "sse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#ifndef METASTORE_VERSION
#error "METASTORE_VERSION must be defined (the Makefile reads it from metastore.control)"
#endif

/* Per-connection memory for MHD's own parsing (request line + headers must fit): 64 KiB. */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)
/* A body we refuse (413/415) is read and dropped up to this many bytes past the limit; then the connection is cut. */
#define OVERFLOW_DISCARD_LIMIT (4 * 1024 * 1024)
/* Longest incoming X-Request-Id we keep. */
#define REQUEST_ID_MAX 128
/* Paths longer than this are cut in log lines (the response still uses the whole path). */
#define LOG_PATH_MAX 1024

#define DISPATCH_STATEMENT "metastore_http_dispatch"
#define DISPATCH_SQL \
	"SELECT status, headers, body FROM metastore.http_dispatch($1::text, $2::text, $3::jsonb, $4::jsonb, $5::text)"
#define READY_SQL "SELECT extversion FROM pg_extension WHERE extname = 'metastore'"

typedef struct request
{
	struct timespec start;		/* monotonic, when the request line arrived */
	char	   *path;			/* raw path, still percent-encoded, no query */
	char	   *query;			/* raw query string after '?', or NULL */
	char	   *method;			/* as received; NULL until the access handler runs */
	char		request_id[REQUEST_ID_MAX + 1];
	size_t		route;
	bool		seen;			/* the access handler has run: counted in flight */
	bool		too_large;		/* the body went over the limit: answer 413 once it is read */
	bool		bad_type;		/* a body without Content-Type application/json: answer 415 once it is read */
	bool		responded;
	int			status;
	size_t		bytes;			/* response body bytes */
	size_t		received;		/* request body bytes, kept or dropped */
	jbuf		body;
} request;

static struct MHD_Daemon *daemon_handle;
static server_config cfg;
static int shutting_down;		/* read with __atomic: set by the main thread, read by connection threads */

/* ---- small helpers ---- */

/* Seconds since a monotonic timestamp. */
static double
seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double) (now.tv_sec - t0->tv_sec) + (double) (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The incoming id is kept only if it is safe to echo and to log: 1..128 of [A-Za-z0-9._-]. */
static bool
request_id_ok(const char *s)
{
	size_t		n = 0;

	if (s == NULL)
		return false;
	for (; s[n]; n++)
	{
		if (n >= REQUEST_ID_MAX || !(isalnum((unsigned char) s[n]) || s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return false;
	}
	return n > 0;
}

/* 128 random bits as 32 hex digits; a time+counter fallback keeps ids unique if getrandom fails. */
static void
new_request_id(char *out)
{
	static const char hex[] = "0123456789abcdef";
	static uint64_t counter;
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t) sizeof(raw))
	{
		struct timespec ts;
		uint64_t	a;
		uint64_t	b = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);

		clock_gettime(CLOCK_REALTIME, &ts);
		a = (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
		memcpy(raw, &a, 8);
		memcpy(raw + 8, &b, 8);
	}
	for (int i = 0; i < 16; i++)
	{
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xF];
	}
	out[32] = '\0';
}

/* application/json with optional parameters; a charset, if given, must be UTF-8. */
static bool
content_type_ok(const char *ct)
{
	static const char json[] = "application/json";
	const char *p;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, json, sizeof(json) - 1) != 0)
		return false;
	p = ct + sizeof(json) - 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return true;
	if (*p != ';')
		return false;
	while (*p == ';')
	{
		const char *name;
		size_t		nlen;
		const char *val;
		size_t		vlen;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		name = p;
		while (*p && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
			p++;
		nlen = (size_t) (p - name);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
		{
			if (nlen == 0 && (*p == ';' || *p == '\0'))
				continue;		/* tolerate "application/json;" */
			return false;
		}
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"')
		{
			val = ++p;
			while (*p && *p != '"')
				p++;
			if (*p != '"')
				return false;
			vlen = (size_t) (p - val);
			p++;
		}
		else
		{
			val = p;
			while (*p && *p != ';' && *p != ' ' && *p != '\t')
				p++;
			vlen = (size_t) (p - val);
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ';' && *p != '\0')
			return false;
		if (nlen == 7 && strncasecmp(name, "charset", 7) == 0 &&
			!((vlen == 5 && strncasecmp(val, "utf-8", 5) == 0) || (vlen == 4 && strncasecmp(val, "utf8", 4) == 0)))
			return false;
	}
	return true;
}

/* Value of a hex digit, or -1. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Form decoding of one query name or value: '+' is a space, %XX a byte; a stray '%' stays literal. */
static void
form_decode(jbuf *out, const char *s, size_t n)
{
	jb_reset(out);
	jb_append(out, "", 0);
	for (size_t i = 0; i < n; i++)
	{
		int			hi,
					lo;

		if (s[i] == '+')
			jb_putc(out, ' ');
		else if (s[i] == '%' && i + 2 < n &&
				 (hi = hexval((unsigned char) s[i + 1])) >= 0 &&
				 (lo = hexval((unsigned char) s[i + 2])) >= 0)
		{
			jb_putc(out, (char) (hi << 4 | lo));
			i += 2;
		}
		else
			jb_putc(out, s[i]);
	}
}

/*
 * The query string as a JSON object of decoded names and values, in
 * arrival order.  Repeated names are written repeatedly: jsonb keeps the
 * last value of a duplicate key, which is exactly "the last occurrence
 * wins".  False when a decoded name or value is not valid UTF-8 (or has NUL).
 */
static bool
build_query_json(const char *q, jbuf *out)
{
	jbuf		name;
	jbuf		value;
	bool		first = true;
	bool		ok = true;

	jb_init(&name);
	jb_init(&value);
	jb_putc(out, '{');
	while (q && *q)
	{
		const char *amp = strchr(q, '&');
		size_t		len = amp ? (size_t) (amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);

		if (len > 0)
		{
			form_decode(&name, q, eq ? (size_t) (eq - q) : len);
			form_decode(&value, eq ? eq + 1 : "", eq ? len - (size_t) (eq - q) - 1 : 0);
			if (name.failed || value.failed ||
				!utf8_valid(name.data, name.len) || !utf8_valid(value.data, value.len))
			{
				ok = false;
				break;
			}
			if (!first)
				jb_putc(out, ',');
			first = false;
			jb_string(out, name.data, name.len);
			jb_putc(out, ':');
			jb_string(out, value.data, value.len);
		}
		q = amp ? amp + 1 : NULL;
	}
	jb_putc(out, '}');
	jb_free(&name);
	jb_free(&value);
	return ok;
}

typedef struct header_entry
{
	char	   *name;			/* lower-cased copy */
	const char *value;			/* MHD's storage, valid for the request */
	size_t		value_len;
	size_t		seq;			/* arrival order, so repeated headers join in order */
} header_entry;

typedef struct header_list
{
	header_entry *items;
	size_t		n;
	size_t		cap;
	bool		bad;			/* invalid UTF-8 / NUL, or out of memory */
} header_list;

/* MHD iterator: copy each request header (name lower-cased) into the list. */
static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
			   const char *value, size_t value_size)
{
	header_list *hl = cls;
	header_entry *e;

	(void) kind;
	if (value == NULL)
	{
		value = "";
		value_size = 0;
	}
	if (!utf8_valid(key, key_size) || !utf8_valid(value, value_size))
	{
		hl->bad = true;
		return MHD_NO;
	}
	if (hl->n == hl->cap)
	{
		size_t		cap = hl->cap ? hl->cap * 2 : 32;
		header_entry *items = realloc(hl->items, cap * sizeof(header_entry));

		if (items == NULL)
		{
			hl->bad = true;
			return MHD_NO;
		}
		hl->items = items;
		hl->cap = cap;
	}
	e = &hl->items[hl->n];
	e->name = malloc(key_size + 1);
	if (e->name == NULL)
	{
		hl->bad = true;
		return MHD_NO;
	}
	for (size_t i = 0; i < key_size; i++)
		e->name[i] = (char) tolower((unsigned char) key[i]);
	e->name[key_size] = '\0';
	e->value = value;
	e->value_len = value_size;
	e->seq = hl->n;
	hl->n++;
	return MHD_YES;
}

/* qsort order: by name, then arrival. */
static int
header_cmp(const void *a, const void *b)
{
	const header_entry *x = a;
	const header_entry *y = b;
	int			c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Request headers as a JSON object: names lower-cased, repeated headers
 * joined with ", " in arrival order, and x-request-id replaced by the id
 * this request actually uses.  Sorting makes the join O(n log n) whatever a
 * client sends.  False when a header is not valid UTF-8.
 */
static bool
build_headers_json(struct MHD_Connection *c, const request *r, jbuf *out)
{
	header_list hl = {0};
	bool		first = true;

	MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_header, &hl);
	if (!hl.bad)
	{
		if (hl.n > 1)
			qsort(hl.items, hl.n, sizeof(header_entry), header_cmp);
		jb_putc(out, '{');
		for (size_t i = 0; i < hl.n;)
		{
			size_t		j = i;
			jbuf		joined;

			if (strcmp(hl.items[i].name, "x-request-id") == 0)
			{
				while (j < hl.n && strcmp(hl.items[j].name, hl.items[i].name) == 0)
					j++;
				i = j;
				continue;
			}
			jb_init(&joined);
			for (; j < hl.n && strcmp(hl.items[j].name, hl.items[i].name) == 0; j++)
			{
				if (j > i)
					jb_append(&joined, ", ", 2);
				jb_append(&joined, hl.items[j].value, hl.items[j].value_len);
			}
			if (!first)
				jb_putc(out, ',');
			first = false;
			jb_string(out, hl.items[i].name, strlen(hl.items[i].name));
			jb_putc(out, ':');
			jb_string(out, joined.data ? joined.data : "", joined.len);
			if (joined.failed)
				out->failed = true;
			jb_free(&joined);
			i = j;
		}
		if (!first)
			jb_putc(out, ',');
		jb_puts(out, "\"x-request-id\":");
		jb_string(out, r->request_id, strlen(r->request_id));
		jb_putc(out, '}');
	}
	for (size_t i = 0; i < hl.n; i++)
		free(hl.items[i].name);
	free(hl.items);
	return !hl.bad;
}

/* ---- responses ---- */

/*
 * Every response leaves through here: adds X-Request-Id (and Connection:
 * close while shutting down, so clients move to another instance), queues it,
 * and records status and size for the log line and the metrics.
 */
static enum MHD_Result
finish(struct MHD_Connection *c, request *r, int status, struct MHD_Response *resp, size_t body_len)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	if (__atomic_load_n(&shutting_down, __ATOMIC_RELAXED))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, (unsigned int) status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES)
	{
		r->responded = true;
		r->status = status;
		r->bytes = strcmp(r->method, "HEAD") == 0 ? 0 : body_len;
	}
	return ret;
}

/* A response whose body we built here (JSON unless told otherwise). */
static enum MHD_Result
send_body(struct MHD_Connection *c, request *r, int status, const char *ctype, const char *body, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return finish(c, r, status, resp, len);
}

/* Where the OpenFeature Remote Evaluation Protocol's routes live. */
#define OFREP_PREFIX "/ofrep/v1/evaluate/flags"

/* The error body shape shared with the database: {"code","message","details","hint"}. */
static enum MHD_Result
send_error(struct MHD_Connection *c, request *r, int status, const char *code, const char *message,
		   const char *details, const char *hint)
{
	jbuf		b;
	enum MHD_Result ret;

	jb_init(&b);
	jb_puts(&b, "{\"code\":");
	jb_cstring_or_null(&b, code);
	jb_puts(&b, ",\"message\":");
	jb_cstring_or_null(&b, message);
	jb_puts(&b, ",\"details\":");
	jb_cstring_or_null(&b, details);
	jb_puts(&b, ",\"hint\":");
	jb_cstring_or_null(&b, hint);
	if (r != NULL && r->path != NULL && strncmp(r->path, OFREP_PREFIX, strlen(OFREP_PREFIX)) == 0 &&
		(r->path[strlen(OFREP_PREFIX)] == '\0' || r->path[strlen(OFREP_PREFIX)] == '/'))
	{
		/* OFREP clients read key and errorCode from every error body */
		const char *k = r->path[strlen(OFREP_PREFIX)] == '/' ? r->path + strlen(OFREP_PREFIX) + 1 : NULL;

		jb_puts(&b, ",\"key\":");
		jb_cstring_or_null(&b, k && *k ? k : NULL);
		jb_puts(&b, ",\"errorCode\":");
		jb_cstring_or_null(&b, status == 400 || status == 413 || status == 415 ? "PARSE_ERROR" : "GENERAL");
		jb_puts(&b, ",\"errorDetails\":");
		jb_cstring_or_null(&b, message);
	}
	jb_putc(&b, '}');
	if (b.failed)
		ret = MHD_NO;
	else
		ret = send_body(c, r, status, "application/json", b.data, b.len);
	jb_free(&b);
	return ret;
}

/* Response headers the shim owns or MHD computes; the database may not set them. */
static bool
reserved_header(const char *name)
{
	static const char *const reserved[] = {
		"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
		"te", "trailer", "date", "x-request-id", "proxy-connection", NULL
	};

	for (int i = 0; reserved[i]; i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return true;
	return false;
}

/* RFC 9110 token: what a header name may contain. */
static bool
token_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		if (!(isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch)))
			return false;
	}
	return true;
}

typedef struct header_sink
{
	struct MHD_Response *resp;
	bool		has_content_type;
	request    *r;
} header_sink;

/* json_each_member callback: add one header from http_dispatch, refusing anything that could split the response. */
static int
add_db_header(void *cls, const char *name, const char *value, size_t value_len)
{
	header_sink *hs = cls;

	if (strlen(value) != value_len || !token_ok(name))
		goto invalid;
	for (size_t i = 0; i < value_len; i++)
	{
		unsigned char ch = (unsigned char) value[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			goto invalid;
	}
	if (reserved_header(name))
	{
		log_msgf(LOG_DEBUG, "http_dispatch header %s ignored: the shim sets it", name);
		return 0;
	}
	if (strcasecmp(name, "content-type") == 0)
		hs->has_content_type = true;
	if (MHD_add_response_header(hs->resp, name, value) != MHD_YES)
		goto invalid;
	return 0;

invalid:
	log_msgf(LOG_WARN, "request %s: http_dispatch returned an invalid header (%.64s); dropped", hs->r->request_id, name);
	return 0;
}

/* 503 and 504 bodies: the database is not there or too busy; never a reason to show internals. */
static enum MHD_Result
send_unavailable(struct MHD_Connection *c, request *r, pool_status ps)
{
	if (ps == POOL_TIMEOUT)
		return send_error(c, r, 504, "MS504", "no database connection available", NULL,
						  "every pooled connection stayed busy; retry later");
	if (ps == POOL_SHUTDOWN)
		return send_error(c, r, 503, "MS503", "database unavailable", "the server is shutting down", "retry later");
	return send_error(c, r, 503, "MS503", "database unavailable", NULL, "retry later");
}

/* libpq failures that mean "no database" (503) rather than "bug" (500). */
static bool
connection_failure(PGconn *conn, const char *sqlstate)
{
	if (PQstatus(conn) != CONNECTION_OK || sqlstate == NULL)
		return true;
	return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
		strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0;
}

/* Turn the one row of http_dispatch into the HTTP response. */
static enum MHD_Result
send_dispatch_result(struct MHD_Connection *c, request *r, PGresult *res)
{
	const char *status_text = PQgetvalue(res, 0, 0);
	char	   *end;
	long		status;
	bool		no_body;
	const char *body = NULL;
	size_t		body_len = 0;
	struct MHD_Response *resp;
	header_sink hs;

	status = -1;
	if (!PQgetisnull(res, 0, 0))
	{
		errno = 0;
		status = strtol(status_text, &end, 10);
		if (errno != 0 || end == status_text || *end != '\0')
			status = -1;
	}
	if (status < 200 || status > 599)
	{
		log_msgf(LOG_ERROR, "request %s: http_dispatch returned invalid status %.16s", r->request_id,
				 PQgetisnull(res, 0, 0) ? "NULL" : status_text);
		return send_error(c, r, 500, "XX000", "internal error", NULL, NULL);
	}
	/*
	 * 204 has no body.  For 304, MHD never sends a body but does send
	 * Content-Length, computed from the response body: so a 304 whose
	 * function result carries the representation gets the right
	 * Content-Length, and one with a NULL body gets 0.
	 */
	no_body = status == 204 || PQgetisnull(res, 0, 2);
	if (!no_body)
	{
		body = PQgetvalue(res, 0, 2);
		body_len = (size_t) PQgetlength(res, 0, 2);
	}
	resp = MHD_create_response_from_buffer(body_len, (void *) (body ? body : ""), MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	hs.resp = resp;
	hs.has_content_type = false;
	hs.r = r;
	if (!PQgetisnull(res, 0, 1) &&
		json_each_member(PQgetvalue(res, 0, 1), (size_t) PQgetlength(res, 0, 1), add_db_header, &hs) != 0)
	{
		MHD_destroy_response(resp);
		log_msgf(LOG_ERROR, "request %s: http_dispatch returned headers that are not a flat JSON object", r->request_id);
		return send_error(c, r, 500, "XX000", "internal error", NULL, NULL);
	}
	if (!no_body && !hs.has_content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return finish(c, r, (int) status, resp, status == 304 ? 0 : body_len);
}

/*
 * One call of http_dispatch on a pooled connection.  Returns its row (status,
 * headers, body; the caller PQclears it) when it returned one; otherwise
 * answers the client itself (503, 504, 500) and returns NULL with *ret set.
 */
static PGresult *
call_dispatch(struct MHD_Connection *c, request *r, const char *const *values, enum MHD_Result *ret)
{
	pool_conn  *pc = NULL;
	pool_status ps;
	double		waited;
	PGresult   *res;
	const char *sqlstate;
	bool		lost;
	char		code[6] = "XX000";

	ps = pool_acquire(&pc, &waited);
	metrics_observe_pool_wait(waited);
	if (ps != POOL_OK)
	{
		*ret = send_unavailable(c, r, ps);
		return NULL;
	}

	res = pool_exec_prepared(pc, values);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 3)
	{
		pool_release(pc, false);
		return res;
	}

	sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	lost = connection_failure(pool_pg(pc), sqlstate);
	if (sqlstate && strlen(sqlstate) == 5)
		memcpy(code, sqlstate, 6);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
	{
		lost = false;
		log_msgf(LOG_ERROR, "request %s: http_dispatch returned %d rows of %d columns, expected 1 of 3",
				 r->request_id, PQntuples(res), PQnfields(res));
	}
	else
		log_msgf(lost || __atomic_load_n(&shutting_down, __ATOMIC_RELAXED) ? LOG_WARN : LOG_ERROR, "request %s: http_dispatch failed: %s %s", r->request_id,
				 code, res ? PQresultErrorMessage(res) : PQerrorMessage(pool_pg(pc)));
	PQclear(res);
	pool_release(pc, lost);
	if (lost)
		*ret = send_unavailable(c, r, POOL_UNAVAILABLE);
	else if (__atomic_load_n(&shutting_down, __ATOMIC_RELAXED) && strcmp(code, "57014") == 0)
		*ret = send_unavailable(c, r, POOL_SHUTDOWN);	/* we cancelled it to stop in time */
	else
		*ret = send_error(c, r, 500, code, "internal error", NULL, NULL);
	return NULL;
}

/* The query string and headers as the JSON objects http_dispatch takes; false after answering 400/500 in *ret. */
static bool
request_json(struct MHD_Connection *c, request *r, jbuf *query, jbuf *headers, enum MHD_Result *ret)
{
	if (!build_query_json(r->query, query))
	{
		*ret = send_error(c, r, 400, "22021", "invalid byte sequence for encoding \"UTF8\"",
						  "the query string does not decode to valid UTF-8 text", NULL);
		return false;
	}
	if (!build_headers_json(c, r, headers))
	{
		*ret = send_error(c, r, 400, "22021", "invalid byte sequence for encoding \"UTF8\"",
						  "a request header is not valid UTF-8 text", NULL);
		return false;
	}
	if (query->failed || headers->failed)
	{
		*ret = send_error(c, r, 500, "53200", "internal error", NULL, NULL);
		return false;
	}
	return true;
}

/* Everything that is not the shim's own: one prepared statement, one round trip, one transaction. */
static enum MHD_Result
dispatch(struct MHD_Connection *c, request *r)
{
	jbuf		query;
	jbuf		headers;
	PGresult   *res;
	enum MHD_Result ret;
	const char *values[5];

	jb_init(&query);
	jb_init(&headers);
	if (request_json(c, r, &query, &headers, &ret))
	{
		/* HEAD is answered as GET; MHD sends the headers and drops the body. */
		values[0] = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
		values[1] = r->path;
		values[2] = query.data;
		values[3] = headers.data;
		values[4] = r->body.len > 0 ? r->body.data : NULL;
		res = call_dispatch(c, r, values, &ret);
		if (res != NULL)
		{
			ret = send_dispatch_result(c, r, res);
			PQclear(res);
		}
	}
	jb_free(&query);
	jb_free(&headers);
	return ret;
}

/* 1..18 digits: an event id the list route accepts as ?after= (Last-Event-ID). */
static bool
event_id_ok(const char *s)
{
	size_t		n = 0;

	if (s == NULL)
		return false;
	for (; s[n]; n++)
		if (n >= 18 || s[n] < '0' || s[n] > '9')
			return false;
	return n > 0;
}

/* json_each_member callback: does the query have an "after"? */
static int
query_after_member(void *cls, const char *name, const char *value, size_t value_len)
{
	(void) value;
	(void) value_len;
	if (strcmp(name, "after") == 0)
		*(bool *) cls = true;
	return 0;
}

/* json_each_member callback: "last_id" of GET /api/v1/events/latest. */
static int
latest_member(void *cls, const char *name, const char *value, size_t value_len)
{
	if (strcmp(name, "last_id") == 0)
	{
		if (value_len > 0 && strlen(value) == value_len && event_id_ok(value))
			*(long long *) cls = atoll(value);
		else
			return 1;
	}
	return 0;
}

/* The status column of an http_dispatch row. */
static int
row_status(PGresult *res)
{
	return PQgetisnull(res, 0, 0) ? -1 : atoi(PQgetvalue(res, 0, 0));
}

/*
 * GET /api/v1/events/stream: Server-Sent Events (sse.c).  The database
 * decides whether the client may have it: the stream's first page is one
 * call of GET /api/v1/events with the client's headers, and any answer but
 * 200 is the response, as for a normal request.  The start: Last-Event-ID
 * (1..18 digits; it wins, as an EventSource reconnects with the URL it
 * started with), else ?after= (checked by the database), else the newest
 * event the key may read now (GET /api/v1/events/latest), so that the
 * stream carries only what commits from now on.  Other query parameters
 * (types) go with every fetch; limit is the shim's.
 */
static enum MHD_Result
events_stream(struct MHD_Connection *c, request *r)
{
	jbuf		query;
	jbuf		headers;
	jbuf		q;
	const char *lei = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	long long	start = -1;
	bool		has_after = false;
	bool		reserved;
	const char *values[5];
	PGresult   *res = NULL;
	sse_stream *s = NULL;
	struct MHD_Response *resp;
	const union MHD_ConnectionInfo *ci;
	enum MHD_Result ret = MHD_NO;
	char		detail[96];

	if (__atomic_load_n(&shutting_down, __ATOMIC_RELAXED))
		return send_unavailable(c, r, POOL_SHUTDOWN);
	if (!sse_reserve())
	{
		snprintf(detail, sizeof(detail), "at most %d event streams are open at a time", sse_max_streams());
		return send_error(c, r, 503, "MS503", "too many event streams", detail, "retry later");
	}
	reserved = true;
	jb_init(&query);
	jb_init(&headers);
	jb_init(&q);
	if (!request_json(c, r, &query, &headers, &ret))
		goto done;
	if (event_id_ok(lei))
		start = atoll(lei);
	else if (json_each_member(query.data, query.len, query_after_member, &has_after) != 0)
	{
		ret = send_error(c, r, 500, "53200", "internal error", NULL, NULL);
		goto done;
	}
	values[0] = "GET";
	values[3] = headers.data;
	values[4] = NULL;

	if (start < 0 && !has_after)
	{
		values[1] = SSE_LATEST_PATH;
		values[2] = "{}";
		if ((res = call_dispatch(c, r, values, &ret)) == NULL)
			goto done;
		if (row_status(res) != 200)
		{
			ret = send_dispatch_result(c, r, res);
			goto done;
		}
		if (PQgetisnull(res, 0, 2) ||
			json_each_member(PQgetvalue(res, 0, 2), (size_t) PQgetlength(res, 0, 2), latest_member, &start) != 0 ||
			start < 0)
		{
			log_msgf(LOG_ERROR, "request %s: GET %s returned no last_id", r->request_id, SSE_LATEST_PATH);
			ret = send_error(c, r, 500, "XX000", "internal error", NULL, NULL);
			goto done;
		}
		PQclear(res);
		res = NULL;
	}

	/* the client's query, then our after and limit (jsonb keeps the last of duplicate keys) */
	jb_append(&q, query.data, query.len - 1);
	if (query.len > 2)
		jb_putc(&q, ',');
	if (start >= 0)
		jb_printf(&q, "\"after\":\"%lld\",", start);
	jb_printf(&q, "\"limit\":\"%d\"}", SSE_FETCH_LIMIT);
	if (q.failed)
	{
		ret = send_error(c, r, 500, "53200", "internal error", NULL, NULL);
		goto done;
	}
	values[1] = SSE_EVENTS_PATH;
	values[2] = q.data;
	if ((res = call_dispatch(c, r, values, &ret)) == NULL)
		goto done;
	if (row_status(res) != 200)
	{
		ret = send_dispatch_result(c, r, res);
		goto done;
	}

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	s = sse_stream_new(r->request_id, headers.data, query.data, start < 0 ? 0 : start, ci ? ci->connect_fd : -1);
	reserved = false;			/* the stream holds the slot now (and gave it back if it failed) */
	if (s == NULL)
	{
		ret = send_error(c, r, 500, "53200", "internal error", NULL, NULL);
		goto done;
	}
	if (PQgetisnull(res, 0, 2) || !sse_stream_take(s, PQgetvalue(res, 0, 2), (size_t) PQgetlength(res, 0, 2)))
	{
		ret = send_error(c, r, 500, "XX000", "internal error", NULL, NULL);
		goto done;
	}
	if (!sse_stream_listen(s))
	{
		ret = send_unavailable(c, r, POOL_UNAVAILABLE);
		goto done;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_stream_read, s, sse_stream_free);
	if (resp == NULL)
		goto done;
	s = NULL;					/* libmicrohttpd frees it with the response */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	/* the stream writes at least once per heartbeat; a client that stops reading is dropped after this */
	MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
							  (unsigned int) (cfg.request_timeout_s + 2 * ((cfg.sse_heartbeat_ms + 999) / 1000)));
	ret = finish(c, r, 200, resp, 0);

done:
	if (s != NULL)
		sse_stream_free(s);
	else if (reserved)
		sse_release();
	PQclear(res);
	jb_free(&query);
	jb_free(&headers);
	jb_free(&q);
	return ret;
}

/* GET /health/ready: one round trip proving the database answers and has our extension version. */
static enum MHD_Result
ready(struct MHD_Connection *c, request *r)
{
	pool_conn  *pc = NULL;
	pool_status ps;
	double		waited;
	PGresult   *res;
	jbuf		b;
	enum MHD_Result ret;
	int			status = 503;

	jb_init(&b);
	ps = pool_acquire(&pc, &waited);
	metrics_observe_pool_wait(waited);
	if (ps != POOL_OK)
	{
		jb_printf(&b, "{\"status\":\"not ready\",\"database\":\"unavailable\",\"extension_version\":null,"
				  "\"expected_version\":\"%s\",\"reason\":\"%s\"}", METASTORE_VERSION,
				  ps == POOL_TIMEOUT ? "no database connection available within the pool timeout" :
				  ps == POOL_SHUTDOWN ? "shutting down" : "cannot connect to the database");
	}
	else
	{
		res = PQexec(pool_pg(pc), READY_SQL);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			bool		lost = connection_failure(pool_pg(pc), sqlstate);

			log_msgf(LOG_WARN, "request %s: readiness query failed: %s", r->request_id,
					 res ? PQresultErrorMessage(res) : PQerrorMessage(pool_pg(pc)));
			jb_printf(&b, "{\"status\":\"not ready\",\"database\":\"%s\",\"extension_version\":null,"
					  "\"expected_version\":\"%s\",\"reason\":\"%s\"}", lost ? "unavailable" : "error",
					  METASTORE_VERSION, lost ? "database connection lost" : "readiness query failed");
			PQclear(res);
			pool_release(pc, lost);
		}
		else
		{
			const char *v = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL;

			jb_puts(&b, "{\"status\":");
			if (v == NULL)
				jb_puts(&b, "\"not ready\",\"database\":\"ok\",\"extension_version\":null");
			else
			{
				jb_puts(&b, strcmp(v, METASTORE_VERSION) == 0 ? "\"ready\"" : "\"not ready\"");
				jb_puts(&b, ",\"database\":\"ok\",\"extension_version\":");
				jb_string(&b, v, strlen(v));
			}
			if (v != NULL && strcmp(v, METASTORE_VERSION) == 0)
				status = 200;
			else
				jb_printf(&b, ",\"expected_version\":\"%s\",\"reason\":\"%s\"", METASTORE_VERSION,
						  v == NULL ? "extension metastore is not installed in this database" :
						  "extension version mismatch: run ALTER EXTENSION metastore UPDATE or deploy a matching shim");
			jb_putc(&b, '}');
			PQclear(res);
			pool_release(pc, false);
		}
	}
	ret = b.failed ? MHD_NO : send_body(c, r, status, "application/json", b.data, b.len);
	jb_free(&b);
	return ret;
}

/* GET /metrics in Prometheus text format 0.0.4. */
static enum MHD_Result
metrics(struct MHD_Connection *c, request *r)
{
	jbuf		b;
	int			idle,
				busy,
				broken,
				size;
	long		streams;
	uint64_t	events_sent;
	enum MHD_Result ret;

	jb_init(&b);
	pool_stats(&idle, &busy, &broken, &size);
	sse_stats(&streams, &events_sent);
	metrics_render(&b, idle, busy, broken, size, streams, events_sent);
	ret = b.failed ? MHD_NO : send_body(c, r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	jb_free(&b);
	return ret;
}

/* 415 before 413: a body of the wrong type is wrong whatever its size. */
static enum MHD_Result
send_rejection(struct MHD_Connection *c, request *r)
{
	char		detail[96];

	if (r->bad_type)
		return send_error(c, r, 415, "MS415", "unsupported media type",
						  "a request body must be sent as Content-Type: application/json (UTF-8)", NULL);
	snprintf(detail, sizeof(detail), "the body limit is %zu bytes", cfg.body_limit);
	return send_error(c, r, 413, "54000", "request body too large", detail, NULL);
}

/* The final call for a request: the whole body is in; answer it. */
static enum MHD_Result
respond(struct MHD_Connection *c, request *r)
{
	bool		get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;

	if (r->bad_type || r->too_large)
		return send_rejection(c, r);
	if (r->body.failed)
		return send_error(c, r, 500, "53200", "internal error", NULL, NULL);
	if (!utf8_valid(r->body.data, r->body.len))
		return send_error(c, r, 400, "22021", "invalid byte sequence for encoding \"UTF8\"",
						  "the request body is not valid UTF-8 text", NULL);
	if (!utf8_valid(r->path, strlen(r->path)) || !utf8_valid(r->method, strlen(r->method)))
		return send_error(c, r, 400, "22021", "invalid byte sequence for encoding \"UTF8\"",
						  "the request path or method is not valid UTF-8 text", NULL);
	if (get && (strcmp(r->path, "/health") == 0 || strcmp(r->path, "/health/live") == 0))
	{
		static const char ok[] = "{\"status\":\"ok\"}";

		return send_body(c, r, 200, "application/json", ok, sizeof(ok) - 1);
	}
	if (get && strcmp(r->path, "/health/ready") == 0)
		return ready(c, r);
	if (get && strcmp(r->path, "/metrics") == 0)
		return metrics(c, r);
	if (strcmp(r->method, "GET") == 0 && strcmp(r->path, SSE_PATH) == 0 && sse_max_streams() > 0)
		return events_stream(c, r);
	return dispatch(c, r);
}

/* ---- libmicrohttpd callbacks ---- */

/*
 * MHD_OPTION_URI_LOG_CALLBACK: the only place that sees the request-target
 * before MHD percent-decodes it.  The database needs the raw path (so that
 * %2F stays inside one segment), so our request object starts life here.
 */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	request    *r;
	const char *path = uri;
	const char *q;

	(void) cls;
	(void) c;
	r = calloc(1, sizeof(request));
	if (r == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	jb_init(&r->body);
	/* absolute-form ("GET http://host/path"): keep only the path and query */
	if (strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0)
	{
		path = strstr(path, "//") + 2;
		path += strcspn(path, "/?");
	}
	q = strchr(path, '?');
	if (q == path)
		r->path = strdup("/");
	else if (*path == '\0')
		r->path = strdup("/");
	else
		r->path = q ? strndup(path, (size_t) (q - path)) : strdup(path);
	r->query = q ? strdup(q + 1) : NULL;
	if (r->path == NULL || (q && r->query == NULL))
	{
		free(r->path);
		free(r->query);
		free(r);
		return NULL;
	}
	r->route = route_match(r->path, strlen(r->path));
	return r;
}

/* First call, headers only: pick the request id and refuse a body we would not accept before reading it. */
static enum MHD_Result
on_headers(struct MHD_Connection *c, request *r, const char *method)
{
	const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *expect;
	bool		chunked = te != NULL && strcasestr(te, "chunked") != NULL;
	unsigned long long length = 0;

	r->method = strdup(method);
	if (r->method == NULL)
		return MHD_NO;
	r->seen = true;
	metrics_inflight_add(1);
	if (request_id_ok(id))
		snprintf(r->request_id, sizeof(r->request_id), "%s", id);
	else
		new_request_id(r->request_id);

	if (cl != NULL)
	{
		char	   *end;

		errno = 0;
		length = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl)
			length = ULLONG_MAX;
	}
	if (!chunked && length == 0)
		return MHD_YES;
	r->bad_type = !content_type_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE));
	r->too_large = !chunked && length > cfg.body_limit;
	if (!r->bad_type && !r->too_large)
		return MHD_YES;

	/*
	 * Answer now only when the client has not sent the body yet (it waits
	 * for 100 Continue) or when the body is too big to drain: MHD then closes
	 * the connection, and closing a socket with unread data makes the kernel
	 * send RST, which can destroy the response before the client reads it.
	 * Otherwise read and drop the body and answer at the end, keeping the
	 * connection alive.
	 */
	expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	if ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
		(!chunked && length > cfg.body_limit + OVERFLOW_DISCARD_LIMIT))
		return send_rejection(c, r);
	return MHD_YES;
}

/*
 * A body chunk: keep it while under the limit.  A body we will reject is
 * read and dropped, up to OVERFLOW_DISCARD_LIMIT bytes past the limit; a
 * client that keeps sending beyond that is cut off (MHD_NO closes).
 */
static enum MHD_Result
on_body(request *r, const char *data, size_t n)
{
	r->received += n;
	if (!r->too_large && r->body.len + n > cfg.body_limit)
		r->too_large = true;
	if (r->too_large || r->bad_type)
	{
		jb_free(&r->body);
		return r->received > cfg.body_limit + OVERFLOW_DISCARD_LIMIT ? MHD_NO : MHD_YES;
	}
	jb_append(&r->body, data, n);
	return MHD_YES;
}

/* MHD access handler: dispatches to the three phases described at the top of the file. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
		   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	request    *r = *con_cls;

	(void) cls;
	(void) url;
	(void) version;
	if (r == NULL)
		return MHD_NO;			/* out of memory in on_uri: drop the connection */
	if (!r->seen)
		return on_headers(c, r, method);
	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		*upload_data_size = 0;
		if (r->responded)
			return MHD_YES;
		return on_body(r, upload_data, n);
	}
	if (r->responded)
		return MHD_YES;
	return respond(c, r);
}

/* Names for the log of requests that did not complete normally. */
static const char *
termination_name(enum MHD_RequestTerminationCode toe)
{
	switch (toe)
	{
		case MHD_REQUEST_TERMINATED_COMPLETED_OK:
			return NULL;
		case MHD_REQUEST_TERMINATED_WITH_ERROR:
			return "error";
		case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
			return "timeout";
		case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
			return "shutdown";
		case MHD_REQUEST_TERMINATED_READ_ERROR:
			return "read_error";
		case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
			return "client_abort";
	}
	return "unknown";
}

/* Completion: one log line and the metrics for every request, then free it. */
static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	request    *r = *con_cls;
	double		secs;
	const char *term = termination_name(toe);
	jbuf		f;
	size_t		plen;

	(void) cls;
	if (r == NULL)
		return;
	*con_cls = NULL;
	secs = seconds_since(&r->start);
	if (!r->responded)
	{
		/* MHD may have answered by itself (400, 414, 431 ...): take its status if there is one */
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);

		if (ci != NULL && ci->http_status >= 100)
			r->status = (int) ci->http_status;
	}
	if (r->status > 0)
		metrics_observe_request(r->route, r->seen ? r->method : "OTHER", r->status, secs);

	jb_init(&f);
	jb_puts(&f, "\"request_id\":");
	jb_cstring_or_null(&f, r->seen ? r->request_id : NULL);
	jb_puts(&f, ",\"method\":");
	jb_cstring_or_null(&f, r->seen ? r->method : NULL);
	jb_puts(&f, ",\"path\":");
	plen = strlen(r->path);
	jb_string(&f, r->path, plen > LOG_PATH_MAX ? LOG_PATH_MAX : plen);
	jb_printf(&f, ",\"status\":%d,\"duration_ms\":%.3f,\"bytes\":%zu", r->status, secs * 1000.0, r->bytes);
	if (term)
		jb_printf(&f, ",\"termination\":\"%s\"", term);
	if (!f.failed)
		log_event(r->status >= 500 ? LOG_WARN : (r->seen || r->status > 0) ? LOG_INFO : LOG_DEBUG, "request", f.data);
	jb_free(&f);

	if (r->seen)
		metrics_inflight_add(-1);
	jb_free(&r->body);
	free(r->method);
	free(r->path);
	free(r->query);
	free(r);
}

/* MHD's own diagnostics go into the JSON log like everything else. */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char		buf[512];

	(void) cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_msgf(LOG_WARN, "libmicrohttpd: %s", buf);
}

/* ---- life cycle ---- */

/* See server.h. */
bool
server_start(const server_config *config)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct sockaddr_in sin4;
	struct sockaddr_in6 sin6;
	struct sockaddr *addr;

	cfg = *config;
	memset(&sin4, 0, sizeof(sin4));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, cfg.listen, &sin4.sin_addr) == 1)
	{
		sin4.sin_family = AF_INET;
		sin4.sin_port = htons((uint16_t) cfg.port);
		addr = (struct sockaddr *) &sin4;
	}
	else if (inet_pton(AF_INET6, cfg.listen, &sin6.sin6_addr) == 1)
	{
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t) cfg.port);
		addr = (struct sockaddr *) &sin6;
		flags |= MHD_USE_IPv6;
	}
	else
	{
		log_msgf(LOG_ERROR, "invalid listen address %s", cfg.listen);
		return false;
	}

	if (!pool_init(cfg.database_url, cfg.pool_size, cfg.pool_timeout_ms, DISPATCH_STATEMENT, DISPATCH_SQL, 5))
	{
		log_msgf(LOG_ERROR, "cannot allocate the connection pool");
		return false;
	}
	if (!sse_init(cfg.sse_heartbeat_ms, cfg.sse_max_streams, DISPATCH_SQL))
	{
		log_msgf(LOG_ERROR, "cannot create the event streams' wake-up descriptor: %s", strerror(errno));
		pool_destroy();
		return false;
	}

	daemon_handle = MHD_start_daemon(flags, (uint16_t) cfg.port, NULL, NULL, on_request, NULL,
									 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
									 MHD_OPTION_SOCK_ADDR, addr,
									 MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
									 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
									 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) cfg.request_timeout_s,
									 MHD_OPTION_CONNECTION_LIMIT, (unsigned int) cfg.max_connections,
									 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY_LIMIT,
									 MHD_OPTION_END);
	if (daemon_handle == NULL)
	{
		log_msgf(LOG_ERROR, "cannot listen on %s port %d: %s", cfg.listen, cfg.port,
				 errno ? strerror(errno) : "libmicrohttpd refused to start");
		sse_cleanup();
		pool_destroy();
		return false;
	}
	return true;
}

/* See server.h.  The listen socket MHD hands back is ours to close. */
void
server_quiesce(void)
{
	MHD_socket	s;

	__atomic_store_n(&shutting_down, 1, __ATOMIC_RELAXED);
	sse_shutdown();				/* event streams end now, so that the drain does not wait for them */
	if (daemon_handle == NULL)
		return;
	s = MHD_quiesce_daemon(daemon_handle);
	if (s != MHD_INVALID_SOCKET)
		close(s);
}

/* See server.h. */
long
server_inflight(void)
{
	return metrics_inflight();
}

/* See server.h: requests waiting for a connection get 503, running statements are cancelled. */
void
server_abort_inflight(void)
{
	pool_shutdown();
	pool_cancel_busy();
}

/* See server.h. */
void
server_stop(void)
{
	pool_shutdown();
	sse_shutdown();
	if (daemon_handle)
		MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
	sse_cleanup();
	pool_destroy();
}
