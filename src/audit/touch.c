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
 * looked up once per relation and cached in fn_extra.  The comparison and
 * the stamped row work on the trigger's slots, so a row is deformed once
 * and formed once.
 *
 *-------------------------------------------------------------------------
 */
#include "audit_int.h"

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
	int			capacity;		/* columns values/nulls have room for */
	Datum	   *values;			/* scratch row for the stamped tuple */
	bool	   *nulls;
} TouchCache;

/*
 * Find (and cache) the column to stamp; error out when the trigger is
 * attached to a table without it or with the wrong type.  The cache also
 * holds a scratch row so that no row allocates more than its result.
 */
static TouchCache *
touch_column(FunctionCallInfo fcinfo, TriggerData *td)
{
	TouchCache *cache = (TouchCache *) fcinfo->flinfo->fn_extra;
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	const char *colname = td->tg_trigger->tgnargs > 0 ? td->tg_trigger->tgargs[0] : "updated";
	int			i;

	if (cache && cache->relid == RelationGetRelid(rel) && cache->desc == desc)
		return cache;
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
			cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(TouchCache));
		if (cache->capacity < desc->natts)
		{
			if (cache->values)
			{
				pfree(cache->values);
				pfree(cache->nulls);
			}
			cache->capacity = desc->natts;
			cache->values = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Datum) * desc->natts);
			cache->nulls = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(bool) * desc->natts);
		}
		cache->relid = RelationGetRelid(rel);
		cache->desc = desc;
		cache->attnum = att->attnum;
		fcinfo->flinfo->fn_extra = cache;
		return cache;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("table \"%s\" has no column \"%s\" for steward.touch_updated()",
					RelationGetRelationName(rel), colname),
			 errhint("Add the column, or name another one: EXECUTE FUNCTION steward.touch_updated('column').")));
	return NULL;				/* keep compiler quiet */
}

/*
 * Did anything but column skip change between the old and the new row?
 * Compared on the trigger's slots: the new one already holds its values
 * (the executor projected them), the old one is deformed once.
 */
static bool
row_changed(TupleDesc desc, TupleTableSlot *oldslot, TupleTableSlot *newslot, AttrNumber skip)
{
	int			i;

	slot_getallattrs(oldslot);
	slot_getallattrs(newslot);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attnum == skip)
			continue;
		if (oldslot->tts_isnull[i] != newslot->tts_isnull[i] ||
			(!oldslot->tts_isnull[i] &&
			 !datum_image_eq(oldslot->tts_values[i], newslot->tts_values[i], att->attbyval,
							 att->attlen)))
			return true;
	}
	return false;
}

/*
 * steward.touch_updated(): BEFORE UPDATE FOR EACH ROW.
 */
Datum
steward_touch_updated(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TouchCache *cache;
	AttrNumber	attnum;
	Datum		value;
	TupleDesc	desc;
	HeapTuple	result;

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

	cache = touch_column(fcinfo, td);
	attnum = cache->attnum;
	desc = RelationGetDescr(td->tg_relation);

	/* an explicit assignment wins */
	if (bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, td->tg_updatedcols))
		return PointerGetDatum(td->tg_newtuple);
	/* no-op update: leave the row, timestamp included, as it was */
	if (!row_changed(desc, td->tg_trigslot, td->tg_newslot, attnum))
		return PointerGetDatum(td->tg_newtuple);

	/* the new row's values (deformed above) with the column stamped */
	memcpy(cache->values, td->tg_newslot->tts_values, sizeof(Datum) * desc->natts);
	memcpy(cache->nulls, td->tg_newslot->tts_isnull, sizeof(bool) * desc->natts);
	value = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	if (TupleDescAttr(desc, attnum - 1)->atttypid == TIMESTAMPOID)
		value = DirectFunctionCall1(timestamptz_timestamp, value);
	cache->values[attnum - 1] = value;
	cache->nulls[attnum - 1] = false;
	result = heap_form_tuple(desc, cache->values, cache->nulls);
	result->t_self = td->tg_newtuple->t_self;
	result->t_tableOid = td->tg_newtuple->t_tableOid;
	return PointerGetDatum(result);
}
