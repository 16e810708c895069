/*-------------------------------------------------------------------------
 *
 * audit.c
 *		steward.audit_trigger(): statement-level AFTER trigger that records
 *		INSERT, UPDATE, DELETE and TRUNCATE in steward.audit_log.
 *
 * Per statement, not per row: the rows come from the statement's
 * transition tables, are rendered by audit_json.c (exactly what to_jsonb()
 * gives) and written by audit_writer.c with the heap and index APIs, so a
 * row costs its JSON and one log tuple, not a trigger call, an SPI plan
 * execution and an executor start-up as a PL/pgSQL audit trigger does.
 * What the trigger knows about its table is cached across statements
 * (audit_target.c), so a single-row statement pays little more than its
 * row.
 *
 * Trigger arguments: mode ('full' or 'diff'), then excluded column names.
 * An UPDATE that changes nothing, or only excluded columns, is not logged.
 * On a Citus shard (Citus copies the triggers to every shard) the rows are
 * logged as the distributed table's, by one copy of the shard only, and a
 * TRUNCATE is left to the distributed table itself (audit_target.c).
 *
 * The one exception to "per statement": logical replication's apply
 * workers fire row-level triggers only.  A table audited with on_replica
 * => true also has row-level AFTER triggers that fire only in replica mode
 * (enable_audit), and then the trigger logs the one row it is fired for.
 *
 *-------------------------------------------------------------------------
 */
#include "audit_int.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"


PG_FUNCTION_INFO_V1(steward_audit_trigger);

/*
 * Append a key part as a row-literal field: quoted when it holds anything
 * that would make two different keys look alike.
 */
static void
append_key_part(StringInfo buf, const char *v)
{
	const char *p;
	bool		quote = v[0] == '\0';

	for (p = v; *p && !quote; p++)
		if (*p == ',' || *p == '(' || *p == ')' || *p == '"' || *p == '\\' || isspace((unsigned char) *p))
			quote = true;
	if (!quote)
	{
		appendStringInfoString(buf, v);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (p = v; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			appendStringInfoChar(buf, *p);
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '"');
}

/*
 * The primary key value of the row (a deformed slot) as text: the value
 * itself for a one-column key, a row literal like (1,"a,b") for a
 * composite one (so different keys never give the same text); false
 * without a primary key.
 */
static bool
row_id(AuditTarget *t, TupleTableSlot *slot, Datum *result)
{
	StringInfoData buf;
	int			i;

	if (t->npk == 0)
		return false;
	initStringInfo(&buf);
	if (t->npk > 1)
		appendStringInfoChar(&buf, '(');
	for (i = 0; i < t->npk; i++)
	{
		int			a = t->pk[i] - 1;

		if (i > 0)
			appendStringInfoChar(&buf, ',');
		if (!slot->tts_isnull[a])
		{
			char	   *s = OutputFunctionCall(&t->pk_out[i], slot->tts_values[a]);

			if (t->npk > 1)
				append_key_part(&buf, s);
			else
				appendStringInfoString(&buf, s);
		}
	}
	if (t->npk > 1)
		appendStringInfoChar(&buf, ')');
	*result = PointerGetDatum(cstring_to_text_with_len(buf.data, buf.len));
	return true;
}

/*
 * Log one row (a deformed slot) that exists on one side only: inserted
 * (is_new) or deleted.
 */
static void
log_row(AuditWriter *w, AuditTarget *t, TupleTableSlot *slot, bool is_new)
{
	Datum		id = 0;
	bool		has_id = row_id(t, slot, &id);
	Datum		jb = row_json_render(t->json, slot->tts_values, slot->tts_isnull, NULL);

	audit_writer_put(w, id, !has_id, is_new ? 0 : jb, is_new, is_new ? jb : 0, !is_new, 0, true);
}

/*
 * Log the rows of one transition table (INSERT or DELETE).
 */
static void
log_rows(AuditWriter *w, AuditTarget *t, TupleDesc desc, Tuplestorestate *ts, bool is_new,
		 MemoryContext rowcxt)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);

	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		MemoryContext oldcxt;

		slot_getallattrs(slot);
		oldcxt = MemoryContextSwitchTo(rowcxt);
		log_row(w, t, slot, is_new);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Log one UPDATE of a row (both slots deformed), unless no audited column
 * changed.  Columns are compared before anything is rendered; in diff mode
 * only the changed ones are rendered.  changed and differs are scratch
 * arrays of natts entries.
 */
static void
log_update_pair(AuditWriter *w, AuditTarget *t, TupleDesc desc, TupleTableSlot *oslot,
				TupleTableSlot *nslot, Datum *changed, bool *differs)
{
	int			nchanged = 0,
				i;
	Datum		id = 0;
	bool		has_id;
	const bool *include;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		differs[i] = false;
		if (att->attisdropped || t->excluded[i])
			continue;
		differs[i] = oslot->tts_isnull[i] != nslot->tts_isnull[i] ||
			(!oslot->tts_isnull[i] &&
			 !datum_image_eq(oslot->tts_values[i], nslot->tts_values[i], att->attbyval, att->attlen));
		if (differs[i])
			changed[nchanged++] = t->names[i];
	}
	if (nchanged == 0)
		return;
	include = t->diff ? differs : NULL;
	has_id = row_id(t, nslot, &id);
	audit_writer_put(w, id, !has_id,
					 row_json_render(t->json, oslot->tts_values, oslot->tts_isnull, include), false,
					 row_json_render(t->json, nslot->tts_values, nslot->tts_isnull, include), false,
					 PointerGetDatum(construct_array(changed, nchanged, TEXTOID, -1, false, TYPALIGN_INT)),
					 false);
}

/* A new row of an UPDATE, kept for pairing by key. */
typedef struct NewRow
{
	char	   *key;			/* row_id, NULL without a primary key */
	MinimalTuple tuple;
	bool		used;
} NewRow;

static int
new_row_cmp(const void *a, const void *b)
{
	const NewRow *ra = (const NewRow *) a;
	const NewRow *rb = (const NewRow *) b;

	if (ra->key == NULL || rb->key == NULL)
		return (ra->key == NULL) - (rb->key == NULL);
	return strcmp(ra->key, rb->key);
}

/*
 * The key of a deformed row as a C string, NULL without a primary key.
 */
static char *
row_key(AuditTarget *t, TupleTableSlot *slot)
{
	Datum		id;

	return row_id(t, slot, &id) ? TextDatumGetCString(id) : NULL;
}

/*
 * log_updates_by_key's first step: copy the new rows with their keys and
 * sort them by key, so that each old row finds its new one by binary
 * search instead of a scan of them all.  Sets *n to how many it copied.
 */
static NewRow *
new_rows_by_key(AuditTarget *t, Tuplestorestate *news, TupleTableSlot *nslot, int64 *n)
{
	int64		nnew = tuplestore_tuple_count(news);
	NewRow	   *rows = palloc(sizeof(NewRow) * Max(nnew, 1));
	int64		count = 0;

	tuplestore_rescan(news);
	while (count < nnew && tuplestore_gettupleslot(news, true, false, nslot))
	{
		slot_getallattrs(nslot);
		rows[count].key = row_key(t, nslot);
		rows[count].tuple = ExecCopySlotMinimalTuple(nslot);
		rows[count].used = false;
		count++;
	}
	qsort(rows, count, sizeof(NewRow), new_row_cmp);
	*n = count;
	return rows;
}

/*
 * log_updates_by_key's last step: the new rows no old row was paired with
 * are logged on their own, with old_row NULL, after every old row, so
 * that no row of the statement goes unlogged.
 */
static void
log_unpaired_new_rows(AuditWriter *w, AuditTarget *t, NewRow *rows, int64 n,
					  TupleTableSlot *nslot, MemoryContext rowcxt)
{
	MemoryContext oldcxt;
	int64		i;

	for (i = 0; i < n; i++)
	{
		if (rows[i].used)
			continue;
		ExecStoreMinimalTuple(rows[i].tuple, nslot, false);
		slot_getallattrs(nslot);
		oldcxt = MemoryContextSwitchTo(rowcxt);
		log_row(w, t, nslot, true);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
}

/*
 * Log the rows of an UPDATE whose transition tables differ in size: a row
 * that moved to another partition was captured as old when it left, but a
 * trigger on the destination skipped its insert.  Position no longer
 * pairs the rows, so they are paired by primary key; an old row without a
 * new one is logged with new_row NULL (it is gone), and without a primary
 * key every row is logged unpaired, old rows first.
 */
static void
log_updates_by_key(AuditWriter *w, AuditTarget *t, TupleDesc desc, Tuplestorestate *olds,
				   Tuplestorestate *news, MemoryContext rowcxt, Datum *changed, bool *differs)
{
	TupleTableSlot *oslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	TupleTableSlot *nslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	NewRow	   *rows;
	int64		n;
	MemoryContext oldcxt;

	rows = new_rows_by_key(t, news, nslot, &n);

	tuplestore_rescan(olds);
	while (tuplestore_gettupleslot(olds, true, false, oslot))
	{
		NewRow		probe;
		NewRow	   *match = NULL;

		slot_getallattrs(oslot);
		oldcxt = MemoryContextSwitchTo(rowcxt);
		probe.key = row_key(t, oslot);
		if (probe.key != NULL)
		{
			match = bsearch(&probe, rows, n, sizeof(NewRow), new_row_cmp);
			if (match && match->used)
				match = NULL;
		}
		if (match)
		{
			match->used = true;
			ExecStoreMinimalTuple(match->tuple, nslot, false);
			slot_getallattrs(nslot);
			log_update_pair(w, t, desc, oslot, nslot, changed, differs);
		}
		else
			log_row(w, t, oslot, false);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	log_unpaired_new_rows(w, t, rows, n, nslot, rowcxt);
	ExecDropSingleTupleTableSlot(oslot);
	ExecDropSingleTupleTableSlot(nslot);
}

/*
 * Log the changed rows of an UPDATE: old and new transition tables hold
 * the rows in the same order (unless they differ in size, see above).
 */
static void
log_updates(AuditWriter *w, AuditTarget *t, TupleDesc desc, Tuplestorestate *olds, Tuplestorestate *news,
			MemoryContext rowcxt)
{
	TupleTableSlot *oslot;
	TupleTableSlot *nslot;
	Datum	   *changed = palloc(sizeof(Datum) * Max(desc->natts, 1));
	bool	   *differs = palloc(sizeof(bool) * Max(desc->natts, 1));

	if (tuplestore_tuple_count(olds) != tuplestore_tuple_count(news))
	{
		log_updates_by_key(w, t, desc, olds, news, rowcxt, changed, differs);
		return;
	}
	oslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	nslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(olds);
	tuplestore_rescan(news);
	while (tuplestore_gettupleslot(olds, true, false, oslot) &&
		   tuplestore_gettupleslot(news, true, false, nslot))
	{
		MemoryContext oldcxt;

		slot_getallattrs(oslot);
		slot_getallattrs(nslot);
		oldcxt = MemoryContextSwitchTo(rowcxt);
		log_update_pair(w, t, desc, oslot, nslot, changed, differs);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	ExecDropSingleTupleTableSlot(oslot);
	ExecDropSingleTupleTableSlot(nslot);
}

/*
 * Log the one row of a row-level trigger (on_replica): an inserted or
 * deleted row, or the old and new row of an UPDATE, from the trigger's
 * slots.
 */
static void
log_fired_row(AuditWriter *w, AuditTarget *t, TriggerData *td)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	TriggerEvent ev = td->tg_event;

	slot_getallattrs(td->tg_trigslot);
	if (TRIGGER_FIRED_BY_UPDATE(ev))
	{
		Datum	   *changed = palloc(sizeof(Datum) * Max(desc->natts, 1));
		bool	   *differs = palloc(sizeof(bool) * Max(desc->natts, 1));

		slot_getallattrs(td->tg_newslot);
		log_update_pair(w, t, desc, td->tg_trigslot, td->tg_newslot, changed, differs);
	}
	else
		log_row(w, t, td->tg_trigslot, TRIGGER_FIRED_BY_INSERT(ev));
}

/*
 * steward_audit_trigger's first step: refuse to run unless fired the way
 * steward.enable_audit attaches it (a statement-level AFTER trigger, with
 * the transition tables its event needs, or BEFORE TRUNCATE; for
 * on_replica a row-level AFTER trigger, in replica mode only, where the
 * statement-level ones do not fire: a row is never logged twice), since
 * the rows come from those tables or that row only.  Returns the
 * operation to log.
 */
static const char *
trigger_operation(FunctionCallInfo fcinfo)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TriggerEvent ev;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward.audit_trigger() must be called as a trigger"),
				 errhint("Use steward.enable_audit(table) to attach it.")));
	ev = td->tg_event;
	if (TRIGGER_FIRED_FOR_ROW(ev) ?
		!(TRIGGER_FIRED_AFTER(ev) && SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA) :
		!(TRIGGER_FIRED_AFTER(ev) || (TRIGGER_FIRED_BEFORE(ev) && TRIGGER_FIRED_BY_TRUNCATE(ev))))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward.audit_trigger() must be fired AFTER ... FOR EACH STATEMENT"),
				 errdetail("As an AFTER ... FOR EACH ROW trigger it records only changes made with session_replication_role = replica, as enable_audit(..., on_replica => true) attaches it."),
				 errhint("Use steward.enable_audit(table) to attach it.")));
	if (TRIGGER_FIRED_FOR_STATEMENT(ev) &&
		((TRIGGER_FIRED_BY_INSERT(ev) && td->tg_newtable == NULL) ||
		 (TRIGGER_FIRED_BY_DELETE(ev) && td->tg_oldtable == NULL) ||
		 (TRIGGER_FIRED_BY_UPDATE(ev) && (td->tg_oldtable == NULL || td->tg_newtable == NULL))))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward.audit_trigger() on table \"%s\" has no transition tables",
						RelationGetRelationName(td->tg_relation)),
				 errhint("Use steward.enable_audit(table) to attach it.")));
	if (TRIGGER_FIRED_BY_INSERT(ev))
		return "INSERT";
	if (TRIGGER_FIRED_BY_UPDATE(ev))
		return "UPDATE";
	if (TRIGGER_FIRED_BY_DELETE(ev))
		return "DELETE";
	return "TRUNCATE";
}

/*
 * Log a TRUNCATE: of the audited table itself, or of one of its partitions
 * (whose rows are logged under the table), then named in old_row.
 */
static void
log_truncate(AuditWriter *w, AuditTarget *t, Relation rel)
{
	if (t->logas == t->relid)
		audit_writer_put(w, 0, true, 0, true, 0, true, 0, true);
	else
		audit_writer_put(w, 0, true, audit_partition_note(rel), false, 0, true, 0, true);
}

/*
 * steward.audit_trigger(): AFTER INSERT/UPDATE/DELETE/TRUNCATE FOR EACH
 * STATEMENT, with transition tables for the first three, and BEFORE
 * TRUNCATE, which only notes that a TRUNCATE began (partition.c: a table's
 * TRUNCATE covers its partitions'); AFTER INSERT/UPDATE/DELETE FOR EACH
 * ROW for on_replica.
 */
Datum
steward_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	AuditWriter w;
	AuditTarget *t;
	MemoryContext rowcxt;
	const char *op = trigger_operation(fcinfo);
	TriggerEvent ev = td->tg_event;

	if (TRIGGER_FIRED_BY_TRUNCATE(ev) && TRIGGER_FIRED_BEFORE(ev))
	{
		audit_truncate_begin(td->tg_relation);
		return PointerGetDatum(NULL);
	}
	if (TRIGGER_FIRED_BY_TRUNCATE(ev) && audit_truncate_covered(td->tg_relation))
		return PointerGetDatum(NULL);
	t = audit_target_acquire(td);
	if (t->silent || (t->shard && TRIGGER_FIRED_BY_TRUNCATE(ev)))
	{
		/* another copy logs it; a TRUNCATE, the distributed table itself */
		audit_target_release(t);
		return PointerGetDatum(NULL);
	}
	PG_TRY();
	{
		audit_writer_open(&w, t, op,
						  td->tg_newtable ? tuplestore_tuple_count(td->tg_newtable) :
						  td->tg_oldtable ? tuplestore_tuple_count(td->tg_oldtable) : 1);
		rowcxt = AllocSetContextCreate(CurrentMemoryContext, "steward audit row",
									   ALLOCSET_DEFAULT_SIZES);
		if (TRIGGER_FIRED_FOR_ROW(ev))
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(rowcxt);

			log_fired_row(&w, t, td);
			MemoryContextSwitchTo(oldcxt);
		}
		else if (TRIGGER_FIRED_BY_INSERT(ev))
			log_rows(&w, t, RelationGetDescr(td->tg_relation), td->tg_newtable, true, rowcxt);
		else if (TRIGGER_FIRED_BY_DELETE(ev))
			log_rows(&w, t, RelationGetDescr(td->tg_relation), td->tg_oldtable, false, rowcxt);
		else if (TRIGGER_FIRED_BY_UPDATE(ev))
			log_updates(&w, t, RelationGetDescr(td->tg_relation), td->tg_oldtable, td->tg_newtable, rowcxt);
		else
			log_truncate(&w, t, td->tg_relation);
		MemoryContextDelete(rowcxt);
		audit_writer_close(&w);
	}
	PG_FINALLY();
	{
		audit_target_release(t);
	}
	PG_END_TRY();
	return PointerGetDatum(NULL);
}

/*
 * Wire the audit trigger's caches to invalidations (from _PG_init).
 */
void
steward_audit_init(void)
{
	audit_target_init();
	audit_writer_init();
	audit_partition_init();
}
