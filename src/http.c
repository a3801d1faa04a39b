/*
 * http.c: metastore.http_dispatch, the single entry point of the HTTP shim.
 *
 * The shim passes the raw request (method, path, query, headers, body); this
 * module matches the path against metastore.http_routes (cached per
 * backend, reset through cache.c when the table changes), authenticates the
 * API key the route needs, parses the JSON body, calls the route's handler
 * (a SQL function taking the request as jsonb and returning
 * metastore.http_response) inside a subtransaction, and turns any error
 * into the documented HTTP status and error body.  So every REST behaviour
 * is testable from SQL, and the shim never changes when a route is added.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "apikeys.h"
#include "cache.h"
#include "errors.h"
#include "http.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(http_dispatch);

#define MAX_SEGMENTS 16

typedef struct Route
{
	char	   *method;
	int			nseg;
	char	   *seg[MAX_SEGMENTS];	/* literal, or NULL for a parameter */
	char	   *param[MAX_SEGMENTS];	/* parameter name where seg is NULL */
	int			literals;		/* specificity: literal segments win */
	Oid			handler;
	bool		auth;
} Route;

static MemoryContext route_cxt = NULL;
static Route *routes = NULL;
static int	n_routes = -1;		/* -1: not loaded */
static SPIPlanPtr plan_routes = NULL;

/* cache.c callback: the route table changed. */
static void
reset_routes(void)
{
	n_routes = -1;
}

/* Split a route pattern like /records/{key}/history into segments. */
static void
parse_pattern(Route *r, const char *pattern)
{
	char	   *copy = pstrdup(pattern);
	char	   *save = NULL;

	r->nseg = 0;
	r->literals = 0;
	for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
	{
		size_t		len = strlen(tok);

		if (r->nseg >= MAX_SEGMENTS)
			elog(ERROR, "route pattern \"%s\" has too many segments", pattern);
		if (len > 2 && tok[0] == '{' && tok[len - 1] == '}')
		{
			r->seg[r->nseg] = NULL;
			r->param[r->nseg] = pnstrdup(tok + 1, len - 2);
		}
		else
		{
			r->seg[r->nseg] = pstrdup(tok);
			r->param[r->nseg] = NULL;
			r->literals++;
		}
		r->nseg++;
	}
}

/* Load the route table into backend memory once (until it changes). */
static void
load_routes(void)
{
	MemoryContext old;

	if (n_routes >= 0)
		return;
	if (route_cxt == NULL)
		route_cxt = AllocSetContextCreate(TopMemoryContext, "metastore routes",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(route_cxt);

	ms_spi_connect();
	ms_plan(&plan_routes,
			"SELECT method, path, handler::oid, auth FROM metastore.http_routes",
			0, NULL);
	if (SPI_execute_plan(plan_routes, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read metastore.http_routes");
	old = MemoryContextSwitchTo(route_cxt);
	routes = palloc0(sizeof(Route) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		routes[i].method = SPI_getvalue(t, d, 1);
		parse_pattern(&routes[i], SPI_getvalue(t, d, 2));
		routes[i].handler = DatumGetObjectId(SPI_getbinval(t, d, 3, &isnull));
		routes[i].auth = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
	}
	MemoryContextSwitchTo(old);
	n_routes = (int) SPI_processed;
	SPI_finish();
	ms_cache_watch(ms_relid("http_routes"), reset_routes);
}

/* Value of a hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode one path segment; false when malformed or not UTF-8. */
static bool
decode_segment(const char *in, size_t len, char **out)
{
	char	   *buf = palloc(len + 1);
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (in[i] == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= len)
				return false;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			buf[n++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			buf[n++] = in[i];
	}
	buf[n] = '\0';
	if (pg_verifymbstr(buf, (int) n, true) == false)
		return false;
	*out = buf;
	return true;
}

/* Split and decode a request path; false when malformed. */
static bool
split_path(const char *path, char **segs, int *nseg)
{
	const char *p = path;

	*nseg = 0;
	if (*p != '/')
		return false;
	while (*p == '/')
	{
		const char *start = ++p;

		while (*p && *p != '/')
			p++;
		if (p == start)
		{
			/* one trailing slash is ignored; an empty inner segment is not a route */
			if (*p == '\0')
				break;
			return false;
		}
		if (*nseg >= MAX_SEGMENTS)
			return false;
		if (!decode_segment(start, p - start, &segs[*nseg]))
			return false;
		(*nseg)++;
	}
	return *p == '\0';
}

/* Does route r match the decoded segments? */
static bool
route_matches(const Route *r, char **segs, int nseg)
{
	if (r->nseg != nseg)
		return false;
	for (int i = 0; i < nseg; i++)
		if (r->seg[i] != NULL && strcmp(r->seg[i], segs[i]) != 0)
			return false;
	return true;
}

/* A header value from the headers object (names are lower-case), or NULL. */
static char *
header(Jsonb *headers, const char *name)
{
	JsonbValue *v;

	if (headers == NULL || !JB_ROOT_IS_OBJECT(headers))
		return NULL;
	v = getKeyJsonValueFromContainer(&headers->root, name, strlen(name), NULL);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The namespace a request addresses: ?namespace=, else X-Namespace, else "default". */
static char *
request_namespace(Jsonb *query, Jsonb *headers)
{
	char	   *ns = header(query, "namespace");

	if (ns == NULL)
		ns = header(headers, "x-namespace");
	return ns ? ns : pstrdup("default");
}

/* The API key of a request: Authorization: ApiKey|Bearer <k>, or X-API-Key. */
static char *
request_key(Jsonb *headers)
{
	char	   *auth = header(headers, "authorization");

	if (auth != NULL)
	{
		char	   *p = auth;

		if (pg_strncasecmp(p, "ApiKey ", 7) == 0)
			p += 7;
		else if (pg_strncasecmp(p, "Bearer ", 7) == 0)
			p += 7;
		else
			return NULL;
		while (*p == ' ')
			p++;
		return *p ? p : NULL;
	}
	return header(headers, "x-api-key");
}

/* Append "name": value-as-JSON-string to a JSON object being built. */
static void
add_field(StringInfo buf, bool *first, const char *name, const char *value)
{
	if (!*first)
		appendStringInfoString(buf, ", ");
	*first = false;
	escape_json(buf, name);
	appendStringInfoString(buf, ": ");
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/* A response row. */
typedef struct Response
{
	int			status;
	StringInfoData headers;		/* JSON object being built, without braces */
	bool		headers_first;
	char	   *body;			/* JSON text or NULL */
	bool		ofrep;			/* an OFREP route: errors also carry key and errorCode */
	const char *ofrep_key;		/* its flag key, or NULL (bulk) */
} Response;

/* The error body every failure carries. */
static void
error_response(Response *resp, int status, const char *code, const char *message,
			   const char *details, const char *hint)
{
	StringInfoData b;
	bool		first = true;

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	add_field(&b, &first, "code", code);
	add_field(&b, &first, "message", message);
	add_field(&b, &first, "details", details);
	add_field(&b, &first, "hint", hint);
	if (resp->ofrep)
	{
		/* OpenFeature Remote Evaluation Protocol error fields */
		add_field(&b, &first, "key", resp->ofrep_key);
		add_field(&b, &first, "errorCode",
				  status == 400 ? "PARSE_ERROR" : status == 404 ? "FLAG_NOT_FOUND" :
				  status == 422 ? "INVALID_CONTEXT" : "GENERAL");
		add_field(&b, &first, "errorDetails", message);
	}
	appendStringInfoChar(&b, '}');
	resp->status = status;
	resp->body = b.data;
	if (status == 401)
		add_field(&resp->headers, &resp->headers_first, "WWW-Authenticate",
				  "ApiKey realm=\"metastore\"");
}

/* An error answered by dispatch itself: its status comes from the one map, errors.c. */
static void
dispatch_error(Response *resp, int sqlerrcode, const char *message, const char *details,
			   const char *hint)
{
	error_response(resp, ms_http_status(sqlerrcode, false), unpack_sql_state(sqlerrcode),
				   message, details, hint);
}

/* Push "name": string into the object being built. */
static void
push_string(JsonbParseState **st, const char *name, const char *value)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) name;
	k.val.string.len = strlen(name);
	pushJsonbValue(st, WJB_KEY, &k);
	v.type = jbvString;
	v.val.string.val = (char *) value;
	v.val.string.len = strlen(value);
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* Push "name": <jsonb document, or an empty object / null> into the object being built. */
static void
push_doc(JsonbParseState **st, const char *name, Jsonb *doc, bool null_if_missing)
{
	JsonbValue	k,
				v;

	k.type = jbvString;
	k.val.string.val = (char *) name;
	k.val.string.len = strlen(name);
	pushJsonbValue(st, WJB_KEY, &k);
	if (doc != NULL)
	{
		v.type = jbvBinary;
		v.val.binary.data = &doc->root;
		v.val.binary.len = VARSIZE(doc) - VARHDRSZ;
		pushJsonbValue(st, WJB_VALUE, &v);
	}
	else if (null_if_missing)
	{
		v.type = jbvNull;
		pushJsonbValue(st, WJB_VALUE, &v);
	}
	else
	{
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
}

/*
 * Build the request document a handler receives:
 * {method, path, namespace, params, query, headers, body}.
 * Built as jsonb directly: the query, headers and body are embedded, not re-parsed.
 */
static Jsonb *
request_document(const char *method, const char *path, const Route *r, char **segs,
				 Jsonb *query, Jsonb *headers, Jsonb *body)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	JsonbValue	k;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_string(&st, "method", method);
	push_string(&st, "path", path);
	push_string(&st, "namespace", request_namespace(query, headers));
	k.type = jbvString;
	k.val.string.val = "params";
	k.val.string.len = 6;
	pushJsonbValue(&st, WJB_KEY, &k);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < r->nseg; i++)
		if (r->seg[i] == NULL)
			push_string(&st, r->param[i], segs[i]);
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	push_doc(&st, "query", query, false);
	push_doc(&st, "headers", headers, false);
	push_doc(&st, "body", body, true);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* Merge a handler's headers object into the response headers. */
static void
merge_headers(Response *resp, Jsonb *h)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	if (h == NULL || !JB_ROOT_IS_OBJECT(h))
		return;
	it = JsonbIteratorInit(&h->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *name;

		if (tok != WJB_KEY)
			continue;
		name = pnstrdup(k.val.string.val, k.val.string.len);
		JsonbIteratorNext(&it, &v, true);
		if (v.type == jbvString)
			add_field(&resp->headers, &resp->headers_first, name,
					  pnstrdup(v.val.string.val, v.val.string.len));
	}
}

/* Route, authenticate and run one request; errors propagate to the caller. */
static void
dispatch(Response *resp, const char *method, const char *path, Jsonb *query,
		 Jsonb *headers, text *body)
{
	char	   *segs[MAX_SEGMENTS];
	int			nseg;
	const Route *best = NULL;
	StringInfoData allow;
	bool		path_known = false;
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	Jsonb	   *bodydoc = NULL;
	Jsonb	   *req;
	Datum		result;
	HeapTupleHeader row;
	bool		isnull;
	Datum		d;

	if (!split_path(path, segs, &nseg))
	{
		dispatch_error(resp, MS_ERRCODE_MALFORMED, "malformed request path", NULL,
					   "Percent-encode reserved characters in path segments.");
		return;
	}
	load_routes();
	initStringInfo(&allow);
	for (int i = 0; i < n_routes; i++)
	{
		const Route *r = &routes[i];

		if (!route_matches(r, segs, nseg))
			continue;
		path_known = true;
		if (strstr(allow.data, r->method) == NULL)
			appendStringInfo(&allow, "%s%s", allow.len ? ", " : "", r->method);
		if (strcmp(r->method, m) == 0 && (best == NULL || r->literals > best->literals))
			best = r;
	}
	if (best == NULL && path_known)
	{
		if (strstr(allow.data, "GET") != NULL)
			appendStringInfoString(&allow, ", HEAD");
		appendStringInfoString(&allow, ", OPTIONS");
		add_field(&resp->headers, &resp->headers_first, "Allow", allow.data);
		if (strcmp(method, "OPTIONS") == 0)
		{
			resp->status = 204;
			return;
		}
		dispatch_error(resp, MS_ERRCODE_METHOD_NOT_ALLOWED,
					   psprintf("method %s is not allowed on %s", method, path),
					   psprintf("Allowed: %s.", allow.data), NULL);
		return;
	}
	if (best == NULL)
	{
		dispatch_error(resp, MS_ERRCODE_NOT_FOUND, psprintf("no route for %s %s", method, path),
					   NULL, "GET /openapi.json lists every route.");
		return;
	}

	if (best->auth)
	{
		char	   *key = request_key(headers);

		if (key == NULL)
		{
			dispatch_error(resp, MS_ERRCODE_BAD_CREDENTIALS, "authentication required",
						   "Send Authorization: ApiKey <key> (or Bearer <key>, or X-API-Key).",
						   NULL);
			return;
		}
		ms_authenticate_key(key);
	}

	if (body != NULL && VARSIZE_ANY_EXHDR(body) > 0)
		bodydoc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
													 CStringGetDatum(text_to_cstring(body))));

	req = request_document(method, path, best, segs, query, headers, bodydoc);
	result = OidFunctionCall1(best->handler, JsonbPGetDatum(req));
	row = DatumGetHeapTupleHeader(result);
	d = GetAttributeByNum(row, 1, &isnull);
	if (isnull)
		elog(ERROR, "route handler returned no status");
	resp->status = DatumGetInt32(d);
	d = GetAttributeByNum(row, 2, &isnull);
	if (!isnull)
		merge_headers(resp, DatumGetJsonbP(d));
	d = GetAttributeByNum(row, 3, &isnull);
	if (!isnull && resp->status != 204 && resp->status != 304 && strcmp(method, "HEAD") != 0)
	{
		Jsonb	   *jb = DatumGetJsonbP(d);

		resp->body = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
}

/*
 * SQL: http_dispatch(method, path, query jsonb, headers jsonb, body text)
 *   RETURNS TABLE (status integer, headers jsonb, body text) -- one row, never raises
 *   for anything a client can cause.
 */
Datum
http_dispatch(PG_FUNCTION_ARGS)
{
	MemoryContext fnctx = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	TupleDesc	tupdesc;
	Response	resp;
	Datum		out[3];
	bool		nulls[3] = {false, false, false};
	const char *method = PG_ARGISNULL(0) ? "GET" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *path = PG_ARGISNULL(1) ? "/" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *query = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	Jsonb	   *headers = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	text	   *body = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	bool		conditional;
	int			nestlevel;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "http_dispatch must return a composite");
	/*
	 * Everything below runs under search_path = pg_catalog, pg_temp.  It is
	 * pinned here rather than by a SET clause on the function, because the
	 * shim's connections already have it and then this costs nothing.
	 */
	nestlevel = ms_safe_search_path_push();
	memset(&resp, 0, sizeof(resp));
	initStringInfo(&resp.headers);
	resp.headers_first = true;
	conditional = header(headers, "if-match") != NULL || header(headers, "if-none-match") != NULL;
	{
		char	   *segs[MAX_SEGMENTS];
		int			nseg;

		if (strncmp(path, "/ofrep/", 7) == 0 && split_path(path, segs, &nseg) && nseg >= 4 &&
			strcmp(segs[0], "ofrep") == 0 &&
			strcmp(segs[1], "v1") == 0 && strcmp(segs[2], "evaluate") == 0 &&
			strcmp(segs[3], "flags") == 0)
		{
			resp.ofrep = true;
			resp.ofrep_key = nseg == 5 ? segs[4] : NULL;
		}
	}

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(fnctx);
	PG_TRY();
	{
		dispatch(&resp, method, path, query, headers, body);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(fnctx);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			status;

		MemoryContextSwitchTo(fnctx);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(fnctx);
		CurrentResourceOwner = owner;

		/* start the response again: nothing of the failed attempt survives */
		resetStringInfo(&resp.headers);
		resp.headers_first = true;
		status = ms_http_status(edata->sqlerrcode, conditional);
		if (status == 500)
		{
			/* not the caller's fault: log it, answer without internals */
			ereport(LOG,
					(errmsg("metastore http_dispatch: %s %s failed: %s", method, path,
							edata->message)));
			error_response(&resp, 500, unpack_sql_state(edata->sqlerrcode),
						   "internal error", NULL, NULL);
		}
		else
			error_response(&resp, status, unpack_sql_state(edata->sqlerrcode),
						   edata->message, edata->detail, edata->hint);
		FreeErrorData(edata);
	}
	PG_END_TRY();

	ms_safe_search_path_pop(nestlevel);
	out[0] = Int32GetDatum(resp.status);
	out[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("{%s}", resp.headers.data)));
	if (resp.body == NULL)
		nulls[2] = true;
	else
		out[2] = CStringGetTextDatum(resp.body);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), out, nulls)));
}
