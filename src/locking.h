/*
 * locking.h: optimistic locking, the one place expected_version is judged.
 */
#ifndef METASTORE_LOCKING_H
#define METASTORE_LOCKING_H

#include "postgres.h"

/* What the caller asked for: NULL = unconditional, 0 = create only, N = exactly version N. */
typedef struct MsExpectedVersion
{
	bool		given;
	int32		version;
} MsExpectedVersion;

extern MsExpectedVersion ms_expected_version(bool isnull, int32 value);
extern void ms_check_version(const char *what, const char *name,
							 MsExpectedVersion expected, bool exists,
							 bool deleted, int32 current);

#endif
