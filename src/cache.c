/*
 * cache.c: one invalidation path for backend-local caches.
 *
 * The trigger metastore.cache_invalidate() (statement level, on the tables
 * that feed caches) calls CacheInvalidateRelcache; PostgreSQL delivers that
 * to every backend after commit, including hot standbys replaying the WAL.
 * The relcache callback registered in _PG_init runs the reset functions
 * modules registered for the table (or all of them on a full reset).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "cache.h"

PG_FUNCTION_INFO_V1(cache_invalidate);

#define MAX_WATCHES 32

typedef struct Watch
{
	Oid			relid;
	MsCacheReset reset;
} Watch;

static Watch watches[MAX_WATCHES];
static int	n_watches = 0;

/* Relcache callback: reset every cache fed by relid (all of them for InvalidOid). */
static void
relcache_callback(Datum arg, Oid relid)
{
	for (int i = 0; i < n_watches; i++)
		if (relid == InvalidOid || watches[i].relid == relid)
			watches[i].reset();
}

/* Called from _PG_init. */
void
ms_cache_init(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
}

/* Run `reset` whenever table relid changes (registering twice is harmless). */
void
ms_cache_watch(Oid relid, MsCacheReset reset)
{
	for (int i = 0; i < n_watches; i++)
		if (watches[i].reset == reset)
		{
			watches[i].relid = relid;
			return;
		}
	if (n_watches >= MAX_WATCHES)
		elog(ERROR, "too many metastore caches");
	watches[n_watches].relid = relid;
	watches[n_watches].reset = reset;
	n_watches++;
}

/* OID of table metastore.<relname>. */
Oid
ms_relid(const char *relname)
{
	Oid			nsp = get_namespace_oid("metastore", false);
	Oid			relid = get_relname_relid(relname, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "table metastore.%s does not exist", relname);
	return relid;
}

/* Statement trigger: tell every backend that this table's cached rows changed. */
Datum
cache_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *td;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "cache_invalidate: not called by trigger manager");
	td = (TriggerData *) fcinfo->context;
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}
