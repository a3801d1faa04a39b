/*
 * history.c: one trigger writes every version of every aggregate into
 * metastore.history; one helper reads a version back for rollback.
 *
 * The operation recorded is derived from the row change (create, update,
 * delete, restore, purge) unless the writing C code names it explicitly
 * (rollback) through ms_history_execute.  That override is a backend-local
 * variable, so SQL callers cannot forge it.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "history.h"
#include "principal.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(history_trigger);

/* Operation named by the C write path for the statement it is running. */
static const char *pending_operation = NULL;

/* Saved plans per aggregate row type: the snapshot parameter is typed by it. */
typedef struct HistoryPlans
{
	Oid			rowtype;
	SPIPlanPtr	insert;
	SPIPlanPtr	fetch;
} HistoryPlans;

#define MAX_HISTORY_TYPES 32
static HistoryPlans history_plans[MAX_HISTORY_TYPES];
static int	n_history_plans = 0;

/* Find (or make) the plan slots for one row type. */
static HistoryPlans *
plans_for(Oid rowtype)
{
	for (int i = 0; i < n_history_plans; i++)
		if (history_plans[i].rowtype == rowtype)
			return &history_plans[i];
	if (n_history_plans >= MAX_HISTORY_TYPES)
		elog(ERROR, "too many aggregate types use metastore.history_trigger");
	history_plans[n_history_plans].rowtype = rowtype;
	history_plans[n_history_plans].insert = NULL;
	history_plans[n_history_plans].fetch = NULL;
	return &history_plans[n_history_plans++];
}

/*
 * Run a write with an explicit history operation: the trigger fired by this
 * statement records `operation` instead of the one it would derive.
 */
void
ms_history_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
				   const char *operation)
{
	int			rc;

	pending_operation = operation;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		pending_operation = NULL;
	}
	PG_END_TRY();
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
}

/* Column number of a required column of an aggregate table. */
static int
required_column(TupleDesc desc, const char *name, Relation rel)
{
	int			attno = SPI_fnumber(desc, name);

	if (attno <= 0)
		elog(ERROR, "history_trigger: table \"%s\" has no column \"%s\"",
			 RelationGetRelationName(rel), name);
	return attno;
}

/* Trigger: append the new (or purged) row version to metastore.history. */
Datum
history_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	const char *operation;
	const char *aggregate;
	HistoryPlans *plans;
	Datum		values[9];
	char		nulls[9] = "         ";
	bool		isnull;
	int32		version;
	int			nestlevel;
	static const Oid argtypes_base[8] = {TEXTOID, INT8OID, TEXTOID, TEXTOID, INT4OID,
	TEXTOID, TEXTOID, TIMESTAMPTZOID};

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "history_trigger: not called by trigger manager");
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "history_trigger must be an AFTER ... FOR EACH ROW trigger");
	if (td->tg_trigger->tgnargs != 2)
		elog(ERROR, "history_trigger takes two arguments: aggregate name and key column");

	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	aggregate = td->tg_trigger->tgargs[0];

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		tuple = td->tg_trigtuple;
		operation = "create";
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		int			del = required_column(desc, "deleted_at", rel);
		bool		was_deleted,
					is_deleted;

		tuple = td->tg_newtuple;
		heap_getattr(td->tg_trigtuple, del, desc, &was_deleted);
		heap_getattr(tuple, del, desc, &is_deleted);
		was_deleted = !was_deleted;
		is_deleted = !is_deleted;
		if (!was_deleted && is_deleted)
			operation = "delete";
		else if (was_deleted && !is_deleted)
			operation = "restore";
		else
			operation = "update";
	}
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		tuple = td->tg_trigtuple;
		operation = "purge";
	}
	else
		elog(ERROR, "history_trigger fired by an unsupported event");

	if (pending_operation != NULL && !TRIGGER_FIRED_BY_DELETE(td->tg_event))
		operation = pending_operation;

	version = DatumGetInt32(heap_getattr(tuple, required_column(desc, "version", rel), desc, &isnull));
	values[0] = CStringGetTextDatum(aggregate);
	values[1] = heap_getattr(tuple, required_column(desc, "id", rel), desc, &isnull);
	values[2] = heap_getattr(tuple, required_column(desc, "namespace", rel), desc, &isnull);
	values[3] = heap_getattr(tuple, required_column(desc, td->tg_trigger->tgargs[1], rel), desc, &isnull);
	values[5] = CStringGetTextDatum(operation);
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		/* a purge is one version past the last one the row had */
		values[4] = Int32GetDatum(version + 1);
		values[6] = CStringGetTextDatum(ms_current_principal());
		values[7] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	}
	else
	{
		values[4] = Int32GetDatum(version);
		values[6] = heap_getattr(tuple, required_column(desc, "updated_by", rel), desc, &isnull);
		values[7] = heap_getattr(tuple, required_column(desc, "updated_at", rel), desc, &isnull);
	}
	values[8] = heap_copy_tuple_as_datum(tuple, desc);

	/* a trigger runs under its statement's search_path: pin ours for the insert */
	nestlevel = ms_safe_search_path_push();
	ms_spi_connect();
	plans = plans_for(rel->rd_rel->reltype);
	if (plans->insert == NULL)
	{
		Oid			argtypes[9];

		memcpy(argtypes, argtypes_base, sizeof(argtypes_base));
		argtypes[8] = rel->rd_rel->reltype;
		ms_plan(&plans->insert,
				"INSERT INTO metastore.history (aggregate, entity_id, namespace, entity_key,"
				" version, operation, changed_by, changed_at, snapshot)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, pg_catalog.to_jsonb($9))",
				9, argtypes);
	}
	if (SPI_execute_plan(plans->insert, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "history_trigger: could not insert into metastore.history");
	SPI_finish();
	ms_safe_search_path_pop(nestlevel);

	return PointerGetDatum(NULL);
}

/*
 * Read version `version` of an aggregate row back as a row of `rowtype`
 * (its table's type).  Returns false when that version was never written.
 * The caller is connected to SPI; *row lives until its SPI_finish.
 */
bool
ms_history_fetch(const char *aggregate, int64 entity_id, int32 version,
				 Oid rowtype, char **operation, Datum *row)
{
	HistoryPlans *plans = plans_for(rowtype);
	Datum		values[3];
	bool		isnull;

	if (plans->fetch == NULL)
	{
		Oid			argtypes[3] = {TEXTOID, INT8OID, INT4OID};

		/* the type name comes from the catalog, quoted: nothing user-supplied */
		ms_plan(&plans->fetch,
				psprintf("SELECT h.operation, pg_catalog.jsonb_populate_record(NULL::%s, h.snapshot)"
						 " FROM metastore.history h"
						 " WHERE h.aggregate = $1 AND h.entity_id = $2 AND h.version = $3",
						 format_type_be_qualified(rowtype)),
				3, argtypes);
	}
	values[0] = CStringGetTextDatum(aggregate);
	values[1] = Int64GetDatum(entity_id);
	values[2] = Int32GetDatum(version);
	if (SPI_execute_plan(plans->fetch, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "ms_history_fetch: query failed");
	if (SPI_processed == 0)
		return false;
	*operation = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
	*row = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	return true;
}
