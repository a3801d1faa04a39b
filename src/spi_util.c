/*
 * spi_util.c: small helpers around SPI so each module keeps its statements
 * prepared for the life of the backend.
 */
#include "postgres.h"

#include "executor/spi.h"

#include "spi_util.h"

/* Prepare sql once and keep the plan in *slot; later calls reuse it. */
SPIPlanPtr
ms_plan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*slot != NULL)
		return *slot;
	plan = SPI_prepare(sql, nargs, (Oid *) argtypes);
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
