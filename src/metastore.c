/*
 * metastore.c: module entry point; registers the settings every module reads.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "metastore.h"

PG_MODULE_MAGIC;

int			ms_max_document_bytes = 1024 * 1024;
int			ms_max_document_depth = 64;
int			ms_max_bulk_operations = 1000;

void		_PG_init(void);

/* Register GUCs once per backend, when the library is first loaded. */
void
_PG_init(void)
{
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
