/*-------------------------------------------------------------------------
 *
 * spi_cache.h
 *		Session-lifetime SPI plans for steward's own fixed statements.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_SPI_CACHE_H
#define STEWARD_SPI_CACHE_H

#include "postgres.h"

#include "executor/spi.h"

extern SPIPlanPtr steward_cached_plan(const char *sql, int nargs, Oid *types);
extern int	steward_exec_cached(const char *sql, int nargs, Oid *types, Datum *values,
								const char *nulls, int expected);

#endif							/* STEWARD_SPI_CACHE_H */
