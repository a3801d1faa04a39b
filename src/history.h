/*
 * history.h: the one history mechanism every aggregate opts into.
 *
 * An aggregate table opts in with one line:
 *   CREATE TRIGGER t_history AFTER INSERT OR UPDATE OR DELETE ON tbl
 *     FOR EACH ROW EXECUTE FUNCTION metastore.history_trigger('aggregate', 'keycolumn');
 * Every version of every row is then written to metastore.history as a
 * jsonb snapshot of the whole row; ms_history_fetch reads one back.
 */
#ifndef METASTORE_HISTORY_H
#define METASTORE_HISTORY_H

#include "postgres.h"
#include "access/htup.h"
#include "executor/spi.h"

extern void ms_history_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
							   const char *operation);
extern bool ms_history_fetch(const char *aggregate, int64 entity_id, int32 version,
							 Oid rowtype, char **operation, Datum *row);

#endif
