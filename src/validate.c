/*
 * validate.c: input checks shared by every aggregate.
 *
 * Everything a caller passes in is checked here before any row is touched,
 * so bad input fails with a precise SQLSTATE and changes nothing.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "errors.h"
#include "metastore.h"
#include "validate.h"

/* Reject a NULL for an argument that has no meaningful NULL. */
void
ms_require_arg(bool isnull, const char *argname)
{
	if (isnull)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NULL_VALUE),
				 errmsg("%s must not be null", argname)));
}

/* A namespace is 1..128 bytes of [A-Za-z0-9._-], starting with a letter or digit. */
char *
ms_check_namespace(text *ns)
{
	char	   *s = text_to_cstring(ns);
	size_t		len = strlen(s);

	if (len == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("namespace must not be empty")));
	if (len > MS_MAX_NAMESPACE_BYTES)
		ereport(ERROR,
				(errcode(MS_ERRCODE_TOO_LONG),
				 errmsg("namespace is too long"),
				 errdetail("The namespace has %zu bytes; the limit is %d.",
						   len, MS_MAX_NAMESPACE_BYTES)));
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		bool		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || (i > 0 && (c == '.' || c == '_' || c == '-'));

		if (!ok)
			ereport(ERROR,
					(errcode(MS_ERRCODE_INVALID_VALUE),
					 errmsg("invalid namespace \"%s\"", s),
					 errdetail("Character %zu is not allowed.", i + 1),
					 errhint("A namespace is letters, digits, '.', '_' and '-', starting with a letter or digit.")));
	}
	return s;
}

/* A key is 1..1024 bytes of printable text: no control characters. */
char *
ms_check_key(text *key, const char *argname)
{
	char	   *s = text_to_cstring(key);
	size_t		len = strlen(s);

	if (len == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("%s must not be empty", argname)));
	if (len > MS_MAX_KEY_BYTES)
		ereport(ERROR,
				(errcode(MS_ERRCODE_TOO_LONG),
				 errmsg("%s is too long", argname),
				 errdetail("The %s has %zu bytes; the limit is %d.",
						   argname, len, MS_MAX_KEY_BYTES)));
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7f)
			ereport(ERROR,
					(errcode(MS_ERRCODE_INVALID_VALUE),
					 errmsg("%s must not contain control characters", argname),
					 errdetail("Byte %zu is 0x%02x.", i + 1, c)));
	}
	return s;
}

/* Optional free text (owner, description): only its length is limited. */
void
ms_check_optional_text(text *value, const char *argname, int max_bytes)
{
	size_t		len;

	if (value == NULL)
		return;
	len = VARSIZE_ANY_EXHDR(value);
	if (len > (size_t) max_bytes)
		ereport(ERROR,
				(errcode(MS_ERRCODE_TOO_LONG),
				 errmsg("%s is too long", argname),
				 errdetail("The %s has %zu bytes; the limit is %d.",
						   argname, len, max_bytes)));
}

/* qsort comparator: tags sort by bytes, so equality is position-wise. */
static int
tag_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Tags are a set: check each, then sort and de-duplicate so that stored tag
 * arrays compare equal exactly when the sets are equal.
 */
ArrayType *
ms_normalize_tags(ArrayType *tags)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **strs;
	Datum	   *out;
	int			nout = 0;

	if (ARR_NDIM(tags) > 1)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("tags must be a one-dimensional array")));
	deconstruct_array(tags, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	strs = palloc(sizeof(char *) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(MS_ERRCODE_NULL_VALUE),
					 errmsg("tags must not contain null")));
		strs[i] = TextDatumGetCString(elems[i]);
		if (strs[i][0] == '\0')
			ereport(ERROR,
					(errcode(MS_ERRCODE_INVALID_VALUE),
					 errmsg("tags must not contain an empty string")));
		if (strlen(strs[i]) > MS_MAX_TAG_BYTES)
			ereport(ERROR,
					(errcode(MS_ERRCODE_TOO_LONG),
					 errmsg("tag is too long"),
					 errdetail("A tag has %zu bytes; the limit is %d.",
							   strlen(strs[i]), MS_MAX_TAG_BYTES)));
		for (const char *p = strs[i]; *p; p++)
			if ((unsigned char) *p < 0x20 || *p == 0x7f)
				ereport(ERROR,
						(errcode(MS_ERRCODE_INVALID_VALUE),
						 errmsg("tags must not contain control characters")));
	}
	if (n > 1)
		qsort(strs, n, sizeof(char *), tag_cmp);
	out = palloc(sizeof(Datum) * (n + 1));
	for (int i = 0; i < n; i++)
		if (i == 0 || strcmp(strs[i], strs[i - 1]) != 0)
			out[nout++] = CStringGetTextDatum(strs[i]);
	/* the limit is on the set that is stored, not on repetitions in the input */
	if (nout > MS_MAX_TAGS)
		ereport(ERROR,
				(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
				 errmsg("too many tags"),
				 errdetail("%d distinct tags were given; the limit is %d.", nout, MS_MAX_TAGS)));
	return construct_array(out, nout, TEXTOID, -1, false, TYPALIGN_INT);
}

/* Compare two normalized tag arrays element by element. */
bool
ms_tags_equal(ArrayType *a, ArrayType *b)
{
	Datum	   *ea,
			   *eb;
	bool	   *na,
			   *nb;
	int			la,
				lb;

	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &ea, &na, &la);
	deconstruct_array(b, TEXTOID, -1, false, TYPALIGN_INT, &eb, &nb, &lb);
	if (la != lb)
		return false;
	for (int i = 0; i < la; i++)
	{
		text	   *ta = DatumGetTextPP(ea[i]);
		text	   *tb = DatumGetTextPP(eb[i]);

		if (VARSIZE_ANY_EXHDR(ta) != VARSIZE_ANY_EXHDR(tb) ||
			memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), VARSIZE_ANY_EXHDR(ta)) != 0)
			return false;
	}
	return true;
}

/* Map a content type name onto its enum; unknown names are a user error. */
MsContentType
ms_parse_content_type(const char *name)
{
	if (strcmp(name, "json") == 0)
		return MS_CONTENT_JSON;
	if (strcmp(name, "yaml") == 0)
		return MS_CONTENT_YAML;
	if (strcmp(name, "text") == 0)
		return MS_CONTENT_TEXT;
	if (strcmp(name, "binary") == 0)
		return MS_CONTENT_BINARY;
	ereport(ERROR,
			(errcode(MS_ERRCODE_INVALID_VALUE),
			 errmsg("unknown content_type \"%s\"", name),
			 errhint("Use one of json, yaml, text, binary.")));
	pg_unreachable();
}

/* The canonical name of a content type, as stored. */
const char *
ms_content_type_name(MsContentType ct)
{
	switch (ct)
	{
		case MS_CONTENT_JSON:
			return "json";
		case MS_CONTENT_YAML:
			return "yaml";
		case MS_CONTENT_TEXT:
			return "text";
		case MS_CONTENT_BINARY:
			return "binary";
	}
	elog(ERROR, "unexpected content type %d", (int) ct);
	pg_unreachable();
}

/* Size and nesting limits, so no caller can store a document we cannot serve. */
void
ms_check_document(Jsonb *doc, const char *argname)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;
	Size		size = VARSIZE(doc);

	if (size > (Size) ms_max_document_bytes)
		ereport(ERROR,
				(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
				 errmsg("%s is too large", argname),
				 errdetail("The document has %zu bytes; the limit is %d.",
						   (size_t) size, ms_max_document_bytes),
				 errhint("The limit is the setting metastore.max_document_bytes.")));

	it = JsonbIteratorInit(&doc->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT)
		{
			/* a raw scalar is wrapped in a pseudo-array that is not nesting */
			if (tok == WJB_BEGIN_ARRAY && v.val.array.rawScalar)
				continue;
			if (++depth > ms_max_document_depth)
				ereport(ERROR,
						(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
						 errmsg("%s is nested too deeply", argname),
						 errdetail("The limit is %d levels of arrays and objects.",
								   ms_max_document_depth),
						 errhint("The limit is the setting metastore.max_document_depth.")));
		}
		else if (tok == WJB_END_ARRAY || tok == WJB_END_OBJECT)
			depth--;
	}
}

/* True when s is canonical padded base64 (RFC 4648, standard alphabet). */
static bool
is_base64(const char *s, int len)
{
	int			pad = 0;

	if (len % 4 != 0)
		return false;
	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '=')
		{
			if (i < len - 2)
				return false;
			pad++;
		}
		else if (pad > 0)
			return false;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				   (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return true;
}

/*
 * The document must be of the declared content type: json takes any JSON
 * value; yaml and text take a JSON string (the source text); binary takes a
 * JSON string of padded base64.
 */
void
ms_check_content(Jsonb *doc, MsContentType ct)
{
	JsonbValue	scalar;

	if (ct == MS_CONTENT_JSON)
		return;
	if (!JB_ROOT_IS_SCALAR(doc) || !JsonbExtractScalar(&doc->root, &scalar) ||
		scalar.type != jbvString)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("metadata does not match content_type \"%s\"",
						ms_content_type_name(ct)),
				 errdetail("Content type %s stores its document as a JSON string.",
						   ms_content_type_name(ct)),
				 errhint("Pass the text as a JSON string, e.g. to_jsonb('...'::text), or use content_type json.")));
	if (ct == MS_CONTENT_BINARY &&
		!is_base64(scalar.val.string.val, scalar.val.string.len))
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("metadata does not match content_type \"binary\""),
				 errdetail("A binary document is a JSON string of padded base64 (RFC 4648)."),
				 errhint("Encode the bytes with encode(bytes, 'base64') and remove the line breaks.")));
}
