/*
 * principal.c: the acting principal, written into every audit column.
 *
 * A direct SQL client acts as its session role.  It is the session user and
 * not current_user, so SECURITY DEFINER functions still see the caller.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "principal.h"

PG_FUNCTION_INFO_V1(current_principal);

/* The acting principal's name, for audit columns and access checks. */
const char *
ms_current_principal(void)
{
	return GetUserNameFromId(GetSessionUserId(), false);
}

/* SQL: metastore.current_principal() */
Datum
current_principal(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(ms_current_principal()));
}
