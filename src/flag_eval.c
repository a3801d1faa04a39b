/*
 * flag_eval.c: evaluate flags against a context, from a per-backend cache.
 *
 * Compiled flags (flag_model.c) live in a cache that loads a flag on its
 * first use and every segment at once; the statement trigger on the flag
 * tables (cache.c) fires a relcache invalidation that every backend,
 * hot standbys included, receives at commit.  A hot evaluation touches no
 * table and writes nothing.  The evaluation follows Unleash's client
 * specification; docs/flags.md states it in full.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "storage/proc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "access.h"
#include "cache.h"
#include "errors.h"
#include "flag_eval.h"
#include "flags.h"
#include "hash.h"
#include "principal.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(evaluate);
PG_FUNCTION_INFO_V1(evaluate_all);
PG_FUNCTION_INFO_V1(is_enabled);

/* ---- the cache ---- */

typedef struct FlagEntry
{
	char		name[MS_MAX_FLAG_NAME_BYTES + 1];	/* hash key */
	MsFlag	   *flag;			/* NULL: no such live flag */
	uint64		access_key;		/* principal generation the memo is for */
	uint64		access_gen;
	bool		access_ok;
} FlagEntry;

static MemoryContext cache_cxt = NULL;
static HTAB *flag_table = NULL;
static bool all_loaded = false;
static bool segments_loaded = false;
static int	nsegments = 0;
static MsSegment *segments = NULL;
static bool cache_stale = true;
static uint64 cache_generation = 0;
static uint64 access_generation = 0;
static bool watching = false;
static Oid	evaluator_role = InvalidOid;

static SPIPlanPtr plan_one = NULL;
static SPIPlanPtr plan_all = NULL;
static SPIPlanPtr plan_segments = NULL;

/* A flag table changed somewhere: drop everything at the next entry point. */
static void
flags_cache_reset(void)
{
	cache_stale = true;
}

/* A segment changed. */
static void
segments_cache_reset(void)
{
	cache_stale = true;
}

/* Grants changed: forget every memoized access decision. */
static void
access_reset(void)
{
	access_generation++;
}

/* Start of every SQL entry point: apply a pending reset (never mid-evaluation). */
static void
cache_begin(void)
{
	/*
	 * Once per statement, take in invalidations sent by commits since: a
	 * READ COMMITTED transaction that already holds its locks would
	 * otherwise not hear of them until it ends.
	 */
	{
		static TimestampTz last_statement = 0;
		static LocalTransactionId last_xact = InvalidLocalTransactionId;
		TimestampTz now = GetCurrentStatementStartTimestamp();

		if (now != last_statement || MyProc->lxid != last_xact)
		{
			AcceptInvalidationMessages();
			last_statement = now;
			last_xact = MyProc->lxid;
		}
	}

	/* (re-)register after every reset: a re-created extension has new table OIDs */
	if (!watching || cache_stale)
	{
		ms_cache_watch(ms_relid("flags"), flags_cache_reset);
		ms_cache_watch(ms_relid("flag_segments"), segments_cache_reset);
		ms_cache_watch(ms_relid("grants"), access_reset);
		watching = true;
	}
	if (!cache_stale && flag_table != NULL)
		return;
	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "metastore flag cache",
										  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(cache_cxt);
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = MS_MAX_FLAG_NAME_BYTES + 1;
		ctl.entrysize = sizeof(FlagEntry);
		ctl.hcxt = cache_cxt;
		flag_table = hash_create("metastore flags", 256, &ctl,
								 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	all_loaded = false;
	segments_loaded = false;
	nsegments = 0;
	segments = NULL;
	cache_stale = false;
	cache_generation++;
}

/* The NOLOGIN, BYPASSRLS role that reads flag tables for the cache. */
static Oid
flags_role(void)
{
	if (!OidIsValid(evaluator_role))
	{
		evaluator_role = get_role_oid(MS_EVALUATOR_ROLE, true);
		if (!OidIsValid(evaluator_role))
			elog(ERROR, "role %s is missing: reinstall the metastore extension",
				 MS_EVALUATOR_ROLE);
	}
	return evaluator_role;
}

/* Run a cache query as the evaluator role (rows are checked per principal in C). */
static void
run_as_evaluator(SPIPlanPtr plan, Datum *values)
{
	Oid			save_user;
	int			save_sec;
	int			rc;

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(flags_role(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_plan(plan, values, NULL, true, 0);
	SetUserIdAndSecContext(save_user, save_sec);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "flag cache query failed: %s", SPI_result_code_string(rc));
}

/* Compile row i of the current SPI result into the cache. */
static void
cache_row(int i)
{
	HeapTuple	tup = SPI_tuptable->vals[i];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	char	   *name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
	FlagEntry  *e;
	bool		found;
	MemoryContext old;

	if (strlen(name) > MS_MAX_FLAG_NAME_BYTES)
		return;
	e = hash_search(flag_table, name, HASH_ENTER, &found);
	old = MemoryContextSwitchTo(cache_cxt);
	{
		char	   *ns = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		int32		version = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		Jsonb	   *def = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 4, &isnull));

		e->flag = ms_flag_compile(name, ns, version, def, false, 0);
	}
	MemoryContextSwitchTo(old);
	e->access_key = 0;
	e->access_gen = 0;
}

/* The cache entry of a flag, loading it on first use. */
static FlagEntry *
cache_lookup(const char *name)
{
	FlagEntry  *e;
	bool		found;

	if (strlen(name) > MS_MAX_FLAG_NAME_BYTES)
		return NULL;
	e = hash_search(flag_table, name, HASH_FIND, &found);
	if (e != NULL)
		return e;
	if (all_loaded)
		return NULL;
	{
		static const Oid argtypes[1] = {TEXTOID};
		Datum		values[1];
		int			nestlevel = ms_safe_search_path_push();

		ms_spi_connect();
		ms_plan(&plan_one,
				"SELECT name, namespace, version, definition FROM metastore.flags"
				" WHERE name = $1 AND deleted_at IS NULL",
				1, argtypes);
		values[0] = CStringGetTextDatum(name);
		run_as_evaluator(plan_one, values);
		if (SPI_processed > 0)
			cache_row(0);
		else
		{
			e = hash_search(flag_table, name, HASH_ENTER, &found);
			e->flag = NULL;
		}
		SPI_finish();
		ms_safe_search_path_pop(nestlevel);
	}
	return hash_search(flag_table, name, HASH_FIND, &found);
}

/* Load every live flag (evaluate_all). */
static void
cache_load_all(void)
{
	int			nestlevel;

	if (all_loaded)
		return;
	nestlevel = ms_safe_search_path_push();
	ms_spi_connect();
	ms_plan(&plan_all,
			"SELECT name, namespace, version, definition FROM metastore.flags"
			" WHERE deleted_at IS NULL ORDER BY name COLLATE \"C\"",
			0, NULL);
	run_as_evaluator(plan_all, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		found;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull));
		FlagEntry  *e = hash_search(flag_table, name, HASH_FIND, &found);

		if (e == NULL || e->flag == NULL)
			cache_row(i);
	}
	SPI_finish();
	ms_safe_search_path_pop(nestlevel);
	all_loaded = true;
}

/* Load every live segment. */
static void
cache_load_segments(void)
{
	int			nestlevel;
	MemoryContext old;

	if (segments_loaded)
		return;
	nestlevel = ms_safe_search_path_push();
	ms_spi_connect();
	ms_plan(&plan_segments,
			"SELECT id, name, constraints FROM metastore.flag_segments WHERE deleted_at IS NULL",
			0, NULL);
	run_as_evaluator(plan_segments, NULL);
	old = MemoryContextSwitchTo(cache_cxt);
	segments = palloc0(sizeof(MsSegment) * Max(SPI_processed, 1));
	nsegments = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MsSegment  *s = &segments[nsegments++];
		Jsonb	   *cons;

		s->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		s->name = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		cons = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 3, &isnull));
		if (JB_ROOT_IS_ARRAY(cons) && !JB_ROOT_IS_SCALAR(cons))
			ms_constraints_compile(&cons->root, false, "constraints", &s->nconstraints,
								   &s->constraints);
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	ms_safe_search_path_pop(nestlevel);
	segments_loaded = true;
}

/* A segment by id, or NULL. */
static MsSegment *
segment_by_id(int32 id)
{
	cache_load_segments();
	for (int i = 0; i < nsegments; i++)
		if (segments[i].id == id)
			return &segments[i];
	return NULL;
}

/* May the acting principal evaluate this flag (reader on its namespace)? */
static bool
may_read(FlagEntry *e)
{
	uint64		key = ms_principal_generation();

	if (e->access_key != key || e->access_gen != access_generation + 1)
	{
		e->access_ok = ms_has_role(e->flag->namespace, MS_ROLE_READER);
		e->access_key = key;
		e->access_gen = access_generation + 1;
	}
	return e->access_ok;
}

/* ---- the evaluation context ---- */

typedef struct EvalCtx
{
	JsonbContainer *root;		/* the context object, or NULL */
	JsonbContainer *props;		/* its "properties" object, or NULL */
	bool		props_resolved; /* props has been looked up */
	const char *environment;	/* the evaluate() argument, or NULL */
	const char *tenant;
	bool		resolved[MS_NFIELDS];
	const char *val[MS_NFIELDS];
	int			len[MS_NFIELDS];
	TimestampTz now;
	bool		invalid;		/* the context was not an object */
	int			depth;
} EvalCtx;

/* A scalar JSON value as text (a missing or empty value is NULL, as in Unleash). */
static const char *
scalar_ptr(JsonbValue *v, int *len)
{
	char	   *s;

	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvString:
			if (v->val.string.len == 0)
				return NULL;
			*len = v->val.string.len;
			return v->val.string.val;
		case jbvNumeric:
			s = numeric_normalize(v->val.numeric);
			*len = strlen(s);
			return s;
		case jbvBool:
			*len = v->val.boolean ? 4 : 5;
			return v->val.boolean ? "true" : "false";
		default:
			return NULL;
	}
}

/* context[key], then context.properties[key]. */
static const char *
lookup_key(EvalCtx *c, const char *key, int keylen, bool top, int *len)
{
	JsonbValue	res;
	JsonbValue *v;
	const char *s;

	if (top && c->root)
	{
		v = getKeyJsonValueFromContainer(c->root, key, keylen, &res);
		s = scalar_ptr(v, len);
		if (s)
			return s;
	}
	if (!c->props_resolved)
	{
		/* "properties" is looked up once, and only when a field is not at the top */
		c->props_resolved = true;
		if (c->root)
		{
			JsonbValue *p = getKeyJsonValueFromContainer(c->root, "properties", 10, &res);

			if (p && p->type == jbvBinary && JsonContainerIsObject(p->val.binary.data))
				c->props = p->val.binary.data;
		}
	}
	if (c->props)
	{
		v = getKeyJsonValueFromContainer(c->props, key, keylen, &res);
		s = scalar_ptr(v, len);
		if (s)
			return s;
	}
	return NULL;
}

/* Try a list of top-level aliases, then the first name under properties. */
static const char *
lookup_aliases(EvalCtx *c, const char *const *names, int *len)
{
	const char *s;

	for (const char *const *n = names; *n; n++)
		if ((s = lookup_key(c, *n, strlen(*n), true, len)) != NULL)
			return s;
	return NULL;
}

/* The value of a context field, or NULL when missing or empty. */
static const char *
ctx_value(EvalCtx *c, const MsFieldRef *f, int *len)
{
	static const char *const user[] = {"userId", "targetingKey", "user_id", NULL};
	static const char *const session[] = {"sessionId", "session_id", NULL};
	static const char *const tenant[] = {"tenantId", "tenant_id", NULL};
	const char *s;

	if (f->kind == MS_FIELD_OTHER)
		return lookup_key(c, f->name, f->len, true, len);
	if (f->kind >= MS_NFIELDS || f->kind == MS_FIELD_RANDOM || f->kind == MS_FIELD_DEFAULT)
		return NULL;
	if (c->resolved[f->kind])
	{
		*len = c->len[f->kind];
		return c->val[f->kind];
	}
	switch (f->kind)
	{
		case MS_FIELD_USER_ID:
			s = lookup_aliases(c, user, len);
			break;
		case MS_FIELD_SESSION_ID:
			s = lookup_aliases(c, session, len);
			break;
		case MS_FIELD_TENANT_ID:
			s = lookup_aliases(c, tenant, len);
			if (s == NULL && c->tenant)
			{
				s = c->tenant;
				*len = strlen(s);
			}
			break;
		case MS_FIELD_ENVIRONMENT:
			s = lookup_key(c, "environment", 11, true, len);
			if (s == NULL && c->environment)
			{
				s = c->environment;
				*len = strlen(s);
			}
			break;
		default:
			s = lookup_key(c, f->name, f->len, true, len);
			break;
	}
	c->resolved[f->kind] = true;
	c->val[f->kind] = s;
	c->len[f->kind] = s ? *len : 0;
	return s;
}

/* The bucket (1..normalizer) of groupId:value. */
static int32
bucket_of(const char *group, const char *value, int len, uint32 seed, int32 normalizer)
{
	int			glen = strlen(group);
	char		stackbuf[256];
	char	   *buf = (glen + 1 + len <= (int) sizeof(stackbuf)) ? stackbuf : palloc(glen + 1 + len);

	memcpy(buf, group, glen);
	buf[glen] = ':';
	memcpy(buf + glen + 1, value, len);
	return ms_bucket(buf, glen + 1 + len, seed, normalizer);
}

/* A random bucket 1..100 ("random" stickiness, gradualRolloutRandom). */
static int32
random_bucket(void)
{
	return (int32) pg_prng_uint64_range(&pg_global_prng_state, 1, 100);
}

/* s (of len) is one of the strings. */
static bool
in_strings(const MsStrings *l, const char *s, int len)
{
	for (int i = 0; i < l->n; i++)
		if (l->len[i] == len && memcmp(l->s[i], s, len) == 0)
			return true;
	return false;
}

/* The operator's verdict before inversion. */
static bool
constraint_apply(EvalCtx *c, MsConstraint *k)
{
	int			len = 0;
	const char *v = ctx_value(c, &k->field, &len);

	switch (k->op)
	{
		case MS_OP_IN:
			return v != NULL && in_strings(&k->values, v, len);
		case MS_OP_NOT_IN:
			return !(v != NULL && in_strings(&k->values, v, len));
		case MS_OP_STR_STARTS_WITH:
		case MS_OP_STR_ENDS_WITH:
		case MS_OP_STR_CONTAINS:
			if (v == NULL)
				return false;
			if (k->case_insensitive)
			{
				v = str_tolower(v, len, DEFAULT_COLLATION_OID);
				len = strlen(v);
			}
			for (int i = 0; i < k->values.n; i++)
			{
				int			vl = k->values.len[i];
				const char *x = k->values.s[i];

				if (vl > len)
					continue;
				if (k->op == MS_OP_STR_STARTS_WITH && memcmp(v, x, vl) == 0)
					return true;
				if (k->op == MS_OP_STR_ENDS_WITH && memcmp(v + len - vl, x, vl) == 0)
					return true;
				if (k->op == MS_OP_STR_CONTAINS)
					for (int j = 0; j + vl <= len; j++)
						if (memcmp(v + j, x, vl) == 0)
							return true;
			}
			return false;
		case MS_OP_NUM_EQ:
		case MS_OP_NUM_GT:
		case MS_OP_NUM_GTE:
		case MS_OP_NUM_LT:
		case MS_OP_NUM_LTE:
			{
				double		d;

				if (v == NULL || !ms_parse_js_number(v, len, &d) || isnan(d))
					return false;
				switch (k->op)
				{
					case MS_OP_NUM_EQ:
						return d == k->number;
					case MS_OP_NUM_GT:
						return d > k->number;
					case MS_OP_NUM_GTE:
						return d >= k->number;
					case MS_OP_NUM_LT:
						return d < k->number;
					default:
						return d <= k->number;
				}
			}
		case MS_OP_DATE_AFTER:
		case MS_OP_DATE_BEFORE:
			{
				TimestampTz t;

				if (v != NULL)
				{
					if (!ms_parse_iso_timestamp(v, len, &t))
						return false;
				}
				else if (k->field.kind == MS_FIELD_CURRENT_TIME)
					t = c->now;
				else
					return false;
				return k->op == MS_OP_DATE_AFTER ? t > k->ts : t < k->ts;
			}
		case MS_OP_SEMVER_EQ:
		case MS_OP_SEMVER_GT:
		case MS_OP_SEMVER_GTE:
		case MS_OP_SEMVER_LT:
		case MS_OP_SEMVER_LTE:
			{
				MsSemver	sv;
				int			cmp;

				if (v == NULL || !ms_parse_semver(v, len, &sv))
					return false;
				cmp = ms_semver_cmp(&sv, &k->semver);
				switch (k->op)
				{
					case MS_OP_SEMVER_EQ:
						return cmp == 0;
					case MS_OP_SEMVER_GT:
						return cmp > 0;
					case MS_OP_SEMVER_GTE:
						return cmp >= 0;
					case MS_OP_SEMVER_LT:
						return cmp < 0;
					default:
						return cmp <= 0;
				}
			}
		case MS_OP_REGEX:
			return v != NULL && ms_regex_match(k->regex, v, len);
		case MS_OP_IN_CIDR:
			{
				MsCidr		ip;

				if (v == NULL || !ms_parse_ip(v, len, &ip))
					return false;
				for (int i = 0; i < k->ncidrs; i++)
					if (ms_cidr_contains(&k->cidrs[i], &ip))
						return true;
				return false;
			}
		case MS_OP_UNKNOWN:
			return false;
	}
	return false;
}

/* One constraint: an unknown operator or unusable value never matches. */
static bool
constraint_ok(EvalCtx *c, MsConstraint *k)
{
	if (k->op == MS_OP_UNKNOWN || !k->usable)
		return false;
	return constraint_apply(c, k) != k->inverted;
}

/* All constraints of a strategy and of its segments hold. */
static bool
constraints_ok(EvalCtx *c, MsStrategy *s)
{
	for (int i = 0; i < s->nconstraints; i++)
		if (!constraint_ok(c, &s->constraints[i]))
			return false;
	for (int i = 0; i < s->nsegments; i++)
	{
		MsSegment  *seg = s->segments[i] > 0 ? segment_by_id(s->segments[i]) : NULL;

		if (seg == NULL)
			return false;
		for (int j = 0; j < seg->nconstraints; j++)
			if (!constraint_ok(c, &seg->constraints[j]))
				return false;
	}
	return true;
}

/* Percentage check shared by the rollout strategies: percentage > 0 and bucket <= it. */
static bool
in_rollout(double pct, const char *group, const char *v, int len)
{
	if (isnan(pct) || !(pct > 0))
		return false;
	return bucket_of(group, v, len, 0, 100) <= pct;
}

/* The strategy's own rule (after its constraints held). */
static bool
strategy_on(EvalCtx *c, MsFlag *f, MsStrategy *s)
{
	static const MsFieldRef user = {MS_FIELD_USER_ID, "userId", 6};
	static const MsFieldRef session = {MS_FIELD_SESSION_ID, "sessionId", 9};
	static const MsFieldRef remote = {MS_FIELD_REMOTE_ADDRESS, "remoteAddress", 13};
	static const MsFieldRef host = {MS_FIELD_OTHER, "hostname", 8};
	int			len = 0;
	const char *v;

	switch (s->kind)
	{
		case MS_STRATEGY_DEFAULT:
			return true;
		case MS_STRATEGY_USER_WITH_ID:
			v = ctx_value(c, &user, &len);
			return v != NULL && in_strings(&s->list, v, len);
		case MS_STRATEGY_GRADUAL_USER_ID:
			v = ctx_value(c, &user, &len);
			return v != NULL && in_rollout(s->percentage, s->group_id, v, len);
		case MS_STRATEGY_GRADUAL_SESSION_ID:
			v = ctx_value(c, &session, &len);
			return v != NULL && in_rollout(s->percentage, s->group_id, v, len);
		case MS_STRATEGY_GRADUAL_RANDOM:
			return !isnan(s->percentage) && s->percentage > 0 && random_bucket() <= s->percentage;
		case MS_STRATEGY_REMOTE_ADDRESS:
			{
				MsCidr		ip;
				bool		parsed;

				v = ctx_value(c, &remote, &len);
				if (v == NULL)
					return false;
				parsed = ms_parse_ip(v, len, &ip);
				for (int i = 0; i < s->list.n; i++)
				{
					if (s->list.len[i] == len && memcmp(s->list.s[i], v, len) == 0)
						return true;
					if (parsed && s->ips[i].family != 0 && ms_cidr_contains(&s->ips[i], &ip))
						return true;
				}
				return false;
			}
		case MS_STRATEGY_FLEXIBLE_ROLLOUT:
			{
				const char *group = s->group_id ? s->group_id : f->name;

				switch (s->stickiness.kind)
				{
					case MS_FIELD_DEFAULT:
						v = ctx_value(c, &user, &len);
						if (v == NULL)
							v = ctx_value(c, &session, &len);
						break;
					case MS_FIELD_RANDOM:
						v = NULL;
						break;
					default:
						v = ctx_value(c, &s->stickiness, &len);
						if (v == NULL)
							return false;
						break;
				}
				if (v == NULL)
					return !isnan(s->percentage) && s->percentage > 0 &&
						random_bucket() <= s->percentage;
				return in_rollout(s->percentage, group, v, len);
			}
		case MS_STRATEGY_APPLICATION_HOSTNAME:
			v = ctx_value(c, &host, &len);
			if (v == NULL)
				return false;
			v = str_tolower(v, len, DEFAULT_COLLATION_OID);
			return in_strings(&s->list, v, strlen(v));
		case MS_STRATEGY_UNKNOWN:
			return false;
	}
	return false;
}

/* What decided a variant. */
typedef enum VariantWhy
{
	VARIANT_NONE,
	VARIANT_OVERRIDE,
	VARIANT_SPLIT,
	VARIANT_SINGLE
} VariantWhy;

/*
 * Pick a variant: an override first, else the weighted bucket of
 * groupId:stickiness with seed 86028157 over the total weight.
 */
static MsVariant *
select_variant(EvalCtx *c, MsVariants *vs, const char *group, const MsFieldRef *stick,
			   VariantWhy *why)
{
	static const MsFieldRef user = {MS_FIELD_USER_ID, "userId", 6};
	static const MsFieldRef session = {MS_FIELD_SESSION_ID, "sessionId", 9};
	static const MsFieldRef remote = {MS_FIELD_REMOTE_ADDRESS, "remoteAddress", 13};
	const char *seed = NULL;
	int			len = 0;
	int32		target,
				counter = 0;
	char		rnd[16];
	int			nweighted = 0;

	*why = VARIANT_NONE;
	if (vs->n == 0 || vs->total_weight <= 0)
		return NULL;
	for (int i = 0; i < vs->n; i++)
	{
		MsVariant  *v = &vs->v[i];

		for (int j = 0; j < v->noverrides; j++)
		{
			const char *x = ctx_value(c, &v->overrides[j].field, &len);

			if (x != NULL && in_strings(&v->overrides[j].values, x, len))
			{
				*why = VARIANT_OVERRIDE;
				return v;
			}
		}
		if (v->weight > 0)
			nweighted++;
	}
	switch (stick->kind)
	{
		case MS_FIELD_DEFAULT:
			seed = ctx_value(c, &user, &len);
			if (seed == NULL)
				seed = ctx_value(c, &session, &len);
			if (seed == NULL)
				seed = ctx_value(c, &remote, &len);
			break;
		case MS_FIELD_RANDOM:
			break;
		default:
			seed = ctx_value(c, stick, &len);
			break;
	}
	if (seed == NULL)
	{
		len = snprintf(rnd, sizeof(rnd), "%d",
					   (int) pg_prng_uint64_range(&pg_global_prng_state, 1, 100000));
		seed = rnd;
	}
	target = bucket_of(group, seed, len, MS_VARIANT_SEED, vs->total_weight);
	for (int i = 0; i < vs->n; i++)
	{
		if (vs->v[i].weight == 0)
			continue;
		counter += vs->v[i].weight;
		if (counter >= target)
		{
			*why = nweighted > 1 ? VARIANT_SPLIT : VARIANT_SINGLE;
			return &vs->v[i];
		}
	}
	return NULL;
}

/* The override layer named `name`, or NULL. */
static MsFlagBody *
layer(MsNamedBody *bodies, int n, const char *name)
{
	if (name == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(bodies[i].name, name) == 0)
			return &bodies[i].body;
	return NULL;
}

static void eval_flag(EvalCtx *c, FlagEntry *e, MsEvaluation *out);

/* Unleash's dependency rule: every parent is (not) enabled as asked, with one of the variants. */
static bool
dependencies_ok(EvalCtx *c, MsFlag *f)
{
	for (int i = 0; i < f->ndependencies; i++)
	{
		MsDependency *d = &f->dependencies[i];
		FlagEntry  *pe = cache_lookup(d->feature);
		MsEvaluation pr;

		/* a missing, unreadable or itself dependent parent fails (one level, as Unleash) */
		if (pe == NULL || pe->flag == NULL || !may_read(pe) || pe->flag->ndependencies > 0)
			return false;
		eval_flag(c, pe, &pr);
		if (d->enabled)
		{
			if (!pr.enabled)
				return false;
			/* an enabled parent without a variant has Unleash's variant "disabled" */
			if (d->variants.n > 0)
			{
				const char *vn = pr.variant ? pr.variant->name : "disabled";

				if (!in_strings(&d->variants, vn, strlen(vn)))
					return false;
			}
		}
		else if (pr.enabled)
			return false;
	}
	return true;
}

/* The effective value when the flag serves nothing in particular. */
static Jsonb *
default_value(MsFlag *f, MsFlagBody *t, MsFlagBody *e)
{
	if (t && t->default_value)
		return t->default_value;
	if (e && e->default_value)
		return e->default_value;
	return f->base.default_value;
}

/* Evaluate one flag (entry known, readable). */
static void
eval_flag(EvalCtx *c, FlagEntry *entry, MsEvaluation *out)
{
	MsFlag	   *f = entry->flag;
	MsFlagBody *t = layer(f->tenants, f->ntenants, c->tenant);
	MsFlagBody *e = layer(f->environments, f->nenvironments, c->environment);
	bool		enabled;
	MsStrategy *strategies;
	int			nstrategies;
	MsVariants *variants;
	MsStrategy *matched = NULL;
	bool		targeted = false;

	check_stack_depth();
	memset(out, 0, sizeof(*out));
	out->flag = f;
	out->value = default_value(f, t, e);

	enabled = t && t->has_enabled ? t->enabled : e && e->has_enabled ? e->enabled : f->base.enabled;
	if (t && t->has_strategies)
		strategies = t->strategies, nstrategies = t->nstrategies;
	else if (e && e->has_strategies)
		strategies = e->strategies, nstrategies = e->nstrategies;
	else
		strategies = f->base.strategies, nstrategies = f->base.nstrategies;
	variants = t && t->has_variants ? &t->variants :
		e && e->has_variants ? &e->variants : &f->base.variants;

	if (f->has_expiry && GetCurrentStatementStartTimestamp() >= f->expires_at)
	{
		out->reason = MS_REASON_DISABLED;
		out->expired = true;
		return;
	}
	if (!enabled)
	{
		out->reason = MS_REASON_DISABLED;
		return;
	}
	if (f->ndependencies > 0 && !dependencies_ok(c, f))
	{
		out->reason = MS_REASON_PREREQUISITE_FAILED;
		return;
	}

	if (nstrategies > 0)
	{
		bool		any_active = false;

		for (int i = 0; i < nstrategies && matched == NULL; i++)
		{
			MsStrategy *s = &strategies[i];

			if (s->disabled)
				continue;
			any_active = true;
			if (constraints_ok(c, s) && strategy_on(c, f, s))
				matched = s;
		}
		if (matched == NULL && any_active)
		{
			out->reason = MS_REASON_DEFAULT;
			return;
		}
	}
	out->enabled = true;
	if (matched != NULL)
	{
		targeted = matched->nconstraints > 0 || matched->nsegments > 0 ||
			matched->kind == MS_STRATEGY_USER_WITH_ID ||
			matched->kind == MS_STRATEGY_REMOTE_ADDRESS ||
			matched->kind == MS_STRATEGY_APPLICATION_HOSTNAME;
		out->split = (matched->kind == MS_STRATEGY_FLEXIBLE_ROLLOUT ||
					  matched->kind == MS_STRATEGY_GRADUAL_USER_ID ||
					  matched->kind == MS_STRATEGY_GRADUAL_SESSION_ID ||
					  matched->kind == MS_STRATEGY_GRADUAL_RANDOM) &&
			matched->percentage < 100;
	}
	out->reason = out->split ? MS_REASON_SPLIT : targeted ? MS_REASON_TARGETING_MATCH : MS_REASON_STATIC;

	/* variants: the matched strategy's, else the flag's */
	{
		VariantWhy	why = VARIANT_NONE;

		if (matched != NULL && matched->variants.n > 0)
		{
			const MsFieldRef *stick = matched->variants.v[0].has_stickiness ?
				&matched->variants.v[0].stickiness : &matched->stickiness;
			const char *group = matched->group_id ? matched->group_id : f->name;

			out->variant = select_variant(c, &matched->variants, group, stick, &why);
		}
		else if (variants->n > 0)
			out->variant = select_variant(c, variants, f->name, &variants->v[0].stickiness, &why);
		if (why == VARIANT_OVERRIDE)
			out->reason = MS_REASON_TARGETING_MATCH;
		else if (why == VARIANT_SPLIT)
			out->reason = MS_REASON_SPLIT;
	}

	if (f->type == MS_VALUE_BOOLEAN)
		out->value = NULL;		/* the state itself: rendered as true */
	else if (out->variant && out->variant->value)
		out->value = out->variant->value;
	else if (t && t->on_value)
		out->value = t->on_value;
	else if (e && e->on_value)
		out->value = e->on_value;
	else if (f->base.on_value)
		out->value = f->base.on_value;
}

/* Set up the context from the SQL arguments. */
static void
ctx_init(EvalCtx *c, Jsonb *context, text *tenant, text *environment)
{
	memset(c, 0, sizeof(*c));
	/* a context without currentTime is evaluated at the statement's time */
	c->now = GetCurrentStatementStartTimestamp();
	if (context != NULL)
	{
		if (JB_ROOT_IS_OBJECT(context))
			c->root = &context->root;
		else
			c->invalid = true;
	}
	c->tenant = tenant ? text_to_cstring(tenant) : NULL;
	c->environment = environment ? text_to_cstring(environment) : NULL;
}

/* The last flag a call site asked for (fn_extra): a WHERE clause asks for one flag per row. */
typedef struct CallMemo
{
	uint64		generation;
	FlagEntry  *entry;
	int			len;
	char		name[MS_MAX_FLAG_NAME_BYTES + 1];
} CallMemo;

/* The cache entry of the flag named by a text argument, remembered per call site. */
static FlagEntry *
lookup_arg(FunctionCallInfo fcinfo, text *arg, char **name)
{
	CallMemo   *m = (CallMemo *) fcinfo->flinfo->fn_extra;
	int			len = VARSIZE_ANY_EXHDR(arg);
	FlagEntry  *e;

	if (m != NULL && m->generation == cache_generation && m->len == len &&
		memcmp(m->name, VARDATA_ANY(arg), len) == 0)
	{
		*name = m->name;
		return m->entry;
	}
	*name = text_to_cstring(arg);
	e = cache_lookup(*name);
	if (len <= MS_MAX_FLAG_NAME_BYTES && e != NULL)
	{
		if (m == NULL)
			m = fcinfo->flinfo->fn_extra = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(CallMemo));
		m->generation = cache_generation;
		m->entry = e;
		m->len = len;
		memcpy(m->name, VARDATA_ANY(arg), len);
		m->name[len] = '\0';
	}
	return e;
}

/* Evaluate a flag (its cache entry, or NULL) for the acting principal (unknown and unreadable look alike). */
static void
evaluate_entry(EvalCtx *c, FlagEntry *e, MsEvaluation *out)
{

	memset(out, 0, sizeof(*out));
	if (e == NULL || e->flag == NULL || !may_read(e))
	{
		out->reason = MS_REASON_ERROR;
		out->error = MS_EVAL_FLAG_NOT_FOUND;
		return;
	}
	if (c->invalid)
	{
		out->flag = e->flag;
		out->reason = MS_REASON_ERROR;
		out->error = MS_EVAL_INVALID_CONTEXT;
		return;
	}
	eval_flag(c, e, out);
}

/* ---- results as JSON ---- */

const char *
ms_reason_name(MsReason r)
{
	switch (r)
	{
		case MS_REASON_STATIC:
			return "STATIC";
		case MS_REASON_TARGETING_MATCH:
			return "TARGETING_MATCH";
		case MS_REASON_SPLIT:
			return "SPLIT";
		case MS_REASON_DEFAULT:
			return "DEFAULT";
		case MS_REASON_DISABLED:
			return "DISABLED";
		case MS_REASON_PREREQUISITE_FAILED:
			return "PREREQUISITE_FAILED";
		case MS_REASON_ERROR:
			return "ERROR";
	}
	return "UNKNOWN";
}

/* Push an object key. */
static void
push_key(JsonbParseState **st, const char *k)
{
	JsonbValue	jk;

	jk.type = jbvString;
	jk.val.string.val = (char *) k;
	jk.val.string.len = strlen(k);
	pushJsonbValue(st, WJB_KEY, &jk);
}

/* Push key: string value (or null). */
static void
push_str(JsonbParseState **st, const char *k, const char *v)
{
	JsonbValue	jv;

	push_key(st, k);
	jv.type = v ? jbvString : jbvNull;
	if (v)
	{
		jv.val.string.val = (char *) v;
		jv.val.string.len = strlen(v);
	}
	pushJsonbValue(st, WJB_VALUE, &jv);
}

/* Push key: a whole jsonb document (or null). */
static void
push_jsonb(JsonbParseState **st, const char *k, Jsonb *v)
{
	JsonbValue	jv;

	push_key(st, k);
	if (v == NULL)
		jv.type = jbvNull;
	else if (JB_ROOT_IS_SCALAR(v))
		JsonbExtractScalar(&v->root, &jv);
	else
	{
		jv.type = jbvBinary;
		jv.val.binary.data = &v->root;
		jv.val.binary.len = VARSIZE(v) - VARHDRSZ;
	}
	pushJsonbValue(st, WJB_VALUE, &jv);
}

/* Push key: boolean. */
static void
push_bool(JsonbParseState **st, const char *k, bool b)
{
	JsonbValue	jv;

	push_key(st, k);
	jv.type = jbvBool;
	jv.val.boolean = b;
	pushJsonbValue(st, WJB_VALUE, &jv);
}

static const char *
error_code_name(MsEvalError e)
{
	switch (e)
	{
		case MS_EVAL_OK:
			return NULL;
		case MS_EVAL_FLAG_NOT_FOUND:
			return "FLAG_NOT_FOUND";
		case MS_EVAL_TYPE_MISMATCH:
			return "TYPE_MISMATCH";
		case MS_EVAL_INVALID_CONTEXT:
			return "INVALID_CONTEXT";
	}
	return "GENERAL";
}

/* One evaluation as the documented JSON object (returns it when it is the root). */
static JsonbValue *
push_result(JsonbParseState **st, const char *key, MsEvaluation *r)
{
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	push_str(st, "key", key);
	push_str(st, "reason", ms_reason_name(r->reason));
	push_bool(st, "enabled", r->enabled);
	push_str(st, "variant", r->variant ? r->variant->name : NULL);
	if (r->error != MS_EVAL_OK)
	{
		const char *msg = r->error == MS_EVAL_FLAG_NOT_FOUND ?
			psprintf("flag \"%s\" not found", key) :
			r->error == MS_EVAL_INVALID_CONTEXT ? "the context must be a JSON object" :
			psprintf("flag \"%s\" is of type %s", key, ms_value_type_name(r->flag->type));

		push_str(st, "error_code", error_code_name(r->error));
		push_str(st, "error_message", msg);
		push_jsonb(st, "value", NULL);
	}
	else if (r->flag->type == MS_VALUE_BOOLEAN)
		push_bool(st, "value", r->enabled);
	else
		push_jsonb(st, "value", r->value);
	if (r->flag != NULL)
		push_str(st, "value_type", ms_value_type_name(r->flag->type));
	if (r->variant && r->variant->payload)
		push_jsonb(st, "payload", r->variant->payload);
	if (r->expired)
		push_bool(st, "expired", true);
	if (r->flag != NULL && r->error == MS_EVAL_OK)
	{
		JsonbValue	jv;

		push_key(st, "version");
		jv.type = jbvNumeric;
		jv.val.numeric = r->flag->version_numeric;
		pushJsonbValue(st, WJB_VALUE, &jv);
	}
	return pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* Append a key/value pair to a flat object being built. */
static void
pair(JsonbValue *obj, const char *k, JsonbValue v)
{
	JsonbPair  *p = &obj->val.object.pairs[obj->val.object.nPairs];

	p->key.type = jbvString;
	p->key.val.string.val = (char *) k;
	p->key.val.string.len = strlen(k);
	p->value = v;
	p->order = obj->val.object.nPairs++;
}

/*
 * The result as jsonb.  The common case (every value a scalar) is built
 * directly with its keys already in jsonb's order (by length, then bytes),
 * skipping the sort that pushJsonbValue does for every object.
 */
static Jsonb *
result_jsonb(const char *key, MsEvaluation *r)
{
	JsonbValue	obj,
				v,
				value;
	JsonbPair	pairs[8];

	if (r->error != MS_EVAL_OK || r->expired || (r->variant && r->variant->payload) ||
		(r->flag->type != MS_VALUE_BOOLEAN && r->value != NULL && !JB_ROOT_IS_SCALAR(r->value)))
	{
		JsonbParseState *st = NULL;

		return JsonbValueToJsonb(push_result(&st, key, r));
	}
	if (r->flag->type == MS_VALUE_BOOLEAN)
	{
		value.type = jbvBool;
		value.val.boolean = r->enabled;
	}
	else if (r->value == NULL)
		value.type = jbvNull;
	else
		JsonbExtractScalar(&r->value->root, &value);

	obj.type = jbvObject;
	obj.val.object.nPairs = 0;
	obj.val.object.pairs = pairs;
	/* length 3, 5, 6, 7 (enabled < variant < version), 10 */
	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pair(&obj, "key", v);
	pair(&obj, "value", value);
	v.val.string.val = (char *) ms_reason_name(r->reason);
	v.val.string.len = strlen(v.val.string.val);
	pair(&obj, "reason", v);
	v.type = jbvBool;
	v.val.boolean = r->enabled;
	pair(&obj, "enabled", v);
	if (r->variant)
	{
		v.type = jbvString;
		v.val.string.val = r->variant->name;
		v.val.string.len = strlen(r->variant->name);
	}
	else
		v.type = jbvNull;
	pair(&obj, "variant", v);
	v.type = jbvNumeric;
	v.val.numeric = r->flag->version_numeric;
	pair(&obj, "version", v);
	v.type = jbvString;
	v.val.string.val = (char *) ms_value_type_name(r->flag->type);
	v.val.string.len = strlen(v.val.string.val);
	pair(&obj, "value_type", v);
	return JsonbValueToJsonb(&obj);
}

/* ---- SQL entry points ---- */

#define ARG_TEXT(n) (PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n))

/* The flag name argument must be given. */
static void
flag_arg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(MS_ERRCODE_NULL_VALUE),
				 errmsg("flag must not be null")));
}

/*
 * SQL: evaluate(flag, context, tenant, environment, expected_type) -> jsonb
 * {key, value, variant, reason, enabled, error_code?, ...}.
 */
Datum
evaluate(PG_FUNCTION_ARGS)
{
	char	   *name;
	EvalCtx		c;
	MsEvaluation r;
	FlagEntry  *e;

	flag_arg(fcinfo);
	cache_begin();
	e = lookup_arg(fcinfo, PG_GETARG_TEXT_PP(0), &name);
	ctx_init(&c, PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), ARG_TEXT(2), ARG_TEXT(3));
	evaluate_entry(&c, e, &r);
	if (!PG_ARGISNULL(4) && r.error == MS_EVAL_OK)
	{
		char	   *want = text_to_cstring(PG_GETARG_TEXT_PP(4));

		if (strcmp(want, "boolean") != 0 && strcmp(want, "string") != 0 &&
			strcmp(want, "number") != 0 && strcmp(want, "object") != 0)
			ereport(ERROR,
					(errcode(MS_ERRCODE_INVALID_VALUE),
					 errmsg("expected_type must be boolean, string, number or object"),
					 errdetail("\"%s\" was given.", want)));
		if (strcmp(want, ms_value_type_name(r.flag->type)) != 0)
		{
			r.reason = MS_REASON_ERROR;
			r.error = MS_EVAL_TYPE_MISMATCH;
			r.variant = NULL;
			r.enabled = false;
		}
	}
	PG_RETURN_JSONB_P(result_jsonb(name, &r));
}

/* SQL: is_enabled(flag, context, tenant, environment) -> boolean; unknown flags are false. */
Datum
is_enabled(PG_FUNCTION_ARGS)
{
	char	   *name;
	EvalCtx		c;
	MsEvaluation r;
	FlagEntry  *e;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	cache_begin();
	e = lookup_arg(fcinfo, PG_GETARG_TEXT_PP(0), &name);
	ctx_init(&c, PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), ARG_TEXT(2), ARG_TEXT(3));
	evaluate_entry(&c, e, &r);
	PG_RETURN_BOOL(r.error == MS_EVAL_OK && r.enabled);
}

/* Sort entries by name (byte order) for a stable evaluate_all. */
static int
entry_cmp(const void *a, const void *b)
{
	return strcmp((*(FlagEntry *const *) a)->name, (*(FlagEntry *const *) b)->name);
}

/* SQL: evaluate_all(context, tenant, environment) -> jsonb array, every readable flag by name. */
Datum
evaluate_all(PG_FUNCTION_ARGS)
{
	EvalCtx		c;
	JsonbParseState *st = NULL;
	JsonbValue *res;
	HASH_SEQ_STATUS seq;
	FlagEntry  *e;
	FlagEntry **list;
	int			n = 0;

	cache_begin();
	cache_load_all();
	ctx_init(&c, PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0), ARG_TEXT(1), ARG_TEXT(2));
	list = palloc(sizeof(FlagEntry *) * (hash_get_num_entries(flag_table) + 1));
	hash_seq_init(&seq, flag_table);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->flag != NULL)
			list[n++] = e;
	qsort(list, n, sizeof(FlagEntry *), entry_cmp);

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		MsEvaluation r;

		if (!may_read(list[i]))
			continue;
		if (c.invalid)
		{
			memset(&r, 0, sizeof(r));
			r.flag = list[i]->flag;
			r.reason = MS_REASON_ERROR;
			r.error = MS_EVAL_INVALID_CONTEXT;
		}
		else
			eval_flag(&c, list[i], &r);
		(void) push_result(&st, list[i]->name, &r);
	}
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
