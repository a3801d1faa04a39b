/*
 * flag_model.c: compile a stored flag definition (jsonb) into the model of
 * flags.h, once per cache load.
 *
 * Two modes share every line: strict (put_flag, put_segment: anything we
 * would not evaluate as written is rejected with 22023 naming its place)
 * and lenient (loading the cache, and Unleash imports: what Unleash would
 * evaluate to false is kept and evaluates to false here too).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation_d.h"
#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/float.h"
#include "utils/numeric.h"

#include "errors.h"
#include "flags.h"

/* Limits of one definition (docs/flags.md, "Limits"). */
#define MS_FLAG_MAX_STRATEGIES	1000
#define MS_FLAG_MAX_VALUES		100000

/* Where we are in the document, for error details. */
typedef struct Where
{
	bool		strict;
	const char *path;
	const char *what;			/* "flag definition" or "segment" */
	int			aliases;		/* MS_ALIAS_*: names the caller used for renamed fields */
} Where;

/* The place as the caller wrote it: normalize_flag renamed some fields. */
static const char *
caller_path(const Where *w, const char *path)
{
	static const struct
	{
		int			flag;
		const char *stored;
		const char *written;
	}			renames[] =
	{
		{MS_ALIAS_ENVIRONMENT_OVERRIDES, "definition.environments", "definition.environment_overrides"},
		{MS_ALIAS_TENANT_OVERRIDES, "definition.tenants", "definition.tenant_overrides"},
		{MS_ALIAS_PREREQUISITES, "definition.dependencies", "definition.prerequisites"},
	};

	for (int i = 0; i < lengthof(renames); i++)
	{
		size_t		n = strlen(renames[i].stored);

		if ((w->aliases & renames[i].flag) && strncmp(path, renames[i].stored, n) == 0 &&
			(path[n] == '\0' || path[n] == '.' || path[n] == '['))
			return psprintf("%s%s", renames[i].written, path + n);
	}
	return path;
}

/* Report a definition we will not store (strict) — lenient callers go on. */
static void
reject(const Where *w, const char *path, const char *msg)
{
	if (w->strict)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("invalid %s: %s", w->what ? w->what : "flag definition", msg),
				 errdetail("At %s.", caller_path(w, path)),
				 errhint("docs/flags.md describes the definition format.")));
}

/* path + "." + key */
static char *
sub(const char *path, const char *key)
{
	return psprintf("%s.%s", path, key);
}

/* path + "[i]" */
static char *
idx(const char *path, int i)
{
	return psprintf("%s[%d]", path, i);
}

/* Look up key in an object container; NULL when absent. */
static JsonbValue *
get(JsonbContainer *obj, const char *key)
{
	JsonbValue	res;
	JsonbValue *v;

	if (obj == NULL)
		return NULL;
	v = getKeyJsonValueFromContainer(obj, key, strlen(key), &res);
	if (v == NULL)
		return NULL;
	return (JsonbValue *) memcpy(palloc(sizeof(JsonbValue)), v, sizeof(JsonbValue));
}

/* Is v an object / array container? */
static bool
is_object(JsonbValue *v)
{
	return v && v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(JsonbValue *v)
{
	return v && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

/* Reject keys outside `allowed` (strict mode only). */
static void
check_keys(const Where *w, const char *path, JsonbContainer *obj, const char *const *allowed)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!w->strict)
		return;
	it = JsonbIteratorInit(obj);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			bool		ok = false;
			char	   *k = pnstrdup(v.val.string.val, v.val.string.len);

			for (const char *const *a = allowed; *a; a++)
				if (strcmp(*a, k) == 0)
					ok = true;
			if (!ok)
				reject(w, sub(path, k), psprintf("unknown field \"%s\"", k));
		}
	}
}

/* Scalar as text (strings as is, numbers and booleans as written); NULL otherwise. */
static char *
scalar_text(JsonbValue *v, int *len)
{
	char	   *s;

	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvString:
			*len = v->val.string.len;
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			s = DatumGetCString(DirectFunctionCall1(numeric_out,
													NumericGetDatum(v->val.numeric)));
			*len = strlen(s);
			return s;
		case jbvBool:
			s = pstrdup(v->val.boolean ? "true" : "false");
			*len = strlen(s);
			return s;
		default:
			return NULL;
	}
}

/* A string field; NULL when absent or null, rejected when another type. */
static char *
string_field(const Where *w, const char *path, JsonbContainer *obj, const char *key)
{
	JsonbValue *v = get(obj, key);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
	{
		reject(w, sub(path, key), psprintf("\"%s\" must be a string", key));
		return NULL;
	}
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* A boolean field with a default. */
static bool
bool_field(const Where *w, const char *path, JsonbContainer *obj, const char *key, bool dflt)
{
	JsonbValue *v = get(obj, key);

	if (v == NULL || v->type == jbvNull)
		return dflt;
	if (v->type != jbvBool)
	{
		reject(w, sub(path, key), psprintf("\"%s\" must be true or false", key));
		return dflt;
	}
	return v->val.boolean;
}

/* Classify a context field name (and its aliases). */
static MsFieldRef
field_ref(const char *name, int len)
{
	static const struct
	{
		const char *name;
		MsField		kind;
	}			known[] =
	{
		{"userId", MS_FIELD_USER_ID},
		{"targetingKey", MS_FIELD_USER_ID},
		{"user_id", MS_FIELD_USER_ID},
		{"sessionId", MS_FIELD_SESSION_ID},
		{"session_id", MS_FIELD_SESSION_ID},
		{"remoteAddress", MS_FIELD_REMOTE_ADDRESS},
		{"environment", MS_FIELD_ENVIRONMENT},
		{"appName", MS_FIELD_APP_NAME},
		{"currentTime", MS_FIELD_CURRENT_TIME},
		{"tenantId", MS_FIELD_TENANT_ID},
		{"tenant_id", MS_FIELD_TENANT_ID},
	};
	MsFieldRef	f;

	f.kind = MS_FIELD_OTHER;
	f.name = pnstrdup(name, len);
	f.len = len;
	for (int i = 0; i < lengthof(known); i++)
		if ((int) strlen(known[i].name) == len && memcmp(known[i].name, name, len) == 0)
			f.kind = known[i].kind;
	return f;
}

/* A stickiness setting: default, random, or a context field. */
static MsFieldRef
stickiness_ref(const char *name)
{
	MsFieldRef	f;

	if (name == NULL || name[0] == '\0' || strcmp(name, "default") == 0)
	{
		f.kind = MS_FIELD_DEFAULT;
		f.name = "default";
		f.len = 7;
		return f;
	}
	if (strcmp(name, "random") == 0)
	{
		f.kind = MS_FIELD_RANDOM;
		f.name = "random";
		f.len = 6;
		return f;
	}
	return field_ref(name, strlen(name));
}

/* Unleash's operator names. */
MsOperator
ms_operator_parse(const char *name, int len)
{
	static const struct
	{
		const char *name;
		MsOperator	op;
	}			ops[] =
	{
		{"IN", MS_OP_IN}, {"NOT_IN", MS_OP_NOT_IN},
		{"STR_STARTS_WITH", MS_OP_STR_STARTS_WITH}, {"STR_ENDS_WITH", MS_OP_STR_ENDS_WITH},
		{"STR_CONTAINS", MS_OP_STR_CONTAINS},
		{"NUM_EQ", MS_OP_NUM_EQ}, {"NUM_GT", MS_OP_NUM_GT}, {"NUM_GTE", MS_OP_NUM_GTE},
		{"NUM_LT", MS_OP_NUM_LT}, {"NUM_LTE", MS_OP_NUM_LTE},
		{"DATE_AFTER", MS_OP_DATE_AFTER}, {"DATE_BEFORE", MS_OP_DATE_BEFORE},
		{"SEMVER_EQ", MS_OP_SEMVER_EQ}, {"SEMVER_GT", MS_OP_SEMVER_GT},
		{"SEMVER_GTE", MS_OP_SEMVER_GTE}, {"SEMVER_LT", MS_OP_SEMVER_LT},
		{"SEMVER_LTE", MS_OP_SEMVER_LTE},
		{"REGEX", MS_OP_REGEX}, {"IN_CIDR", MS_OP_IN_CIDR},
	};

	for (int i = 0; i < lengthof(ops); i++)
		if ((int) strlen(ops[i].name) == len && memcmp(ops[i].name, name, len) == 0)
			return ops[i].op;
	return MS_OP_UNKNOWN;
}

/* Operators that take one "value" rather than a "values" list. */
static bool
single_valued(MsOperator op)
{
	return (op >= MS_OP_NUM_EQ && op <= MS_OP_SEMVER_LTE) || op == MS_OP_REGEX;
}

/* Lower-case a string as Unleash's caseInsensitive does. */
static char *
to_lower_case(const char *s, int len, int *outlen)
{
	char	   *l = str_tolower(s, len, DEFAULT_COLLATION_OID);

	*outlen = strlen(l);
	return l;
}

/*
 * A list of strings from a JSON array: Unleash drops empty entries and
 * trims the rest (for string operators); non-strings are kept as written.
 */
static void
strings_from_array(const Where *w, const char *path, JsonbValue *arr, bool trim,
				   bool lowercase, MsStrings *out)
{
	JsonbContainer *c;
	int			n;

	out->n = 0;
	out->s = NULL;
	out->len = NULL;
	if (arr == NULL || arr->type == jbvNull)
		return;
	if (!is_array(arr))
	{
		reject(w, path, "must be an array of strings");
		return;
	}
	c = arr->val.binary.data;
	n = JsonContainerSize(c);
	if (n > MS_FLAG_MAX_VALUES)
		ereport(ERROR,
				(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
				 errmsg("invalid flag definition: more than %d values", MS_FLAG_MAX_VALUES),
				 errdetail("At %s.", path)));
	out->s = palloc(sizeof(char *) * Max(n, 1));
	out->len = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(c, i);
		int			len;
		char	   *s = scalar_text(e, &len);

		if (s == NULL)
		{
			if (e->type != jbvNull)
				reject(w, idx(path, i), "must be a string");
			continue;
		}
		if (e->type != jbvString)
			reject(w, idx(path, i), "must be a string");
		if (trim)
		{
			while (len > 0 && isspace((unsigned char) s[len - 1]))
				s[--len] = '\0';
			while (len > 0 && isspace((unsigned char) *s))
				s++, len--;
		}
		if (len == 0)
			continue;
		if (lowercase)
			s = to_lower_case(s, len, &len);
		out->s[out->n] = s;
		out->len[out->n] = len;
		out->n++;
	}
}

/* Split Unleash's comma-separated parameter lists (userIds, IPs, hostNames). */
static void
strings_from_csv(const char *csv, MsStrings *out)
{
	int			n = 1;
	const char *p;

	out->n = 0;
	if (csv == NULL)
	{
		out->s = NULL;
		out->len = NULL;
		return;
	}
	for (p = csv; *p; p++)
		if (*p == ',')
			n++;
	out->s = palloc(sizeof(char *) * n);
	out->len = palloc(sizeof(int) * n);
	p = csv;
	for (;;)
	{
		const char *e = strchr(p, ',');
		const char *b = p;
		const char *end = e ? e : p + strlen(p);

		while (b < end && isspace((unsigned char) *b))
			b++;
		while (end > b && isspace((unsigned char) end[-1]))
			end--;
		out->s[out->n] = pnstrdup(b, end - b);
		out->len[out->n] = end - b;
		out->n++;
		if (e == NULL)
			break;
		p = e + 1;
	}
}

/* Compile one constraint. */
static void
constraint_compile(const Where *w, const char *path, JsonbValue *jv, MsConstraint *c)
{
	static const char *const keys[] = {"contextName", "operator", "values", "value",
	"inverted", "caseInsensitive", NULL};
	JsonbContainer *obj;
	char	   *name,
			   *op,
			   *value;
	int			vlen = 0;
	JsonbValue *vv;

	memset(c, 0, sizeof(*c));
	c->usable = false;
	c->field = field_ref("", 0);
	if (!is_object(jv))
	{
		reject(w, path, "a constraint must be an object");
		return;
	}
	obj = jv->val.binary.data;
	check_keys(w, path, obj, keys);
	name = string_field(w, path, obj, "contextName");
	op = string_field(w, path, obj, "operator");
	c->inverted = bool_field(w, path, obj, "inverted", false);
	c->case_insensitive = bool_field(w, path, obj, "caseInsensitive", false);
	if (name == NULL || name[0] == '\0')
	{
		reject(w, sub(path, "contextName"), "a constraint needs a contextName");
		return;
	}
	c->field = field_ref(name, strlen(name));
	if (op != NULL && c->case_insensitive &&
		!(strncmp(op, "STR_", 4) == 0 || strcmp(op, "REGEX") == 0))
		reject(w, sub(path, "caseInsensitive"),
			   psprintf("caseInsensitive applies to STR_* and REGEX, not %s", op));
	if (op == NULL)
	{
		reject(w, sub(path, "operator"), "a constraint needs an operator");
		return;
	}
	c->op = ms_operator_parse(op, strlen(op));
	if (c->op == MS_OP_UNKNOWN)
	{
		reject(w, sub(path, "operator"), psprintf("unknown operator \"%s\"", op));
		return;
	}

	if (!single_valued(c->op))
	{
		bool		is_str = c->op >= MS_OP_STR_STARTS_WITH && c->op <= MS_OP_STR_CONTAINS;

		strings_from_array(w, sub(path, "values"), get(obj, "values"), true,
						   is_str && c->case_insensitive, &c->values);
		if (c->values.n == 0 && get(obj, "values") == NULL)
			reject(w, sub(path, "values"), psprintf("operator %s needs \"values\"", op));
		if (c->op == MS_OP_IN_CIDR)
		{
			c->cidrs = palloc(sizeof(MsCidr) * Max(c->values.n, 1));
			for (int i = 0; i < c->values.n; i++)
			{
				if (ms_parse_cidr(c->values.s[i], c->values.len[i], &c->cidrs[c->ncidrs]))
					c->ncidrs++;
				else
					reject(w, idx(sub(path, "values"), i),
						   psprintf("\"%s\" is not an IPv4 or IPv6 address or network",
									c->values.s[i]));
			}
		}
		c->usable = true;
		return;
	}

	vv = get(obj, "value");
	value = scalar_text(vv, &vlen);
	if (value == NULL)
	{
		/* Unleash's older documents put a single value in "values" */
		MsStrings	list;

		strings_from_array(w, sub(path, "values"), get(obj, "values"), true, false, &list);
		if (list.n == 1)
		{
			value = list.s[0];
			vlen = list.len[0];
		}
	}
	if (value == NULL || vlen == 0)
	{
		/* an empty value is as missing as an empty context field */
		reject(w, sub(path, "value"), psprintf("operator %s needs a non-empty \"value\"", op));
		return;
	}
	switch (c->op)
	{
		case MS_OP_NUM_EQ:
		case MS_OP_NUM_GT:
		case MS_OP_NUM_GTE:
		case MS_OP_NUM_LT:
		case MS_OP_NUM_LTE:
			c->usable = ms_parse_js_number(value, vlen, &c->number) && !isnan(c->number);
			if (!c->usable)
				reject(w, sub(path, "value"), psprintf("\"%s\" is not a number", value));
			break;
		case MS_OP_DATE_AFTER:
		case MS_OP_DATE_BEFORE:
			c->usable = ms_parse_iso_timestamp(value, vlen, &c->ts);
			if (!c->usable)
				reject(w, sub(path, "value"),
					   psprintf("\"%s\" is not an ISO-8601 date-time", value));
			break;
		case MS_OP_SEMVER_EQ:
		case MS_OP_SEMVER_GT:
		case MS_OP_SEMVER_GTE:
		case MS_OP_SEMVER_LT:
		case MS_OP_SEMVER_LTE:
			c->usable = ms_parse_semver(value, vlen, &c->semver);
			if (!c->usable)
				reject(w, sub(path, "value"),
					   psprintf("\"%s\" is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])",
								value));
			break;
		case MS_OP_REGEX:
			{
				char	   *why = NULL;

				c->regex = palloc(sizeof(MsRegex));
				c->usable = vlen > 0 &&
					ms_regex_compile(value, vlen, c->case_insensitive, c->regex, &why);
				if (!c->usable)
					reject(w, sub(path, "value"),
						   psprintf("\"%s\" is not a usable regular expression: %s", value,
									why ? why : "it is empty"));
				break;
			}
		default:
			elog(ERROR, "operator %d is not single-valued", (int) c->op);
	}
}

/* Compile an array of constraints (segments use this too). */
void
ms_constraints_compile(JsonbContainer *arr, bool strict, const char *where, int *n,
					   MsConstraint **out)
{
	Where		w = {strict, where, strcmp(where, "constraints") == 0 ? "segment" : "flag definition", 0};
	int			count = arr ? JsonContainerSize(arr) : 0;

	*n = count;
	*out = palloc0(sizeof(MsConstraint) * Max(count, 1));
	for (int i = 0; i < count; i++)
		constraint_compile(&w, idx(where, i), getIthJsonbValueFromContainer(arr, i), &(*out)[i]);
}

/* Constraints under key "constraints" of obj. */
static void
constraints_field(const Where *w, const char *path, JsonbContainer *obj, int *n,
				  MsConstraint **out)
{
	JsonbValue *v = get(obj, "constraints");

	if (v == NULL || v->type == jbvNull)
	{
		*n = 0;
		*out = NULL;
		return;
	}
	if (!is_array(v))
	{
		reject(w, sub(path, "constraints"), "\"constraints\" must be an array");
		*n = 0;
		*out = NULL;
		return;
	}
	ms_constraints_compile(v->val.binary.data, w->strict, sub(path, "constraints"), n, out);
}

/* The JSON value of a JSON text, or NULL when it does not parse. */
static Jsonb *
parse_json_text(const char *s, int len)
{
	JsonLexContext *lex = makeJsonLexContextCstringLen((char *) s, len, GetDatabaseEncoding(), true);
	JsonSemAction nullsem;

	memset(&nullsem, 0, sizeof(nullsem));
	if (pg_parse_json(lex, &nullsem) != JSON_SUCCESS)
		return NULL;
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(s, len))));
}

/* A variant's typed value: "value", else derived from an Unleash payload. */
static Jsonb *
variant_value(JsonbContainer *obj, Jsonb **payload)
{
	JsonbValue *v = get(obj, "value");
	JsonbValue *p = get(obj, "payload");

	*payload = NULL;
	if (is_object(p))
	{
		JsonbValue *pt = get(p->val.binary.data, "type");
		JsonbValue *pv = get(p->val.binary.data, "value");

		*payload = JsonbValueToJsonb(p);
		if (v == NULL && pv && pv->type == jbvString)
		{
			bool		is_json = pt && pt->type == jbvString && pt->val.string.len == 4 &&
				memcmp(pt->val.string.val, "json", 4) == 0;
			bool		is_number = pt && pt->type == jbvString && pt->val.string.len == 6 &&
				memcmp(pt->val.string.val, "number", 6) == 0;

			if (is_json || is_number)
			{
				Jsonb	   *parsed = parse_json_text(pv->val.string.val, pv->val.string.len);

				if (parsed != NULL && (!is_number || JB_ROOT_IS_SCALAR(parsed)))
					return parsed;
			}
			return JsonbValueToJsonb(pv);
		}
	}
	if (v == NULL || v->type == jbvNull)
		return NULL;
	return JsonbValueToJsonb(v);
}

/* Compile a variants array. */
static void
variants_compile(const Where *w, const char *path, JsonbValue *arr, MsVariants *out)
{
	static const char *const keys[] = {"name", "weight", "weightType", "stickiness", "payload",
	"overrides", "value", NULL};
	static const char *const okeys[] = {"contextName", "values", NULL};
	JsonbContainer *c;
	int			n;
	bool		any_weight = false;

	out->n = 0;
	out->v = NULL;
	out->total_weight = 0;
	if (arr == NULL || arr->type == jbvNull)
		return;
	if (!is_array(arr))
	{
		reject(w, path, "\"variants\" must be an array");
		return;
	}
	c = arr->val.binary.data;
	n = JsonContainerSize(c);
	out->v = palloc0(sizeof(MsVariant) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(c, i);
		char	   *vpath = idx(path, i);
		MsVariant  *v = &out->v[out->n];
		JsonbContainer *obj;
		JsonbValue *wt,
				   *ov;
		char	   *stick;

		if (!is_object(e))
		{
			reject(w, vpath, "a variant must be an object");
			continue;
		}
		obj = e->val.binary.data;
		check_keys(w, vpath, obj, keys);
		v->name = string_field(w, vpath, obj, "name");
		if (v->name == NULL || v->name[0] == '\0')
		{
			reject(w, sub(vpath, "name"), "a variant needs a name");
			continue;
		}
		for (int j = 0; j < out->n; j++)
			if (strcmp(out->v[j].name, v->name) == 0)
				reject(w, sub(vpath, "name"), psprintf("variant \"%s\" is defined twice", v->name));
		wt = get(obj, "weight");
		v->weight = -1;
		if (wt != NULL && wt->type != jbvNull)
		{
			int			len;
			char	   *s = scalar_text(wt, &len);
			double		d;

			if (wt->type != jbvNumeric || !ms_parse_js_number(s, len, &d) ||
				d < 0 || d > 1000000 || d != floor(d))
				reject(w, sub(vpath, "weight"), "a weight must be an integer from 0 to 1000000");
			else
			{
				v->weight = (int32) d;
				any_weight = true;
			}
		}
		v->value = variant_value(obj, &v->payload);
		stick = string_field(w, vpath, obj, "stickiness");
		v->has_stickiness = stick != NULL;
		v->stickiness = stickiness_ref(stick);
		ov = get(obj, "overrides");
		if (ov && ov->type != jbvNull)
		{
			if (!is_array(ov))
				reject(w, sub(vpath, "overrides"), "\"overrides\" must be an array");
			else
			{
				JsonbContainer *oc = ov->val.binary.data;
				int			on = JsonContainerSize(oc);

				v->overrides = palloc0(sizeof(MsOverride) * Max(on, 1));
				for (int j = 0; j < on; j++)
				{
					JsonbValue *o = getIthJsonbValueFromContainer(oc, j);
					char	   *opath = idx(sub(vpath, "overrides"), j);
					char	   *cn;

					if (!is_object(o))
					{
						reject(w, opath, "an override must be an object");
						continue;
					}
					check_keys(w, opath, o->val.binary.data, okeys);
					cn = string_field(w, opath, o->val.binary.data, "contextName");
					if (cn == NULL)
					{
						reject(w, sub(opath, "contextName"), "an override needs a contextName");
						continue;
					}
					v->overrides[v->noverrides].field = field_ref(cn, strlen(cn));
					strings_from_array(w, sub(opath, "values"), get(o->val.binary.data, "values"),
									   false, false, &v->overrides[v->noverrides].values);
					v->noverrides++;
				}
			}
		}
		out->n++;
	}
	/* no weights at all: an even split */
	for (int i = 0; i < out->n; i++)
	{
		if (out->v[i].weight < 0)
			out->v[i].weight = any_weight ? 0 : 1;
		out->total_weight += out->v[i].weight;
	}
}

/* Map Unleash's built-in strategy names. */
static MsStrategyKind
strategy_kind(const char *name)
{
	static const struct
	{
		const char *name;
		MsStrategyKind kind;
	}			kinds[] =
	{
		{"default", MS_STRATEGY_DEFAULT},
		{"userWithId", MS_STRATEGY_USER_WITH_ID},
		{"gradualRolloutUserId", MS_STRATEGY_GRADUAL_USER_ID},
		{"gradualRolloutSessionId", MS_STRATEGY_GRADUAL_SESSION_ID},
		{"gradualRolloutRandom", MS_STRATEGY_GRADUAL_RANDOM},
		{"remoteAddress", MS_STRATEGY_REMOTE_ADDRESS},
		{"flexibleRollout", MS_STRATEGY_FLEXIBLE_ROLLOUT},
		{"applicationHostname", MS_STRATEGY_APPLICATION_HOSTNAME},
	};

	for (int i = 0; i < lengthof(kinds); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return kinds[i].kind;
	return MS_STRATEGY_UNKNOWN;
}

/* A strategy parameter as text (Unleash sends strings, sometimes numbers). */
static char *
param(JsonbContainer *params, const char *key)
{
	int			len;

	return scalar_text(get(params, key), &len);
}

/* A percentage parameter: a number 0..100, NaN when unusable. */
static double
percentage_param(const Where *w, const char *path, JsonbContainer *params, const char *key)
{
	char	   *s = param(params, key);
	double		d;

	if (s == NULL)
	{
		reject(w, sub(path, key), psprintf("parameter \"%s\" is required", key));
		return get_float8_nan();
	}
	if (!ms_parse_js_number(s, strlen(s), &d) || isnan(d) || d < 0 || d > 100)
	{
		reject(w, sub(path, key), psprintf("\"%s\" must be a percentage from 0 to 100", key));
		return get_float8_nan();
	}
	return d;
}

/* Compile one strategy. */
static void
strategy_compile(const Where *w, const char *path, JsonbValue *jv, MsStrategy *s)
{
	static const char *const keys[] = {"name", "parameters", "constraints", "segments",
	"variants", "id", "title", "disabled", "sortOrder", NULL};
	JsonbContainer *obj,
			   *params = NULL;
	char	   *name;
	JsonbValue *pv,
			   *segs;
	char	   *ppath;

	/* a strategy normalize_flag made from a seed field is reported at that field */
	if (w->strict && is_object(jv))
	{
		JsonbValue *t = get(jv->val.binary.data, "title");

		if (t && t->type == jbvString && t->val.string.len < 64)
		{
			char	   *title = pnstrdup(t->val.string.val, t->val.string.len);

			if (strncmp(title, "rules[", 6) == 0 || strcmp(title, "target_users") == 0 ||
				strcmp(title, "rollout_percentage") == 0)
			{
				const char *layer_end = strstr(path, ".strategies[");

				if (layer_end != NULL)
					path = psprintf("%.*s.%s", (int) (layer_end - path), path, title);
			}
		}
	}

	ppath = sub(path, "parameters");
	memset(s, 0, sizeof(*s));
	s->percentage = get_float8_nan();
	s->stickiness = stickiness_ref(NULL);
	if (!is_object(jv))
	{
		reject(w, path, "a strategy must be an object");
		return;
	}
	obj = jv->val.binary.data;
	check_keys(w, path, obj, keys);
	name = string_field(w, path, obj, "name");
	if (name == NULL)
	{
		reject(w, sub(path, "name"), "a strategy needs a name");
		return;
	}
	s->kind = strategy_kind(name);
	if (s->kind == MS_STRATEGY_UNKNOWN)
		reject(w, sub(path, "name"), psprintf("unknown strategy \"%s\"", name));
	s->disabled = bool_field(w, path, obj, "disabled", false);
	pv = get(obj, "parameters");
	if (pv && pv->type != jbvNull)
	{
		if (!is_object(pv))
			reject(w, ppath, "\"parameters\" must be an object");
		else
			params = pv->val.binary.data;
	}
	constraints_field(w, path, obj, &s->nconstraints, &s->constraints);

	segs = get(obj, "segments");
	if (segs && segs->type != jbvNull)
	{
		if (!is_array(segs))
			reject(w, sub(path, "segments"), "\"segments\" must be an array of segment ids");
		else
		{
			JsonbContainer *sc = segs->val.binary.data;
			int			n = JsonContainerSize(sc);

			s->segments = palloc(sizeof(int32) * Max(n, 1));
			for (int i = 0; i < n; i++)
			{
				JsonbValue *e = getIthJsonbValueFromContainer(sc, i);
				int			len;
				char	   *t = scalar_text(e, &len);
				double		d;

				if (t == NULL || e->type != jbvNumeric || !ms_parse_js_number(t, len, &d) ||
					d != floor(d) || d < 1 || d > PG_INT32_MAX)
				{
					reject(w, idx(sub(path, "segments"), i), "a segment id must be a positive integer");
					/* an unusable reference keeps the strategy from matching, as in Unleash */
					s->segments[s->nsegments++] = -1;
					continue;
				}
				s->segments[s->nsegments++] = (int32) d;
			}
		}
	}

	switch (s->kind)
	{
		case MS_STRATEGY_USER_WITH_ID:
			strings_from_csv(param(params, "userIds"), &s->list);
			break;
		case MS_STRATEGY_REMOTE_ADDRESS:
			strings_from_csv(param(params, "IPs"), &s->list);
			s->ips = palloc0(sizeof(MsCidr) * Max(s->list.n, 1));
			for (int i = 0; i < s->list.n; i++)
				if (!ms_parse_cidr(s->list.s[i], s->list.len[i], &s->ips[i]))
					s->ips[i].family = 0;
			break;
		case MS_STRATEGY_APPLICATION_HOSTNAME:
			strings_from_csv(param(params, "hostNames"), &s->list);
			for (int i = 0; i < s->list.n; i++)
				s->list.s[i] = to_lower_case(s->list.s[i], s->list.len[i], &s->list.len[i]);
			break;
		case MS_STRATEGY_GRADUAL_USER_ID:
		case MS_STRATEGY_GRADUAL_SESSION_ID:
		case MS_STRATEGY_GRADUAL_RANDOM:
			s->percentage = percentage_param(w, ppath, params, "percentage");
			s->group_id = param(params, "groupId");
			if (s->group_id == NULL)
				s->group_id = "";
			break;
		case MS_STRATEGY_FLEXIBLE_ROLLOUT:
			s->percentage = percentage_param(w, ppath, params, "rollout");
			s->group_id = param(params, "groupId");
			s->stickiness = stickiness_ref(param(params, "stickiness"));
			break;
		default:
			break;
	}
	if (params != NULL && s->group_id == NULL)
		s->group_id = param(params, "groupId");
	variants_compile(w, sub(path, "variants"), get(obj, "variants"), &s->variants);
}

/* Compile a layer: the base definition or one environment / tenant override. */
static void
body_compile(const Where *w, const char *path, JsonbContainer *obj, MsFlagBody *b)
{
	JsonbValue *v;

	memset(b, 0, sizeof(*b));
	/* null is not a value of these fields (Unleash documents may carry it) */
	if (w->strict)
		for (const char *const *k = (const char *const[]) {"enabled", "strategies", "variants", NULL}; *k; k++)
		{
			v = get(obj, *k);
			if (v && v->type == jbvNull)
				reject(w, sub(path, *k), psprintf("\"%s\" must not be null", *k));
		}
	v = get(obj, "enabled");
	if (v && v->type != jbvNull)
	{
		b->has_enabled = true;
		b->enabled = bool_field(w, path, obj, "enabled", false);
	}
	v = get(obj, "strategies");
	if (v && v->type != jbvNull)
	{
		b->has_strategies = true;
		if (!is_array(v))
			reject(w, sub(path, "strategies"), "\"strategies\" must be an array");
		else
		{
			JsonbContainer *c = v->val.binary.data;
			int			n = JsonContainerSize(c);

			if (n > MS_FLAG_MAX_STRATEGIES)
				ereport(ERROR,
						(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
						 errmsg("invalid flag definition: more than %d strategies",
								MS_FLAG_MAX_STRATEGIES),
						 errdetail("At %s.", sub(path, "strategies"))));
			b->strategies = palloc0(sizeof(MsStrategy) * Max(n, 1));
			b->nstrategies = n;
			for (int i = 0; i < n; i++)
				strategy_compile(w, idx(sub(path, "strategies"), i),
								 getIthJsonbValueFromContainer(c, i), &b->strategies[i]);
		}
	}
	v = get(obj, "variants");
	if (v && v->type != jbvNull)
	{
		b->has_variants = true;
		variants_compile(w, sub(path, "variants"), v, &b->variants);
	}
	v = get(obj, "default_value");
	if (v)
		b->default_value = JsonbValueToJsonb(v);
	v = get(obj, "value");
	if (v)
		b->on_value = JsonbValueToJsonb(v);
}

/* Compile an object of named overrides ({"production": {...}, ...}). */
static void
named_bodies(const Where *w, const char *path, JsonbValue *v, int *n, MsNamedBody **out)
{
	static const char *const keys[] = {"enabled", "strategies", "variants", "default_value",
	"value", NULL};
	JsonbIterator *it;
	JsonbValue	k,
				val;
	JsonbIteratorToken tok;
	int			cap;

	*n = 0;
	*out = NULL;
	if (v == NULL || v->type == jbvNull)
		return;
	if (!is_object(v))
	{
		reject(w, path, "overrides must be an object keyed by name");
		return;
	}
	cap = Max(JsonContainerSize(v->val.binary.data), 1);
	*out = palloc0(sizeof(MsNamedBody) * cap);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *name,
				   *opath;

		if (tok != WJB_KEY)
			continue;
		name = pnstrdup(k.val.string.val, k.val.string.len);
		opath = sub(path, name);
		tok = JsonbIteratorNext(&it, &val, true);
		if (!is_object(&val))
		{
			reject(w, opath, "an override must be an object");
			continue;
		}
		check_keys(w, opath, val.val.binary.data, keys);
		(*out)[*n].name = name;
		body_compile(w, opath, val.val.binary.data, &(*out)[*n].body);
		(*n)++;
	}
}

/* Compile the dependencies array. */
static void
dependencies_compile(const Where *w, const char *path, const char *self, JsonbValue *v, MsFlag *f)
{
	static const char *const keys[] = {"feature", "enabled", "variants", NULL};
	JsonbContainer *c;
	int			n;

	if (v == NULL || v->type == jbvNull)
		return;
	if (!is_array(v))
	{
		reject(w, path, "\"dependencies\" must be an array");
		return;
	}
	c = v->val.binary.data;
	n = JsonContainerSize(c);
	f->dependencies = palloc0(sizeof(MsDependency) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(c, i);
		char	   *dpath = idx(path, i);
		MsDependency *d = &f->dependencies[f->ndependencies];

		if (!is_object(e))
		{
			reject(w, dpath, "a dependency must be an object");
			continue;
		}
		check_keys(w, dpath, e->val.binary.data, keys);
		d->feature = string_field(w, dpath, e->val.binary.data, "feature");
		if (d->feature == NULL)
		{
			reject(w, sub(dpath, "feature"), "a dependency needs a feature");
			continue;
		}
		if (strcmp(d->feature, self) == 0)
			reject(w, sub(dpath, "feature"), "a flag cannot depend on itself");
		d->enabled = bool_field(w, dpath, e->val.binary.data, "enabled", true);
		strings_from_array(w, sub(dpath, "variants"), get(e->val.binary.data, "variants"),
						   false, false, &d->variants);
		f->ndependencies++;
	}
}

/* Name of a value type. */
const char *
ms_value_type_name(MsValueType t)
{
	switch (t)
	{
		case MS_VALUE_BOOLEAN:
			return "boolean";
		case MS_VALUE_STRING:
			return "string";
		case MS_VALUE_NUMBER:
			return "number";
		case MS_VALUE_OBJECT:
			return "object";
	}
	return "boolean";
}

/* The JSON type a value of this flag type must have. */
static bool
value_fits(MsValueType t, Jsonb *v)
{
	JsonbValue	jv;

	if (v == NULL)
		return true;
	if (!JB_ROOT_IS_SCALAR(v))
		return t == MS_VALUE_OBJECT;
	if (!JsonbExtractScalar(&v->root, &jv))
		return false;
	switch (t)
	{
		case MS_VALUE_BOOLEAN:
			return jv.type == jbvBool;
		case MS_VALUE_STRING:
			return jv.type == jbvString;
		case MS_VALUE_NUMBER:
			return jv.type == jbvNumeric;
		case MS_VALUE_OBJECT:
			return jv.type == jbvNull;
	}
	return false;
}

/* Strict mode: every value of a layer has the flag's type. */
static void
check_body_types(const Where *w, const char *path, MsValueType t, MsFlagBody *b)
{
	const char *tn = ms_value_type_name(t);

	if (!value_fits(t, b->default_value))
		reject(w, sub(path, "default_value"), psprintf("default_value must be of value_type %s", tn));
	if (!value_fits(t, b->on_value))
		reject(w, sub(path, "value"), psprintf("value must be of value_type %s", tn));
	/* a boolean flag's value is its state: variants only carry payloads */
	if (t == MS_VALUE_BOOLEAN)
	{
		JsonbValue	jv;

		if (b->default_value && JsonbExtractScalar(&b->default_value->root, &jv) &&
			jv.type == jbvBool && jv.val.boolean)
			reject(w, sub(path, "default_value"),
				   "a boolean flag is false when it is off: default_value can only be false");
		if (b->on_value && JsonbExtractScalar(&b->on_value->root, &jv) &&
			jv.type == jbvBool && !jv.val.boolean)
			reject(w, sub(path, "value"),
				   "a boolean flag is true when it is on: value can only be true");
		return;
	}
	for (int i = 0; i < b->variants.n; i++)
		if (!value_fits(t, b->variants.v[i].value))
			reject(w, idx(sub(path, "variants"), i), psprintf("the variant's value must be of value_type %s", tn));
	for (int s = 0; s < b->nstrategies; s++)
		for (int i = 0; i < b->strategies[s].variants.n; i++)
			if (!value_fits(t, b->strategies[s].variants.v[i].value))
				reject(w, idx(sub(idx(sub(path, "strategies"), s), "variants"), i),
					   psprintf("the variant's value must be of value_type %s", tn));
}

/*
 * Compile a stored (normalized) definition.  strict: raise 22023 on
 * anything we would not store; otherwise keep what Unleash would keep.
 */
MsFlag *
ms_flag_compile(const char *name, const char *ns, int32 version, Jsonb *definition, bool strict,
				int aliases)
{
	static const char *const keys[] = {"enabled", "value_type", "default_value", "value",
		"variants", "strategies", "dependencies", "environments", "tenants", "expires_at",
		"description", "type", "project", "stale", "impressionData", "tags", "name",
	"createdAt", "lastSeenAt", "display_name", "environment", NULL};
	Where		w = {strict, "definition", "flag definition", aliases};
	MsFlag	   *f = palloc0(sizeof(MsFlag));
	JsonbContainer *root;
	char	   *vt,
			   *exp;

	check_stack_depth();
	f->name = pstrdup(name);
	f->namespace = pstrdup(ns);
	f->version = version;
	f->version_numeric = int64_to_numeric(version);
	if (!JB_ROOT_IS_OBJECT(definition))
	{
		reject(&w, "definition", "a flag definition must be a JSON object");
		return f;
	}
	root = &definition->root;
	check_keys(&w, "definition", root, keys);

	{
		JsonbValue *n = get(root, "value_type");

		if (n && n->type == jbvNull)
			reject(&w, "definition.value_type", "value_type must not be null");
	}
	vt = string_field(&w, "definition", root, "value_type");
	f->type = MS_VALUE_BOOLEAN;
	if (vt != NULL)
	{
		if (strcmp(vt, "boolean") == 0)
			f->type = MS_VALUE_BOOLEAN;
		else if (strcmp(vt, "string") == 0)
			f->type = MS_VALUE_STRING;
		else if (strcmp(vt, "number") == 0)
			f->type = MS_VALUE_NUMBER;
		else if (strcmp(vt, "object") == 0)
			f->type = MS_VALUE_OBJECT;
		else
			reject(&w, "definition.value_type",
				   "value_type must be boolean, string, number or object");
	}

	body_compile(&w, "definition", root, &f->base);
	if (!f->base.has_enabled)
	{
		f->base.has_enabled = true;
		f->base.enabled = false;
	}
	if (!f->base.has_strategies)
		f->base.has_strategies = true;	/* none: on for everyone when enabled */
	f->base.has_variants = true;
	named_bodies(&w, "definition.environments", get(root, "environments"),
				 &f->nenvironments, &f->environments);
	named_bodies(&w, "definition.tenants", get(root, "tenants"), &f->ntenants, &f->tenants);
	dependencies_compile(&w, "definition.dependencies", name, get(root, "dependencies"), f);

	exp = string_field(&w, "definition", root, "expires_at");
	if (exp != NULL)
	{
		f->has_expiry = ms_parse_iso_timestamp(exp, strlen(exp), &f->expires_at);
		if (!f->has_expiry)
			reject(&w, "definition.expires_at", "expires_at must be an ISO-8601 date-time");
	}

	if (strict)
	{
		check_body_types(&w, "definition", f->type, &f->base);
		for (int i = 0; i < f->nenvironments; i++)
			check_body_types(&w, sub("definition.environments", f->environments[i].name),
							 f->type, &f->environments[i].body);
		for (int i = 0; i < f->ntenants; i++)
			check_body_types(&w, sub("definition.tenants", f->tenants[i].name),
							 f->type, &f->tenants[i].body);
	}
	return f;
}
