/*
 * filter.c: the search filter language, validated and compiled into one SQL
 * predicate over metastore.records (alias r).
 *
 * The compiler never copies request text into SQL: a field name selects an
 * entry of a fixed table (its column is our own constant), and every value,
 * path and key becomes a bound parameter ($n).  Leaves compile to forms an
 * index can answer (jsonb containment, ? and @? for the GIN index, ranges in
 * byte order for the btree on key) whenever that is exact, and to plain
 * comparisons guarded by jsonb_typeof otherwise, so that a type mismatch is
 * false and never an error.  docs/search.md is the specification.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "errors.h"
#include "filter.h"

typedef enum FilterOp
{
	OP_EQ, OP_NEQ, OP_LT, OP_LTE, OP_GT, OP_GTE, OP_BETWEEN, OP_IN,
	OP_CONTAINS, OP_ARRAY_CONTAINS, OP_PREFIX, OP_EXISTS, OP_HAS_KEY
} FilterOp;

static const char *const op_names[] = {
	"eq", "neq", "lt", "lte", "gt", "gte", "between", "in",
	"contains", "array_contains", "prefix", "exists", "has_key"
};

/* the SQL operator of each ordering op */
static const char *const op_sql[] = {
	"=", "<>", "<", "<=", ">", ">=", NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* Which ops each field kind takes (bit per FilterOp). */
#define OPBIT(o) (1u << (o))
#define ORDERING_OPS (OPBIT(OP_EQ) | OPBIT(OP_NEQ) | OPBIT(OP_LT) | OPBIT(OP_LTE) | \
					  OPBIT(OP_GT) | OPBIT(OP_GTE) | OPBIT(OP_BETWEEN) | OPBIT(OP_IN) | \
					  OPBIT(OP_EXISTS))
static const uint32 kind_ops[] = {
	[MS_FIELD_TEXT] = ORDERING_OPS | OPBIT(OP_CONTAINS) | OPBIT(OP_PREFIX),
	[MS_FIELD_INT] = ORDERING_OPS,
	[MS_FIELD_TIMESTAMP] = ORDERING_OPS,
	[MS_FIELD_TAGS] = OPBIT(OP_EQ) | OPBIT(OP_NEQ) | OPBIT(OP_IN) | OPBIT(OP_CONTAINS) |
	OPBIT(OP_ARRAY_CONTAINS) | OPBIT(OP_EXISTS),
	[MS_FIELD_JSON] = 0x1FFF,
	[MS_FIELD_OTHER] = 0
};

/* The fixed field table: the only way a name reaches SQL. */
static const MsField field_table[] = {
	{MS_FIELD_TEXT, "key", "r.key", false},
	{MS_FIELD_TEXT, "namespace", "r.namespace", false},
	{MS_FIELD_TEXT, "owner", "r.owner", true},
	{MS_FIELD_TEXT, "created_by", "r.created_by", false},
	{MS_FIELD_TEXT, "updated_by", "r.updated_by", false},
	{MS_FIELD_INT, "version", "r.version", false},
	{MS_FIELD_TIMESTAMP, "created_at", "r.created_at", false},
	{MS_FIELD_TIMESTAMP, "updated_at", "r.updated_at", false},
	{MS_FIELD_TAGS, "tags", "r.tags", false},
	{MS_FIELD_JSON, "metadata", "r.metadata", false},
	{MS_FIELD_OTHER, "id", "r.id", false},
	{MS_FIELD_OTHER, "content_type", "r.content_type", false},
	{MS_FIELD_OTHER, "description", "r.description", true},
};

/* The compiler's state: parameters, counts, and where in the document we are. */
typedef struct FilterCtx
{
	MsParams   *params;
	int			leaves;
	StringInfoData loc;			/* e.g. filter.and[2].value */
} FilterCtx;

/* JSON types as a search sees them */
typedef enum JType
{
	J_NULL, J_STRING, J_NUMBER, J_BOOL, J_OBJECT, J_ARRAY
} JType;

static const char *const jtype_names[] = {
	"null", "string", "number", "boolean", "object", "array"
};

static void compile_node(FilterCtx *cx, JsonbContainer *node, bool neg, int depth,
						 StringInfo buf);

/* ---------------------------------------------------------------- params */

/* An empty parameter list. */
void
ms_params_init(MsParams *p)
{
	p->n = 0;
	p->cap = 16;
	p->types = palloc(sizeof(Oid) * p->cap);
	p->values = palloc(sizeof(Datum) * p->cap);
	p->nulls = palloc(sizeof(char) * p->cap);
}

/* Bind a value; returns its number ($n). */
int
ms_param_add(MsParams *p, Oid type, Datum value)
{
	if (p->n == p->cap)
	{
		p->cap *= 2;
		p->types = repalloc(p->types, sizeof(Oid) * p->cap);
		p->values = repalloc(p->values, sizeof(Datum) * p->cap);
		p->nulls = repalloc(p->nulls, sizeof(char) * p->cap);
	}
	p->types[p->n] = type;
	p->values[p->n] = value;
	p->nulls[p->n] = ' ';
	return ++p->n;
}

/* The SQL spelling of a parameter type (the cast makes compiled SQL readable). */
static const char *
param_type_name(Oid type)
{
	switch (type)
	{
		case TEXTOID:
			return "text";
		case TEXTARRAYOID:
			return "text[]";
		case INT4OID:
			return "integer";
		case INT4ARRAYOID:
			return "integer[]";
		case TIMESTAMPTZOID:
			return "timestamptz";
		case TIMESTAMPTZARRAYOID:
			return "timestamptz[]";
		case JSONBOID:
			return "jsonb";
		case JSONBARRAYOID:
			return "jsonb[]";
		case JSONPATHOID:
			return "jsonpath";
	}
	elog(ERROR, "unexpected search parameter type %u", type);
	return NULL;				/* keep compiler quiet */
}

/* Append "$n::type" for an existing parameter. */
void
ms_param_ref(StringInfo buf, MsParams *p, int n)
{
	appendStringInfo(buf, "$%d::%s", n, param_type_name(p->types[n - 1]));
}

/* Bind a value and append its reference. */
void
ms_param_emit(StringInfo buf, MsParams *p, Oid type, Datum value)
{
	ms_param_ref(buf, p, ms_param_add(p, type, value));
}

/* A text[] datum from C strings. */
Datum
ms_text_array(char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = PointerGetDatum(cstring_to_text(items[i]));
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* A jsonb container as canonical text. */
char *
ms_jsonb_container_text(JsonbContainer *c)
{
	return JsonbToCString(NULL, c, -1);
}

/* ---------------------------------------------------------------- errors */

/* Reject the document at the current location: 22023, or 54000 for a limit. */
static void
pg_attribute_printf(3, 4) pg_attribute_noreturn()
bad(FilterCtx *cx, int code, const char *fmt,...)
{
	char		msg[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code == MS_ERRCODE_LIMIT_EXCEEDED)
		ereport(ERROR,
				(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
				 errmsg("invalid search query: %s", msg),
				 errdetail("At %s.", cx->loc.data),
				 errhint("The limits are listed in docs/search.md.")));
	ereport(ERROR,
			(errcode(MS_ERRCODE_INVALID_VALUE),
			 errmsg("invalid search query: %s", msg),
			 errdetail("At %s.", cx->loc.data),
			 errhint("The query language is described in docs/search.md.")));
	pg_unreachable();
}

/* Descend into a part of the document for error locations; returns the mark to restore. */
static int
loc_push(FilterCtx *cx, const char *fmt, const char *name, int index)
{
	int			mark = cx->loc.len;

	if (name != NULL)
		appendStringInfo(&cx->loc, fmt, name);
	else
		appendStringInfo(&cx->loc, fmt, index);
	return mark;
}

/* Undo loc_push. */
static void
loc_pop(FilterCtx *cx, int mark)
{
	cx->loc.len = mark;
	cx->loc.data[mark] = '\0';
}

/* ---------------------------------------------------------------- JSON helpers */

/* The JSON type of a value taken out of a container. */
static JType
jtype(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return J_NULL;
		case jbvString:
			return J_STRING;
		case jbvNumeric:
			return J_NUMBER;
		case jbvBool:
			return J_BOOL;
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? J_OBJECT : J_ARRAY;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return J_NULL;				/* keep compiler quiet */
}

/* v as a NUL-terminated C string (v is a jbvString). */
static char *
jstring(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Look up key in an object container. */
static bool
jget(JsonbContainer *obj, const char *key, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), out) != NULL;
}

/*
 * Does obj have a key that is not in allowed (NULL-terminated)?  The first
 * such key goes to *unknown.  Shared by every part of a query document.
 */
bool
ms_jsonb_unknown_key(JsonbContainer *obj, const char *const *allowed, JsonbValue *unknown)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, unknown, true)) != WJB_DONE)
	{
		bool		ok = false;

		if (tok != WJB_KEY)
			continue;
		for (int i = 0; allowed[i] != NULL; i++)
			if (strlen(allowed[i]) == unknown->val.string.len &&
				memcmp(allowed[i], unknown->val.string.val, unknown->val.string.len) == 0)
				ok = true;
		if (!ok)
			return true;
	}
	return false;
}

/* Reject keys of obj that are not in allowed. */
static void
check_keys(FilterCtx *cx, JsonbContainer *obj, const char *const *allowed, const char *what)
{
	JsonbValue	v;

	if (ms_jsonb_unknown_key(obj, allowed, &v))
		bad(cx, MS_ERRCODE_INVALID_VALUE, "unknown key \"%.*s\" in %s",
			Min(v.val.string.len, 64), v.val.string.val, what);
}

/* A value as a jsonb datum, within the size limit. */
static Jsonb *
value_jsonb(FilterCtx *cx, JsonbValue *v)
{
	Jsonb	   *j = JsonbValueToJsonb(v);

	if (VARSIZE(j) > MS_FILTER_MAX_VALUE_BYTES)
		bad(cx, MS_ERRCODE_LIMIT_EXCEEDED, "the value is larger than %d bytes",
			MS_FILTER_MAX_VALUE_BYTES);
	return j;
}

/*
 * {"s1": {"s2": ... v}} for a path of object keys: the document shape that
 * jsonb containment (@>) matches exactly when the value at the path is v.
 * With as_array a non-array v is wrapped in [v] first.
 */
static Jsonb *
wrap_value(const MsField *f, JsonbValue *v, bool as_array)
{
	JsonbParseState *st = NULL;
	JsonbValue *res = NULL;
	bool		wrap_arr = as_array && jtype(v) != J_ARRAY;

	for (int i = 0; i < f->npath; i++)
	{
		JsonbValue	k;

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		k.type = jbvString;
		k.val.string.val = f->path[i];
		k.val.string.len = strlen(f->path[i]);
		pushJsonbValue(&st, WJB_KEY, &k);
	}
	if (wrap_arr)
	{
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		pushJsonbValue(&st, WJB_ELEM, v);
		/* closing the array adds it to the enclosing object, if any */
		res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	}
	else if (f->npath > 0)
		pushJsonbValue(&st, WJB_VALUE, v);
	else
		return JsonbValueToJsonb(v);
	for (int i = 0; i < f->npath; i++)
		res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* ---------------------------------------------------------------- fields */

/* Could jsonb's #> read this segment as an array index (it uses strtoint)? */
static bool
segment_is_index(const char *s)
{
	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	if (*s == '+' || *s == '-')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

/*
 * Resolve a field name: one of the fixed names, or metadata.<path>.  `where`
 * names the place in the query for the error message.
 */
void
ms_field_resolve(const char *name, int len, MsField *out, const char *where)
{
	const char *dot;

	for (int i = 0; i < lengthof(field_table); i++)
		if (strlen(field_table[i].name) == len && memcmp(field_table[i].name, name, len) == 0)
		{
			*out = field_table[i];
			out->npath = 0;
			out->path = NULL;
			out->keys_only = true;
			out->path_param = 0;
			return;
		}
	if (len > 9 && memcmp(name, "metadata.", 9) == 0)
	{
		const char *p = name + 9;
		const char *end = name + len;

		*out = field_table[9];	/* metadata */
		Assert(strcmp(out->name, "metadata") == 0);
		out->nullable = true;
		out->keys_only = true;
		out->npath = 0;
		out->path_param = 0;
		out->path = palloc(sizeof(char *) * MS_FILTER_MAX_SEGMENTS);
		for (;;)
		{
			int			seglen;

			dot = memchr(p, '.', end - p);
			seglen = (dot ? dot : end) - p;
			if (seglen == 0)
				ereport(ERROR,
						(errcode(MS_ERRCODE_INVALID_VALUE),
						 errmsg("invalid search query: field \"%.*s\" has an empty path segment",
								Min(len, 128), name),
						 errdetail("At %s.", where)));
			if (seglen > MS_FILTER_MAX_SEGMENT_BYTES)
				ereport(ERROR,
						(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
						 errmsg("invalid search query: a path segment is longer than %d bytes",
								MS_FILTER_MAX_SEGMENT_BYTES),
						 errdetail("At %s.", where)));
			if (out->npath == MS_FILTER_MAX_SEGMENTS)
				ereport(ERROR,
						(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
						 errmsg("invalid search query: a path has more than %d segments",
								MS_FILTER_MAX_SEGMENTS),
						 errdetail("At %s.", where)));
			if (memchr(p, '\0', seglen) != NULL)
				ereport(ERROR,
						(errcode(MS_ERRCODE_INVALID_VALUE),
						 errmsg("invalid search query: a path segment contains a NUL character"),
						 errdetail("At %s.", where)));
			out->path[out->npath] = pnstrdup(p, seglen);
			if (segment_is_index(out->path[out->npath]))
				out->keys_only = false;
			out->npath++;
			if (dot == NULL)
				break;
			p = dot + 1;
		}
		return;
	}
	ereport(ERROR,
			(errcode(MS_ERRCODE_INVALID_VALUE),
			 errmsg("invalid search query: unknown field \"%.*s\"", Min(len, 128), name),
			 errdetail("At %s.", where),
			 errhint("Fields: key, namespace, tags, owner, version, created_at, updated_at, created_by, updated_by, metadata, metadata.<path>.")));
}

/*
 * The value of a JSON field as SQL: the document, or the value at the path
 * (as_text: its text, #>>).  The path is a parameter bound here.
 */
void
ms_field_path_expr(StringInfo buf, MsParams *p, MsField *f, bool as_text)
{
	if (f->npath == 0)
	{
		appendStringInfoString(buf, as_text ? "(r.metadata #>> '{}')" : "r.metadata");
		return;
	}
	appendStringInfoString(buf, as_text ? "(r.metadata #>> " : "(r.metadata #> ");
	if (f->path_param == 0)
		f->path_param = ms_param_add(p, TEXTARRAYOID, ms_text_array(f->path, f->npath));
	ms_param_ref(buf, p, f->path_param);
	appendStringInfoChar(buf, ')');
}

/* ---------------------------------------------------------------- typed values */

/* A string value or an error naming what was expected. */
static char *
want_string(FilterCtx *cx, JsonbValue *v, const char *what)
{
	if (v->type != jbvString)
		bad(cx, MS_ERRCODE_INVALID_VALUE, "%s needs a string value, not %s", what,
			jtype_names[jtype(v)]);
	if (v->val.string.len > MS_FILTER_MAX_VALUE_BYTES)
		bad(cx, MS_ERRCODE_LIMIT_EXCEEDED, "the value is larger than %d bytes",
			MS_FILTER_MAX_VALUE_BYTES);
	return jstring(v);
}

/* An integer value (version): an integral JSON number within int4. */
static int32
want_int(FilterCtx *cx, JsonbValue *v, const char *what)
{
	char	   *s;
	char	   *dot;
	char	   *end;
	long		n;

	if (v->type != jbvNumeric)
		bad(cx, MS_ERRCODE_INVALID_VALUE, "%s needs an integer value, not %s", what,
			jtype_names[jtype(v)]);
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	dot = strchr(s, '.');
	if (dot != NULL)
	{
		for (char *q = dot + 1; *q; q++)
			if (*q != '0')
				bad(cx, MS_ERRCODE_INVALID_VALUE, "%s needs an integer value, not %s", what, s);
		*dot = '\0';
	}
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < PG_INT32_MIN || n > PG_INT32_MAX)
		bad(cx, MS_ERRCODE_INVALID_VALUE, "%s needs an integer value in range, not %s", what, s);
	return (int32) n;
}

/* Two digits at s, or -1. */
static int
two_digits(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Days in a month of the proleptic Gregorian calendar. */
static int
days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return 29;
	return days[month - 1];
}

/*
 * An RFC 3339 timestamp (a zone is required; a date alone means midnight
 * UTC), checked by hand so that a bad one is our 22023, then converted by
 * PostgreSQL.
 */
static TimestampTz
want_timestamp(FilterCtx *cx, JsonbValue *v, const char *what)
{
	char	   *s = want_string(cx, v, what);
	const char *p = s;
	int			len = strlen(s);
	int			month,
				day;
	bool		ok = true;

	if (len < 10 || two_digits(p) < 0 || two_digits(p + 2) < 0 || p[4] != '-' ||
		(month = two_digits(p + 5)) < 1 || month > 12 || p[7] != '-' ||
		(day = two_digits(p + 8)) < 1 || day > days_in_month(two_digits(p) * 100 + two_digits(p + 2), month))
		ok = false;
	else if (len == 10)
		s = psprintf("%sT00:00:00Z", s);
	else
	{
		p += 10;
		if ((*p != 'T' && *p != 't' && *p != ' ') || two_digits(p + 1) < 0 ||
			two_digits(p + 1) > 23 || p[3] != ':' || two_digits(p + 4) < 0 ||
			two_digits(p + 4) > 59 || p[6] != ':' || two_digits(p + 7) < 0 ||
			two_digits(p + 7) > 60)
			ok = false;
		else
		{
			p += 9;
			if (*p == '.')
			{
				p++;
				if (*p < '0' || *p > '9')
					ok = false;
				while (*p >= '0' && *p <= '9')
					p++;
			}
			if (ok && (*p == 'Z' || *p == 'z'))
				ok = p[1] == '\0';
			else if (ok && (*p == '+' || *p == '-'))
				ok = two_digits(p + 1) >= 0 && two_digits(p + 1) <= 23 && p[3] == ':' &&
					two_digits(p + 4) >= 0 && two_digits(p + 4) <= 59 && p[6] == '\0';
			else
				ok = false;
		}
	}
	if (ok && len > 10)
	{
		/* PostgreSQL's parser wants the separator and the zone in upper case */
		s = pstrdup(s);
		s[10] = s[10] == 't' ? 'T' : s[10];
		if (s[len - 1] == 'z')
			s[len - 1] = 'Z';
	}
	if (!ok)
		bad(cx, MS_ERRCODE_INVALID_VALUE,
			"%s needs an RFC 3339 timestamp with a zone (2026-11-22T10:00:00Z) or a date, not \"%.64s\"",
			what, jstring(v));
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
}

/* The elements of an array value (with a size limit), or an error. */
static int
want_array(FilterCtx *cx, JsonbValue *v, const char *what, JsonbValue **elems)
{
	JsonbContainer *c;
	int			n;

	if (jtype(v) != J_ARRAY)
		bad(cx, MS_ERRCODE_INVALID_VALUE, "%s needs an array value, not %s", what,
			jtype_names[jtype(v)]);
	c = v->val.binary.data;
	n = JsonContainerSize(c);
	if (n > MS_FILTER_MAX_IN)
		bad(cx, MS_ERRCODE_LIMIT_EXCEEDED, "%s has more than %d values", what, MS_FILTER_MAX_IN);
	*elems = palloc(sizeof(JsonbValue) * Max(n, 1));
	for (int i = 0; i < n; i++)
		(*elems)[i] = *getIthJsonbValueFromContainer(c, i);
	return n;
}

/* Tags given as a string or an array of strings, as a text[] datum. */
static Datum
want_tags(FilterCtx *cx, JsonbValue *v, const char *what, bool array_only)
{
	JsonbValue *elems;
	char	  **items;
	int			n;

	if (v->type == jbvString && !array_only)
		return ms_text_array((char *[]) {want_string(cx, v, what)}, 1);
	n = want_array(cx, v, what, &elems);
	items = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		items[i] = want_string(cx, &elems[i], what);
	return ms_text_array(items, n);
}

/*
 * The least string greater than every string starting with s (byte order):
 * s with its last code point incremented; NULL when there is none.
 */
static char *
utf8_successor(const char *s)
{
	int			len = strlen(s);
	char	   *out = palloc(len + 5);

	memcpy(out, s, len + 1);
	while (len > 0)
	{
		int			start = len - 1;
		pg_wchar	cp;

		while (start > 0 && (((unsigned char) out[start]) & 0xC0) == 0x80)
			start--;
		cp = utf8_to_unicode((unsigned char *) out + start) + 1;
		len = start;
		if (cp == 0xD800)
			cp = 0xE000;
		if (cp > 0x10FFFF)
			continue;
		unicode_to_utf8(cp, (unsigned char *) out + len);
		len += pg_utf_mblen((unsigned char *) out + len);
		out[len] = '\0';
		return out;
	}
	return NULL;
}

/* ---------------------------------------------------------------- leaves */

/* Leaves over key, namespace, owner, created_by, updated_by. */
static bool
leaf_text(FilterCtx *cx, const MsField *f, FilterOp op, JsonbValue *v, StringInfo buf)
{
	MsParams   *p = cx->params;
	const char *col = f->column;
	const char *what = op_names[op];

	switch (op)
	{
		case OP_EQ:
		case OP_NEQ:
			appendStringInfo(buf, "%s %s ", col, op_sql[op]);
			ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(want_string(cx, v, what)));
			break;
		case OP_LT:
		case OP_LTE:
		case OP_GT:
		case OP_GTE:
			appendStringInfo(buf, "%s COLLATE \"C\" %s ", col, op_sql[op]);
			ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(want_string(cx, v, what)));
			break;
		case OP_BETWEEN:
			{
				JsonbValue *e;

				if (want_array(cx, v, what, &e) != 2)
					bad(cx, MS_ERRCODE_INVALID_VALUE, "between needs [low, high]");
				appendStringInfo(buf, "(%s COLLATE \"C\" >= ", col);
				ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(want_string(cx, &e[0], what)));
				appendStringInfo(buf, " AND %s COLLATE \"C\" <= ", col);
				ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(want_string(cx, &e[1], what)));
				appendStringInfoChar(buf, ')');
				break;
			}
		case OP_IN:
			appendStringInfo(buf, "%s = ANY(", col);
			ms_param_emit(buf, p, TEXTARRAYOID, want_tags(cx, v, what, true));
			appendStringInfoChar(buf, ')');
			break;
		case OP_CONTAINS:
			appendStringInfo(buf, "strpos(%s, ", col);
			ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(want_string(cx, v, what)));
			appendStringInfoString(buf, ") > 0");
			break;
		case OP_PREFIX:
			{
				char	   *s = want_string(cx, v, what);
				char	   *next;

				if (s[0] == '\0')
				{
					appendStringInfo(buf, f->nullable ? "%s IS NOT NULL" : "true", col);
					break;
				}
				if (GetDatabaseEncoding() != PG_UTF8)
				{
					appendStringInfo(buf, "starts_with(%s, ", col);
					ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(s));
					appendStringInfoChar(buf, ')');
					break;
				}
				/* a byte-order range: the btree on (namespace, key COLLATE "C") answers it */
				next = utf8_successor(s);
				appendStringInfo(buf, "(%s COLLATE \"C\" >= ", col);
				ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(s));
				if (next != NULL)
				{
					appendStringInfo(buf, " AND %s COLLATE \"C\" < ", col);
					ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(next));
				}
				appendStringInfoChar(buf, ')');
				break;
			}
		case OP_EXISTS:
			appendStringInfo(buf, f->nullable ? "%s IS NOT NULL" : "true", col);
			return false;
		default:
			elog(ERROR, "unexpected op %d for a text field", (int) op);
	}
	return f->nullable;
}

/* Leaves over version and the timestamps: same shapes, typed values. */
static bool
leaf_scalar(FilterCtx *cx, const MsField *f, FilterOp op, JsonbValue *v, StringInfo buf)
{
	MsParams   *p = cx->params;
	bool		is_int = f->kind == MS_FIELD_INT;
	Oid			type = is_int ? INT4OID : TIMESTAMPTZOID;
	const char *what = op_names[op];

#define SCALAR(val) (is_int ? Int32GetDatum(want_int(cx, (val), what)) \
					 : TimestampTzGetDatum(want_timestamp(cx, (val), what)))

	switch (op)
	{
		case OP_EQ:
		case OP_NEQ:
		case OP_LT:
		case OP_LTE:
		case OP_GT:
		case OP_GTE:
			appendStringInfo(buf, "%s %s ", f->column, op_sql[op]);
			ms_param_emit(buf, p, type, SCALAR(v));
			break;
		case OP_BETWEEN:
			{
				JsonbValue *e;

				if (want_array(cx, v, what, &e) != 2)
					bad(cx, MS_ERRCODE_INVALID_VALUE, "between needs [low, high]");
				appendStringInfo(buf, "(%s >= ", f->column);
				ms_param_emit(buf, p, type, SCALAR(&e[0]));
				appendStringInfo(buf, " AND %s <= ", f->column);
				ms_param_emit(buf, p, type, SCALAR(&e[1]));
				appendStringInfoChar(buf, ')');
				break;
			}
		case OP_IN:
			{
				JsonbValue *e;
				int			n = want_array(cx, v, what, &e);
				Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

				for (int i = 0; i < n; i++)
					d[i] = SCALAR(&e[i]);
				appendStringInfo(buf, "%s = ANY(", f->column);
				ms_param_emit(buf, p, is_int ? INT4ARRAYOID : TIMESTAMPTZARRAYOID,
							  PointerGetDatum(is_int
											  ? construct_array(d, n, INT4OID, 4, true, TYPALIGN_INT)
											  : construct_array(d, n, TIMESTAMPTZOID, 8,
																FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)));
				appendStringInfoChar(buf, ')');
				break;
			}
		case OP_EXISTS:
			appendStringInfoString(buf, "true");
			break;
		default:
			elog(ERROR, "unexpected op %d for a scalar field", (int) op);
	}
#undef SCALAR
	return false;
}

/* Leaves over tags (a set of strings). */
static bool
leaf_tags(FilterCtx *cx, const MsField *f, FilterOp op, JsonbValue *v, StringInfo buf)
{
	MsParams   *p = cx->params;
	int			n;

	switch (op)
	{
		case OP_EQ:
		case OP_NEQ:
			n = ms_param_add(p, TEXTARRAYOID, want_tags(cx, v, op_names[op], false));
			appendStringInfoString(buf, op == OP_EQ ? "(r.tags @> " : "NOT (r.tags @> ");
			ms_param_ref(buf, p, n);
			appendStringInfoString(buf, " AND r.tags <@ ");
			ms_param_ref(buf, p, n);
			appendStringInfoChar(buf, ')');
			break;
		case OP_CONTAINS:
		case OP_ARRAY_CONTAINS:
			appendStringInfoString(buf, "r.tags @> ");
			ms_param_emit(buf, p, TEXTARRAYOID, want_tags(cx, v, op_names[op], false));
			break;
		case OP_IN:
			appendStringInfoString(buf, "r.tags && ");
			ms_param_emit(buf, p, TEXTARRAYOID, want_tags(cx, v, op_names[op], true));
			break;
		case OP_EXISTS:
			appendStringInfoString(buf, "cardinality(r.tags) > 0");
			break;
		default:
			elog(ERROR, "unexpected op %d for tags", (int) op);
	}
	return false;
}

/* jsonb_typeof(X) = '<type>' AND ... : the guard that makes a mismatch false. */
static void
typeof_guard(StringInfo buf, MsParams *p, MsField *f, JType t)
{
	appendStringInfoString(buf, "(jsonb_typeof(");
	ms_field_path_expr(buf, p, f, false);
	appendStringInfo(buf, ") = '%s' AND ", jtype_names[t]);
}

/* Append the jsonpath of a path of object keys: $."a"."b". */
static void
jp_path(StringInfo jp, const MsField *f)
{
	appendStringInfoChar(jp, '$');
	for (int i = 0; i < f->npath; i++)
	{
		appendStringInfoChar(jp, '.');
		escape_json(jp, f->path[i]);
	}
}

/* The same in strict mode (no automatic unwrapping of arrays): strict $."a"."b". */
static void
jp_accessor(StringInfo jp, const MsField *f)
{
	appendStringInfoString(jp, "strict ");
	jp_path(jp, f);
}

/* Append a scalar as a jsonpath literal (numbers exact, strings escaped as JSON). */
static void
jp_literal(StringInfo jp, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			escape_json(jp, jstring(v));
			break;
		case jbvNumeric:
			appendStringInfoString(jp, DatumGetCString(DirectFunctionCall1(numeric_out,
																		   NumericGetDatum(v->val.numeric))));
			break;
		case jbvBool:
			appendStringInfoString(jp, v->val.boolean ? "true" : "false");
			break;
		default:
			elog(ERROR, "unexpected jsonpath literal type %d", (int) v->type);
	}
}

/* A jsonpath datum from its text (built only by this file, from escaped parts). */
static Datum
jp_datum(StringInfo jp)
{
	return DirectFunctionCall1(jsonpath_in, CStringGetDatum(jp->data));
}

/* Leaves over metadata and metadata.<path>: JSON semantics, mismatch is false. */
static bool
leaf_json(FilterCtx *cx, MsField *f, FilterOp op, JsonbValue *v, StringInfo buf)
{
	MsParams   *p = cx->params;
	bool		wrappable = f->keys_only && f->npath > 0;
	bool		nullable = f->npath > 0;
	const char *what = op_names[op];
	JType		t = v ? jtype(v) : J_NULL;

	switch (op)
	{
		case OP_EQ:
			if (wrappable)
			{
				/* containment is exact for a scalar; for a container it only pre-filters */
				appendStringInfoString(buf, t == J_OBJECT || t == J_ARRAY ? "(r.metadata @> " : "r.metadata @> ");
				ms_param_emit(buf, p, JSONBOID, JsonbPGetDatum(wrap_value(f, v, false)));
				if (t == J_OBJECT || t == J_ARRAY)
				{
					appendStringInfoString(buf, " AND ");
					ms_field_path_expr(buf, p, f, false);
					appendStringInfoString(buf, " = ");
					ms_param_emit(buf, p, JSONBOID, JsonbPGetDatum(value_jsonb(cx, v)));
					appendStringInfoChar(buf, ')');
				}
				return false;
			}
			ms_field_path_expr(buf, p, f, false);
			appendStringInfoString(buf, " = ");
			ms_param_emit(buf, p, JSONBOID, JsonbPGetDatum(value_jsonb(cx, v)));
			return nullable;
		case OP_NEQ:
			if (t == J_NULL)
			{
				/* present, of type null, and not equal to null: never */
				appendStringInfoString(buf, "false");
				return false;
			}
			if (f->keys_only && t != J_OBJECT && t != J_ARRAY)
			{
				/*
				 * A jsonpath predicate: a mismatch or a missing path is unknown
				 * (NULL), and the planner estimates it from the column's sample
				 * (a jsonb_typeof() guard gets a blind 0.5% and wrecks plans).
				 */
				StringInfoData jp;

				initStringInfo(&jp);
				jp_accessor(&jp, f);
				appendStringInfoString(&jp, " != ");
				jp_literal(&jp, v);
				/* jsonpath holds JSON null unequal to everything else; we call that a mismatch */
				appendStringInfoString(&jp, " && ");
				jp_path(&jp, f);
				appendStringInfoString(&jp, " != null");
				appendStringInfoString(buf, "r.metadata @@ ");
				ms_param_emit(buf, p, JSONPATHOID, jp_datum(&jp));
				return true;
			}
			typeof_guard(buf, p, f, t);
			ms_field_path_expr(buf, p, f, false);
			appendStringInfoString(buf, " <> ");
			ms_param_emit(buf, p, JSONBOID, JsonbPGetDatum(value_jsonb(cx, v)));
			appendStringInfoChar(buf, ')');
			return nullable;
		case OP_LT:
		case OP_LTE:
		case OP_GT:
		case OP_GTE:
		case OP_BETWEEN:
			{
				JsonbValue *bounds = v;
				int			nb = 1;

				if (op == OP_BETWEEN)
				{
					if (want_array(cx, v, what, &bounds) != 2)
						bad(cx, MS_ERRCODE_INVALID_VALUE, "between needs [low, high]");
					nb = 2;
					if (jtype(&bounds[0]) != jtype(&bounds[1]))
						bad(cx, MS_ERRCODE_INVALID_VALUE,
							"between needs two numbers or two strings, not %s and %s",
							jtype_names[jtype(&bounds[0])], jtype_names[jtype(&bounds[1])]);
				}
				t = jtype(&bounds[0]);
				if (t != J_NUMBER && t != J_STRING)
					bad(cx, MS_ERRCODE_INVALID_VALUE, "%s compares numbers or strings, not %s",
						what, jtype_names[t]);
				if (op == OP_BETWEEN && t == J_NUMBER)
				{
					/*
					 * No guard needed: in jsonb's order every value between
					 * two numbers is a number.  Plain comparisons cost what
					 * hand-written SQL costs (a jsonpath runs an interpreter
					 * per row).
					 */
					appendStringInfoChar(buf, '(');
					ms_field_path_expr(buf, p, f, false);
					appendStringInfoString(buf, " >= ");
					ms_param_emit(buf, p, JSONBOID, JsonbPGetDatum(value_jsonb(cx, &bounds[0])));
					appendStringInfoString(buf, " AND ");
					ms_field_path_expr(buf, p, f, false);
					appendStringInfoString(buf, " <= ");
					ms_param_emit(buf, p, JSONBOID, JsonbPGetDatum(value_jsonb(cx, &bounds[1])));
					appendStringInfoChar(buf, ')');
					return nullable;
				}
				if (f->keys_only)
				{
					/*
					 * jsonpath compares only numbers with numbers and strings
					 * with strings, by code point, exactly as specified; see
					 * OP_NEQ for why this beats a typeof guard.
					 */
					StringInfoData jp;

					initStringInfo(&jp);
					appendStringInfoString(&jp, "strict ");
					for (int i = 0; i < nb; i++)
					{
						if (i > 0)
							appendStringInfoString(&jp, " && ");
						jp_path(&jp, f);
						appendStringInfo(&jp, " %s ", op == OP_BETWEEN ? (i == 0 ? ">=" : "<=") : op_sql[op]);
						if (t == J_STRING)
							(void) want_string(cx, &bounds[i], what);	/* size check */
						jp_literal(&jp, &bounds[i]);
					}
					appendStringInfoString(buf, "r.metadata @@ ");
					ms_param_emit(buf, p, JSONPATHOID, jp_datum(&jp));
					return true;
				}
				typeof_guard(buf, p, f, t);
				for (int i = 0; i < nb; i++)
				{
					const char *cmp = op == OP_BETWEEN ? (i == 0 ? ">=" : "<=") : op_sql[op];

					if (i > 0)
						appendStringInfoString(buf, " AND ");
					if (t == J_NUMBER)
					{
						ms_field_path_expr(buf, p, f, false);
						appendStringInfo(buf, " %s ", cmp);
						ms_param_emit(buf, p, JSONBOID, JsonbPGetDatum(value_jsonb(cx, &bounds[i])));
					}
					else
					{
						ms_field_path_expr(buf, p, f, true);
						appendStringInfo(buf, " COLLATE \"C\" %s ", cmp);
						ms_param_emit(buf, p, TEXTOID,
									  CStringGetTextDatum(want_string(cx, &bounds[i], what)));
					}
				}
				appendStringInfoChar(buf, ')');
				return nullable;
			}
		case OP_IN:
			{
				JsonbValue *e;
				int			n = want_array(cx, v, what, &e);
				bool		scalars = wrappable;
				Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

				for (int i = 0; i < n; i++)
					if (jtype(&e[i]) == J_OBJECT || jtype(&e[i]) == J_ARRAY)
						scalars = false;
				for (int i = 0; i < n; i++)
					d[i] = JsonbPGetDatum(scalars ? wrap_value(f, &e[i], false)
										  : value_jsonb(cx, &e[i]));
				if (scalars)
					appendStringInfoString(buf, "r.metadata @> ANY(");
				else
				{
					ms_field_path_expr(buf, p, f, false);
					appendStringInfoString(buf, " = ANY(");
				}
				ms_param_emit(buf, p, JSONBARRAYOID,
							  PointerGetDatum(construct_array(d, n, JSONBOID, -1, false,
															  TYPALIGN_INT)));
				appendStringInfoChar(buf, ')');
				return scalars ? false : nullable;
			}
		case OP_CONTAINS:
		case OP_ARRAY_CONTAINS:
			if (op == OP_CONTAINS && t == J_STRING)
			{
				typeof_guard(buf, p, f, J_STRING);
				appendStringInfoString(buf, "strpos(");
				ms_field_path_expr(buf, p, f, true);
				appendStringInfoString(buf, ", ");
				ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(want_string(cx, v, what)));
				appendStringInfoString(buf, ") > 0)");
				return nullable;
			}
			if (op == OP_CONTAINS && t != J_OBJECT && t != J_ARRAY)
				bad(cx, MS_ERRCODE_INVALID_VALUE,
					"contains needs a string, an object or an array, not %s", jtype_names[t]);
			(void) value_jsonb(cx, v);	/* size check */
			if (wrappable)
			{
				/* exact: containment requires the value at the path to have this shape */
				appendStringInfoString(buf, "r.metadata @> ");
				ms_param_emit(buf, p, JSONBOID,
							  JsonbPGetDatum(wrap_value(f, v, op == OP_ARRAY_CONTAINS)));
				return false;
			}
			typeof_guard(buf, p, f, op == OP_ARRAY_CONTAINS ? J_ARRAY : t);
			ms_field_path_expr(buf, p, f, false);
			appendStringInfoString(buf, " @> ");
			ms_param_emit(buf, p, JSONBOID,
						  JsonbPGetDatum(wrap_value(&(MsField) {.npath = 0}, v,
													op == OP_ARRAY_CONTAINS)));
			appendStringInfoChar(buf, ')');
			return nullable;
		case OP_PREFIX:
			if (f->keys_only)
			{
				StringInfoData jp;

				initStringInfo(&jp);
				jp_accessor(&jp, f);
				appendStringInfoString(&jp, " starts with ");
				(void) want_string(cx, v, what);
				jp_literal(&jp, v);
				appendStringInfoString(buf, "r.metadata @@ ");
				ms_param_emit(buf, p, JSONPATHOID, jp_datum(&jp));
				return true;
			}
			typeof_guard(buf, p, f, J_STRING);
			appendStringInfoString(buf, "starts_with(");
			ms_field_path_expr(buf, p, f, true);
			appendStringInfoString(buf, ", ");
			ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(want_string(cx, v, what)));
			appendStringInfoString(buf, "))");
			return nullable;
		case OP_EXISTS:
		case OP_HAS_KEY:
			{
				char	   *key = NULL;
				MsField		parent = *f;

				parent.path_param = 0;	/* its own, shorter path */
				if (op == OP_HAS_KEY)
					key = want_string(cx, v, what);
				else if (f->npath == 0)
				{
					appendStringInfoString(buf, "true");
					return false;
				}
				else
				{
					/* exists(a.b.c) is has_key(a.b, "c") */
					key = f->path[f->npath - 1];
					parent.npath--;
				}
				if (f->keys_only)
				{
					/*
					 * The first key must be a top-level key: ? finds it through
					 * the jsonb_ops GIN index (which cannot answer a path's
					 * existence by itself, nor can @?) and the planner
					 * estimates it from the column's statistics.  Then -> with
					 * a text key is exactly "the object has this key": it
					 * finds no member of an array or a scalar.
					 */
					int			first = ms_param_add(p, TEXTOID,
													 CStringGetTextDatum(parent.npath > 0 ? parent.path[0] : key));

					appendStringInfoString(buf, "(r.metadata ? ");
					ms_param_ref(buf, p, first);
					appendStringInfoString(buf, " AND (");
					ms_field_path_expr(buf, p, &parent, false);
					appendStringInfoString(buf, " -> ");
					if (parent.npath == 0)
						ms_param_ref(buf, p, first);	/* the same key */
					else
						ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(key));
					appendStringInfoString(buf, ") IS NOT NULL)");
					return false;
				}
				if (op == OP_EXISTS)
				{
					ms_field_path_expr(buf, p, f, false);
					appendStringInfoString(buf, " IS NOT NULL");
					return false;
				}
				typeof_guard(buf, p, f, J_OBJECT);
				ms_field_path_expr(buf, p, f, false);
				appendStringInfoString(buf, " ? ");
				ms_param_emit(buf, p, TEXTOID, CStringGetTextDatum(key));
				appendStringInfoChar(buf, ')');
				return nullable;
			}
	}
	elog(ERROR, "unexpected op %d for a JSON field", (int) op);
	return false;				/* keep compiler quiet */
}

/* A leaf {"field", "op", "value"}. */
static void
compile_leaf(FilterCtx *cx, JsonbContainer *node, bool neg, StringInfo buf)
{
	static const char *const leaf_keys[] = {"field", "op", "value", NULL};
	JsonbValue	fv,
				ov,
				vv;
	JsonbValue *value = NULL;
	MsField		f;
	FilterOp	op = OP_EQ;
	bool		found = false;
	bool		nullable;
	StringInfoData leaf;
	int			mark;

	check_keys(cx, node, leaf_keys, "a filter leaf");
	if (++cx->leaves > MS_FILTER_MAX_LEAVES)
		bad(cx, MS_ERRCODE_LIMIT_EXCEEDED, "the filter has more than %d leaves",
			MS_FILTER_MAX_LEAVES);
	if (!jget(node, "field", &fv) || fv.type != jbvString)
		bad(cx, MS_ERRCODE_INVALID_VALUE, "a leaf needs \"field\" (a string)");
	if (!jget(node, "op", &ov) || ov.type != jbvString)
		bad(cx, MS_ERRCODE_INVALID_VALUE, "a leaf needs \"op\" (a string)");
	for (int i = 0; i < lengthof(op_names); i++)
		if (strlen(op_names[i]) == ov.val.string.len &&
			memcmp(op_names[i], ov.val.string.val, ov.val.string.len) == 0)
		{
			op = (FilterOp) i;
			found = true;
		}
	mark = loc_push(cx, "%s", ".op", 0);
	if (!found)
		bad(cx, MS_ERRCODE_INVALID_VALUE,
			"unknown operator \"%.*s\" (operators: eq, neq, lt, lte, gt, gte, between, in, contains, array_contains, prefix, exists, has_key)",
			Min(ov.val.string.len, 64), ov.val.string.val);
	loc_pop(cx, mark);

	mark = loc_push(cx, "%s", ".field", 0);
	ms_field_resolve(fv.val.string.val, fv.val.string.len, &f, cx->loc.data);
	if ((kind_ops[f.kind] & OPBIT(op)) == 0)
		bad(cx, MS_ERRCODE_INVALID_VALUE, "operator \"%s\" does not apply to field \"%.*s\"",
			op_names[op], Min(fv.val.string.len, 128), fv.val.string.val);
	loc_pop(cx, mark);

	if (jget(node, "value", &vv))
		value = &vv;
	mark = loc_push(cx, "%s", ".value", 0);
	if (op == OP_EXISTS)
	{
		if (value != NULL && value->type != jbvBool)
			bad(cx, MS_ERRCODE_INVALID_VALUE, "exists takes no value, true or false");
		if (value != NULL && !value->val.boolean)
			neg = !neg;
		value = NULL;
	}
	else if (value == NULL)
		bad(cx, MS_ERRCODE_INVALID_VALUE, "operator \"%s\" needs a \"value\"", op_names[op]);
	else if (value->type == jbvString && value->val.string.len > MS_FILTER_MAX_VALUE_BYTES)
		bad(cx, MS_ERRCODE_LIMIT_EXCEEDED, "the value is larger than %d bytes",
			MS_FILTER_MAX_VALUE_BYTES);
	else if (value->type == jbvBinary)
		(void) value_jsonb(cx, value);

	initStringInfo(&leaf);
	switch (f.kind)
	{
		case MS_FIELD_TEXT:
			nullable = leaf_text(cx, &f, op, value, &leaf);
			break;
		case MS_FIELD_INT:
		case MS_FIELD_TIMESTAMP:
			nullable = leaf_scalar(cx, &f, op, value, &leaf);
			break;
		case MS_FIELD_TAGS:
			nullable = leaf_tags(cx, &f, op, value, &leaf);
			break;
		case MS_FIELD_JSON:
			nullable = leaf_json(cx, &f, op, value, &leaf);
			break;
		default:
			elog(ERROR, "field kind %d cannot be filtered", (int) f.kind);
	}
	loc_pop(cx, mark);

	if (!neg)
		appendStringInfoString(buf, leaf.data);
	else if (nullable)
		appendStringInfo(buf, "(%s) IS NOT TRUE", leaf.data);
	else
		appendStringInfo(buf, "NOT (%s)", leaf.data);
}

/*
 * One node: and / or / not / leaf.  `neg` pushes a not down to the leaves
 * (De Morgan), so positive leaves keep their index-friendly form.
 */
static void
compile_node(FilterCtx *cx, JsonbContainer *node, bool neg, int depth, StringInfo buf)
{
	JsonbValue	v;
	int			forms = 0;
	bool		is_and = false;

	check_stack_depth();
	if (!JsonContainerIsObject(node))
		bad(cx, MS_ERRCODE_INVALID_VALUE, "a filter must be an object");

	forms = (jget(node, "and", &v) ? 1 : 0) + (jget(node, "or", &v) ? 1 : 0) +
		(jget(node, "not", &v) ? 1 : 0);
	if (forms == 0)
	{
		compile_leaf(cx, node, neg, buf);
		return;
	}
	if (forms > 1 || JsonContainerSize(node) > 1)
		bad(cx, MS_ERRCODE_INVALID_VALUE,
			"a filter node is exactly one of {\"and\": [...]}, {\"or\": [...]}, {\"not\": {...}} or a leaf");
	/* depth counts and/or/not levels, not the leaves under them */
	if (depth + 1 > MS_FILTER_MAX_DEPTH)
		bad(cx, MS_ERRCODE_LIMIT_EXCEEDED, "and/or/not are nested deeper than %d levels",
			MS_FILTER_MAX_DEPTH);

	if (jget(node, "not", &v))
	{
		int			mark = loc_push(cx, "%s", ".not", 0);

		if (jtype(&v) != J_OBJECT)
			bad(cx, MS_ERRCODE_INVALID_VALUE, "\"not\" takes one filter object");
		compile_node(cx, v.val.binary.data, !neg, depth + 1, buf);
		loc_pop(cx, mark);
		return;
	}

	is_and = jget(node, "and", &v);
	{
		const char *name = is_and ? "and" : "or";
		int			mark = loc_push(cx, ".%s", name, 0);
		JsonbContainer *arr;
		int			n;
		bool		conj = is_and != neg;	/* AND after pushing the not down */

		if (jtype(&v) != J_ARRAY)
			bad(cx, MS_ERRCODE_INVALID_VALUE, "\"%s\" takes an array of filters", name);
		arr = v.val.binary.data;
		n = JsonContainerSize(arr);
		if (n == 0)
		{
			appendStringInfoString(buf, conj ? "true" : "false");
			loc_pop(cx, mark);
			return;
		}
		appendStringInfoChar(buf, '(');
		for (int i = 0; i < n; i++)
		{
			JsonbValue *child = getIthJsonbValueFromContainer(arr, i);
			int			m2 = loc_push(cx, "[%d]", NULL, i);

			if (jtype(child) != J_OBJECT)
				bad(cx, MS_ERRCODE_INVALID_VALUE, "a filter must be an object");
			if (i > 0)
				appendStringInfoString(buf, conj ? " AND " : " OR ");
			compile_node(cx, child->val.binary.data, neg, depth + 1, buf);
			loc_pop(cx, m2);
		}
		appendStringInfoChar(buf, ')');
		loc_pop(cx, mark);
	}
}

/*
 * Validate a filter document and append its predicate over alias r to buf,
 * binding its values in params.
 */
void
ms_filter_compile(JsonbContainer *filter, MsParams *params, StringInfo buf)
{
	FilterCtx	cx;

	cx.params = params;
	cx.leaves = 0;
	initStringInfo(&cx.loc);
	appendStringInfoString(&cx.loc, "filter");
	compile_node(&cx, filter, false, 0, buf);
}
