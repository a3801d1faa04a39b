/*
 * search.c: metastore.search_records and its tools (compile_filter,
 * explain_search): the query document around a filter (projection, sort,
 * keyset pages, cursors), one SQL statement per query, plans prepared once
 * per backend, executed as the narrow metastore_search role.
 */
#include "postgres.h"

#include <sodium.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/tupdesc.h"
#include "utils/acl.h"
#include "utils/tuplestore.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "access.h"
#include "cursor.h"
#include "errors.h"
#include "filter.h"
#include "spi_util.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(search_records);
PG_FUNCTION_INFO_V1(compile_filter);
PG_FUNCTION_INFO_V1(explain_search);
PG_FUNCTION_INFO_V1(compile_search);

#define MS_SEARCH_MAX_SORT		4
#define MS_SEARCH_MAX_FIELDS	32
#define MS_SEARCH_MAX_LIMIT		1000
#define MS_SEARCH_DEFAULT_LIMIT 50
#define MS_SEARCH_PLAN_CACHE	256
#define MS_SEARCH_ROLE			"metastore_search"

/* One ORDER BY entry (the user's, then the key / namespace tie-breakers). */
typedef struct SortKey
{
	MsField		field;
	bool		desc;
	char	   *expr;			/* SQL, e.g. r.key COLLATE "C" */
	Oid			type;			/* TEXTOID, INT4OID, TIMESTAMPTZOID or JSONBOID */
	bool		nullable;
} SortKey;

/* A metadata.<path> projection, as a tree of object keys. */
typedef struct ProjNode
{
	char	   *key;
	int			col;			/* SPI column of the value; 0 for an inner node */
	List	   *children;
} ProjNode;

/* A query being compiled. */
typedef struct Search
{
	const char *ns;				/* NULL: every namespace the principal reads */
	JsonbContainer *filter;
	JsonbContainer *sort;
	JsonbContainer *fields;
	int			limit;
	char	   *cursor;
	SortKey		keys[MS_SEARCH_MAX_SORT + 2];
	int			nkeys;
	List	   *proj;			/* of ProjNode: metadata paths */
	int			ncols;			/* select-list columns so far */
	int			first_sort_col;
	MsParams	params;
	StringInfoData sql;
	bool		have_ad;		/* ad computed (only a cursor needs it) */
	unsigned char ad[crypto_generichash_BYTES];
} Search;

/* ---------------------------------------------------------------- errors */

/* Reject a part of the query document (not the filter: filter.c does that). */
static void
pg_attribute_printf(2, 3) pg_attribute_noreturn()
bad_query(const char *where, const char *fmt,...)
{
	char		msg[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(MS_ERRCODE_INVALID_VALUE),
			 errmsg("invalid search query: %s", msg),
			 errdetail("At %s.", where),
			 errhint("The query language is described in docs/search.md.")));
	pg_unreachable();
}

/* Same, for a count limit (54000). */
static void
pg_attribute_noreturn()
over_limit(const char *where, const char *what, int max)
{
	ereport(ERROR,
			(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
			 errmsg("invalid search query: more than %d %s", max, what),
			 errdetail("At %s.", where)));
	pg_unreachable();
}

/* ---------------------------------------------------------------- parsing */

/* Look up a key of an object container. */
static bool
get_key(JsonbContainer *obj, const char *key, JsonbValue *out)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), out) != NULL;
}

/* Is v an array (or object, when want_object) container? */
static bool
is_container(const JsonbValue *v, bool want_object)
{
	return v->type == jbvBinary &&
		(want_object ? JsonContainerIsObject(v->val.binary.data)
		 : JsonContainerIsArray(v->val.binary.data));
}

/* Split the query document into its parts, checking each one's type. */
static void
parse_query(Search *s, Jsonb *query)
{
	static const char *const allowed[] = {"filter", "fields", "sort", "limit", "cursor", NULL};
	JsonbValue	v;

	s->limit = MS_SEARCH_DEFAULT_LIMIT;
	if (query == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(query))
		bad_query("query", "the query must be a JSON object");
	if (ms_jsonb_unknown_key(&query->root, allowed, &v))
		bad_query("query", "unknown key \"%.*s\" (keys: filter, fields, sort, limit, cursor)",
				  Min(v.val.string.len, 64), v.val.string.val);
	if (get_key(&query->root, "filter", &v))
	{
		if (!is_container(&v, true))
			bad_query("filter", "a filter must be an object");
		s->filter = v.val.binary.data;
	}
	if (get_key(&query->root, "fields", &v))
	{
		if (!is_container(&v, false))
			bad_query("fields", "fields must be an array of field names");
		s->fields = v.val.binary.data;
	}
	if (get_key(&query->root, "sort", &v))
	{
		if (!is_container(&v, false))
			bad_query("sort", "sort must be an array of {\"field\", \"dir\"} objects");
		s->sort = v.val.binary.data;
	}
	if (get_key(&query->root, "limit", &v))
	{
		char	   *txt;
		char	   *end;
		long		n;

		if (v.type != jbvNumeric)
			bad_query("limit", "limit must be an integer from 1 to %d", MS_SEARCH_MAX_LIMIT);
		txt = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		errno = 0;
		n = strtol(txt, &end, 10);
		if (errno != 0 || *end != '\0' || n < 1 || n > MS_SEARCH_MAX_LIMIT)
			bad_query("limit", "limit must be an integer from 1 to %d, not %s",
					  MS_SEARCH_MAX_LIMIT, txt);
		s->limit = (int) n;
	}
	if (get_key(&query->root, "cursor", &v))
	{
		if (v.type == jbvString)
			s->cursor = pnstrdup(v.val.string.val, v.val.string.len);
		else if (v.type != jbvNull)
			bad_query("cursor", "cursor must be a string (next_cursor of the previous page)");
	}
}

/* ---------------------------------------------------------------- select list */

/* Add a metadata path to the projection tree. */
static List *
proj_insert(List *nodes, char **path, int npath, int col)
{
	ListCell   *lc;
	ProjNode   *n = NULL;

	foreach(lc, nodes)
	{
		ProjNode   *c = lfirst(lc);

		if (strcmp(c->key, path[0]) == 0)
			n = c;
	}
	if (n == NULL)
	{
		n = palloc0(sizeof(ProjNode));
		n->key = path[0];
		nodes = lappend(nodes, n);
	}
	else if (n->col != 0)
		return nodes;			/* a shorter path already takes the whole value */
	if (npath == 1)
	{
		n->col = col;
		n->children = NIL;
	}
	else
		n->children = proj_insert(n->children, path + 1, npath - 1, col);
	return nodes;
}

/*
 * The first select-list column: the item as jsonb (the whole record, or the
 * projected plain fields); metadata paths follow as their own columns.
 */
static void
build_select_list(Search *s)
{
	StringInfo	sql = &s->sql;
	bool		want[14] = {false};
	static const char *const names[] = {"id", "namespace", "key", "metadata", "tags", "owner",
		"content_type", "description", "version", "created_at",
	"created_by", "updated_at", "updated_by", "deleted_at"};
	List	   *paths = NIL;	/* of MsField * */
	ListCell   *lc;
	bool		first = true;

	StaticAssertStmt(lengthof(names) == lengthof(want), "one flag per record field");
	appendStringInfoString(sql, "SELECT jsonb_build_object(");
	if (s->fields == NULL)
	{
		for (int i = 0; i < lengthof(names); i++)
			appendStringInfo(sql, "%s'%s', r.%s", i ? ", " : "", names[i], names[i]);
		appendStringInfoChar(sql, ')');
		s->ncols = 1;
		return;
	}

	if (JsonContainerSize(s->fields) > MS_SEARCH_MAX_FIELDS)
		over_limit("fields", "fields", MS_SEARCH_MAX_FIELDS);
	want[2] = true;				/* key, always */
	if (s->ns == NULL)
		want[1] = true;			/* and namespace when it varies */
	for (int i = 0; i < JsonContainerSize(s->fields); i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(s->fields, i);
		char	   *where = psprintf("fields[%d]", i);
		MsField    *f = palloc(sizeof(MsField));

		if (v->type != jbvString)
			bad_query(where, "fields must be field names (strings)");
		ms_field_resolve(v->val.string.val, v->val.string.len, f, where);
		if (f->kind == MS_FIELD_JSON && f->npath > 0)
		{
			paths = lappend(paths, f);
			continue;
		}
		for (int k = 0; k < lengthof(names); k++)
			if (strcmp(names[k], f->name) == 0)
				want[k] = true;
	}
	/* names[] are our own constants: each is a column of metastore.records */
	for (int k = 0; k < lengthof(names); k++)
		if (want[k])
		{
			appendStringInfo(sql, "%s'%s', r.%s", first ? "" : ", ", names[k], names[k]);
			first = false;
		}
	appendStringInfoChar(sql, ')');
	s->ncols = 1;
	if (want[3])
		return;					/* the whole document subsumes its paths */
	foreach(lc, paths)
	{
		MsField    *f = lfirst(lc);

		appendStringInfoString(sql, ", ");
		ms_field_path_expr(sql, &s->params, f, false);
		s->ncols++;
		s->proj = proj_insert(s->proj, f->path, f->npath, s->ncols);
	}
}

/* ---------------------------------------------------------------- sort */

/* Add an ORDER BY entry for a resolved field. */
static void
add_sort_key(Search *s, MsField *f, bool desc)
{
	SortKey    *k = &s->keys[s->nkeys++];
	StringInfoData e;

	k->field = *f;
	k->desc = desc;
	k->nullable = f->nullable;
	initStringInfo(&e);
	switch (f->kind)
	{
		case MS_FIELD_TEXT:
			appendStringInfo(&e, "%s COLLATE \"C\"", f->column);
			k->type = TEXTOID;
			break;
		case MS_FIELD_INT:
			appendStringInfoString(&e, f->column);
			k->type = INT4OID;
			break;
		case MS_FIELD_TIMESTAMP:
			appendStringInfoString(&e, f->column);
			k->type = TIMESTAMPTZOID;
			break;
		case MS_FIELD_JSON:
			ms_field_path_expr(&e, &s->params, f, false);
			k->type = JSONBOID;
			break;
		default:
			elog(ERROR, "field kind %d is not sortable", (int) f->kind);
	}
	k->expr = e.data;
}

/* The user's sort entries, then key (and namespace) to make the order total. */
static void
parse_sort(Search *s)
{
	bool		last_desc = false;
	bool		has_key = false;
	bool		has_ns = false;
	MsField		f;

	if (s->sort != NULL)
	{
		int			n = JsonContainerSize(s->sort);

		if (n > MS_SEARCH_MAX_SORT)
			over_limit("sort", "sort entries", MS_SEARCH_MAX_SORT);
		for (int i = 0; i < n; i++)
		{
			static const char *const allowed[] = {"field", "dir", NULL};
			JsonbValue *e = getIthJsonbValueFromContainer(s->sort, i);
			JsonbValue	fv,
						dv;
			char	   *where = psprintf("sort[%d]", i);
			JsonbValue	kv;

			if (!is_container(e, true))
				bad_query(where, "a sort entry must be an object {\"field\", \"dir\"}");
			if (ms_jsonb_unknown_key(e->val.binary.data, allowed, &kv))
				bad_query(where, "unknown key \"%.*s\" in a sort entry",
						  Min(kv.val.string.len, 64), kv.val.string.val);
			if (!get_key(e->val.binary.data, "field", &fv) || fv.type != jbvString)
				bad_query(where, "a sort entry needs \"field\" (a string)");
			ms_field_resolve(fv.val.string.val, fv.val.string.len, &f, psprintf("%s.field", where));
			if (f.kind == MS_FIELD_TAGS || f.kind == MS_FIELD_OTHER ||
				(f.kind == MS_FIELD_JSON && f.npath == 0))
				bad_query(psprintf("%s.field", where), "cannot sort by \"%s\"", f.name);
			last_desc = false;
			if (get_key(e->val.binary.data, "dir", &dv))
			{
				if (dv.type == jbvString && dv.val.string.len == 4 &&
					memcmp(dv.val.string.val, "desc", 4) == 0)
					last_desc = true;
				else if (!(dv.type == jbvString && dv.val.string.len == 3 &&
						   memcmp(dv.val.string.val, "asc", 3) == 0))
					bad_query(psprintf("%s.dir", where), "dir must be \"asc\" or \"desc\"");
			}
			if (f.npath == 0 && strcmp(f.name, "key") == 0)
				has_key = true;
			if (f.npath == 0 && strcmp(f.name, "namespace") == 0)
				has_ns = true;
			add_sort_key(s, &f, last_desc);
		}
	}
	if (!has_key)
	{
		ms_field_resolve("key", 3, &f, "sort");
		add_sort_key(s, &f, last_desc);
	}
	if (s->ns == NULL && !has_ns)
	{
		ms_field_resolve("namespace", 9, &f, "sort");
		add_sort_key(s, &f, last_desc);
	}
}

/* ---------------------------------------------------------------- cursors */

/*
 * The identity of a query that its cursors are bound to: computed only when
 * a cursor is read or sealed, so a one-page search does not pay for it.
 */
static void
query_identity(Search *s)
{
	crypto_generichash_state st;
	static const char sep = '\0';
	char	   *part;

	if (s->have_ad)
		return;
	s->have_ad = true;

	crypto_generichash_init(&st, NULL, 0, sizeof(s->ad));
	crypto_generichash_update(&st, (const unsigned char *) "metastore search v1", 19);
	part = s->ns ? psprintf("ns:%s", s->ns) : pstrdup("all namespaces");
	crypto_generichash_update(&st, (const unsigned char *) part, strlen(part) + 1);
	part = s->filter ? ms_jsonb_container_text(s->filter) : "";
	crypto_generichash_update(&st, (const unsigned char *) part, strlen(part));
	crypto_generichash_update(&st, (const unsigned char *) &sep, 1);
	part = s->sort ? ms_jsonb_container_text(s->sort) : "";
	crypto_generichash_update(&st, (const unsigned char *) part, strlen(part));
	crypto_generichash_final(&st, s->ad, sizeof(s->ad));
}

/* Push a jsonb datum as a value (scalars unwrapped). */
static void
push_jsonb(JsonbParseState **st, JsonbIteratorToken tok, Jsonb *j)
{
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(j))
		JsonbExtractScalar(&j->root, &v);
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &j->root;
		v.val.binary.len = VARSIZE(j) - VARHDRSZ;
	}
	pushJsonbValue(st, tok, &v);
}

/* Push an object key. */
static void
push_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

/* A numeric JsonbValue from an int64. */
static JsonbValue
numeric_value(int64 n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(n)));
	return v;
}

/* Seal the sort values of a row into a cursor. */
static char *
make_cursor(Search *s, HeapTuple tup, TupleDesc desc)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < s->nkeys; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(tup, desc, s->first_sort_col + i, &isnull);
		JsonbValue	v;

		if (isnull)
		{
			v.type = jbvNull;
			pushJsonbValue(&st, WJB_ELEM, &v);
			continue;
		}
		switch (s->keys[i].type)
		{
			case TEXTOID:
				v.type = jbvString;
				v.val.string.val = TextDatumGetCString(d);
				v.val.string.len = strlen(v.val.string.val);
				pushJsonbValue(&st, WJB_ELEM, &v);
				break;
			case INT4OID:
				v = numeric_value(DatumGetInt32(d));
				pushJsonbValue(&st, WJB_ELEM, &v);
				break;
			case TIMESTAMPTZOID:
				v = numeric_value(DatumGetTimestampTz(d));
				pushJsonbValue(&st, WJB_ELEM, &v);
				break;
			case JSONBOID:
				pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
				push_key(&st, "v");
				push_jsonb(&st, WJB_VALUE, DatumGetJsonbP(d));
				pushJsonbValue(&st, WJB_END_OBJECT, NULL);
				break;
			default:
				elog(ERROR, "unexpected sort type %u", s->keys[i].type);
		}
	}
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	query_identity(s);
	return ms_cursor_seal(JsonbToCString(NULL, &JsonbValueToJsonb(res)->root, -1),
						  s->ad, sizeof(s->ad));
}

/* Open the cursor and bind the sort values it holds. */
static void
read_cursor(Search *s, int *pnums, bool *isnull)
{
	char	   *payload;
	Jsonb	   *j;

	query_identity(s);
	payload = ms_cursor_open(s->cursor, s->ad, sizeof(s->ad));
	j = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(payload)));

	if (!JB_ROOT_IS_ARRAY(j) || JB_ROOT_IS_SCALAR(j) ||
		JsonContainerSize(&j->root) != s->nkeys)
		elog(ERROR, "a sealed search cursor does not match its query");
	for (int i = 0; i < s->nkeys; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(&j->root, i);
		Datum		d = (Datum) 0;

		isnull[i] = v->type == jbvNull;
		pnums[i] = 0;
		if (isnull[i])
			continue;
		switch (s->keys[i].type)
		{
			case TEXTOID:
				if (v->type != jbvString)
					elog(ERROR, "a sealed search cursor does not match its query");
				d = PointerGetDatum(cstring_to_text_with_len(v->val.string.val, v->val.string.len));
				break;
			case INT4OID:
			case TIMESTAMPTZOID:
				if (v->type != jbvNumeric)
					elog(ERROR, "a sealed search cursor does not match its query");
				d = DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric));
				if (s->keys[i].type == INT4OID)
					d = Int32GetDatum((int32) DatumGetInt64(d));
				break;
			case JSONBOID:
				{
					JsonbValue	inner;

					if (!is_container(v, true) || !get_key(v->val.binary.data, "v", &inner))
						elog(ERROR, "a sealed search cursor does not match its query");
					d = JsonbPGetDatum(JsonbValueToJsonb(&inner));
					break;
				}
		}
		pnums[i] = ms_param_add(&s->params, s->keys[i].type, d);
	}
}

/*
 * The keyset condition: rows strictly after the cursor in ORDER BY order.
 * A row comparison when it is exact (one direction, nothing NULL), which the
 * btree indexes answer as a range; otherwise the expanded form, with NULLs
 * last ascending and first descending as in ORDER BY.
 */
static void
append_keyset(Search *s, StringInfo sql)
{
	int			pnums[MS_SEARCH_MAX_SORT + 2];
	bool		isnull[MS_SEARCH_MAX_SORT + 2];
	bool		simple = true;
	bool		first_term = true;

	read_cursor(s, pnums, isnull);
	for (int i = 0; i < s->nkeys; i++)
		if (s->keys[i].nullable || isnull[i] || s->keys[i].desc != s->keys[0].desc)
			simple = false;

	appendStringInfoString(sql, "\n           AND ");
	if (simple)
	{
		appendStringInfoChar(sql, '(');
		for (int i = 0; i < s->nkeys; i++)
			appendStringInfo(sql, "%s%s", i ? ", " : "", s->keys[i].expr);
		appendStringInfo(sql, ") %s (", s->keys[0].desc ? "<" : ">");
		for (int i = 0; i < s->nkeys; i++)
		{
			if (i)
				appendStringInfoString(sql, ", ");
			ms_param_ref(sql, &s->params, pnums[i]);
		}
		appendStringInfoChar(sql, ')');
		return;
	}

	appendStringInfoChar(sql, '(');
	/* a plain bound on the first key lets an index start at the cursor */
	if (!s->keys[0].nullable && !isnull[0])
	{
		appendStringInfo(sql, "%s %s ", s->keys[0].expr, s->keys[0].desc ? "<=" : ">=");
		ms_param_ref(sql, &s->params, pnums[0]);
		appendStringInfoString(sql, " AND ");
	}
	appendStringInfoChar(sql, '(');
	for (int i = 0; i < s->nkeys; i++)
	{
		SortKey    *k = &s->keys[i];
		StringInfoData after;

		/* "k after the cursor value" */
		initStringInfo(&after);
		if (isnull[i])
		{
			if (!k->desc)
				continue;		/* nothing sorts after NULL ascending */
			appendStringInfo(&after, "%s IS NOT NULL", k->expr);
		}
		else
		{
			appendStringInfo(&after, "%s %s ", k->expr, k->desc ? "<" : ">");
			ms_param_ref(&after, &s->params, pnums[i]);
			if (k->nullable && !k->desc)
				appendStringInfo(&after, " OR %s IS NULL", k->expr);
		}
		if (!first_term)
			appendStringInfoString(sql, " OR ");
		first_term = false;
		appendStringInfoChar(sql, '(');
		for (int j = 0; j < i; j++)
		{
			if (isnull[j])
				appendStringInfo(sql, "%s IS NULL AND ", s->keys[j].expr);
			else
			{
				appendStringInfo(sql, "%s = ", s->keys[j].expr);
				ms_param_ref(sql, &s->params, pnums[j]);
				appendStringInfoString(sql, " AND ");
			}
		}
		appendStringInfo(sql, "(%s))", after.data);
	}
	if (first_term)
		appendStringInfoString(sql, "false");
	appendStringInfoString(sql, "))");
}

/* ---------------------------------------------------------------- the statement */

/*
 * Compile a query document into s->sql and s->params.  The page is chosen in
 * a subquery that carries only the row and its sort values; the items are
 * built from its at most limit+1 rows, so a plan that sorts every match
 * never builds JSON for rows it drops (PostgreSQL evaluates a select list
 * below a Sort).
 */
static void
build_search(Search *s, const char *ns, Jsonb *query)
{
	StringInfo	sql = &s->sql;

	memset(s, 0, sizeof(*s));
	s->ns = ns;
	initStringInfo(sql);
	ms_params_init(&s->params);
	parse_query(s, query);
	if (s->ns != NULL)
		(void) ms_param_add(&s->params, TEXTOID, CStringGetTextDatum(s->ns));

	build_select_list(s);
	parse_sort(s);
	s->first_sort_col = s->ncols + 1;
	for (int i = 0; i < s->nkeys; i++)
		appendStringInfo(sql, ", r.sort_%d", i + 1);
	appendStringInfoString(sql, "\n  FROM (SELECT r.*");
	for (int i = 0; i < s->nkeys; i++)
		appendStringInfo(sql, ", %s AS sort_%d", s->keys[i].expr, i + 1);
	appendStringInfoString(sql, "\n          FROM metastore.records r\n         WHERE r.deleted_at IS NULL\n           AND ");
	if (s->ns != NULL)
	{
		appendStringInfoString(sql, "r.namespace = ");
		ms_param_ref(sql, &s->params, 1);
	}
	else
		appendStringInfoString(sql, "metastore.has_role(r.namespace, 'reader')");
	if (s->filter != NULL)
	{
		appendStringInfoString(sql, "\n           AND ");
		ms_filter_compile(s->filter, &s->params, sql);
	}
	if (s->cursor != NULL)
		append_keyset(s, sql);
	appendStringInfoString(sql, "\n         ORDER BY ");
	for (int i = 0; i < s->nkeys; i++)
		appendStringInfo(sql, "%ssort_%d%s", i ? ", " : "", i + 1, s->keys[i].desc ? " DESC" : "");
	appendStringInfoString(sql, "\n         LIMIT ");
	ms_param_emit(sql, &s->params, INT4OID, Int32GetDatum(s->limit + 1));
	appendStringInfoString(sql, ") r\n ORDER BY ");
	for (int i = 0; i < s->nkeys; i++)
		appendStringInfo(sql, "%sr.sort_%d%s", i ? ", " : "", i + 1, s->keys[i].desc ? " DESC" : "");
}

/* ---------------------------------------------------------------- plans */

typedef struct PlanEntry
{
	uint64		hash;			/* hash key */
	char	   *sql;
	SPIPlanPtr	plan;
} PlanEntry;

static HTAB *plan_cache = NULL;
static MemoryContext plan_cxt = NULL;

/* Drop every cached plan (the cache is full). */
static void
plan_cache_reset(void)
{
	HASH_SEQ_STATUS it;
	PlanEntry  *e;

	if (plan_cache == NULL)
		return;
	hash_seq_init(&it, plan_cache);
	while ((e = hash_seq_search(&it)) != NULL)
		SPI_freeplan(e->plan);
	hash_destroy(plan_cache);
	plan_cache = NULL;
	MemoryContextReset(plan_cxt);
}

/*
 * The prepared statement for this SQL text, made once per backend.  Planned
 * with each call's values (a custom plan): the best plan depends on them.
 */
static SPIPlanPtr
plan_for(Search *s)
{
	uint64		h = hash_bytes_extended((const unsigned char *) s->sql.data, s->sql.len, 0);
	PlanEntry  *e;
	bool		found;
	SPIPlanPtr	plan;

	if (plan_cxt == NULL)
		plan_cxt = AllocSetContextCreate(TopMemoryContext, "metastore search plans",
										 ALLOCSET_SMALL_SIZES);
	if (plan_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(PlanEntry);
		ctl.hcxt = plan_cxt;
		plan_cache = hash_create("metastore search plans", MS_SEARCH_PLAN_CACHE, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(plan_cache, &h, HASH_FIND, &found);
	if (found && strcmp(e->sql, s->sql.data) == 0)
		return e->plan;

	plan = SPI_prepare_cursor(s->sql.data, s->params.n, s->params.types, CURSOR_OPT_CUSTOM_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for a search: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	if (found)
	{
		SPI_freeplan(e->plan);	/* a hash collision: the newer statement wins */
		e->plan = plan;
		e->sql = MemoryContextStrdup(plan_cxt, s->sql.data);
		return plan;
	}
	if (hash_get_num_entries(plan_cache) >= MS_SEARCH_PLAN_CACHE)
	{
		/* full: start over (plans are cheap to make again; shapes rarely number this many) */
		SPIPlanPtr	keep = plan;
		HASHCTL		ctl;

		plan = NULL;
		plan_cache_reset();
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(PlanEntry);
		ctl.hcxt = plan_cxt;
		plan_cache = hash_create("metastore search plans", MS_SEARCH_PLAN_CACHE, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		plan = keep;
	}
	e = hash_search(plan_cache, &h, HASH_ENTER, NULL);
	e->sql = MemoryContextStrdup(plan_cxt, s->sql.data);
	e->plan = plan;
	return plan;
}

/* ---------------------------------------------------------------- running */

/* The role searches run as: reads metastore.records, bypasses row level security. */
static Oid
search_role(void)
{
	static Oid	role = InvalidOid;

	if (!OidIsValid(role))
	{
		role = get_role_oid(MS_SEARCH_ROLE, true);
		if (!OidIsValid(role))
			elog(ERROR, "role %s is missing: reinstall the metastore extension", MS_SEARCH_ROLE);
	}
	return role;
}

/* Check the caller may read the namespace (NULL: every readable one). */
static const char *
search_namespace(FunctionCallInfo fcinfo)
{
	const char *ns;

	if (PG_ARGISNULL(0))
		return NULL;
	ns = ms_check_namespace(PG_GETARG_TEXT_PP(0));
	ms_require_role(ns, MS_ROLE_READER);
	return ns;
}

/* Run sql (the search statement, or EXPLAIN of it) as the search role. */
static void
run_as_search_role(Search *s, SPIPlanPtr plan, const char *explain)
{
	Oid			save_user;
	int			save_sec;
	int			rc;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(search_role(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	/* an error on the way out restores the user through transaction abort */
	if (plan != NULL)
		rc = SPI_execute_plan(plan, s->params.values, s->params.nulls, true, 0);
	else
		rc = SPI_execute_with_args(psprintf("%s %s", explain, s->sql.data), s->params.n,
								   s->params.types, s->params.values, s->params.nulls, false, 0);
	SetUserIdAndSecContext(save_user, save_sec);
	if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
		elog(ERROR, "search failed: %s", SPI_result_code_string(rc));
}

/* Does any value below this projection node exist in the row? */
static bool
proj_has_value(ProjNode *n, HeapTuple tup, TupleDesc desc)
{
	ListCell   *lc;
	bool		isnull;

	if (n->col != 0)
	{
		(void) SPI_getbinval(tup, desc, n->col, &isnull);
		return !isnull;
	}
	foreach(lc, n->children)
		if (proj_has_value(lfirst(lc), tup, desc))
			return true;
	return false;
}

/* Emit the projected metadata paths of a row as nested objects. */
static void
proj_emit(JsonbParseState **st, List *nodes, HeapTuple tup, TupleDesc desc)
{
	ListCell   *lc;

	foreach(lc, nodes)
	{
		ProjNode   *n = lfirst(lc);

		if (!proj_has_value(n, tup, desc))
			continue;
		push_key(st, n->key);
		if (n->col != 0)
		{
			bool		isnull;

			push_jsonb(st, WJB_VALUE, DatumGetJsonbP(SPI_getbinval(tup, desc, n->col, &isnull)));
		}
		else
		{
			pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
			proj_emit(st, n->children, tup, desc);
			pushJsonbValue(st, WJB_END_OBJECT, NULL);
		}
	}
}

/* Append one result row to the items array. */
static void
push_item(Search *s, JsonbParseState **st, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Jsonb	   *base = DatumGetJsonbP(SPI_getbinval(tup, desc, 1, &isnull));
	bool		any = false;
	ListCell   *lc;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;

	foreach(lc, s->proj)
		if (proj_has_value(lfirst(lc), tup, desc))
			any = true;
	if (!any)
	{
		push_jsonb(st, WJB_ELEM, base);
		return;
	}
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	it = JsonbIteratorInit(&base->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY || tok == WJB_VALUE)
			pushJsonbValue(st, tok, &v);
	push_key(st, "metadata");
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	proj_emit(st, s->proj, tup, desc);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/*
 * search_records(namespace, query): one page of live records matching the
 * query, as {"items": [...], "next_cursor": ...}.
 */
Datum
search_records(PG_FUNCTION_ARGS)
{
	const char *ns = search_namespace(fcinfo);
	Jsonb	   *query = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	MemoryContext outer = CurrentMemoryContext;
	Search		s;
	SPIPlanPtr	plan;
	JsonbParseState *st = NULL;
	JsonbValue	v;
	JsonbValue *res;
	Jsonb	   *out;
	uint64		n;
	char	   *next = NULL;

	build_search(&s, ns, query);
	ms_spi_connect();
	plan = plan_for(&s);
	run_as_search_role(&s, plan, NULL);

	n = SPI_processed;
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_key(&st, "items");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (uint64 i = 0; i < n && i < (uint64) s.limit; i++)
		push_item(&s, &st, SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	if (n > (uint64) s.limit)
		next = make_cursor(&s, SPI_tuptable->vals[s.limit - 1], SPI_tuptable->tupdesc);
	push_key(&st, "next_cursor");
	if (next != NULL)
	{
		v.type = jbvString;
		v.val.string.val = next;
		v.val.string.len = strlen(next);
	}
	else
		v.type = jbvNull;
	pushJsonbValue(&st, WJB_VALUE, &v);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);

	MemoryContextSwitchTo(outer);
	out = JsonbValueToJsonb(res);
	SPI_finish();
	PG_RETURN_JSONB_P(out);
}

/* compile_filter(filter): the statement a search with this filter runs. */
Datum
compile_filter(PG_FUNCTION_ARGS)
{
	Jsonb	   *filter = PG_GETARG_JSONB_P(0);
	JsonbParseState *st = NULL;
	JsonbValue	f;
	Search		s;

	/* wrap it as {"filter": ...} so it goes through the same path as a search */
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_key(&st, "filter");
	if (!JB_ROOT_IS_OBJECT(filter))
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("invalid search query: a filter must be an object"),
				 errdetail("At filter.")));
	f.type = jbvBinary;
	f.val.binary.data = &filter->root;
	f.val.binary.len = VARSIZE(filter) - VARHDRSZ;
	pushJsonbValue(&st, WJB_VALUE, &f);
	build_search(&s, "namespace", JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)));
	PG_RETURN_TEXT_P(cstring_to_text(s.sql.data));
}

/* explain_search(namespace, query, analyze): the plan of a search, with its values. */
Datum
explain_search(PG_FUNCTION_ARGS)
{
	const char *ns = search_namespace(fcinfo);
	Jsonb	   *query = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	bool		analyze = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Search		s;
	MemoryContext old;
	TupleDesc	desc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		elog(ERROR, "explain_search must be called where a set is accepted");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	desc = CreateTemplateTupleDesc(1);
	TupleDescInitEntry(desc, (AttrNumber) 1, "explain_search", TEXTOID, -1, 0);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = desc;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
	build_search(&s, ns, query);
	ms_spi_connect();
	run_as_search_role(&s, NULL, analyze ? "EXPLAIN (ANALYZE, BUFFERS)" : "EXPLAIN");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		line = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		Datum		values[1];
		bool		nulls[1] = {false};

		values[0] = line;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * compile_search(namespace, query): the statement and its parameter values
 * (as text), without running it: for PREPARE / EXPLAIN by hand and tests.
 */
Datum
compile_search(PG_FUNCTION_ARGS)
{
	const char *ns = PG_ARGISNULL(0) ? NULL : ms_check_namespace(PG_GETARG_TEXT_PP(0));
	Jsonb	   *query = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	TupleDesc	desc;
	Datum	   *texts;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Search		s;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "compile_search must return a record");
	build_search(&s, ns, query);
	texts = palloc(sizeof(Datum) * Max(s.params.n, 1));
	for (int i = 0; i < s.params.n; i++)
	{
		Oid			out;
		bool		varlena;

		getTypeOutputInfo(s.params.types[i], &out, &varlena);
		texts[i] = CStringGetTextDatum(OidOutputFunctionCall(out, s.params.values[i]));
	}
	values[0] = CStringGetTextDatum(s.sql.data);
	values[1] = PointerGetDatum(construct_array(texts, s.params.n, TEXTOID, -1, false, TYPALIGN_INT));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
