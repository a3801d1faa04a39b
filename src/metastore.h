/*
 * metastore.h: limits and settings shared by every module.
 *
 * Every limit is either a named constant here or a GUC registered in
 * metastore.c; docs/sql-api.md ("Limits") documents each one once.
 */
#ifndef METASTORE_H
#define METASTORE_H

#include "postgres.h"

/* fixed limits on identifiers (bytes) */
#define MS_MAX_NAMESPACE_BYTES		128
#define MS_MAX_KEY_BYTES			1024
#define MS_MAX_TAG_BYTES			128
#define MS_MAX_TAGS					64
#define MS_MAX_OWNER_BYTES			256
#define MS_MAX_DESCRIPTION_BYTES	4096
#define MS_MAX_PRINCIPAL_BYTES		128

/* settings (GUCs), see _PG_init */
extern int	ms_max_document_bytes;	/* metastore.max_document_bytes */
extern int	ms_max_document_depth;	/* metastore.max_document_depth */
extern int	ms_max_bulk_operations;	/* metastore.max_bulk_operations */

#endif
