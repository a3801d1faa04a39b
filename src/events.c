/*
 * events.c: one trigger appends every committed change of every aggregate
 * to the outbox metastore.events and notifies listeners.
 *
 * It is a deferred constraint trigger, so it runs at commit: a rolled-back
 * change never produces an event, and an advisory lock taken there (held
 * until the commit completes) makes event ids follow commit order for every
 * writer, not only a single one.  The lock is held only from the commit's
 * start to its end.  LISTEN/NOTIFY is a wake-up signal only: its payload
 * carries the id, action and type, never data (any database role may
 * LISTEN); readers fetch events through metastore.events_since, under the
 * namespace access rules.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "lib/stringinfo.h"

#include "events.h"
#include "principal.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(event_trigger);

/* metastore.event_retention_hours: events older than this are pruned (0: keep all). */
int			ms_event_retention_hours = 24 * 7;

/* Key of the advisory lock that orders event ids by commit ("MSEVENTS"). */
#define EVENTS_LOCK_KEY INT64CONST(0x4D534556454E5453)

/* Prune once every this many events. */
#define PRUNE_EVERY 1000

/*
 * One insert plan per trigger: the row is a typed parameter, and the data
 * object is built from the columns the trigger names (not the whole row).
 */
typedef struct EventPlan
{
	Oid			trigger;
	SPIPlanPtr	insert;
} EventPlan;

#define MAX_EVENT_TRIGGERS 64
static EventPlan event_plans[MAX_EVENT_TRIGGERS];
static int	n_event_plans = 0;
static SPIPlanPtr plan_prune = NULL;

/* The insert plan of this trigger on rows of this type. */
static SPIPlanPtr
insert_plan(Trigger *tg, Oid rowtype, TupleDesc desc)
{
	EventPlan  *p = NULL;

	for (int i = 0; i < n_event_plans; i++)
		if (event_plans[i].trigger == tg->tgoid)
			p = &event_plans[i];
	if (p == NULL)
	{
		if (n_event_plans >= MAX_EVENT_TRIGGERS)
			elog(ERROR, "too many triggers use metastore.event_trigger");
		p = &event_plans[n_event_plans++];
		p->trigger = tg->tgoid;
		p->insert = NULL;
	}
	if (p->insert == NULL)
	{
		Oid			argtypes[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, rowtype, TEXTOID, TEXTOID};
		StringInfoData data;

		/* data: namespace, version and the named columns (never a secret's value) */
		initStringInfo(&data);
		appendStringInfoString(&data, "pg_catalog.jsonb_build_object(");
		for (int i = -1; i < tg->tgnargs; i++)
		{
			const char *col = i == -1 ? "namespace" : i == 0 ? "version" : tg->tgargs[i];

			if (i >= 1 && (strcmp(col, "namespace") == 0 || strcmp(col, "version") == 0))
				continue;
			if (SPI_fnumber(desc, col) <= 0)
				elog(ERROR, "event_trigger: table has no column \"%s\"", col);
			appendStringInfo(&data, "%s%s, ($5).%s", i == -1 ? "" : ", ",
							 quote_literal_cstr(col), quote_identifier(col));
		}
		appendStringInfoChar(&data, ')');
		ms_plan(&p->insert,
				psprintf("INSERT INTO metastore.events (action, resource_type, resource_id, namespace, data,"
						 " environment, actor, created_at)"
						 " VALUES ($1, $2, $3, $4, %s, $6, $7, pg_catalog.clock_timestamp())"
						 " RETURNING id", data.data),
				7, argtypes);
	}
	return p->insert;
}

/* The action of a row change, in the seeds' vocabulary (create, update, delete). */
static const char *
action_of(TriggerData *td, TupleDesc desc)
{
	int			del = SPI_fnumber(desc, "deleted_at");
	bool		was_deleted,
				is_deleted;

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		return "create";
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		return "delete";
	if (del <= 0)
		return "update";
	heap_getattr(td->tg_trigtuple, del, desc, &was_deleted);
	heap_getattr(td->tg_newtuple, del, desc, &is_deleted);
	was_deleted = !was_deleted;
	is_deleted = !is_deleted;
	if (!was_deleted && is_deleted)
		return "delete";
	if (was_deleted && !is_deleted)
		return "create";		/* a restore brings it back */
	return "update";
}

/* A text column's value, or NULL when the table has none or it is null. */
static char *
text_column(HeapTuple tup, TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);

	if (attno <= 0)
		return NULL;
	return SPI_getvalue(tup, desc, attno);
}

/*
 * Trigger (deferred constraint trigger, FOR EACH ROW), arguments: resource
 * type, key column, then the further columns the event's data carries.
 */
Datum
event_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	const char *resource_type;
	const char *action;
	char	   *key;
	char	   *ns;
	char	   *env;
	Datum		values[7];
	char		nulls[7] = "       ";
	SPIPlanPtr	plan;
	int64		id;
	bool		isnull;
	Oid			save_user;
	int			save_sec;
	int			nestlevel;
	static Oid	owner = InvalidOid;
	static Oid	pruner = InvalidOid;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "event_trigger: not called by trigger manager");
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "event_trigger must be an AFTER ... FOR EACH ROW trigger");
	if (td->tg_trigger->tgnargs < 2)
		elog(ERROR, "event_trigger takes a resource type, a key column and data columns");

	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	resource_type = td->tg_trigger->tgargs[0];

	/*
	 * At commit the trigger runs as whatever role the session has: write the
	 * outbox as the owner role (row level security still checks the acting
	 * principal's writer role on the namespace).
	 */
	if (!OidIsValid(owner))
		owner = get_role_oid("metastore_owner", false);
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	nestlevel = ms_safe_search_path_push();
	ms_spi_connect();

	key = text_column(tuple, desc, td->tg_trigger->tgargs[1]);
	ns = text_column(tuple, desc, "namespace");
	env = text_column(tuple, desc, "environment");

	action = action_of(td, desc);
	values[0] = CStringGetTextDatum(action);
	values[1] = CStringGetTextDatum(resource_type);
	values[2] = key ? CStringGetTextDatum(key) : (Datum) 0;
	nulls[2] = key ? ' ' : 'n';
	values[3] = CStringGetTextDatum(ns ? ns : "");
	values[4] = heap_copy_tuple_as_datum(tuple, desc);
	values[5] = env ? CStringGetTextDatum(env) : (Datum) 0;
	nulls[5] = env ? ' ' : 'n';
	values[6] = CStringGetTextDatum(ms_current_principal());
	plan = insert_plan(td->tg_trigger, rel->rd_rel->reltype, desc);

	/* ids in commit order: one committer at a time from here to the end of its commit */
	DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(EVENTS_LOCK_KEY));
	if (SPI_execute_plan(plan, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "event_trigger: could not append the event");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/* a wake-up for listeners, delivered at commit; no data (LISTEN is open to every role) */
	Async_Notify(MS_EVENTS_CHANNEL,
				 psprintf("{\"id\": " INT64_FORMAT ", \"action\": \"%s\", \"resource_type\": \"%s\"}",
						  id, action, resource_type));

	if (ms_event_retention_hours > 0 && id % PRUNE_EVERY == 0)
	{
		static const Oid argtypes[1] = {TIMESTAMPTZOID};
		/* a constant bound, so that the index on created_at serves the DELETE */
		Datum		cutoff[1] = {TimestampTzGetDatum(GetCurrentTimestamp() -
													 (TimestampTz) ms_event_retention_hours * USECS_PER_HOUR)};

		/*
		 * As the pruning role (BYPASSRLS): under row level security the
		 * DELETE would see only the events the committing principal may read.
		 */
		if (!OidIsValid(pruner))
			pruner = get_role_oid(MS_EVENTS_PRUNER_ROLE, false);
		SetUserIdAndSecContext(pruner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
		ms_plan(&plan_prune,
				"DELETE FROM metastore.events WHERE created_at OPERATOR(pg_catalog.<) $1",
				1, argtypes);
		if (SPI_execute_plan(plan_prune, cutoff, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "event_trigger: could not prune events");
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	}

	SPI_finish();
	ms_safe_search_path_pop(nestlevel);
	SetUserIdAndSecContext(save_user, save_sec);
	return PointerGetDatum(NULL);
}
