/*
 * flag_store.c: writes of flags and segments.
 *
 * The same shape as records.c: lock the row (or learn it is absent), let
 * locking.c judge expected_version, write with one statement; the history
 * trigger records the version and the cache trigger tells every backend.
 * A definition is normalized (metastore.normalize_flag) and compiled in
 * strict mode before it is stored, so what is stored always evaluates as
 * written.  The unchecked variants serve import_unleash, which must keep
 * what Unleash keeps.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "access.h"
#include "errors.h"
#include "flags.h"
#include "history.h"
#include "locking.h"
#include "metastore.h"
#include "principal.h"
#include "spi_util.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(put_flag);
PG_FUNCTION_INFO_V1(put_flag_unchecked);
PG_FUNCTION_INFO_V1(get_flag);
PG_FUNCTION_INFO_V1(delete_flag);
PG_FUNCTION_INFO_V1(rollback_flag);
PG_FUNCTION_INFO_V1(put_segment);
PG_FUNCTION_INFO_V1(put_segment_unchecked);
PG_FUNCTION_INFO_V1(delete_segment);

#define DEFAULT_NAMESPACE "default"

/* Columns of metastore.flags. */
enum
{
	F_ID = 1, F_NAMESPACE, F_NAME, F_DEFINITION, F_DESCRIPTION, F_TAGS, F_VERSION,
	F_CREATED_AT, F_CREATED_BY, F_UPDATED_AT, F_UPDATED_BY, F_DELETED_AT
};

/* Columns of metastore.flag_segments. */
enum
{
	S_ID = 1, S_NAMESPACE, S_NAME, S_CONSTRAINTS, S_DESCRIPTION, S_VERSION,
	S_CREATED_AT, S_CREATED_BY, S_UPDATED_AT, S_UPDATED_BY, S_DELETED_AT
};

static SPIPlanPtr plan_normalize = NULL;
static SPIPlanPtr plan_insert_flag = NULL;
static SPIPlanPtr plan_update_flag = NULL;
static SPIPlanPtr plan_delete_flag = NULL;
static SPIPlanPtr plan_get_flag = NULL;
static SPIPlanPtr plan_insert_segment = NULL;
static SPIPlanPtr plan_update_segment = NULL;
static SPIPlanPtr plan_delete_segment = NULL;

/* A row locked for writing (valid until SPI_finish). */
typedef struct Locked
{
	bool		exists;
	HeapTuple	tuple;
	TupleDesc	desc;
	int64		id;
	int32		version;
	bool		deleted;
	char	   *namespace;
} Locked;

/* A flag or segment name: 1..255 bytes, no control characters. */
static char *
check_name(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *s;
	size_t		len;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(MS_ERRCODE_NULL_VALUE),
				 errmsg("%s name must not be null", what)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	len = strlen(s);
	if (len == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("%s name must not be empty", what)));
	if (len > MS_MAX_FLAG_NAME_BYTES)
		ereport(ERROR,
				(errcode(MS_ERRCODE_TOO_LONG),
				 errmsg("%s name is too long", what),
				 errdetail("It has %zu bytes; the limit is %d.", len, MS_MAX_FLAG_NAME_BYTES)));
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
			ereport(ERROR,
					(errcode(MS_ERRCODE_INVALID_VALUE),
					 errmsg("%s name must not contain control characters", what),
					 errdetail("Byte %zu is 0x%02x.", i + 1, (unsigned char) s[i])));
	return s;
}

/* Read the locked row's common columns. */
static Locked
locked_from_spi(int id_col, int version_col, int deleted_col, int ns_col)
{
	Locked		r;
	bool		isnull;

	memset(&r, 0, sizeof(r));
	r.exists = SPI_processed > 0;
	if (!r.exists)
		return r;
	r.tuple = SPI_tuptable->vals[0];
	r.desc = SPI_tuptable->tupdesc;
	r.id = DatumGetInt64(SPI_getbinval(r.tuple, r.desc, id_col, &isnull));
	r.version = DatumGetInt32(SPI_getbinval(r.tuple, r.desc, version_col, &isnull));
	SPI_getbinval(r.tuple, r.desc, deleted_col, &isnull);
	r.deleted = !isnull;
	r.namespace = SPI_getvalue(r.tuple, r.desc, ns_col);
	return r;
}

/*
 * Lock the row `name` of a flag table.  Row level security hides a row the
 * principal may read but not write from SELECT ... FOR UPDATE; a reader
 * then gets 42501 naming the row's namespace, not a false "not found".
 */
static Locked
lock_row(SPIPlanPtr *lock_plan, SPIPlanPtr *read_plan, const char *table, const char *name,
		 int id_col, int version_col, int deleted_col, int ns_col)
{
	static const Oid argtypes[1] = {TEXTOID};
	Datum		values[1];
	Locked		r;

	/* the table name is one of ours, never the caller's */
	ms_plan(lock_plan, psprintf("SELECT * FROM %s WHERE name = $1 FOR UPDATE", table), 1, argtypes);
	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_plan(*lock_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not lock %s", table);
	r = locked_from_spi(id_col, version_col, deleted_col, ns_col);
	if (r.exists)
		return r;
	ms_plan(read_plan, psprintf("SELECT namespace FROM %s WHERE name = $1", table), 1, argtypes);
	if (SPI_execute_plan(*read_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read %s", table);
	if (SPI_processed > 0)
		ms_require_role(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), MS_ROLE_WRITER);
	return r;
}

/* Lock a flag row by name. */
static Locked
lock_flag(const char *name)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr read_plan = NULL;

	return lock_row(&lock_plan, &read_plan, "metastore.flags", name,
					F_ID, F_VERSION, F_DELETED_AT, F_NAMESPACE);
}

/* Raise the answer for a name held by a row the principal cannot see. */
static void
name_taken(const char *what, const char *name)
{
	ereport(ERROR,
			(errcode(MS_ERRCODE_ACCESS_DENIED),
			 errmsg("permission denied for %s \"%s\"", what, name),
			 errdetail("The name is used in a namespace where principal \"%s\" may not write.",
					   ms_current_principal()),
			 errhint("Names are global; pick another name or ask for the writer role there.")));
}

/* Run one write returning exactly one row. */
static HeapTuple
write_row(SPIPlanPtr plan, Datum *values, const char *nulls, const char *operation,
		  TupleDesc *desc)
{
	ms_history_execute(plan, values, nulls, operation);
	if (SPI_processed != 1)
		return NULL;
	*desc = SPI_tuptable->tupdesc;
	return SPI_tuptable->vals[0];
}

/* The namespace argument (or NULL), checked. */
static char *
namespace_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return ms_check_namespace(PG_GETARG_TEXT_PP(argno));
}

/* Normalize a definition (seed fields onto the core) through metastore.normalize_flag. */
static Jsonb *
normalize(const char *name, Jsonb *def)
{
	static const Oid argtypes[2] = {TEXTOID, JSONBOID};
	Datum		values[2];
	bool		isnull;

	ms_plan(&plan_normalize, "SELECT metastore.normalize_flag($1, $2)", 2, argtypes);
	values[0] = CStringGetTextDatum(name);
	values[1] = JsonbPGetDatum(def);
	if (SPI_execute_plan(plan_normalize, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "normalize_flag failed");
	return DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Which renamed fields the caller's own definition used (for error places). */
static int
aliases_of(Jsonb *def)
{
	static const struct
	{
		const char *key;
		int			flag;
	}			keys[] =
	{
		{"environment_overrides", MS_ALIAS_ENVIRONMENT_OVERRIDES},
		{"tenant_overrides", MS_ALIAS_TENANT_OVERRIDES},
		{"prerequisites", MS_ALIAS_PREREQUISITES},
	};
	int			aliases = 0;

	if (!JB_ROOT_IS_OBJECT(def))
		return 0;
	for (int i = 0; i < lengthof(keys); i++)
	{
		JsonbValue	res;

		if (getKeyJsonValueFromContainer(&def->root, keys[i].key, strlen(keys[i].key), &res))
			aliases |= keys[i].flag;
	}
	return aliases;
}

/* Compile in strict mode and throw the result away: validation only. */
static void
validate_definition(const char *name, const char *ns, Jsonb *def, int aliases)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "flag validation",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	(void) ms_flag_compile(name, ns, 1, def, true, aliases);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* Is the stored live row already exactly this? */
static bool
same_flag(const Locked *r, const char *ns, Jsonb *def, text *description, ArrayType *tags)
{
	bool		isnull;
	Datum		d;

	if (!r->exists || r->deleted || strcmp(r->namespace, ns) != 0)
		return false;
	d = SPI_getbinval(r->tuple, r->desc, F_DEFINITION, &isnull);
	if (compareJsonbContainers(&DatumGetJsonbP(d)->root, &def->root) != 0)
		return false;
	d = SPI_getbinval(r->tuple, r->desc, F_DESCRIPTION, &isnull);
	if (isnull != (description == NULL))
		return false;
	if (!isnull && strcmp(TextDatumGetCString(d), text_to_cstring(description)) != 0)
		return false;
	d = SPI_getbinval(r->tuple, r->desc, F_TAGS, &isnull);
	return ms_tags_equal(DatumGetArrayTypeP(d), tags);
}

/*
 * Store a flag: normalized, validated (strict) and written.  NULL
 * namespace / description / tags keep the stored ones.  `operation` names
 * the history operation (rollback) or is NULL.
 */
static HeapTuple
flag_write(const char *name, Jsonb *def, MsExpectedVersion expected, char *ns,
		   text *description, ArrayType *tags, bool strict, bool normalized,
		   const char *operation, TupleDesc *desc)
{
	static const Oid ins_types[6] = {TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTARRAYOID, TEXTOID};
	static const Oid upd_types[6] = {INT8OID, TEXTOID, JSONBOID, TEXTOID, TEXTARRAYOID, TEXTOID};
	const char *who = ms_current_principal();
	int			aliases = normalized ? 0 : aliases_of(def);

	if (!normalized)
		def = normalize(name, def);
	ms_check_document(def, "definition");

	ms_plan(&plan_insert_flag,
			"INSERT INTO metastore.flags (namespace, name, definition, description, tags, version,"
			" created_at, created_by, updated_at, updated_by)"
			" VALUES ($1, $2, $3, $4, $5, 1, pg_catalog.now(), $6, pg_catalog.now(), $6)"
			" ON CONFLICT (name) DO NOTHING RETURNING *",
			6, ins_types);
	ms_plan(&plan_update_flag,
			"UPDATE metastore.flags SET namespace = $2, definition = $3, description = $4, tags = $5,"
			" version = version + 1, updated_at = pg_catalog.now(), updated_by = $6, deleted_at = NULL"
			" WHERE id = $1 RETURNING *",
			6, upd_types);

	for (int attempt = 0; attempt < 2; attempt++)
	{
		Locked		r = lock_flag(name);
		const char *target = ns ? ns : r.exists ? r.namespace : DEFAULT_NAMESPACE;
		text	   *desc_v = description;
		ArrayType  *tags_v = tags;
		Datum		values[6];
		char		nulls[6] = "      ";
		HeapTuple	row;

		if (r.exists)
			ms_require_role(r.namespace, MS_ROLE_WRITER);
		ms_require_role(target, MS_ROLE_WRITER);
		if (r.exists)
		{
			bool		isnull;
			Datum		d;

			if (desc_v == NULL)
			{
				d = SPI_getbinval(r.tuple, r.desc, F_DESCRIPTION, &isnull);
				desc_v = isnull ? NULL : DatumGetTextPP(d);
			}
			if (tags_v == NULL)
				tags_v = DatumGetArrayTypeP(SPI_getbinval(r.tuple, r.desc, F_TAGS, &isnull));
		}
		if (tags_v == NULL)
			tags_v = construct_empty_array(TEXTOID);
		if (desc_v != NULL && VARSIZE_ANY_EXHDR(desc_v) == 0)
			desc_v = NULL;
		if (desc_v != NULL)
			ms_check_optional_text(desc_v, "description", MS_MAX_DESCRIPTION_BYTES);
		if (strict)
			validate_definition(name, target, def, aliases);

		if (same_flag(&r, target, def, desc_v, tags_v) &&
			(!expected.given || expected.version == 0 || expected.version == r.version) &&
			operation == NULL)
		{
			*desc = r.desc;
			return r.tuple;
		}
		ms_check_version("flag", name, expected, r.exists, r.deleted, r.version);

		values[1] = CStringGetTextDatum(r.exists ? target : name);
		values[2] = JsonbPGetDatum(def);
		values[3] = desc_v ? PointerGetDatum(desc_v) : (Datum) 0;
		nulls[3] = desc_v ? ' ' : 'n';
		values[4] = PointerGetDatum(tags_v);
		values[5] = CStringGetTextDatum(who);
		if (r.exists)
		{
			values[0] = Int64GetDatum(r.id);
			row = write_row(plan_update_flag, values, nulls, operation, desc);
			if (row == NULL)
				elog(ERROR, "locked flag vanished during update");
			return row;
		}
		values[0] = CStringGetTextDatum(target);
		row = write_row(plan_insert_flag, values, nulls, operation, desc);
		if (row != NULL)
			return row;
		/* the name exists: created concurrently, or hidden from us by row level security */
		if (attempt == 1)
			name_taken("flag", name);
	}
	name_taken("flag", name);
	pg_unreachable();
}

/* put_flag and put_flag_unchecked share their arguments. */
static Datum
put_flag_common(FunctionCallInfo fcinfo, bool strict)
{
	char	   *name = check_name(fcinfo, 0, "flag");
	Jsonb	   *def;
	MsExpectedVersion expected;
	char	   *ns = namespace_arg(fcinfo, 3);
	TupleDesc	desc;
	HeapTuple	row;
	Datum		result;

	ms_require_arg(PG_ARGISNULL(1), "definition");
	def = PG_GETARG_JSONB_P(1);
	expected = ms_expected_version(PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2));
	ms_spi_connect();
	row = flag_write(name, def, expected, ns, PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4),
					 PG_ARGISNULL(5) ? NULL : ms_normalize_tags(PG_GETARG_ARRAYTYPE_P(5)),
					 strict, false, NULL, &desc);
	result = PointerGetDatum(SPI_returntuple(row, desc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* SQL: put_flag(name, definition, expected_version, namespace, description, tags) */
Datum
put_flag(PG_FUNCTION_ARGS)
{
	return put_flag_common(fcinfo, true);
}

/* SQL: put_flag_unchecked(...) — import_unleash only (EXECUTE revoked from PUBLIC). */
Datum
put_flag_unchecked(PG_FUNCTION_ARGS)
{
	return put_flag_common(fcinfo, false);
}

/* SQL: get_flag(name) -> metastore.flags, NULL when absent, deleted or unreadable */
Datum
get_flag(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[1] = {TEXTOID};
	char	   *name = check_name(fcinfo, 0, "flag");
	Datum		values[1];
	Datum		result = (Datum) 0;
	bool		found;

	ms_spi_connect();
	ms_plan(&plan_get_flag,
			"SELECT * FROM metastore.flags WHERE name = $1 AND deleted_at IS NULL", 1, argtypes);
	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_plan(plan_get_flag, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "get_flag: query failed");
	found = SPI_processed > 0;
	if (found)
		result = PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc));
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * Soft-delete the live row `name` of a flag table (locked by `lock`): the
 * version increases and history records the deletion.  Returns the row.
 */
static Datum
soft_delete(const char *what, const char *table, Locked (*lock) (const char *),
			SPIPlanPtr *plan, const char *name, MsExpectedVersion expected)
{
	static const Oid types[2] = {INT8OID, TEXTOID};
	Locked		r;
	Datum		values[2];
	TupleDesc	desc;
	HeapTuple	row;
	Datum		result;

	if (expected.given && expected.version == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("expected_version 0 means create only and cannot be used to delete")));
	ms_spi_connect();
	r = lock(name);
	if (!r.exists || r.deleted)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("%s \"%s\" not found", what, name)));
	ms_require_role(r.namespace, MS_ROLE_WRITER);
	ms_check_version(what, name, expected, true, false, r.version);
	/* the table name is one of ours, never the caller's */
	ms_plan(plan,
			psprintf("UPDATE %s SET version = version + 1, deleted_at = pg_catalog.now(),"
					 " updated_at = pg_catalog.now(), updated_by = $2 WHERE id = $1 RETURNING *",
					 table),
			2, types);
	values[0] = Int64GetDatum(r.id);
	values[1] = CStringGetTextDatum(ms_current_principal());
	row = write_row(*plan, values, NULL, NULL, &desc);
	if (row == NULL)
		elog(ERROR, "locked %s vanished during delete", what);
	result = PointerGetDatum(SPI_returntuple(row, desc));
	SPI_finish();
	return result;
}

/* SQL: delete_flag(name, expected_version) -> the deleted row */
Datum
delete_flag(PG_FUNCTION_ARGS)
{
	char	   *name = check_name(fcinfo, 0, "flag");

	PG_RETURN_DATUM(soft_delete("flag", "metastore.flags", lock_flag, &plan_delete_flag, name,
								ms_expected_version(PG_ARGISNULL(1),
													PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1))));
}

/* The row type of a metastore table. */
static Oid
rowtype_of(const char *qualified)
{
	return DatumGetObjectId(DirectFunctionCall1(regtypein, CStringGetDatum(qualified)));
}

/* SQL: rollback_flag(name, version, expected_version) */
Datum
rollback_flag(PG_FUNCTION_ARGS)
{
	char	   *name = check_name(fcinfo, 0, "flag");
	int32		target;
	MsExpectedVersion expected;
	Locked		r;
	char	   *operation;
	Datum		old;
	HeapTupleHeader oldrow;
	bool		isnull;
	Datum		d;
	TupleDesc	desc;
	HeapTuple	row;
	Datum		result;

	ms_require_arg(PG_ARGISNULL(1), "version");
	target = PG_GETARG_INT32(1);
	expected = ms_expected_version(PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2));
	if (expected.given && expected.version == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("expected_version 0 means create only and cannot be used to roll back")));
	ms_spi_connect();
	r = lock_flag(name);
	if (!r.exists)
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("flag \"%s\" not found", name)));
	ms_require_role(r.namespace, MS_ROLE_WRITER);
	ms_check_version("flag", name, expected, true, false, r.version);
	if (!ms_history_fetch("flag", r.id, target, rowtype_of("metastore.flags"), &operation, &old))
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("version %d of flag \"%s\" not found", target, name),
				 errdetail("The flag's versions run from 1 to %d.", r.version)));
	if (strcmp(operation, "delete") == 0 || strcmp(operation, "purge") == 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("version %d of flag \"%s\" is a deletion", target, name),
				 errhint("Roll back to a version that holds a definition, or use delete_flag.")));
	oldrow = DatumGetHeapTupleHeader(old);
	{
		Jsonb	   *def = DatumGetJsonbP(GetAttributeByNum(oldrow, F_DEFINITION, &isnull));
		char	   *ns = TextDatumGetCString(GetAttributeByNum(oldrow, F_NAMESPACE, &isnull));
		text	   *description;
		ArrayType  *tags = DatumGetArrayTypeP(GetAttributeByNum(oldrow, F_TAGS, &isnull));
		MsExpectedVersion none = {false, 0};

		d = GetAttributeByNum(oldrow, F_DESCRIPTION, &isnull);
		description = isnull ? cstring_to_text("") : DatumGetTextPP(d);
		row = flag_write(name, def, none, ns, description, tags, false, true, "rollback", &desc);
	}
	result = PointerGetDatum(SPI_returntuple(row, desc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* ---- segments ---- */

/* Lock a segment row by name. */
static Locked
lock_segment(const char *name)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr read_plan = NULL;

	return lock_row(&lock_plan, &read_plan, "metastore.flag_segments", name,
					S_ID, S_VERSION, S_DELETED_AT, S_NAMESPACE);
}

/* put_segment(name, constraints, id, expected_version, namespace, description) */
static Datum
put_segment_common(FunctionCallInfo fcinfo, bool strict)
{
	static const Oid ins_types[6] = {INT4OID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID};
	static const Oid upd_types[5] = {INT8OID, TEXTOID, JSONBOID, TEXTOID, TEXTOID};
	char	   *name = check_name(fcinfo, 0, "segment");
	Jsonb	   *constraints;
	MsExpectedVersion expected;
	char	   *ns = namespace_arg(fcinfo, 4);
	text	   *description = PG_ARGISNULL(5) ? NULL : PG_GETARG_TEXT_PP(5);
	Locked		r;
	const char *target;
	TupleDesc	desc;
	HeapTuple	row;
	Datum		result;
	Datum		values[6];
	char		nulls[6] = "      ";

	ms_require_arg(PG_ARGISNULL(1), "constraints");
	constraints = PG_GETARG_JSONB_P(1);
	ms_check_document(constraints, "constraints");
	if (!JB_ROOT_IS_ARRAY(constraints) || JB_ROOT_IS_SCALAR(constraints))
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("a segment's constraints must be a JSON array of constraints")));
	if (!PG_ARGISNULL(2) && PG_GETARG_INT32(2) <= 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("a segment id must be positive, not %d", PG_GETARG_INT32(2))));
	expected = ms_expected_version(PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3));
	if (description != NULL)
		ms_check_optional_text(description, "description", MS_MAX_DESCRIPTION_BYTES);
	{
		MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "segment validation",
												  ALLOCSET_DEFAULT_SIZES);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		int			n;
		MsConstraint *c;

		ms_constraints_compile(&constraints->root, strict, "constraints", &n, &c);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
	}

	ms_spi_connect();
	r = lock_segment(name);
	target = ns ? ns : r.exists ? r.namespace : DEFAULT_NAMESPACE;
	ms_require_role(target, MS_ROLE_WRITER);
	if (r.exists)
		ms_require_role(r.namespace, MS_ROLE_WRITER);
	ms_check_version("segment", name, expected, r.exists, r.deleted, r.version);
	if (r.exists && !PG_ARGISNULL(2) && r.id != PG_GETARG_INT32(2))
		ereport(ERROR,
				(errcode(MS_ERRCODE_VERSION_CONFLICT),
				 errmsg("segment \"%s\" has id " INT64_FORMAT ", not %d", name, r.id,
						PG_GETARG_INT32(2)),
				 errhint("A segment keeps its id; omit id to update it.")));

	/* an identical put creates no version (and invalidates no cache) */
	if (r.exists && !r.deleted && strcmp(r.namespace, target) == 0 &&
		(!expected.given || expected.version == r.version))
	{
		bool		isnull;
		Datum		d = SPI_getbinval(r.tuple, r.desc, S_CONSTRAINTS, &isnull);
		Datum		dd = SPI_getbinval(r.tuple, r.desc, S_DESCRIPTION, &isnull);

		if (compareJsonbContainers(&DatumGetJsonbP(d)->root, &constraints->root) == 0 &&
			(isnull ? description == NULL :
			 (description != NULL && strcmp(TextDatumGetCString(dd), text_to_cstring(description)) == 0)))
		{
			result = PointerGetDatum(SPI_returntuple(r.tuple, r.desc));
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
	}

	values[1] = CStringGetTextDatum(target);
	values[3] = JsonbPGetDatum(constraints);
	values[4] = description ? PointerGetDatum(description) : (Datum) 0;
	nulls[4] = description ? ' ' : 'n';
	values[5] = CStringGetTextDatum(ms_current_principal());
	if (r.exists)
	{
		Datum		uv[5];
		char		un[5] = "     ";

		ms_plan(&plan_update_segment,
				"UPDATE metastore.flag_segments SET namespace = $2, constraints = $3, description = $4,"
				" version = version + 1, updated_at = pg_catalog.now(), updated_by = $5, deleted_at = NULL"
				" WHERE id = $1 RETURNING *",
				5, upd_types);
		uv[0] = Int64GetDatum(r.id);
		uv[1] = values[1];
		uv[2] = values[3];
		uv[3] = values[4];
		un[3] = nulls[4];
		uv[4] = values[5];
		row = write_row(plan_update_segment, uv, un, NULL, &desc);
	}
	else
	{
		ms_plan(&plan_insert_segment,
				"INSERT INTO metastore.flag_segments (id, namespace, name, constraints, description,"
				" version, created_at, created_by, updated_at, updated_by)"
				" VALUES (coalesce($1, pg_catalog.nextval('metastore.flag_segment_ids')), $2, $3, $4, $5,"
				" 1, pg_catalog.now(), $6, pg_catalog.now(), $6)"
				" ON CONFLICT DO NOTHING RETURNING *",
				6, ins_types);
		values[0] = PG_ARGISNULL(2) ? (Datum) 0 : Int32GetDatum(PG_GETARG_INT32(2));
		nulls[0] = PG_ARGISNULL(2) ? 'n' : ' ';
		values[2] = CStringGetTextDatum(name);
		row = write_row(plan_insert_segment, values, nulls, NULL, &desc);
		if (row == NULL)
			ereport(ERROR,
					(errcode(MS_ERRCODE_VERSION_CONFLICT),
					 errmsg("segment id %d or name \"%s\" is already taken",
							PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2), name)));
	}
	if (row == NULL)
		elog(ERROR, "locked segment vanished during update");
	result = PointerGetDatum(SPI_returntuple(row, desc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* SQL: put_segment(...) */
Datum
put_segment(PG_FUNCTION_ARGS)
{
	return put_segment_common(fcinfo, true);
}

/* SQL: put_segment_unchecked(...) — import_unleash only. */
Datum
put_segment_unchecked(PG_FUNCTION_ARGS)
{
	return put_segment_common(fcinfo, false);
}

/* SQL: delete_segment(name, expected_version) */
Datum
delete_segment(PG_FUNCTION_ARGS)
{
	char	   *name = check_name(fcinfo, 0, "segment");

	PG_RETURN_DATUM(soft_delete("segment", "metastore.flag_segments", lock_segment,
								&plan_delete_segment, name,
								ms_expected_version(PG_ARGISNULL(1),
													PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1))));
}
