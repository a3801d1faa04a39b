/*
 * filter.h: the search filter language (docs/search.md) and its compiler
 * into SQL predicates over metastore.records (alias r).
 */
#ifndef METASTORE_FILTER_H
#define METASTORE_FILTER_H

#include "postgres.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

/* limits of one query document (docs/search.md, "Limits") */
#define MS_FILTER_MAX_DEPTH			16
#define MS_FILTER_MAX_LEAVES		64
#define MS_FILTER_MAX_IN			1000
#define MS_FILTER_MAX_VALUE_BYTES	65536
#define MS_FILTER_MAX_SEGMENTS		32
#define MS_FILTER_MAX_SEGMENT_BYTES	256

/* What a field holds, which decides the operators it takes. */
typedef enum MsFieldKind
{
	MS_FIELD_TEXT,				/* key, namespace, owner, created_by, updated_by */
	MS_FIELD_INT,				/* version */
	MS_FIELD_TIMESTAMP,			/* created_at, updated_at */
	MS_FIELD_TAGS,				/* tags */
	MS_FIELD_JSON,				/* metadata, metadata.<path> */
	MS_FIELD_OTHER				/* projectable only: id, content_type, description */
} MsFieldKind;

/* A field name resolved against the fixed field table. */
typedef struct MsField
{
	MsFieldKind kind;
	const char *name;			/* canonical name; "metadata" for every path */
	const char *column;			/* SQL column over alias r, e.g. "r.key" */
	bool		nullable;		/* can be missing (owner, metadata paths) */
	int			npath;			/* metadata path segments */
	char	  **path;
	bool		keys_only;		/* no segment that #> could read as an array index */
	int			path_param;		/* $n of the bound path once bound, else 0 */
} MsField;

/* The bound parameters of a statement being built. */
typedef struct MsParams
{
	int			n;
	int			cap;
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;			/* SPI convention: ' ' or 'n' */
} MsParams;

extern void ms_params_init(MsParams *p);
extern int	ms_param_add(MsParams *p, Oid type, Datum value);
extern void ms_param_ref(StringInfo buf, MsParams *p, int n);
extern void ms_param_emit(StringInfo buf, MsParams *p, Oid type, Datum value);
extern Datum ms_text_array(char **items, int n);

extern void ms_field_resolve(const char *name, int len, MsField *out, const char *where);
extern void ms_field_path_expr(StringInfo buf, MsParams *p, MsField *f, bool as_text);
extern void ms_filter_compile(JsonbContainer *filter, MsParams *params, StringInfo buf);
extern char *ms_jsonb_container_text(JsonbContainer *c);
extern bool ms_jsonb_unknown_key(JsonbContainer *obj, const char *const *allowed,
								 JsonbValue *unknown);

#endif
