/*
 * flag_eval.h: the result of one flag evaluation (flag_eval.c).
 */
#ifndef METASTORE_FLAG_EVAL_H
#define METASTORE_FLAG_EVAL_H

#include "flags.h"

/* The NOLOGIN, BYPASSRLS role the flag cache reads its tables as. */
#define MS_EVALUATOR_ROLE "metastore_evaluator"

/* OpenFeature's resolution reasons, plus PREREQUISITE_FAILED. */
typedef enum MsReason
{
	MS_REASON_STATIC,
	MS_REASON_TARGETING_MATCH,
	MS_REASON_SPLIT,
	MS_REASON_DEFAULT,
	MS_REASON_DISABLED,
	MS_REASON_PREREQUISITE_FAILED,
	MS_REASON_ERROR
} MsReason;

/* OpenFeature's error codes that evaluation can produce. */
typedef enum MsEvalError
{
	MS_EVAL_OK,
	MS_EVAL_FLAG_NOT_FOUND,
	MS_EVAL_TYPE_MISMATCH,
	MS_EVAL_INVALID_CONTEXT
} MsEvalError;

typedef struct MsEvaluation
{
	MsFlag	   *flag;			/* NULL when not found */
	bool		enabled;
	bool		split;
	bool		expired;
	MsReason	reason;
	MsEvalError error;
	MsVariant  *variant;		/* NULL: none */
	Jsonb	   *value;			/* non-boolean flags: the value served (NULL = null) */
} MsEvaluation;

extern const char *ms_reason_name(MsReason r);

#endif
