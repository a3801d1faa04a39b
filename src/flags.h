/*
 * flags.h: the one flag model every path shares.
 *
 * A stored definition (jsonb, docs/flags.md) is compiled once into these
 * structs (flag_model.c) and kept in a per-backend cache (flag_eval.c);
 * evaluation walks them without touching a table.  Unleash's client API
 * documents, the seeds' simple fields and our own definitions all land in
 * this one model: there is one evaluator.
 */
#ifndef METASTORE_FLAGS_H
#define METASTORE_FLAGS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "constraints.h"

/* Longest flag name, in bytes (Unleash allows 255 characters). */
#define MS_MAX_FLAG_NAME_BYTES 255

/* Context fields with a fixed meaning (and aliases); others are looked up by name. */
typedef enum MsField
{
	MS_FIELD_OTHER = 0,
	MS_FIELD_USER_ID,			/* userId, targetingKey, user_id */
	MS_FIELD_SESSION_ID,		/* sessionId, session_id */
	MS_FIELD_REMOTE_ADDRESS,	/* remoteAddress */
	MS_FIELD_ENVIRONMENT,		/* environment, else the evaluate() argument */
	MS_FIELD_APP_NAME,			/* appName */
	MS_FIELD_CURRENT_TIME,		/* currentTime, else the statement's time */
	MS_FIELD_TENANT_ID,			/* tenantId, tenant_id, else the evaluate() argument */
	MS_FIELD_RANDOM,			/* stickiness "random" */
	MS_FIELD_DEFAULT,			/* stickiness "default": userId, sessionId, then random */
	MS_NFIELDS
} MsField;

typedef struct MsFieldRef
{
	MsField		kind;
	char	   *name;			/* as written (MS_FIELD_OTHER: the lookup key) */
	int			len;
} MsFieldRef;

typedef enum MsOperator
{
	MS_OP_UNKNOWN = 0,			/* never matches (Unleash: unknown operators are false) */
	MS_OP_IN,
	MS_OP_NOT_IN,
	MS_OP_STR_STARTS_WITH,
	MS_OP_STR_ENDS_WITH,
	MS_OP_STR_CONTAINS,
	MS_OP_NUM_EQ,
	MS_OP_NUM_GT,
	MS_OP_NUM_GTE,
	MS_OP_NUM_LT,
	MS_OP_NUM_LTE,
	MS_OP_DATE_AFTER,
	MS_OP_DATE_BEFORE,
	MS_OP_SEMVER_EQ,
	MS_OP_SEMVER_GT,
	MS_OP_SEMVER_GTE,
	MS_OP_SEMVER_LT,
	MS_OP_SEMVER_LTE,
	MS_OP_REGEX,
	MS_OP_IN_CIDR
} MsOperator;

/* A list of strings (constraint values, user ids, override values). */
typedef struct MsStrings
{
	int			n;
	char	  **s;
	int		   *len;
} MsStrings;

typedef struct MsConstraint
{
	MsOperator	op;
	MsFieldRef	field;
	bool		inverted;
	bool		case_insensitive;
	bool		usable;			/* false: the value did not parse; never matches */
	MsStrings	values;			/* IN, NOT_IN, STR_* (lower-cased when case-insensitive) */
	double		number;
	TimestampTz ts;
	MsSemver	semver;
	MsRegex    *regex;
	int			ncidrs;
	MsCidr	   *cidrs;
} MsConstraint;

typedef struct MsOverride
{
	MsFieldRef	field;
	MsStrings	values;
} MsOverride;

typedef struct MsVariant
{
	char	   *name;
	int32		weight;
	Jsonb	   *value;			/* typed value served, or NULL */
	Jsonb	   *payload;		/* Unleash payload {type, value}, or NULL */
	MsFieldRef	stickiness;
	bool		has_stickiness;
	int			noverrides;
	MsOverride *overrides;
} MsVariant;

typedef struct MsVariants
{
	int			n;
	MsVariant  *v;
	int32		total_weight;
} MsVariants;

typedef enum MsStrategyKind
{
	MS_STRATEGY_UNKNOWN = 0,	/* a custom strategy we cannot run: false */
	MS_STRATEGY_DEFAULT,
	MS_STRATEGY_USER_WITH_ID,
	MS_STRATEGY_GRADUAL_USER_ID,
	MS_STRATEGY_GRADUAL_SESSION_ID,
	MS_STRATEGY_GRADUAL_RANDOM,
	MS_STRATEGY_REMOTE_ADDRESS,
	MS_STRATEGY_FLEXIBLE_ROLLOUT,
	MS_STRATEGY_APPLICATION_HOSTNAME
} MsStrategyKind;

typedef struct MsStrategy
{
	MsStrategyKind kind;
	bool		disabled;
	int			nconstraints;
	MsConstraint *constraints;
	int			nsegments;
	int32	   *segments;
	double		percentage;		/* rollout; NaN when not a number */
	char	   *group_id;		/* NULL: the flag's name */
	MsFieldRef	stickiness;
	MsStrings	list;			/* userIds, IPs, hostNames */
	MsCidr	   *ips;			/* remoteAddress: parsed entries (family 0 = not an address) */
	MsVariants	variants;
} MsStrategy;

/* What a layer (base, environment, tenant) sets; unset fields fall through. */
typedef struct MsFlagBody
{
	bool		has_enabled;
	bool		enabled;
	bool		has_strategies;
	int			nstrategies;
	MsStrategy *strategies;
	bool		has_variants;
	MsVariants	variants;
	Jsonb	   *default_value;	/* NULL: not set by this layer */
	Jsonb	   *on_value;		/* "value" */
} MsFlagBody;

typedef struct MsDependency
{
	char	   *feature;
	bool		enabled;
	MsStrings	variants;
} MsDependency;

typedef enum MsValueType
{
	MS_VALUE_BOOLEAN,
	MS_VALUE_STRING,
	MS_VALUE_NUMBER,
	MS_VALUE_OBJECT
} MsValueType;

typedef struct MsNamedBody
{
	char	   *name;
	MsFlagBody	body;
} MsNamedBody;

typedef struct MsFlag
{
	char	   *name;
	char	   *namespace;
	int32		version;
	struct NumericData *version_numeric;	/* the version as a jsonb number, made once */
	MsValueType type;
	MsFlagBody	base;
	int			nenvironments;
	MsNamedBody *environments;
	int			ntenants;
	MsNamedBody *tenants;
	int			ndependencies;
	MsDependency *dependencies;
	bool		has_expiry;
	TimestampTz expires_at;
} MsFlag;

typedef struct MsSegment
{
	int32		id;
	char	   *name;
	int			nconstraints;
	MsConstraint *constraints;
} MsSegment;

/* Field names normalize_flag renamed, so that errors name what the caller wrote. */
#define MS_ALIAS_ENVIRONMENT_OVERRIDES	0x01
#define MS_ALIAS_TENANT_OVERRIDES		0x02
#define MS_ALIAS_PREREQUISITES			0x04

/* flag_model.c */
extern MsFlag *ms_flag_compile(const char *name, const char *ns, int32 version,
							   Jsonb *definition, bool strict, int aliases);
extern void ms_constraints_compile(JsonbContainer *arr, bool strict, const char *where,
								   int *n, MsConstraint **out);
extern const char *ms_value_type_name(MsValueType t);
extern MsOperator ms_operator_parse(const char *name, int len);

#endif
