/*
 * records.h: the records store (namespaced key -> JSON document).
 */
#ifndef METASTORE_RECORDS_H
#define METASTORE_RECORDS_H

#include "postgres.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "locking.h"
#include "validate.h"

/* What a write did, reported by bulk_records and (later) the HTTP layer. */
typedef enum RecordOutcome
{
	RECORD_CREATED,
	RECORD_UPDATED,
	RECORD_UNCHANGED,
	RECORD_RESTORED,
	RECORD_DELETED
} RecordOutcome;

/* A validated put: the whole new state of one record. */
typedef struct RecordPut
{
	char	   *namespace;
	char	   *key;
	Jsonb	   *metadata;
	ArrayType  *tags;			/* normalized */
	text	   *owner;			/* NULL = none */
	MsContentType content_type;
	text	   *description;	/* NULL = none */
	MsExpectedVersion expected;
} RecordPut;

extern const char *record_outcome_name(RecordOutcome outcome);

#endif
