/*
 * metastore.c: module entry point; registers the settings every module reads.
 */
#include "postgres.h"

#include <sodium.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "access.h"
#include "apikeys.h"
#include "cache.h"
#include "events.h"
#include "metastore.h"
#include "principal.h"

PG_MODULE_MAGIC;

int			ms_max_document_bytes = 1024 * 1024;
int			ms_max_document_depth = 64;
int			ms_max_bulk_operations = 1000;

void		_PG_init(void);

/* A server secret path changed (reload): forget the derived keys. */
static void
secret_file_assign(const char *newval, void *extra)
{
	ms_apikeys_secret_changed();
}

/* Register GUCs and callbacks once per backend, when the library is first loaded. */
void
_PG_init(void)
{
	if (sodium_init() < 0)
		elog(ERROR, "libsodium could not be initialised");
	ms_principal_init();
	ms_access_init();
	ms_cache_init();

	DefineCustomStringVariable("metastore.server_secret_file",
							   "File holding the server secret that API key hashes are keyed with.",
							   "Must be outside the data directory and readable only by the server's OS user.",
							   &ms_server_secret_file,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, secret_file_assign, NULL);
	DefineCustomStringVariable("metastore.previous_server_secret_file",
							   "The server secret before the last rotation; keys hashed with it still verify.",
							   NULL,
							   &ms_previous_server_secret_file,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, secret_file_assign, NULL);
	DefineCustomIntVariable("metastore.event_retention_hours",
							"Events older than this many hours are pruned from metastore.events (0 keeps them all).",
							"Pruning runs as events are appended, once every 1000 events.",
							&ms_event_retention_hours,
							24 * 7, 0, 24 * 365 * 10,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("metastore.max_document_bytes",
							"Largest stored JSON document, in bytes of its binary (jsonb) form.",
							NULL,
							&ms_max_document_bytes,
							1024 * 1024, 1024, 256 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("metastore.max_document_depth",
							"Deepest nesting of arrays and objects accepted in a stored JSON document.",
							NULL,
							&ms_max_document_depth,
							64, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("metastore.max_bulk_operations",
							"Most operations accepted in one bulk call.",
							NULL,
							&ms_max_bulk_operations,
							1000, 1, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("metastore");
}
