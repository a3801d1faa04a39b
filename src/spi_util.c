/*
 * spi_util.c: small helpers around SPI so each module keeps its statements
 * prepared for the life of the backend.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "nodes/parsenodes.h"
#include "executor/spi.h"
#include "utils/guc.h"

#include "spi_util.h"

#define MS_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * Prepare sql once and keep the plan in *slot; later calls reuse it.  Our
 * statements are key lookups whose best plan does not depend on the values,
 * so they are planned once as generic plans: a custom plan would be made
 * again on every call (and re-inline every SQL function it uses).
 */
SPIPlanPtr
ms_plan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*slot != NULL)
		return *slot;
	plan = SPI_prepare_cursor(sql, nargs, (Oid *) argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	*slot = plan;
	return plan;
}

/* SPI_connect that cannot fail silently. */
void
ms_spi_connect(void)
{
	int			rc = SPI_connect();

	if (rc != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
}

/*
 * Pin search_path to pg_catalog, pg_temp until ms_safe_search_path_pop.
 * A cached plan is re-analysed under the search_path in force when it runs,
 * so C code that runs SQL outside a function with SET search_path (has_role,
 * the history trigger) must pin it, or a caller's operator could be chosen.
 * Returns the GUC nest level to pop; 0 when the path was already safe.
 */
int
ms_safe_search_path_push(void)
{
	int			nestlevel;

	if (namespace_search_path != NULL &&
		strcmp(namespace_search_path, MS_SAFE_SEARCH_PATH) == 0)
		return 0;
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", MS_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/* Undo ms_safe_search_path_push (an error undoes it through transaction abort). */
void
ms_safe_search_path_pop(int nestlevel)
{
	if (nestlevel > 0)
		AtEOXact_GUC(true, nestlevel);
}
