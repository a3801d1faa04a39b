/*
 * records.c: put / get / delete / rollback / bulk for metastore.records.
 *
 * Every write locks the row (SELECT ... FOR UPDATE), lets locking.c judge
 * expected_version, and writes with one statement; the history trigger
 * (history.c) records the new version.  All statements are prepared once
 * per backend.  Writes that would not change anything create no version.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "access.h"
#include "errors.h"
#include "history.h"
#include "metastore.h"
#include "principal.h"
#include "records.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(put_record);
PG_FUNCTION_INFO_V1(put_record_result);
PG_FUNCTION_INFO_V1(get_record);
PG_FUNCTION_INFO_V1(delete_record);
PG_FUNCTION_INFO_V1(rollback_record);
PG_FUNCTION_INFO_V1(bulk_records);

static SPIPlanPtr plan_lock = NULL;
static SPIPlanPtr plan_get = NULL;
static SPIPlanPtr plan_insert = NULL;
static SPIPlanPtr plan_update = NULL;
static SPIPlanPtr plan_update_if = NULL;
static SPIPlanPtr plan_delete = NULL;

/* Column numbers of metastore.records, as declared in sql/install. */
enum
{
	COL_ID = 1,
	COL_NAMESPACE,
	COL_KEY,
	COL_METADATA,
	COL_TAGS,
	COL_OWNER,
	COL_CONTENT_TYPE,
	COL_DESCRIPTION,
	COL_VERSION,
	COL_CREATED_AT,
	COL_CREATED_BY,
	COL_UPDATED_AT,
	COL_UPDATED_BY,
	COL_DELETED_AT,
	RECORDS_NCOLS = COL_DELETED_AT
};

/* The stored row a write starts from (valid until SPI_finish). */
typedef struct LockedRecord
{
	bool		exists;
	HeapTuple	tuple;
	TupleDesc	desc;
	int64		id;
	int32		version;
	bool		deleted;
} LockedRecord;

/* Name of an outcome as reported to callers. */
const char *
record_outcome_name(RecordOutcome outcome)
{
	switch (outcome)
	{
		case RECORD_CREATED:
			return "created";
		case RECORD_UPDATED:
			return "updated";
		case RECORD_UNCHANGED:
			return "unchanged";
		case RECORD_RESTORED:
			return "restored";
		case RECORD_DELETED:
			return "deleted";
	}
	elog(ERROR, "unexpected record outcome %d", (int) outcome);
	pg_unreachable();
}

/* Lock the row of (namespace, key) if it exists, deleted or not. */
static LockedRecord
lock_record(const char *ns, const char *key)
{
	static const Oid argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	LockedRecord r;
	bool		isnull;

	ms_plan(&plan_lock,
			"SELECT * FROM metastore.records WHERE namespace = $1 AND key = $2 FOR UPDATE",
			2, argtypes);
	values[0] = CStringGetTextDatum(ns);
	values[1] = CStringGetTextDatum(key);
	if (SPI_execute_plan(plan_lock, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not lock record");
	memset(&r, 0, sizeof(r));
	r.exists = SPI_processed > 0;
	if (!r.exists)
		return r;
	r.tuple = SPI_tuptable->vals[0];
	r.desc = SPI_tuptable->tupdesc;
	r.id = DatumGetInt64(SPI_getbinval(r.tuple, r.desc, COL_ID, &isnull));
	r.version = DatumGetInt32(SPI_getbinval(r.tuple, r.desc, COL_VERSION, &isnull));
	SPI_getbinval(r.tuple, r.desc, COL_DELETED_AT, &isnull);
	r.deleted = !isnull;
	return r;
}

/* Two nullable text columns hold the same bytes. */
static bool
same_text(text *a, HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);
	text	   *b;

	if (a == NULL || isnull)
		return a == NULL && isnull;
	b = DatumGetTextPP(d);
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/* The live stored record already is exactly what the put asks for. */
static bool
same_content(const RecordPut *p, const LockedRecord *r)
{
	bool		isnull;
	text	   *ct = cstring_to_text(ms_content_type_name(p->content_type));

	if (r->deleted)
		return false;
	if (!DatumGetBool(DirectFunctionCall2(jsonb_eq, JsonbPGetDatum(p->metadata),
										  SPI_getbinval(r->tuple, r->desc, COL_METADATA, &isnull))))
		return false;
	if (!ms_tags_equal(p->tags, DatumGetArrayTypeP(SPI_getbinval(r->tuple, r->desc, COL_TAGS, &isnull))))
		return false;
	return same_text(ct, r->tuple, r->desc, COL_CONTENT_TYPE) &&
		same_text(p->owner, r->tuple, r->desc, COL_OWNER) &&
		same_text(p->description, r->tuple, r->desc, COL_DESCRIPTION);
}

/* Run a prepared write that returns exactly one records row. */
static HeapTuple
write_one(SPIPlanPtr plan, Datum *values, const char *nulls, const char *operation,
		  TupleDesc *desc)
{
	ms_history_execute(plan, values, nulls, operation);
	if (SPI_processed != 1)
		return NULL;
	*desc = SPI_tuptable->tupdesc;
	return SPI_tuptable->vals[0];
}

/*
 * Bind a put's content and the writer to six consecutive parameters, in the
 * order both write statements take them: metadata, tags, owner,
 * content_type, description, updated_by.
 */
static void
bind_content(const RecordPut *p, const char *who, Datum *values, char *nulls)
{
	values[0] = JsonbPGetDatum(p->metadata);
	values[1] = PointerGetDatum(p->tags);
	values[2] = p->owner ? PointerGetDatum(p->owner) : (Datum) 0;
	nulls[2] = p->owner ? ' ' : 'n';
	values[3] = CStringGetTextDatum(ms_content_type_name(p->content_type));
	values[4] = p->description ? PointerGetDatum(p->description) : (Datum) 0;
	nulls[4] = p->description ? ' ' : 'n';
	values[5] = CStringGetTextDatum(who);
}

/*
 * Apply one put.  `operation` overrides the history operation (rollback) or
 * is NULL.  Returns the resulting row (valid until SPI_finish).
 */
static HeapTuple
records_put(const RecordPut *p, const char *operation, RecordOutcome *outcome,
			TupleDesc *desc)
{
	static const Oid ins_types[8] = {TEXTOID, TEXTOID, JSONBOID, TEXTARRAYOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID};
	static const Oid upd_types[7] = {INT8OID, JSONBOID, TEXTARRAYOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID};
	const char *who = ms_current_principal();

	ms_plan(&plan_insert,
			"INSERT INTO metastore.records (namespace, key, metadata, tags, owner,"
			" content_type, description, version, created_at, created_by, updated_at, updated_by)"
			" VALUES ($1, $2, $3, $4, $5, $6, $7, 1, pg_catalog.now(), $8, pg_catalog.now(), $8)"
			" ON CONFLICT (namespace, key) DO NOTHING RETURNING *",
			8, ins_types);
	ms_plan(&plan_update,
			"UPDATE metastore.records SET metadata = $2, tags = $3, owner = $4,"
			" content_type = $5, description = $6, version = version + 1,"
			" updated_at = pg_catalog.now(), updated_by = $7, deleted_at = NULL"
			" WHERE id = $1 RETURNING *",
			7, upd_types);

	/*
	 * Fast path for expected_version = N: one UPDATE that succeeds only when
	 * the live row has version N and different content.  Under READ
	 * COMMITTED a concurrent writer makes PostgreSQL re-check the predicate
	 * against the newer row, so the version check stays exact.  When it
	 * updates nothing, the locking path below tells apart unchanged,
	 * conflict, missing and deleted.
	 */
	if (p->expected.given && p->expected.version > 0)
	{
		static const Oid if_types[9] = {TEXTOID, TEXTOID, JSONBOID, TEXTARRAYOID, TEXTOID,
		TEXTOID, TEXTOID, TEXTOID, INT4OID};
		Datum		values[9];
		char		nulls[9] = "         ";
		HeapTuple	result;

		ms_plan(&plan_update_if,
				"UPDATE metastore.records SET metadata = $3, tags = $4, owner = $5,"
				" content_type = $6, description = $7, version = version + 1,"
				" updated_at = pg_catalog.now(), updated_by = $8"
				" WHERE namespace = $1 AND key = $2 AND version = $9 AND deleted_at IS NULL"
				" AND (metadata, tags, owner, content_type, description)"
				"     IS DISTINCT FROM ($3, $4, $5, $6, $7)"
				" RETURNING *",
				9, if_types);
		values[0] = CStringGetTextDatum(p->namespace);
		values[1] = CStringGetTextDatum(p->key);
		bind_content(p, who, values + 2, nulls + 2);
		values[8] = Int32GetDatum(p->expected.version);
		result = write_one(plan_update_if, values, nulls, operation, desc);
		if (result != NULL)
		{
			*outcome = RECORD_UPDATED;
			return result;
		}
	}

	/* at most one retry: a concurrent create of the same key commits first */
	for (int attempt = 0; attempt < 2; attempt++)
	{
		LockedRecord r = lock_record(p->namespace, p->key);
		Datum		values[8];
		char		nulls[8] = "        ";
		HeapTuple	result;

		if (r.exists)
		{
			bool		identical = same_content(p, &r);

			/* an identical create is idempotent: it returns what is there */
			if (identical && (!p->expected.given || p->expected.version == 0 ||
							  p->expected.version == r.version))
			{
				*outcome = RECORD_UNCHANGED;
				*desc = r.desc;
				return r.tuple;
			}
			ms_check_version("record", p->key, p->expected, true, r.deleted, r.version);

			values[0] = Int64GetDatum(r.id);
			bind_content(p, who, values + 1, nulls + 1);
			result = write_one(plan_update, values, nulls, operation, desc);
			if (result == NULL)
				elog(ERROR, "locked record vanished during update");
			*outcome = r.deleted ? RECORD_RESTORED : RECORD_UPDATED;
			return result;
		}

		ms_check_version("record", p->key, p->expected, false, false, 0);
		values[0] = CStringGetTextDatum(p->namespace);
		values[1] = CStringGetTextDatum(p->key);
		bind_content(p, who, values + 2, nulls + 2);
		result = write_one(plan_insert, values, nulls, operation, desc);
		if (result != NULL)
		{
			*outcome = RECORD_CREATED;
			return result;
		}
		/* ON CONFLICT DO NOTHING: another session created it; lock and judge again */
	}
	ereport(ERROR,
			(errcode(MS_ERRCODE_RETRY),
			 errmsg("record \"%s\" is being created and deleted concurrently", p->key),
			 errhint("Retry the transaction.")));
	pg_unreachable();
}

/* Soft-delete a live record. */
static HeapTuple
records_delete(const char *ns, const char *key, MsExpectedVersion expected,
			   TupleDesc *desc)
{
	static const Oid types[2] = {INT8OID, TEXTOID};
	LockedRecord r;
	Datum		values[2];
	HeapTuple	result;

	if (expected.given && expected.version == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("expected_version 0 means create only and cannot be used to delete")));
	r = lock_record(ns, key);
	if (!r.exists || r.deleted)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("record \"%s\" not found in namespace \"%s\"", key, ns)));
	ms_check_version("record", key, expected, true, false, r.version);

	ms_plan(&plan_delete,
			"UPDATE metastore.records SET version = version + 1, deleted_at = pg_catalog.now(),"
			" updated_at = pg_catalog.now(), updated_by = $2 WHERE id = $1 RETURNING *",
			2, types);
	values[0] = Int64GetDatum(r.id);
	values[1] = CStringGetTextDatum(ms_current_principal());
	result = write_one(plan_delete, values, NULL, NULL, desc);
	if (result == NULL)
		elog(ERROR, "locked record vanished during delete");
	return result;
}

/* Build a RecordPut from SQL-level values, validating every one of them. */
static void
fill_put(RecordPut *p, char *ns, text *key, Jsonb *metadata, ArrayType *tags,
		 text *owner, text *content_type, text *description, MsExpectedVersion expected)
{
	p->namespace = ns;
	p->key = ms_check_key(key, "key");
	ms_require_arg(metadata == NULL, "metadata");
	ms_check_document(metadata, "metadata");
	p->metadata = metadata;
	p->content_type = content_type ? ms_parse_content_type(text_to_cstring(content_type))
		: MS_CONTENT_JSON;
	ms_check_content(metadata, p->content_type);
	p->tags = tags ? ms_normalize_tags(tags)
		: construct_empty_array(TEXTOID);
	ms_check_optional_text(owner, "owner", MS_MAX_OWNER_BYTES);
	ms_check_optional_text(description, "description", MS_MAX_DESCRIPTION_BYTES);
	p->owner = owner;
	p->description = description;
	p->expected = expected;
}

#define ARG_TEXT_OR_NULL(n) (PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n))

/*
 * Namespace and key arguments 0 and 1, checked, and the acting principal's
 * role on the namespace: checked before any row is read, so a principal
 * without it learns nothing about the namespace's keys.
 */
static void
ns_key_args(FunctionCallInfo fcinfo, MsRole role, char **ns, char **key)
{
	ms_require_arg(PG_ARGISNULL(0), "namespace");
	ms_require_arg(PG_ARGISNULL(1), "key");
	*ns = ms_check_namespace(PG_GETARG_TEXT_PP(0));
	ms_require_role(*ns, role);
	*key = ms_check_key(PG_GETARG_TEXT_PP(1), "key");
}

/*
 * SQL: put_record(namespace, key, metadata, tags, expected_version, owner,
 *                 content_type, description) RETURNS metastore.records
 */
Datum
put_record(PG_FUNCTION_ARGS)
{
	RecordPut	p;
	char	   *ns,
			   *key;
	RecordOutcome outcome;
	TupleDesc	desc;
	HeapTuple	row;
	Datum		result;

	ns_key_args(fcinfo, MS_ROLE_WRITER, &ns, &key);
	fill_put(&p, ns, PG_GETARG_TEXT_PP(1),
			 PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2),
			 PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
			 ARG_TEXT_OR_NULL(5), ARG_TEXT_OR_NULL(6), ARG_TEXT_OR_NULL(7),
			 ms_expected_version(PG_ARGISNULL(4), PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4)));

	ms_spi_connect();
	row = records_put(&p, NULL, &outcome, &desc);
	result = PointerGetDatum(SPI_returntuple(row, desc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * SQL: put_record_result(same arguments as put_record)
 *   -> (result text, record metastore.records)
 * As put_record, also saying what the put did: created, updated, unchanged
 * or restored (REST answers 201 or 200 from it).
 */
Datum
put_record_result(PG_FUNCTION_ARGS)
{
	RecordPut	p;
	char	   *ns,
			   *key;
	RecordOutcome outcome;
	TupleDesc	desc,
				resdesc;
	HeapTuple	row;
	Datum		out[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &resdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "put_record_result must return a composite");
	ns_key_args(fcinfo, MS_ROLE_WRITER, &ns, &key);
	fill_put(&p, ns, PG_GETARG_TEXT_PP(1),
			 PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2),
			 PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3),
			 ARG_TEXT_OR_NULL(5), ARG_TEXT_OR_NULL(6), ARG_TEXT_OR_NULL(7),
			 ms_expected_version(PG_ARGISNULL(4), PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4)));

	ms_spi_connect();
	row = records_put(&p, NULL, &outcome, &desc);
	out[0] = CStringGetTextDatum(record_outcome_name(outcome));
	out[1] = PointerGetDatum(SPI_returntuple(row, desc));
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(resdesc), out, nulls)));
}

/* SQL: get_record(namespace, key) RETURNS metastore.records, NULL when absent or deleted */
Datum
get_record(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[2] = {TEXTOID, TEXTOID};
	char	   *ns,
			   *key;
	Datum		values[2];
	Datum		result = (Datum) 0;
	bool		found;

	ns_key_args(fcinfo, MS_ROLE_READER, &ns, &key);
	ms_spi_connect();
	ms_plan(&plan_get,
			"SELECT * FROM metastore.records"
			" WHERE namespace = $1 AND key = $2 AND deleted_at IS NULL",
			2, argtypes);
	values[0] = CStringGetTextDatum(ns);
	values[1] = CStringGetTextDatum(key);
	if (SPI_execute_plan(plan_get, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "get_record: query failed");
	found = SPI_processed > 0;
	if (found)
		result = PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc));
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/* SQL: delete_record(namespace, key, expected_version) RETURNS metastore.records */
Datum
delete_record(PG_FUNCTION_ARGS)
{
	char	   *ns,
			   *key;
	MsExpectedVersion expected;
	TupleDesc	desc;
	HeapTuple	row;
	Datum		result;

	ns_key_args(fcinfo, MS_ROLE_WRITER, &ns, &key);
	expected = ms_expected_version(PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2));
	ms_spi_connect();
	row = records_delete(ns, key, expected, &desc);
	result = PointerGetDatum(SPI_returntuple(row, desc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* The row type of metastore.records (looked up per call: rollbacks are rare). */
static Oid
records_rowtype(void)
{
	return DatumGetObjectId(DirectFunctionCall1(regtypein,
												CStringGetDatum("metastore.records")));
}

/* Text column `col` of a row as text, or NULL. */
static text *
row_text(HeapTupleHeader row, int col)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(row, col, &isnull);

	return isnull ? NULL : DatumGetTextPP(d);
}

/*
 * SQL: rollback_record(namespace, key, version, expected_version)
 * Writes a new version whose content equals version `version`.
 */
Datum
rollback_record(PG_FUNCTION_ARGS)
{
	char	   *ns,
			   *key;
	int32		target;
	MsExpectedVersion expected;
	LockedRecord r;
	char	   *operation;
	Datum		old;
	HeapTupleHeader oldrow;
	RecordPut	p;
	RecordOutcome outcome;
	TupleDesc	desc;
	HeapTuple	row;
	Datum		result;
	bool		isnull;

	ns_key_args(fcinfo, MS_ROLE_WRITER, &ns, &key);
	ms_require_arg(PG_ARGISNULL(2), "version");
	target = PG_GETARG_INT32(2);
	expected = ms_expected_version(PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3));
	if (expected.given && expected.version == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("expected_version 0 means create only and cannot be used to roll back")));

	ms_spi_connect();
	r = lock_record(ns, key);
	if (!r.exists)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("record \"%s\" not found in namespace \"%s\"", key, ns)));
	/* a rollback may restore a deleted record, so compare versions only */
	ms_check_version("record", key, expected, true, false, r.version);
	if (!ms_history_fetch("record", r.id, target, records_rowtype(), &operation, &old))
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("version %d of record \"%s\" not found", target, key),
				 errdetail("The record's versions run from 1 to %d.", r.version)));
	if (strcmp(operation, "delete") == 0 || strcmp(operation, "purge") == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("version %d of record \"%s\" is a deletion", target, key),
				 errhint("Roll back to a version that holds content, or use delete_record.")));

	oldrow = DatumGetHeapTupleHeader(old);
	p.namespace = ns;
	p.key = key;
	p.metadata = DatumGetJsonbP(GetAttributeByNum(oldrow, COL_METADATA, &isnull));
	p.tags = DatumGetArrayTypeP(GetAttributeByNum(oldrow, COL_TAGS, &isnull));
	p.owner = row_text(oldrow, COL_OWNER);
	p.content_type = ms_parse_content_type(text_to_cstring(row_text(oldrow, COL_CONTENT_TYPE)));
	p.description = row_text(oldrow, COL_DESCRIPTION);
	p.expected.given = false;	/* the row is locked: nothing can move under us */
	p.expected.version = 0;

	row = records_put(&p, "rollback", &outcome, &desc);
	result = PointerGetDatum(SPI_returntuple(row, desc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* ---- bulk ---- */

/* One parsed bulk operation. */
typedef struct BulkOp
{
	bool		is_delete;
	RecordPut	put;
	char	   *key;
	MsExpectedVersion expected;
} BulkOp;

/* Raise the error for a malformed bulk operation. */
static void
bulk_error(int index, const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(MS_ERRCODE_INVALID_VALUE),
			 errmsg("bulk operation %d is invalid: %s", index, msg),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("Each operation is {\"op\": \"put\"|\"delete\", \"key\": ..., ...}; see docs/sql-api.md.")));
}

/* A string field of an operation, or NULL when absent or JSON null. */
static text *
op_string(int index, JsonbValue *v, const char *field)
{
	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		bulk_error(index, psprintf("\"%s\" must be a string", field), NULL);
	return cstring_to_text_with_len(v->val.string.val, v->val.string.len);
}

/* Parse and validate one operation object (kept out of bulk_records' PG_TRY frame). */
pg_noinline static void
parse_op(int index, JsonbValue *elem, char *ns, BulkOp *op)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;
	JsonbValue *f_op = NULL,
			   *f_key = NULL,
			   *f_meta = NULL,
			   *f_tags = NULL,
			   *f_ev = NULL,
			   *f_owner = NULL,
			   *f_ct = NULL,
			   *f_desc = NULL;
	text	   *opname;
	MsExpectedVersion ev = {false, 0};
	ArrayType  *tags = NULL;
	Jsonb	   *metadata = NULL;

	if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
		bulk_error(index, "it is not a JSON object", NULL);

	it = JsonbIteratorInit(elem->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		JsonbValue **slot;
		char	   *name;

		if (tok != WJB_KEY)
			continue;
		name = pnstrdup(k.val.string.val, k.val.string.len);
		if (strcmp(name, "op") == 0)
			slot = &f_op;
		else if (strcmp(name, "key") == 0)
			slot = &f_key;
		else if (strcmp(name, "metadata") == 0)
			slot = &f_meta;
		else if (strcmp(name, "tags") == 0)
			slot = &f_tags;
		else if (strcmp(name, "expected_version") == 0)
			slot = &f_ev;
		else if (strcmp(name, "owner") == 0)
			slot = &f_owner;
		else if (strcmp(name, "content_type") == 0)
			slot = &f_ct;
		else if (strcmp(name, "description") == 0)
			slot = &f_desc;
		else
		{
			bulk_error(index, psprintf("unknown field \"%s\"", name),
					   "Known fields: op, key, metadata, tags, expected_version, owner, content_type, description.");
			slot = NULL;		/* not reached */
		}
		tok = JsonbIteratorNext(&it, &v, true);
		*slot = palloc(sizeof(JsonbValue));
		**slot = v;
	}

	opname = op_string(index, f_op, "op");
	if (opname == NULL)
		bulk_error(index, "\"op\" is missing", NULL);
	if (op_string(index, f_key, "key") == NULL)
		bulk_error(index, "\"key\" is missing", NULL);
	op->key = ms_check_key(op_string(index, f_key, "key"), "key");

	if (f_ev != NULL && f_ev->type != jbvNull)
	{
		Datum		num;
		bool		overflow = false;
		int32		v = 0;

		if (f_ev->type != jbvNumeric)
			bulk_error(index, "\"expected_version\" must be an integer", NULL);
		num = NumericGetDatum(f_ev->val.numeric);
		/* 2.0 is an integer, 2.4 is not, 1e10 does not fit: never round */
		if (!DatumGetBool(DirectFunctionCall2(numeric_eq, num,
											  DirectFunctionCall2(numeric_trunc, num, Int32GetDatum(0)))))
			overflow = true;
		else
			v = numeric_int4_opt_error(f_ev->val.numeric, &overflow);
		if (overflow)
			bulk_error(index, "\"expected_version\" must be an integer", NULL);
		ev = ms_expected_version(false, v);
	}
	op->expected = ev;

	if (strcmp(text_to_cstring(opname), "delete") == 0)
	{
		if (f_meta || f_tags || f_owner || f_ct || f_desc)
			bulk_error(index, "a delete takes only op, key and expected_version", NULL);
		op->is_delete = true;
		return;
	}
	if (strcmp(text_to_cstring(opname), "put") != 0)
		bulk_error(index, psprintf("unknown op \"%s\"", text_to_cstring(opname)),
				   "op is \"put\" or \"delete\".");
	op->is_delete = false;

	if (f_meta == NULL)
		bulk_error(index, "\"metadata\" is missing", NULL);
	metadata = JsonbValueToJsonb(f_meta);
	if (f_tags != NULL && f_tags->type != jbvNull)
	{
		JsonbIterator *ti;
		JsonbValue	tv;
		Datum	   *elems;
		int			n = 0;

		if (f_tags->type != jbvBinary || !JsonContainerIsArray(f_tags->val.binary.data))
			bulk_error(index, "\"tags\" must be an array of strings", NULL);
		elems = palloc(sizeof(Datum) * (JsonContainerSize(f_tags->val.binary.data) + 1));
		ti = JsonbIteratorInit(f_tags->val.binary.data);
		while ((tok = JsonbIteratorNext(&ti, &tv, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if (tv.type != jbvString)
				bulk_error(index, "\"tags\" must be an array of strings", NULL);
			elems[n++] = PointerGetDatum(cstring_to_text_with_len(tv.val.string.val,
																  tv.val.string.len));
		}
		tags = construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
	}
	fill_put(&op->put, ns, cstring_to_text(op->key), metadata, tags,
			 op_string(index, f_owner, "owner"), op_string(index, f_ct, "content_type"),
			 op_string(index, f_desc, "description"), ev);
}

/* Append one result object to the output array. */
static void
append_result(StringInfo out, int index, const BulkOp *op, RecordOutcome outcome,
			  HeapTuple row, TupleDesc desc)
{
	bool		isnull;

	if (index > 0)
		appendStringInfoString(out, ", ");
	appendStringInfo(out, "{\"index\": %d, \"op\": \"%s\", \"key\": ", index,
					 op->is_delete ? "delete" : "put");
	escape_json(out, op->key);
	appendStringInfo(out, ", \"version\": %d, \"result\": \"%s\"}",
					 DatumGetInt32(SPI_getbinval(row, desc, COL_VERSION, &isnull)),
					 record_outcome_name(outcome));
}

/*
 * SQL: bulk_records(namespace, operations jsonb) RETURNS jsonb
 * All operations apply or none do; an error names the failing index.
 */
Datum
bulk_records(PG_FUNCTION_ARGS)
{
	Jsonb	   *ops;
	char	   *ns;
	int			n;
	BulkOp	   *parsed;
	StringInfoData out;
	MemoryContext fnctx = CurrentMemoryContext;
	volatile int current = -1;

	ms_require_arg(PG_ARGISNULL(0), "namespace");
	ms_require_arg(PG_ARGISNULL(1), "operations");
	ns = ms_check_namespace(PG_GETARG_TEXT_PP(0));
	ms_require_role(ns, MS_ROLE_WRITER);
	ops = PG_GETARG_JSONB_P(1);
	if (!JB_ROOT_IS_ARRAY(ops) || JB_ROOT_IS_SCALAR(ops))
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("operations must be a JSON array")));
	n = JB_ROOT_COUNT(ops);
	if (n == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("operations must not be empty")));
	if (n > ms_max_bulk_operations)
		ereport(ERROR,
				(errcode(MS_ERRCODE_LIMIT_EXCEEDED),
				 errmsg("too many bulk operations"),
				 errdetail("%d operations were given; the limit is %d.", n, ms_max_bulk_operations),
				 errhint("The limit is the setting metastore.max_bulk_operations.")));

	parsed = palloc0(sizeof(BulkOp) * n);
	initStringInfo(&out);
	appendStringInfoChar(&out, '[');

	PG_TRY();
	{
		/* validate everything before touching any row */
		for (int i = 0; i < n; i++)
		{
			current = i;
			parse_op(i, getIthJsonbValueFromContainer(&ops->root, i), ns, &parsed[i]);
		}
		current = -1;
		ms_spi_connect();
		for (int i = 0; i < n; i++)
		{
			RecordOutcome outcome;
			TupleDesc	desc;
			HeapTuple	row;

			current = i;
			if (parsed[i].is_delete)
			{
				row = records_delete(ns, parsed[i].key, parsed[i].expected, &desc);
				outcome = RECORD_DELETED;
			}
			else
				row = records_put(&parsed[i].put, NULL, &outcome, &desc);
			append_result(&out, i, &parsed[i], outcome, row, desc);
		}
		SPI_finish();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (current < 0)
			PG_RE_THROW();
		MemoryContextSwitchTo(fnctx);
		edata = CopyErrorData();
		FlushErrorState();
		/* name the failing operation unless the message already does */
		if (strncmp(edata->message, "bulk operation ", 15) != 0)
		{
			if (parsed[current].key != NULL)
				edata->message = psprintf("bulk operation %d (key \"%s\") failed: %s", current,
										  parsed[current].key, edata->message);
			else
				edata->message = psprintf("bulk operation %d failed: %s", current, edata->message);
		}
		ReThrowError(edata);
	}
	PG_END_TRY();

	appendStringInfoChar(&out, ']');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
