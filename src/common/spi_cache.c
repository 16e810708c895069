/*-------------------------------------------------------------------------
 *
 * spi_cache.c
 *		Prepared plans of steward's own statements, kept for the session.
 *
 * Every statement steward runs on its own behalf (catalog reads and writes,
 * DDL log inserts) is a string literal, so its address identifies it and
 * the plan is prepared once per backend.  The plan cache re-plans them
 * after DDL on the catalogs (or DROP and CREATE EXTENSION); they are fully
 * schema-qualified, so the search_path at re-plan time does not matter.
 *
 *-------------------------------------------------------------------------
 */
#include "common/common.h"

#define STEWARD_PLAN_SLOTS 64

static struct
{
	const char *sql;
	SPIPlanPtr	plan;
}			plans[STEWARD_PLAN_SLOTS];

/*
 * The kept plan of sql (a string literal), preparing it on first use.
 * Beyond STEWARD_PLAN_SLOTS statements plans are prepared per call.
 */
SPIPlanPtr
steward_cached_plan(const char *sql, int nargs, Oid *types)
{
	int			i;
	SPIPlanPtr	plan;

	for (i = 0; i < STEWARD_PLAN_SLOTS && plans[i].sql != NULL; i++)
		if (plans[i].sql == sql)
			return plans[i].plan;
	plan = SPI_prepare(sql, nargs, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare steward statement: %s",
			 SPI_result_code_string(SPI_result));
	if (i < STEWARD_PLAN_SLOTS)
	{
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "could not keep steward statement plan");
		plans[i].sql = sql;
		plans[i].plan = plan;
	}
	return plan;
}

/*
 * Execute sql (a string literal) with its cached plan and check the SPI
 * result code; returns the number of rows processed.
 */
int
steward_exec_cached(const char *sql, int nargs, Oid *types, Datum *values,
					const char *nulls, int expected)
{
	int			rc = SPI_execute_plan(steward_cached_plan(sql, nargs, types),
									  values, nulls, false, 0);

	if (rc != expected)
		elog(ERROR, "steward statement failed (SPI code %d): %s", rc, sql);
	return (int) SPI_processed;
}
