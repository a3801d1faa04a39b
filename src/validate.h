/*
 * validate.h: input checks shared by every aggregate (namespaces, keys,
 * tags, free text, JSON documents, content types).
 */
#ifndef METASTORE_VALIDATE_H
#define METASTORE_VALIDATE_H

#include "postgres.h"
#include "utils/array.h"
#include "utils/jsonb.h"

typedef enum MsContentType
{
	MS_CONTENT_JSON,
	MS_CONTENT_YAML,
	MS_CONTENT_TEXT,
	MS_CONTENT_BINARY
} MsContentType;

extern void ms_require_arg(bool isnull, const char *argname);
extern char *ms_check_namespace(text *ns);
extern char *ms_check_key(text *key, const char *argname);
extern void ms_check_optional_text(text *value, const char *argname, int max_bytes);
extern ArrayType *ms_normalize_tags(ArrayType *tags);
extern bool ms_tags_equal(ArrayType *a, ArrayType *b);
extern MsContentType ms_parse_content_type(const char *name);
extern const char *ms_content_type_name(MsContentType ct);
extern void ms_check_document(Jsonb *doc, const char *argname);
extern void ms_check_content(Jsonb *doc, MsContentType ct);

#endif
