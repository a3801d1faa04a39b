/*
 * spi_util.h: saved SPI plans, prepared once per backend.
 */
#ifndef METASTORE_SPI_UTIL_H
#define METASTORE_SPI_UTIL_H

#include "postgres.h"
#include "executor/spi.h"

extern SPIPlanPtr ms_plan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes);
extern void ms_spi_connect(void);
extern int	ms_safe_search_path_push(void);
extern void ms_safe_search_path_pop(int nestlevel);

#endif
