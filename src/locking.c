/*
 * locking.c: optimistic locking shared by every aggregate.
 *
 * Callers lock the row (or learn it does not exist) and then ask here
 * whether the write may go ahead.  A refusal is always the one conflict
 * SQLSTATE, MS409, which the HTTP shim turns into 409 or 412.
 */
#include "postgres.h"

#include "errors.h"
#include "locking.h"

/* Turn the SQL argument into a request, rejecting negative versions. */
MsExpectedVersion
ms_expected_version(bool isnull, int32 value)
{
	MsExpectedVersion ev;

	ev.given = !isnull;
	ev.version = isnull ? 0 : value;
	if (ev.given && value < 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("expected_version must be null, 0 or a positive version"),
				 errdetail("%d was given.", value)));
	return ev;
}

/*
 * Raise MS409 unless the stored state satisfies the request.
 * exists/deleted/current describe the locked row (current is its version).
 * A create-only request (0) against a live row is a conflict here; callers
 * that treat an identical create as idempotent check that before calling.
 */
void
ms_check_version(const char *what, const char *name, MsExpectedVersion expected,
				 bool exists, bool deleted, int32 current)
{
	if (!expected.given)
		return;
	if (expected.version == 0)
	{
		if (exists && !deleted)
			ereport(ERROR,
					(errcode(MS_ERRCODE_VERSION_CONFLICT),
					 errmsg("%s \"%s\" already exists", what, name),
					 errdetail("expected_version 0 asks to create it, but version %d is stored.", current),
					 errhint("Read the current version and pass it as expected_version to update.")));
		return;
	}
	if (!exists)
		ereport(ERROR,
				(errcode(MS_ERRCODE_VERSION_CONFLICT),
				 errmsg("%s \"%s\" does not exist", what, name),
				 errdetail("expected_version %d was given, but there is no such %s.",
						   expected.version, what),
				 errhint("Pass expected_version 0 (or null) to create it.")));
	if (deleted)
		ereport(ERROR,
				(errcode(MS_ERRCODE_VERSION_CONFLICT),
				 errmsg("%s \"%s\" is deleted", what, name),
				 errdetail("expected_version %d was given, but the %s was deleted at version %d.",
						   expected.version, what, current),
				 errhint("Pass expected_version 0 (or null) to create it again.")));
	if (expected.version != current)
		ereport(ERROR,
				(errcode(MS_ERRCODE_VERSION_CONFLICT),
				 errmsg("version conflict on %s \"%s\"", what, name),
				 errdetail("expected_version is %d, but the stored version is %d.",
						   expected.version, current),
				 errhint("Read the record again and retry with its current version.")));
}
