/*
 * http_records.c: the records route handlers that are hot enough to be C.
 *
 * GET /records/{key} is what services call most; in C it reads the record
 * and builds its JSON in one prepared statement, with no PL/pgSQL and no
 * second function call.  The other records routes are PL/pgSQL in
 * sql/install/25_records_http.sql; all of them share the same helpers
 * (metastore.http_record_json) so the representation is defined once.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "access.h"
#include "errors.h"
#include "spi_util.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(http_records_get);

static SPIPlanPtr plan_get_json = NULL;

/* A string member of an object, or NULL. */
static char *
member(JsonbContainer *obj, const char *name)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, name, strlen(name), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Does an If-None-Match header list this ETag (or "*")? */
static bool
none_match(const char *header, const char *etag)
{
	char	   *copy,
			   *tok,
			   *save = NULL;

	if (header == NULL)
		return false;
	copy = pstrdup(header);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		while (*tok == ' ' || *tok == '\t')
			tok++;
		if (strncmp(tok, "W/", 2) == 0)
			tok += 2;
		for (char *end = tok + strlen(tok); end > tok && (end[-1] == ' ' || end[-1] == '\t');)
			*--end = '\0';
		if (strcmp(tok, "*") == 0 || strcmp(tok, etag) == 0)
			return true;
	}
	return false;
}

/* Build the metastore.http_response row. */
static Datum
response(FunctionCallInfo fcinfo, int status, const char *etag, Datum body, bool has_body)
{
	TupleDesc	tupdesc;
	Datum		v[3];
	bool		n[3] = {false, false, !has_body};
	StringInfoData h;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "a route handler must return metastore.http_response");
	initStringInfo(&h);
	appendStringInfoString(&h, "{\"ETag\": ");
	escape_json(&h, etag);
	appendStringInfoChar(&h, '}');
	v[0] = Int32GetDatum(status);
	v[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(h.data));
	v[2] = body;
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), v, n));
}

/*
 * SQL: http_records_get(req jsonb) RETURNS metastore.http_response
 * GET /records/{key}: 200 with ETag, 304 when If-None-Match has it, 404.
 */
Datum
http_records_get(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[2] = {TEXTOID, TEXTOID};
	Jsonb	   *req = PG_GETARG_JSONB_P(0);
	JsonbValue *params = getKeyJsonValueFromContainer(&req->root, "params", 6, NULL);
	JsonbValue *headers = getKeyJsonValueFromContainer(&req->root, "headers", 7, NULL);
	char	   *ns = member(&req->root, "namespace");
	char	   *key = NULL;
	char	   *etag;
	Datum		values[2];
	Datum		body;
	bool		isnull;
	int32		version;

	if (params != NULL && params->type == jbvBinary)
		key = member(params->val.binary.data, "key");
	ms_require_arg(ns == NULL, "namespace");
	ms_require_arg(key == NULL, "key");
	ns = ms_check_namespace(cstring_to_text(ns));
	ms_require_role(ns, MS_ROLE_READER);
	key = ms_check_key(cstring_to_text(key), "key");

	ms_spi_connect();
	ms_plan(&plan_get_json,
			"SELECT r.version, metastore.http_record_json(r) FROM metastore.records r"
			" WHERE r.namespace = $1 AND r.key = $2 AND r.deleted_at IS NULL",
			2, argtypes);
	values[0] = CStringGetTextDatum(ns);
	values[1] = CStringGetTextDatum(key);
	if (SPI_execute_plan(plan_get_json, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "http_records_get: query failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("record \"%s\" not found in namespace \"%s\"", key, ns)));
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	/* copy the document out of SPI memory before SPI_finish */
	body = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull),
							 false, -1);
	etag = psprintf("\"%d\"", version);

	if (headers != NULL && headers->type == jbvBinary &&
		none_match(member(headers->val.binary.data, "if-none-match"), etag))
	{
		SPI_finish();
		PG_RETURN_DATUM(response(fcinfo, 304, etag, (Datum) 0, false));
	}
	SPI_finish();
	PG_RETURN_DATUM(response(fcinfo, 200, etag, body, true));
}
