/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every difference between the PostgreSQL majors pg_steward supports
 *		(15 to 18), and nowhere else: macros and small inline functions
 *		named for what they do, so the rest of the tree reads as one
 *		version.  No other file may test PG_VERSION_NUM.
 *
 * Each shim says from which major on it differs.  Macros only name
 * server symbols; the file using one includes the header that declares
 * them (noted with each shim), so this header stays cheap to include.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_COMPAT_H
#define STEWARD_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "pg_steward supports PostgreSQL 15 to 18"
#endif

/*
 * The local transaction id of this backend's current transaction, to tell
 * whether state kept across event-trigger calls belongs to it (uses
 * storage/proc.h).  17 moved it into PGPROC.vxid.
 */
#if PG_VERSION_NUM >= 170000
#define StewardMyLocalTransactionId()	(MyProc->vxid.lxid)
#else
#define StewardMyLocalTransactionId()	(MyProc->lxid)
#endif

/*
 * This backend's 0-based index among the server's backends, or -1 when it
 * has none (auxiliary processes, early start-up): metrics give each index
 * one shared-memory slot.  Up to 16 that is BackendId - 1 (backendid.h);
 * 17 replaced BackendIds by ProcNumbers, already 0-based (procnumber.h).
 * Callers also check the result against their number of slots.
 */
#if PG_VERSION_NUM >= 170000
#include "storage/procnumber.h"
static inline int
steward_my_backend_index(void)
{
	return MyProcNumber == INVALID_PROC_NUMBER ? -1 : (int) MyProcNumber;
}
#else
#include "storage/backendid.h"
static inline int
steward_my_backend_index(void)
{
	return MyBackendId == InvalidBackendId ? -1 : (int) MyBackendId - 1;
}
#endif

/*
 * The OID of a table's primary key index (utils/relcache.h).  18 added
 * deferrable_ok; steward's own catalogs have no deferrable keys.
 */
#if PG_VERSION_NUM >= 180000
#define StewardRelationGetPrimaryKeyIndex(rel)	RelationGetPrimaryKeyIndex((rel), false)
#else
#define StewardRelationGetPrimaryKeyIndex(rel)	RelationGetPrimaryKeyIndex(rel)
#endif

/*
 * The parameters of an ExecutorRun hook, and the same names passed on to
 * the next one (executor/executor.h).  18 dropped execute_once.
 */
#if PG_VERSION_NUM >= 180000
#define STEWARD_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define STEWARD_EXECUTOR_RUN_ARGS	queryDesc, direction, count
#else
#define STEWARD_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define STEWARD_EXECUTOR_RUN_ARGS	queryDesc, direction, count, execute_once
#endif

/*
 * Insert the index entries of a new heap tuple into every index of a
 * result relation: no UPDATE, no ON CONFLICT (executor/executor.h).  16
 * added onlySummarizing, for HOT updates only, so always false here.
 */
#if PG_VERSION_NUM >= 160000
#define steward_insert_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false)
#else
#define steward_insert_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#endif

/*
 * The OID of a table's primary key index, InvalidOid when it has none or
 * when the key is deferrable (utils/relcache.h): up to 17 the relcache
 * left deferrable keys out; 18 keeps them and asks the caller.
 */
#if PG_VERSION_NUM >= 180000
#define steward_primary_key_index(rel)	RelationGetPrimaryKeyIndex((rel), false)
#else
#define steward_primary_key_index(rel)	RelationGetPrimaryKeyIndex(rel)
#endif

/*
 * The permission callback CLUSTER passes while it locks its table
 * (commands/tablecmds.h): 17 added the MAINTAIN privilege and
 * RangeVarCallbackMaintainsTable; before, only the owner could.
 */
#if PG_VERSION_NUM >= 170000
#define steward_rangevar_callback_maintains	RangeVarCallbackMaintainsTable
#else
#define steward_rangevar_callback_maintains	RangeVarCallbackOwnsTable
#endif

/*
 * May the current user REINDEX an index (whose table is heapoid), as
 * REINDEX INDEX's lookup checks it before it locks anything
 * (utils/acl.h, miscadmin.h)?  Up to 15 the index's owner may; 16 moved
 * ownership checks to object_ownercheck (catalog/pg_class.h); 17 added
 * the MAINTAIN privilege on the table.
 */
#if PG_VERSION_NUM >= 170000
#define steward_may_reindex_index(indexoid, heapoid) \
	((void) (indexoid), pg_class_aclcheck((heapoid), GetUserId(), ACL_MAINTAIN) == ACLCHECK_OK)
#elif PG_VERSION_NUM >= 160000
#define steward_may_reindex_index(indexoid, heapoid) \
	((void) (heapoid), object_ownercheck(RelationRelationId, (indexoid), GetUserId()))
#else
#define steward_may_reindex_index(indexoid, heapoid) \
	((void) (heapoid), pg_class_ownercheck((indexoid), GetUserId()))
#endif

/*
 * The NOT VALID not-null constraint of column attnum of an open table, as
 * a copy of its pg_constraint tuple, or NULL when it has none
 * (catalog/pg_constraint.h, access/tupdesc.h).  18 added not-null
 * constraints that are NOT VALID: the column is attnotnull but may hold
 * NULLs, and SET NOT NULL validates the constraint by reading every row
 * (even when a validated CHECK proves it).  Before 18 there are none.
 */
#if PG_VERSION_NUM >= 180000
#define steward_not_valid_not_null(rel, attnum) \
	(TupleDescCompactAttr(RelationGetDescr(rel), (attnum) - 1)->attnullability == ATTNULLABLE_INVALID ? \
	 findNotNullConstraintAttnum(RelationGetRelid(rel), (attnum)) : NULL)
#else
#define steward_not_valid_not_null(rel, attnum)	((void) (rel), (void) (attnum), (HeapTuple) NULL)
#endif

/*
 * Is an ALTER TABLE subcommand ALTER COLUMN ... SET EXPRESSION
 * (nodes/parsenodes.h)?  17 added it; before, no subcommand is.
 */
#if PG_VERSION_NUM >= 170000
#define steward_at_is_set_expression(subtype)	((subtype) == AT_SetExpression)
#else
#define steward_at_is_set_expression(subtype)	false
#endif

/*
 * Does a GENERATED ALWAYS AS (...) column constraint of a raw parse tree
 * store its values (nodes/parsenodes.h, catalog/pg_attribute.h)?  Up to 17
 * every generated column is STORED; 18 added VIRTUAL, its default.
 */
#if PG_VERSION_NUM >= 180000
#define steward_generated_is_stored(con) \
	((con)->generated_kind == ATTRIBUTE_GENERATED_STORED)
#else
#define steward_generated_is_stored(con)	true
#endif

/*
 * A query id (Query.queryId, PlannedStmt.queryId) as pg_steward keeps it:
 * uint64, 0 when none.  18 made the field int64; the bits are the same.
 */
#define steward_query_id(id)	((uint64) (id))

/*
 * The query jumble: where its header lives (16 moved it from utils/ to
 * nodes/), and the two kinds of location 18 added to a JumbleState's
 * constant locations: PARAM_EXTERN parameters, which pg_stat_statements
 * replaces only when the query also has a squashed list, and squashed
 * lists of constants, whose length the jumble already knows.
 */
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#else
#include "utils/queryjumble.h"
#endif
#if PG_VERSION_NUM >= 180000
#define steward_jumble_loc_skipped(js, i) \
	((js)->clocations[i].extern_param && !(js)->has_squashed_lists)
#define steward_jumble_loc_squashed(js, i)	((js)->clocations[i].squashed)
#else
#define steward_jumble_loc_skipped(js, i)	((void) (js), (void) (i), false)
#define steward_jumble_loc_squashed(js, i)	((void) (js), (void) (i), false)
#endif

/*
 * The major version this library was built for, times 100 (1500 for 15,
 * 1800 for 18), recorded where a file must not be read by another major.
 */
#define STEWARD_BUILT_FOR_PG	(PG_VERSION_NUM / 100)

/*
 * Run a portal to completion as a top-level statement (tcop/pquery.h):
 * deploy's background worker.  18 dropped run_once.
 */
#if PG_VERSION_NUM >= 180000
#define steward_portal_run_top_level(portal, dest, qc) \
	PortalRun((portal), FETCH_ALL, true, (dest), (dest), (qc))
#else
#define steward_portal_run_top_level(portal, dest, qc) \
	PortalRun((portal), FETCH_ALL, true, true, (dest), (dest), (qc))
#endif

#endif							/* STEWARD_COMPAT_H */
