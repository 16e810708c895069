/*-------------------------------------------------------------------------
 *
 * row_json.h
 *		Rendering table rows as jsonb, byte for byte what to_jsonb() gives,
 *		with the per-column work done once per statement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_AUDIT_ROW_JSON_H
#define STEWARD_AUDIT_ROW_JSON_H

#include "common/common.h"

#include "access/tupdesc.h"

typedef struct RowJsonPlan RowJsonPlan;

/*
 * Plan the rendering of rows of desc, leaving out the attributes whose
 * skip[] entry is true (skip may be NULL).  Allocated in the current
 * memory context.
 */
extern RowJsonPlan *row_json_plan(TupleDesc desc, const bool *skip);

/*
 * The row given by values/nulls (all attributes of the planned descriptor)
 * as a jsonb datum in the current memory context.  With include non-NULL,
 * only attributes whose include[] entry is true are rendered.
 */
extern Datum row_json_render(RowJsonPlan *plan, const Datum *values, const bool *nulls,
							 const bool *include);

#endif							/* STEWARD_AUDIT_ROW_JSON_H */
