/*
 * principal.c: the acting principal, written into every audit column and
 * used by every access check.
 *
 * The authenticated principal is a backend-local C variable, set only by
 * metastore.authenticate() after an API key verified, and cleared when the
 * transaction (or the subtransaction that set it) ends.  No GUC or SQL
 * statement can set it, so a SQL client cannot claim to be someone else.
 * Without a key a client acts as its session role (not current_user, so
 * SET ROLE and SECURITY DEFINER functions do not change who is acting).
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "errors.h"
#include "metastore.h"
#include "principal.h"

PG_FUNCTION_INFO_V1(current_principal);


static char *auth_principal = NULL;	/* in TopMemoryContext */
static int	auth_nest_level = 0;	/* subtransaction level that set it */
static uint64 principal_generation = 1;	/* changes whenever auth_principal does */

/* Forget the authenticated principal. */
static void
clear_principal(void)
{
	if (auth_principal != NULL)
		pfree(auth_principal);
	auth_principal = NULL;
	auth_nest_level = 0;
	principal_generation++;
}

/* Transaction end: an authentication never outlives its transaction. */
static void
principal_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			clear_principal();
			break;
		default:
			break;
	}
}

/*
 * Subtransaction end: an abort undoes an authentication made inside it; a
 * commit hands it to the parent, so that a later, unrelated rollback at the
 * same depth does not undo it.
 */
static void
principal_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (auth_principal == NULL || auth_nest_level < level)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		clear_principal();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		auth_nest_level = level - 1;
}

/* Called from _PG_init. */
void
ms_principal_init(void)
{
	RegisterXactCallback(principal_xact_callback, NULL);
	RegisterSubXactCallback(principal_subxact_callback, NULL);
}

/* The acting principal's name, for audit columns and access checks. */
const char *
ms_current_principal(void)
{
	if (auth_principal != NULL)
		return auth_principal;
	return GetUserNameFromId(GetSessionUserId(), false);
}

/*
 * A number that changes whenever the acting principal may have changed
 * (together with the session user): lets hot paths memoize access checks.
 */
uint64
ms_principal_generation(void)
{
	return principal_generation ^ ((uint64) GetSessionUserId() << 40);
}

/* A superuser session that did not authenticate with a key may do anything. */
bool
ms_principal_is_superuser(void)
{
	return auth_principal == NULL && superuser_arg(GetSessionUserId());
}

/*
 * Make `principal` the acting principal until the transaction ends.  Only
 * apikeys.c calls this, after verifying a key.  Switching to a different
 * principal within one transaction is refused.
 */
void
ms_set_authenticated_principal(const char *principal)
{
	if (!IsTransactionState())
		elog(ERROR, "authentication outside a transaction");
	if (auth_principal != NULL)
	{
		if (strcmp(auth_principal, principal) == 0)
			return;
		ereport(ERROR,
				(errcode(MS_ERRCODE_ACCESS_DENIED),
				 errmsg("this transaction is already authenticated as \"%s\"", auth_principal),
				 errhint("Authenticate once per transaction.")));
	}
	auth_principal = MemoryContextStrdup(TopMemoryContext, principal);
	auth_nest_level = GetCurrentTransactionNestLevel();
	principal_generation++;
}

/* A principal name: 1..128 bytes of [A-Za-z0-9._@-], starting with a letter or digit. */
char *
ms_check_principal_name(text *name, const char *argname)
{
	char	   *s = text_to_cstring(name);
	size_t		len = strlen(s);

	if (len == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("%s must not be empty", argname)));
	if (len > MS_MAX_PRINCIPAL_BYTES)
		ereport(ERROR,
				(errcode(MS_ERRCODE_TOO_LONG),
				 errmsg("%s is too long", argname),
				 errdetail("It has %zu bytes; the limit is %d.", len, MS_MAX_PRINCIPAL_BYTES)));
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		bool		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') ||
			(i > 0 && (c == '.' || c == '_' || c == '-' || c == '@'));

		if (!ok)
			ereport(ERROR,
					(errcode(MS_ERRCODE_INVALID_VALUE),
					 errmsg("invalid %s \"%s\"", argname, s),
					 errdetail("Character %zu is not allowed.", i + 1),
					 errhint("A principal is letters, digits, '.', '_', '-' and '@', starting with a letter or digit.")));
	}
	return s;
}

/* SQL: metastore.current_principal() */
Datum
current_principal(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(ms_current_principal()));
}
