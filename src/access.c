/*
 * access.c: who may do what in which namespace.
 *
 * A grant gives a principal a role on a namespace pattern: "*" (every
 * namespace), "team-a.*" (team-a and every namespace below it, such as
 * team-a.billing) or an exact namespace.  admin implies writer implies
 * reader; the lifecycle roles (developer, approver, external_testing_system)
 * imply reader and nothing else, so separation of duties holds even for
 * admins.  A superuser session without an API key may do anything.
 *
 * Grants are cached per backend (row level security policies ask for every
 * row) and reset through cache.c whenever metastore.grants changes.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "access.h"
#include "cache.h"
#include "errors.h"
#include "metastore.h"
#include "principal.h"
#include "spi_util.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(has_role);
PG_FUNCTION_INFO_V1(require_role);
PG_FUNCTION_INFO_V1(grant_role);
PG_FUNCTION_INFO_V1(revoke_role);
PG_FUNCTION_INFO_V1(list_grants);

static const char *const role_names[] = {
	"reader", "writer", "admin", "developer", "approver", "external_testing_system"
};

typedef struct GrantEntry
{
	char	   *pattern;
	MsRole		role;
} GrantEntry;

/* The grants of one principal, as read from metastore.grants. */
typedef struct PrincipalGrants
{
	char	   *principal;
	GrantEntry *grants;
	int			n;
	struct PrincipalGrants *next;
} PrincipalGrants;

/*
 * Grants of recently seen principals, kept across transactions until
 * metastore.grants changes (cache.c resets it in every backend) or a
 * subtransaction that may have changed it rolls back.  Bounded: when it
 * holds MAX_CACHED_PRINCIPALS it starts over.
 */
#define MAX_CACHED_PRINCIPALS 64
static MemoryContext grant_cxt = NULL;
static PrincipalGrants *grant_cache = NULL;
static int	n_cached = 0;
static bool grant_watch_set = false;

static SPIPlanPtr plan_load = NULL;
static SPIPlanPtr plan_grant = NULL;
static SPIPlanPtr plan_revoke = NULL;
static SPIPlanPtr plan_list = NULL;

/* Map a role name onto its enum; unknown names are a user error. */
MsRole
ms_parse_role(const char *name)
{
	for (int i = 0; i < (int) lengthof(role_names); i++)
		if (strcmp(name, role_names[i]) == 0)
			return (MsRole) i;
	ereport(ERROR,
			(errcode(MS_ERRCODE_INVALID_VALUE),
			 errmsg("unknown role \"%s\"", name),
			 errhint("Roles are reader, writer, admin, developer, approver, external_testing_system.")));
	pg_unreachable();
}

/* The name of a role. */
const char *
ms_role_name(MsRole role)
{
	return role_names[role];
}

/* A held role satisfies a required one. */
static bool
role_implies(MsRole held, MsRole required)
{
	if (held == required || required == MS_ROLE_READER)
		return true;
	return required == MS_ROLE_WRITER && held == MS_ROLE_ADMIN;
}

/* Length of a pattern's base: "team-a.*" -> 6; -1 for "*" or an exact name. */
static int
pattern_base_len(const char *pattern)
{
	size_t		len = strlen(pattern);

	if (len >= 3 && pattern[len - 1] == '*' && pattern[len - 2] == '.')
		return (int) len - 2;
	return -1;
}

/* A namespace falls under a pattern. */
static bool
pattern_matches(const char *pattern, const char *ns)
{
	int			base;

	if (strcmp(pattern, "*") == 0)
		return true;
	base = pattern_base_len(pattern);
	if (base < 0)
		return strcmp(pattern, ns) == 0;
	return strncmp(pattern, ns, base) == 0 && (ns[base] == '\0' || ns[base] == '.');
}

/* Pattern a covers everything pattern b names (authority to grant on b). */
static bool
pattern_covers(const char *a, const char *b)
{
	int			base_b = pattern_base_len(b);
	char	   *bname;

	if (strcmp(a, "*") == 0)
		return true;
	if (strcmp(b, "*") == 0)
		return false;
	bname = base_b < 0 ? pstrdup(b) : pnstrdup(b, base_b);
	if (pattern_base_len(a) < 0)
		return base_b < 0 && strcmp(a, bname) == 0;
	return pattern_matches(a, bname);
}

/* "*", a namespace, or a namespace followed by ".*". */
static char *
check_pattern(text *t)
{
	char	   *s = text_to_cstring(t);
	int			base;

	if (strcmp(s, "*") == 0)
		return s;
	base = pattern_base_len(s);
	if (base >= 0)
	{
		text	   *nstext = cstring_to_text_with_len(s, base);

		PG_TRY();
		{
			ms_check_namespace(nstext);
		}
		PG_CATCH();
		{
			/* report the whole pattern, not just its base */
			FlushErrorState();
			ereport(ERROR,
					(errcode(MS_ERRCODE_INVALID_VALUE),
					 errmsg("invalid namespace pattern \"%s\"", s),
					 errhint("A pattern is \"*\", a namespace, or a namespace followed by \".*\".")));
		}
		PG_END_TRY();
		return s;
	}
	ms_check_namespace(t);
	return s;
}

/* Forget every cached grant (cache.c callback, and after local changes). */
static void
forget_grants(void)
{
	if (grant_cxt != NULL)
		MemoryContextReset(grant_cxt);
	grant_cache = NULL;
	n_cached = 0;
}

/* The acting principal's grants: from the cache, else read once. */
static PrincipalGrants *
load_grants(void)
{
	const char *who = ms_current_principal();
	static const Oid argtypes[1] = {TEXTOID};
	Datum		values[1];
	MemoryContext old;
	int			nestlevel;
	PrincipalGrants *pg;

	for (pg = grant_cache; pg != NULL; pg = pg->next)
		if (strcmp(pg->principal, who) == 0)
			return pg;

	if (grant_cxt == NULL)
		grant_cxt = AllocSetContextCreate(TopMemoryContext, "metastore grants",
										  ALLOCSET_SMALL_SIZES);
	if (!grant_watch_set)
	{
		ms_cache_watch(ms_relid("grants"), forget_grants);
		grant_watch_set = true;
	}
	if (n_cached >= MAX_CACHED_PRINCIPALS)
		forget_grants();

	/* has_role pins no search_path (RLS calls it per row): pin it for this query */
	nestlevel = ms_safe_search_path_push();
	ms_spi_connect();
	ms_plan(&plan_load,
			"SELECT namespace_pattern, role FROM metastore.grants"
			" WHERE principal OPERATOR(pg_catalog.=) $1",
			1, argtypes);
	values[0] = CStringGetTextDatum(who);
	{
		/*
		 * Read as the owner role: callers that run as the session user (the
		 * flag evaluators, which are not SECURITY DEFINER) have no privilege
		 * on the table.  An error restores the user through transaction abort.
		 */
		static Oid	owner = InvalidOid;
		Oid			save_user;
		int			save_sec;
		int			rc;

		if (!OidIsValid(owner))
			owner = get_role_oid("metastore_owner", false);
		GetUserIdAndSecContext(&save_user, &save_sec);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
		rc = SPI_execute_plan(plan_load, values, NULL, true, 0);
		SetUserIdAndSecContext(save_user, save_sec);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not read grants");
	}

	old = MemoryContextSwitchTo(grant_cxt);
	pg = palloc0(sizeof(PrincipalGrants));
	pg->principal = pstrdup(who);
	pg->grants = palloc(sizeof(GrantEntry) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		pg->grants[i].pattern = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		pg->grants[i].role = ms_parse_role(SPI_getvalue(SPI_tuptable->vals[i],
														SPI_tuptable->tupdesc, 2));
	}
	pg->n = (int) SPI_processed;
	MemoryContextSwitchTo(old);
	SPI_finish();
	ms_safe_search_path_pop(nestlevel);

	pg->next = grant_cache;
	grant_cache = pg;
	n_cached++;
	return pg;
}

/* A rolled-back subtransaction may have changed grants: read them again. */
static void
access_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		forget_grants();
}

/* Called from _PG_init. */
void
ms_access_init(void)
{
	RegisterSubXactCallback(access_subxact_callback, NULL);
}

/* The acting principal holds `role` (or one implying it) on namespace ns. */
bool
ms_has_role(const char *ns, MsRole role)
{
	PrincipalGrants *pg;

	if (ms_principal_is_superuser())
		return true;
	pg = load_grants();
	for (int i = 0; i < pg->n; i++)
		if (role_implies(pg->grants[i].role, role) && pattern_matches(pg->grants[i].pattern, ns))
			return true;
	return false;
}

/* Raise 42501 unless the acting principal holds `role` on ns. */
void
ms_require_role(const char *ns, MsRole role)
{
	if (!ms_has_role(ns, role))
		ereport(ERROR,
				(errcode(MS_ERRCODE_ACCESS_DENIED),
				 errmsg("permission denied for namespace \"%s\"", ns),
				 errdetail("Principal \"%s\" does not hold role %s there.",
						   ms_current_principal(), ms_role_name(role)),
				 errhint("An admin of the namespace can grant it with metastore.grant().")));
}

/* The acting principal may administer every namespace. */
bool
ms_is_global_admin(void)
{
	PrincipalGrants *pg;

	if (ms_principal_is_superuser())
		return true;
	pg = load_grants();
	for (int i = 0; i < pg->n; i++)
		if (pg->grants[i].role == MS_ROLE_ADMIN && strcmp(pg->grants[i].pattern, "*") == 0)
			return true;
	return false;
}

/* The acting principal is admin over every namespace `pattern` names. */
static bool
can_administer(const char *pattern)
{
	PrincipalGrants *pg;

	if (ms_principal_is_superuser())
		return true;
	pg = load_grants();
	for (int i = 0; i < pg->n; i++)
		if (pg->grants[i].role == MS_ROLE_ADMIN && pattern_covers(pg->grants[i].pattern, pattern))
			return true;
	return false;
}

/* Raise 42501 unless the acting principal may grant and revoke on `pattern`. */
static void
require_administer(const char *pattern)
{
	if (!can_administer(pattern))
		ereport(ERROR,
				(errcode(MS_ERRCODE_ACCESS_DENIED),
				 errmsg("permission denied to manage roles on \"%s\"", pattern),
				 errdetail("Principal \"%s\" is not an admin of a pattern covering it.",
						   ms_current_principal()),
				 errhint("Ask an admin of the namespace (or of \"*\").")));
}

/* SQL: has_role(namespace, role) -> boolean, for the acting principal. */
Datum
has_role(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(ms_has_role(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							   ms_parse_role(text_to_cstring(PG_GETARG_TEXT_PP(1)))));
}

/* SQL: require_role(namespace, role): raise 42501 unless held. */
Datum
require_role(PG_FUNCTION_ARGS)
{
	ms_require_arg(PG_ARGISNULL(0), "namespace");
	ms_require_arg(PG_ARGISNULL(1), "role");
	ms_require_role(ms_check_namespace(PG_GETARG_TEXT_PP(0)),
					ms_parse_role(text_to_cstring(PG_GETARG_TEXT_PP(1))));
	PG_RETURN_VOID();
}

/* Validated (principal, pattern, role) arguments of grant / revoke. */
static void
grant_args(FunctionCallInfo fcinfo, char **principal, char **pattern, MsRole *role)
{
	ms_require_arg(PG_ARGISNULL(0), "principal");
	ms_require_arg(PG_ARGISNULL(1), "namespace");
	ms_require_arg(PG_ARGISNULL(2), "role");
	*principal = ms_check_principal_name(PG_GETARG_TEXT_PP(0), "principal");
	*pattern = check_pattern(PG_GETARG_TEXT_PP(1));
	*role = ms_parse_role(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	require_administer(*pattern);
}

/* SQL: grant(principal, namespace, role) -> true when newly granted. */
Datum
grant_role(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	char	   *principal,
			   *pattern;
	MsRole		role;
	Datum		values[4];
	bool		added;

	grant_args(fcinfo, &principal, &pattern, &role);
	ms_spi_connect();
	ms_plan(&plan_grant,
			"INSERT INTO metastore.grants (principal, namespace_pattern, role, granted_at, granted_by)"
			" VALUES ($1, $2, $3, pg_catalog.now(), $4) ON CONFLICT DO NOTHING",
			4, argtypes);
	values[0] = CStringGetTextDatum(principal);
	values[1] = CStringGetTextDatum(pattern);
	values[2] = CStringGetTextDatum(ms_role_name(role));
	values[3] = CStringGetTextDatum(ms_current_principal());
	if (SPI_execute_plan(plan_grant, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert grant");
	added = SPI_processed > 0;
	SPI_finish();
	forget_grants();
	PG_RETURN_BOOL(added);
}

/* SQL: revoke(principal, namespace, role) -> true when a grant was removed. */
Datum
revoke_role(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	char	   *principal,
			   *pattern;
	MsRole		role;
	Datum		values[3];
	bool		removed;

	grant_args(fcinfo, &principal, &pattern, &role);
	ms_spi_connect();
	ms_plan(&plan_revoke,
			"DELETE FROM metastore.grants"
			" WHERE principal = $1 AND namespace_pattern = $2 AND role = $3",
			3, argtypes);
	values[0] = CStringGetTextDatum(principal);
	values[1] = CStringGetTextDatum(pattern);
	values[2] = CStringGetTextDatum(ms_role_name(role));
	if (SPI_execute_plan(plan_revoke, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete grant");
	removed = SPI_processed > 0;
	SPI_finish();
	forget_grants();
	PG_RETURN_BOOL(removed);
}

/*
 * SQL: list_grants(principal DEFAULT NULL): the grants the acting principal
 * may see: its own, and those on patterns it administers.
 */
Datum
list_grants(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const Oid argtypes[1] = {TEXTOID};
	Datum		values[1];
	char		nulls[1] = {' '};
	const char *who = ms_current_principal();
	char	   *who_copy;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		nulls[0] = 'n';
	else
		values[0] = CStringGetTextDatum(ms_check_principal_name(PG_GETARG_TEXT_PP(0), "principal"));
	who_copy = pstrdup(who);

	ms_spi_connect();
	ms_plan(&plan_list,
			"SELECT principal, namespace_pattern, role, granted_at, granted_by"
			" FROM metastore.grants WHERE $1 IS NULL OR principal = $1"
			" ORDER BY principal, namespace_pattern, role",
			1, argtypes);
	if (SPI_execute_plan(plan_list, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list grants");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *principal = SPI_getvalue(tup, desc, 1);
		char	   *pattern = SPI_getvalue(tup, desc, 2);
		Datum		out[5];
		bool		outnulls[5];

		if (strcmp(principal, who_copy) != 0 && !can_administer(pattern))
			continue;
		for (int c = 0; c < 5; c++)
			out[c] = SPI_getbinval(tup, desc, c + 1, &outnulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);
	}
	SPI_finish();
	return (Datum) 0;
}
