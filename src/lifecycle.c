/*
 * lifecycle.c: state machines defined as data, and the one transition
 * function every lifecycle goes through (docs/lifecycle.md).
 *
 * A machine definition is checked when it is stored (states, initial state,
 * transitions with their roles and required fields; duplicate transitions
 * and unreachable states are refused).  metastore.transition() locks the
 * entity's row, judges the action against the state it finds there (so of
 * two concurrent transitions one wins and the other fails cleanly on the
 * state the first left), checks the acting principal's role on the
 * namespace, records the transition and returns the new state.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "access.h"
#include "cache.h"
#include "errors.h"
#include "lifecycle.h"
#include "metastore.h"
#include "principal.h"
#include "spi_util.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(check_machine);
PG_FUNCTION_INFO_V1(transition);

typedef struct Transition
{
	int			from;			/* state index; -1: the creation of an entity */
	char	   *action;
	int			to;
	MsRole		role;
	int			nrequires;
	char	  **requires;
} Transition;

typedef struct Machine
{
	int			nstates;
	char	   *states[MS_MACHINE_MAX_STATES];
	int			initial;
	int			ntransitions;
	Transition *transitions;
} Machine;

/* ---- the per-backend cache of compiled machines (reset through cache.c) ---- */

typedef struct CachedMachine
{
	char	   *name;
	char	   *namespace;
	Machine    *machine;
	struct CachedMachine *next;
} CachedMachine;

static MemoryContext machine_cxt = NULL;
static CachedMachine *machines = NULL;
static bool machines_stale = false;
static bool machines_watched = false;

/* metastore.state_machines changed somewhere: drop the compiled machines at the next call. */
static void
machines_reset(void)
{
	machines_stale = true;
}

/* Refuse a definition, naming the place. */
static void
bad(const char *where, const char *msg)
{
	ereport(ERROR,
			(errcode(MS_ERRCODE_INVALID_VALUE),
			 errmsg("invalid state machine: %s", msg),
			 errdetail("At %s.", where),
			 errhint("docs/lifecycle.md describes the definition format.")));
}

/* A string field of an object, or NULL when absent. */
static char *
str_field(JsonbContainer *obj, const char *key, const char *where)
{
	JsonbValue	res;
	JsonbValue *v = getKeyJsonValueFromContainer(obj, key, strlen(key), &res);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString || v->val.string.len == 0 || v->val.string.len > MS_MACHINE_MAX_NAME_BYTES)
		bad(psprintf("%s.%s", where, key), psprintf("\"%s\" must be a name of 1 to %d bytes", key,
												   MS_MACHINE_MAX_NAME_BYTES));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Index of a state name, or -1. */
static int
state_index(const Machine *m, const char *name)
{
	for (int i = 0; i < m->nstates; i++)
		if (strcmp(m->states[i], name) == 0)
			return i;
	return -1;
}

/* The names a "from" field lists: one name or an array of names. */
static int
from_list(JsonbValue *v, const char *where, char ***out)
{
	if (v->type == jbvString)
	{
		*out = palloc(sizeof(char *));
		(*out)[0] = pnstrdup(v->val.string.val, v->val.string.len);
		return 1;
	}
	if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		int			n = JsonContainerSize(v->val.binary.data);

		if (n == 0)
			bad(where, "\"from\" must name at least one state");
		*out = palloc(sizeof(char *) * n);
		for (int i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(v->val.binary.data, i);

			if (e->type != jbvString)
				bad(psprintf("%s[%d]", where, i), "a state name must be a string");
			(*out)[i] = pnstrdup(e->val.string.val, e->val.string.len);
		}
		return n;
	}
	bad(where, "\"from\" must be a state name or an array of them");
	return 0;
}

/* Compile and check a definition; raises 22023 naming the place of a fault. */
static Machine *
compile(Jsonb *def)
{
	Machine    *m = palloc0(sizeof(Machine));
	JsonbContainer *root = &def->root;
	JsonbValue	res;
	JsonbValue *states,
			   *trans;
	char	   *initial;
	bool		reached[MS_MACHINE_MAX_STATES];
	int			queue[MS_MACHINE_MAX_STATES],
				head = 0,
				tail = 0;

	if (!JB_ROOT_IS_OBJECT(def))
		bad("definition", "a machine definition must be a JSON object");
	{
		JsonbIterator *it = JsonbIteratorInit(root);
		JsonbValue	k;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
			if (tok == WJB_KEY)
			{
				char	   *key = pnstrdup(k.val.string.val, k.val.string.len);

				if (strcmp(key, "states") != 0 && strcmp(key, "initial") != 0 &&
					strcmp(key, "transitions") != 0 && strcmp(key, "description") != 0)
					bad(psprintf("definition.%s", key), psprintf("unknown field \"%s\"", key));
			}
	}

	states = getKeyJsonValueFromContainer(root, "states", 6, &res);
	if (states == NULL || states->type != jbvBinary || !JsonContainerIsArray(states->val.binary.data))
		bad("definition.states", "\"states\" must be an array of state names");
	states = memcpy(palloc(sizeof(JsonbValue)), states, sizeof(JsonbValue));
	m->nstates = JsonContainerSize(states->val.binary.data);
	if (m->nstates == 0 || m->nstates > MS_MACHINE_MAX_STATES)
		bad("definition.states", psprintf("a machine has 1 to %d states", MS_MACHINE_MAX_STATES));
	for (int i = 0; i < m->nstates; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(states->val.binary.data, i);
		char	   *where = psprintf("definition.states[%d]", i);

		if (e->type != jbvString || e->val.string.len == 0 || e->val.string.len > MS_MACHINE_MAX_NAME_BYTES)
			bad(where, psprintf("a state is a name of 1 to %d bytes", MS_MACHINE_MAX_NAME_BYTES));
		m->states[i] = pnstrdup(e->val.string.val, e->val.string.len);
		if (state_index(m, m->states[i]) != i)
			bad(where, psprintf("state \"%s\" is listed twice", m->states[i]));
	}
	initial = str_field(root, "initial", "definition");
	if (initial == NULL)
		bad("definition.initial", "\"initial\" must name the state entities start in");
	m->initial = state_index(m, initial);
	if (m->initial < 0)
		bad("definition.initial", psprintf("initial state \"%s\" is not one of the states", initial));

	trans = getKeyJsonValueFromContainer(root, "transitions", 11, &res);
	if (trans == NULL || trans->type != jbvBinary || !JsonContainerIsArray(trans->val.binary.data))
		bad("definition.transitions", "\"transitions\" must be an array");
	trans = memcpy(palloc(sizeof(JsonbValue)), trans, sizeof(JsonbValue));
	{
		int			n = JsonContainerSize(trans->val.binary.data);

		m->transitions = palloc0(sizeof(Transition) * (MS_MACHINE_MAX_TRANSITIONS));
		for (int i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(trans->val.binary.data, i);
			char	   *where = psprintf("definition.transitions[%d]", i);
			JsonbContainer *obj;
			JsonbValue *fromv,
					   *req;
			char	  **froms;
			int			nfrom;
			char	   *action,
					   *to,
					   *role;
			int			toi;
			MsRole		r;

			if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
				bad(where, "a transition must be an object");
			obj = e->val.binary.data;
			{
				JsonbIterator *it = JsonbIteratorInit(obj);
				JsonbValue	k;
				JsonbIteratorToken tok;

				while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
					if (tok == WJB_KEY)
					{
						char	   *key = pnstrdup(k.val.string.val, k.val.string.len);

						if (strcmp(key, "from") != 0 && strcmp(key, "action") != 0 &&
							strcmp(key, "to") != 0 && strcmp(key, "role") != 0 &&
							strcmp(key, "requires") != 0)
							bad(psprintf("%s.%s", where, key), psprintf("unknown field \"%s\"", key));
					}
			}
			action = str_field(obj, "action", where);
			to = str_field(obj, "to", where);
			role = str_field(obj, "role", where);
			if (action == NULL)
				bad(psprintf("%s.action", where), "a transition needs an action");
			if (to == NULL || (toi = state_index(m, to)) < 0)
				bad(psprintf("%s.to", where), "\"to\" must be one of the states");
			if (role == NULL)
				bad(psprintf("%s.role", where), "a transition needs the role that may take it");
			r = MS_ROLE_READER;
			{
				bool		known = false;

				for (int q = MS_ROLE_READER; q <= MS_ROLE_TESTER; q++)
					if (strcmp(role, ms_role_name((MsRole) q)) == 0)
					{
						r = (MsRole) q;
						known = true;
					}
				if (!known)
					bad(psprintf("%s.role", where),
						psprintf("unknown role \"%s\" (reader, writer, admin, developer, approver, external_testing_system)",
								 role));
			}
			fromv = getKeyJsonValueFromContainer(obj, "from", 4, &res);
			if (fromv == NULL)
			{
				/* no "from": the action that creates an entity, in the initial state */
				if (toi != m->initial)
					bad(psprintf("%s.to", where), "the creating transition (no \"from\") must lead to the initial state");
				froms = NULL;
				nfrom = 1;
			}
			else
			{
				fromv = memcpy(palloc(sizeof(JsonbValue)), fromv, sizeof(JsonbValue));
				nfrom = from_list(fromv, psprintf("%s.from", where), &froms);
			}
			req = getKeyJsonValueFromContainer(obj, "requires", 8, &res);
			if (req != NULL)
				req = memcpy(palloc(sizeof(JsonbValue)), req, sizeof(JsonbValue));
			for (int f = 0; f < nfrom; f++)
			{
				Transition *t;
				int			fi = froms ? state_index(m, froms[f]) : -1;

				if (froms && fi < 0)
					bad(psprintf("%s.from", where), psprintf("state \"%s\" is not one of the states", froms[f]));
				for (int j = 0; j < m->ntransitions; j++)
					if (m->transitions[j].from == fi && strcmp(m->transitions[j].action, action) == 0)
						bad(where, psprintf("action \"%s\" is defined twice from %s%s%s", action,
											fi < 0 ? "creation" : "state \"", fi < 0 ? "" : m->states[fi],
											fi < 0 ? "" : "\""));
				if (m->ntransitions >= MS_MACHINE_MAX_TRANSITIONS)
					bad(where, psprintf("a machine has at most %d transitions", MS_MACHINE_MAX_TRANSITIONS));
				t = &m->transitions[m->ntransitions++];
				t->from = fi;
				t->action = action;
				t->to = toi;
				t->role = r;
				if (req != NULL && req->type != jbvNull)
				{
					if (req->type != jbvBinary || !JsonContainerIsArray(req->val.binary.data))
						bad(psprintf("%s.requires", where), "\"requires\" must be an array of field names");
					t->nrequires = JsonContainerSize(req->val.binary.data);
					t->requires = palloc(sizeof(char *) * Max(t->nrequires, 1));
					for (int q = 0; q < t->nrequires; q++)
					{
						JsonbValue *rv = getIthJsonbValueFromContainer(req->val.binary.data, q);

						if (rv->type != jbvString || rv->val.string.len == 0)
							bad(psprintf("%s.requires[%d]", where, q), "a required field is a name");
						t->requires[q] = pnstrdup(rv->val.string.val, rv->val.string.len);
					}
				}
			}
		}
	}

	/* every state must be reachable from the initial one */
	memset(reached, 0, sizeof(reached));
	reached[m->initial] = true;
	queue[tail++] = m->initial;
	while (head < tail)
	{
		int			s = queue[head++];

		for (int j = 0; j < m->ntransitions; j++)
			if (m->transitions[j].from == s && !reached[m->transitions[j].to])
			{
				reached[m->transitions[j].to] = true;
				queue[tail++] = m->transitions[j].to;
			}
	}
	for (int i = 0; i < m->nstates; i++)
		if (!reached[i])
			bad(psprintf("definition.states[%d]", i),
				psprintf("state \"%s\" cannot be reached from the initial state \"%s\"",
						 m->states[i], m->states[m->initial]));
	return m;
}

/* SQL: check_machine(definition) -> the definition, or 22023 naming the fault. */
Datum
check_machine(PG_FUNCTION_ARGS)
{
	Jsonb	   *def = PG_GETARG_JSONB_P(0);

	(void) compile(def);
	PG_RETURN_JSONB_P(def);
}

/* The actions a principal could take from a state, for the error that refuses another. */
static char *
allowed_actions(const Machine *m, int from)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int j = 0; j < m->ntransitions; j++)
		if (m->transitions[j].from == from)
			appendStringInfo(&s, "%s%s", s.len ? ", " : "", m->transitions[j].action);
	return s.len ? s.data : "none";
}

/* Payload fields a transition requires: present, not null, not an empty string. */
static void
check_requires(const Transition *t, Jsonb *payload, const char *action)
{
	for (int q = 0; q < t->nrequires; q++)
	{
		JsonbValue	res;
		JsonbValue *v = payload && JB_ROOT_IS_OBJECT(payload) ?
			getKeyJsonValueFromContainer(&payload->root, t->requires[q], strlen(t->requires[q]), &res) : NULL;

		if (v == NULL || v->type == jbvNull || (v->type == jbvString && v->val.string.len == 0))
			ereport(ERROR,
					(errcode(MS_ERRCODE_INVALID_VALUE),
					 errmsg("action \"%s\" requires the field \"%s\"", action, t->requires[q]),
					 errdetail("At payload.%s.", t->requires[q])));
	}
}

/*
 * SQL: transition(machine, entity, action, actor, payload) -> jsonb
 * {machine, entity, state, previous_state, action, version, ...}.
 */
Datum
transition(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan_machine = NULL;
	static SPIPlanPtr plan_lock = NULL;
	static SPIPlanPtr plan_insert = NULL;
	static SPIPlanPtr plan_update = NULL;
	static SPIPlanPtr plan_log = NULL;
	char	   *machine,
			   *entity,
			   *action,
			   *actor;
	Jsonb	   *payload;
	Machine    *m;
	char	   *ns;
	int			from = -1;
	const Transition *t = NULL;
	int32		version = 0;
	int64		entity_id = 0;
	Datum		result;
	bool		isnull;
	int			nestlevel;

	ms_require_arg(PG_ARGISNULL(0), "machine");
	ms_require_arg(PG_ARGISNULL(1), "entity");
	ms_require_arg(PG_ARGISNULL(2), "action");
	machine = text_to_cstring(PG_GETARG_TEXT_PP(0));
	entity = text_to_cstring(PG_GETARG_TEXT_PP(1));
	action = text_to_cstring(PG_GETARG_TEXT_PP(2));
	actor = PG_ARGISNULL(3) ? pstrdup(ms_current_principal()) : text_to_cstring(PG_GETARG_TEXT_PP(3));
	payload = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	if (strlen(entity) == 0 || strlen(entity) > MS_MAX_KEY_BYTES)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("entity must be 1 to %d bytes", MS_MAX_KEY_BYTES)));
	if (payload != NULL && !JB_ROOT_IS_OBJECT(payload))
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("payload must be a JSON object")));

	/* a machine changed by a commit since this transaction took its locks */
	AcceptInvalidationMessages();
	nestlevel = ms_safe_search_path_push();
	ms_spi_connect();
	if (!machines_watched)
	{
		ms_cache_watch(ms_relid("state_machines"), machines_reset);
		machines_watched = true;
	}
	if (machines_stale && machine_cxt != NULL)
	{
		MemoryContextReset(machine_cxt);
		machines = NULL;
		machines_stale = false;
		machines_watched = false;	/* re-resolve the table next time (a re-created extension) */
	}
	{
		CachedMachine *c;

		for (c = machines; c != NULL; c = c->next)
			if (strcmp(c->name, machine) == 0)
				break;
		/*
		 * The machine is read under row level security: one the principal
		 * may not read is "not found" for it, cached or not.
		 */
		{
			static const Oid argtypes[1] = {TEXTOID};
			Datum		values[1] = {CStringGetTextDatum(machine)};

			ms_plan(&plan_machine,
					"SELECT namespace, definition FROM metastore.state_machines"
					" WHERE name = $1 AND deleted_at IS NULL", 1, argtypes);
			if (c == NULL)
			{
				MemoryContext old;

				if (SPI_execute_plan(plan_machine, values, NULL, true, 1) != SPI_OK_SELECT)
					elog(ERROR, "transition: could not read the machine");
				if (SPI_processed == 0)
					ereport(ERROR,
							(errcode(MS_ERRCODE_NOT_FOUND),
							 errmsg("state machine \"%s\" not found", machine)));
				if (machine_cxt == NULL)
					machine_cxt = AllocSetContextCreate(CacheMemoryContext, "metastore state machines",
														ALLOCSET_SMALL_SIZES);
				old = MemoryContextSwitchTo(machine_cxt);
				c = palloc0(sizeof(CachedMachine));
				c->name = pstrdup(machine);
				c->namespace = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
				c->machine = compile(DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0],
																	   SPI_tuptable->tupdesc, 2, &isnull)));
				c->next = machines;
				machines = c;
				MemoryContextSwitchTo(old);
			}
		}
		ns = c->namespace;
		m = c->machine;
	}
	/* a principal without any role on the machine's namespace does not see it */
	if (!ms_has_role(ns, MS_ROLE_READER))
		ereport(ERROR,
				(errcode(MS_ERRCODE_NOT_FOUND),
				 errmsg("state machine \"%s\" not found", machine)));

	/* the entity's row, locked: a concurrent transition waits here and then sees our state */
	{
		static const Oid argtypes[2] = {TEXTOID, TEXTOID};
		Datum		values[2] = {CStringGetTextDatum(machine), CStringGetTextDatum(entity)};

		ms_plan(&plan_lock,
				"SELECT id, state, version FROM metastore.machine_entities"
				" WHERE machine = $1 AND entity = $2 FOR UPDATE", 2, argtypes);
		if (SPI_execute_plan(plan_lock, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "transition: could not lock the entity");
		if (SPI_processed > 0)
		{
			char	   *state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

			entity_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
			from = state_index(m, state);
			if (from < 0)
				ereport(ERROR,
						(errcode(MS_ERRCODE_ILLEGAL_TRANSITION),
						 errmsg("entity \"%s\" is in state \"%s\", which machine \"%s\" no longer has",
								entity, state, machine),
						 errhint("Add the state back to the machine, or move the entity with a new machine version.")));
		}
	}

	for (int j = 0; j < m->ntransitions; j++)
		if (m->transitions[j].from == from && strcmp(m->transitions[j].action, action) == 0)
			t = &m->transitions[j];
	if (t == NULL)
	{
		if (from < 0)
			ereport(ERROR,
					(errcode(MS_ERRCODE_NOT_FOUND),
					 errmsg("entity \"%s\" does not exist in machine \"%s\"", entity, machine),
					 errdetail("Only a creating action can start it: %s.", allowed_actions(m, -1))));
		ereport(ERROR,
				(errcode(MS_ERRCODE_ILLEGAL_TRANSITION),
				 errmsg("action \"%s\" is not allowed in state \"%s\"", action, m->states[from]),
				 errdetail("Entity \"%s\" of machine \"%s\" is in state \"%s\"; allowed actions: %s.",
						   entity, machine, m->states[from], allowed_actions(m, from))));
	}
	ms_require_role(ns, t->role);
	check_requires(t, payload, action);

	/* write the new state, then the record of the transition */
	{
		const char *who = ms_current_principal();

		if (from < 0)
		{
			static const Oid types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
			Datum		values[5] = {CStringGetTextDatum(ns), CStringGetTextDatum(machine),
				CStringGetTextDatum(entity), CStringGetTextDatum(m->states[t->to]),
			CStringGetTextDatum(who)};

			ms_plan(&plan_insert,
					"INSERT INTO metastore.machine_entities (namespace, machine, entity, state, version,"
					" created_at, created_by, updated_at, updated_by)"
					" VALUES ($1, $2, $3, $4, 1, pg_catalog.now(), $5, pg_catalog.now(), $5)"
					" ON CONFLICT (machine, entity) DO NOTHING RETURNING id, version",
					5, types);
			if (SPI_execute_plan(plan_insert, values, NULL, false, 1) != SPI_OK_INSERT_RETURNING)
				elog(ERROR, "transition: could not create the entity");
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(MS_ERRCODE_ILLEGAL_TRANSITION),
						 errmsg("entity \"%s\" of machine \"%s\" was created concurrently", entity, machine),
						 errhint("Read its state and retry with an action allowed there.")));
		}
		else
		{
			static const Oid types[3] = {INT8OID, TEXTOID, TEXTOID};
			Datum		values[3] = {Int64GetDatum(entity_id), CStringGetTextDatum(m->states[t->to]),
			CStringGetTextDatum(who)};

			ms_plan(&plan_update,
					"UPDATE metastore.machine_entities SET state = $2, version = version + 1,"
					" updated_at = pg_catalog.now(), updated_by = $3 WHERE id = $1 RETURNING id, version",
					3, types);
			if (SPI_execute_plan(plan_update, values, NULL, false, 1) != SPI_OK_UPDATE_RETURNING ||
				SPI_processed != 1)
				elog(ERROR, "transition: the locked entity vanished");
		}
		entity_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		{
			static const Oid types[10] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
			TEXTOID, TEXTOID, JSONBOID, INT4OID};
			Datum		values[10] = {CStringGetTextDatum(ns), CStringGetTextDatum(machine),
				CStringGetTextDatum(entity), CStringGetTextDatum(action),
				(Datum) 0, CStringGetTextDatum(m->states[t->to]), CStringGetTextDatum(actor),
				CStringGetTextDatum(who), payload ? JsonbPGetDatum(payload) : (Datum) 0,
			Int32GetDatum(version)};
			char		nulls[10] = "          ";

			if (from >= 0)
				values[4] = CStringGetTextDatum(m->states[from]);
			else
				nulls[4] = 'n';
			if (payload == NULL)
				nulls[8] = 'n';
			ms_plan(&plan_log,
					"INSERT INTO metastore.machine_transitions (namespace, machine, entity, action,"
					" from_state, to_state, actor, principal, payload, version, at)"
					" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, '{}'), $10, pg_catalog.now())",
					10, types);
			if (SPI_execute_plan(plan_log, values, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "transition: could not record the transition");
		}
	}

	{
		JsonbParseState *st = NULL;
		JsonbValue	k,
					v;
		const char *keys[6] = {"machine", "entity", "action", "state", "previous_state", "actor"};
		const char *vals[6] = {machine, entity, action, m->states[t->to],
		from >= 0 ? m->states[from] : NULL, actor};

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		for (int i = 0; i < 6; i++)
		{
			k.type = jbvString;
			k.val.string.val = (char *) keys[i];
			k.val.string.len = strlen(keys[i]);
			pushJsonbValue(&st, WJB_KEY, &k);
			if (vals[i] == NULL)
				v.type = jbvNull;
			else
			{
				v.type = jbvString;
				v.val.string.val = (char *) vals[i];
				v.val.string.len = strlen(vals[i]);
			}
			pushJsonbValue(&st, WJB_VALUE, &v);
		}
		k.val.string.val = "version";
		k.val.string.len = 7;
		pushJsonbValue(&st, WJB_KEY, &k);
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(version);
		pushJsonbValue(&st, WJB_VALUE, &v);
		{
			Jsonb	   *j = JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));

			/* copied out of SPI's memory, which SPI_finish frees */
			result = PointerGetDatum(memcpy(SPI_palloc(VARSIZE(j)), j, VARSIZE(j)));
		}
	}
	SPI_finish();
	ms_safe_search_path_pop(nestlevel);
	PG_RETURN_DATUM(result);
}
