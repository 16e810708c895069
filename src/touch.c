/*-------------------------------------------------------------------------
 *
 * touch.c
 *		steward.touch_updated(): BEFORE UPDATE row trigger that keeps an
 *		"updated" column current.
 *
 * Per row it sets the column to the transaction timestamp, unless
 *   - the UPDATE assigned the column itself (tg_updatedcols): an explicit
 *     value is kept, so data loads and corrections can set it;
 *   - nothing else in the row changed: a no-op UPDATE leaves the row as it
 *     was, timestamp included.
 * The column (default "updated", or the trigger's first argument) is
 * looked up once per relation and cached in fn_extra.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "nodes/bitmapset.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(steward_touch_updated);

typedef struct TouchCache
{
	Oid			relid;
	TupleDesc	desc;			/* the descriptor the attnum was found in */
	AttrNumber	attnum;
} TouchCache;

/*
 * Find (and cache) the column to stamp; error out when the trigger is
 * attached to a table without it or with the wrong type.
 */
static AttrNumber
touch_column(FunctionCallInfo fcinfo, TriggerData *td)
{
	TouchCache *cache = (TouchCache *) fcinfo->flinfo->fn_extra;
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	const char *colname = td->tg_trigger->tgnargs > 0 ? td->tg_trigger->tgargs[0] : "updated";
	int			i;

	if (cache && cache->relid == RelationGetRelid(rel) && cache->desc == desc)
		return cache->attnum;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), colname) != 0)
			continue;
		if (att->atttypid != TIMESTAMPTZOID && att->atttypid != TIMESTAMPOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of table \"%s\" is not a timestamp",
							colname, RelationGetRelationName(rel)),
					 errhint("steward.touch_updated() stamps a timestamptz column; pass its name as the trigger argument.")));
		if (cache == NULL)
			cache = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(TouchCache));
		cache->relid = RelationGetRelid(rel);
		cache->desc = desc;
		cache->attnum = att->attnum;
		fcinfo->flinfo->fn_extra = cache;
		return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("table \"%s\" has no column \"%s\" for steward.touch_updated()",
					RelationGetRelationName(rel), colname),
			 errhint("Add the column, or name another one: EXECUTE FUNCTION steward.touch_updated('column').")));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * Did anything but column skip change between the two tuples?  Both are
 * deformed once (heap_getattr per column would rescan after varlenas).
 */
static bool
row_changed(TupleDesc desc, HeapTuple oldtup, HeapTuple newtup, AttrNumber skip)
{
	Datum	   *oldval = palloc(sizeof(Datum) * desc->natts);
	Datum	   *newval = palloc(sizeof(Datum) * desc->natts);
	bool	   *oldnull = palloc(sizeof(bool) * desc->natts);
	bool	   *newnull = palloc(sizeof(bool) * desc->natts);
	bool		changed = false;
	int			i;

	heap_deform_tuple(oldtup, desc, oldval, oldnull);
	heap_deform_tuple(newtup, desc, newval, newnull);
	for (i = 0; i < desc->natts && !changed; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attnum == skip)
			continue;
		changed = oldnull[i] != newnull[i] ||
			(!oldnull[i] && !datum_image_eq(oldval[i], newval[i], att->attbyval, att->attlen));
	}
	pfree(oldval);
	pfree(newval);
	pfree(oldnull);
	pfree(newnull);
	return changed;
}

/*
 * steward.touch_updated(): BEFORE UPDATE FOR EACH ROW.
 */
Datum
steward_touch_updated(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	AttrNumber	attnum;
	Datum		value;
	bool		isnull = false;
	TupleDesc	desc;
	Oid			typid;
	int			col;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward.touch_updated() must be called as a trigger"),
				 errhint("CREATE TRIGGER ... BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION steward.touch_updated();")));
	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_BY_UPDATE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward.touch_updated() must be fired BEFORE UPDATE FOR EACH ROW"),
				 errhint("Recreate the trigger as BEFORE UPDATE ... FOR EACH ROW.")));

	attnum = touch_column(fcinfo, td);
	desc = RelationGetDescr(td->tg_relation);

	/* an explicit assignment wins */
	if (bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, td->tg_updatedcols))
		return PointerGetDatum(td->tg_newtuple);
	/* no-op update: leave the row, timestamp included, as it was */
	if (!row_changed(desc, td->tg_trigtuple, td->tg_newtuple, attnum))
		return PointerGetDatum(td->tg_newtuple);

	typid = TupleDescAttr(desc, attnum - 1)->atttypid;
	value = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	if (typid == TIMESTAMPOID)
		value = DirectFunctionCall1(timestamptz_timestamp, value);
	col = attnum;
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_newtuple, desc, 1, &col,
													 &value, &isnull));
}
