/*-------------------------------------------------------------------------
 *
 * audit.c
 *		steward.audit_trigger(): statement-level AFTER trigger that records
 *		INSERT, UPDATE, DELETE and TRUNCATE in steward.audit_log.
 *
 * Per statement, not per row: the rows come from the statement's
 * transition tables and are written to the log with the heap and index
 * APIs (a bulk-insert state for big statements), so a row costs its JSON
 * rendering and one log tuple, not a trigger call, an SPI plan execution
 * and an executor start-up as a PL/pgSQL audit trigger does.  Rows are
 * rendered by audit_json.c, planned once per statement, to exactly what
 * to_jsonb() gives.  No SQL
 * runs, so the caller needs no privilege on the log and no search_path
 * applies; the log's CHECKs and defaults are enforced here.
 *
 * Trigger arguments: mode ('full' or 'diff'), then excluded column names.
 * An UPDATE that changes nothing, or only excluded columns, is not logged.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "audit_json.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "migrate.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"

PG_FUNCTION_INFO_V1(steward_audit_trigger);

/* steward.audit_log columns, in table order */
enum
{
	AL_ID, AL_AT, AL_TXID, AL_RELID, AL_SCHEMA, AL_TABLE, AL_OP, AL_ROW_ID, AL_OLD, AL_NEW,
	AL_CHANGED, AL_DB_USER, AL_ROLE, AL_APPNAME, AL_CLIENT, AL_MODULE, AL_VERSION, AL_NATTS
};

/* Everything needed to write log rows for one statement. */
typedef struct AuditWriter
{
	Relation	log;
	Oid			seqid;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	BulkInsertState bistate;
	CommandId	cid;
	Datum		values[AL_NATTS];
	bool		nulls[AL_NATTS];
} AuditWriter;

/* How to render and compare the audited table's rows. */
typedef struct AuditTable
{
	Relation	rel;
	TupleDesc	desc;
	RowJsonPlan *json;			/* renders the audited (not excluded) columns */
	bool		diff;
	bool	   *excluded;		/* per attribute */
	Datum	   *names;			/* per attribute: its name as text */
	AttrNumber *pk;				/* primary key attnums */
	int			npk;
	FmgrInfo   *pk_out;
} AuditTable;

/*
 * Open steward.audit_log and fill the per-statement columns.
 */
static void
writer_open(AuditWriter *w, Relation rel, const char *op, int64 rows)
{
	Oid			nsp = get_namespace_oid("steward", false);
	Oid			logid = get_relname_relid("audit_log", nsp);
	LOCAL_FCINFO(client, 0);
	Datum		addr;

	if (!OidIsValid(logid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("steward.audit_log does not exist"),
				 errhint("Install pg_steward in this database, or drop the audit triggers with steward.disable_audit().")));
	w->seqid = get_relname_relid("audit_log_id_seq", nsp);
	w->log = table_open(logid, RowExclusiveLock);
	if (RelationGetDescr(w->log)->natts != AL_NATTS)
		elog(ERROR, "steward.audit_log has %d columns, expected %d",
			 RelationGetDescr(w->log)->natts, AL_NATTS);
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->log, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);
	w->slot = ExecInitExtraTupleSlot(w->estate, RelationGetDescr(w->log), &TTSOpsVirtual);
	/* a bulk-insert buffer ring pays off only for many rows */
	w->bistate = rows > 64 ? GetBulkInsertState() : NULL;
	w->cid = GetCurrentCommandId(true);

	memset(w->nulls, true, sizeof(w->nulls));
	w->values[AL_AT] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	w->values[AL_TXID] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	w->values[AL_RELID] = ObjectIdGetDatum(RelationGetRelid(rel));
	w->values[AL_SCHEMA] = DirectFunctionCall1(namein,
											   CStringGetDatum(get_namespace_name(RelationGetNamespace(rel))));
	w->values[AL_TABLE] = DirectFunctionCall1(namein, CStringGetDatum(RelationGetRelationName(rel)));
	w->values[AL_OP] = CStringGetTextDatum(op);
	w->values[AL_DB_USER] = DirectFunctionCall1(namein,
												CStringGetDatum(GetUserNameFromId(GetSessionUserId(), false)));
	w->values[AL_ROLE] = DirectFunctionCall1(namein,
											 CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	w->nulls[AL_AT] = w->nulls[AL_TXID] = w->nulls[AL_RELID] = false;
	w->nulls[AL_SCHEMA] = w->nulls[AL_TABLE] = w->nulls[AL_OP] = false;
	w->nulls[AL_DB_USER] = w->nulls[AL_ROLE] = false;
	if (application_name && application_name[0])
	{
		w->values[AL_APPNAME] = CStringGetTextDatum(application_name);
		w->nulls[AL_APPNAME] = false;
	}
	InitFunctionCallInfoData(*client, NULL, 0, InvalidOid, NULL, NULL);
	addr = inet_client_addr(client);
	if (!client->isnull)
	{
		w->values[AL_CLIENT] = addr;
		w->nulls[AL_CLIENT] = false;
	}
	if (steward_current_module)
	{
		w->values[AL_MODULE] = CStringGetTextDatum(steward_current_module);
		w->values[AL_VERSION] = CStringGetTextDatum(steward_current_version);
		w->nulls[AL_MODULE] = w->nulls[AL_VERSION] = false;
	}
}

/*
 * Write one log row: the per-statement columns plus the given ones.
 */
static void
writer_put(AuditWriter *w, Datum row_id, bool row_id_null, Datum old_row, bool old_null,
		   Datum new_row, bool new_null, Datum changed, bool changed_null)
{
	TupleTableSlot *slot = w->slot;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, w->values, sizeof(w->values));
	memcpy(slot->tts_isnull, w->nulls, sizeof(w->nulls));
	slot->tts_values[AL_ID] = Int64GetDatum(nextval_internal(w->seqid, false));
	slot->tts_isnull[AL_ID] = false;
	slot->tts_values[AL_ROW_ID] = row_id;
	slot->tts_isnull[AL_ROW_ID] = row_id_null;
	slot->tts_values[AL_OLD] = old_row;
	slot->tts_isnull[AL_OLD] = old_null;
	slot->tts_values[AL_NEW] = new_row;
	slot->tts_isnull[AL_NEW] = new_null;
	slot->tts_values[AL_CHANGED] = changed;
	slot->tts_isnull[AL_CHANGED] = changed_null;
	ExecStoreVirtualTuple(slot);
	table_tuple_insert(w->log, slot, w->cid, 0, w->bistate);
	if (w->rri->ri_NumIndices > 0)
		(void) ExecInsertIndexTuples(w->rri, slot, w->estate, false, false, NULL, NIL);
}

static void
writer_close(AuditWriter *w)
{
	if (w->bistate)
	{
		FreeBulkInsertState(w->bistate);
		table_finish_bulk_insert(w->log, 0);
	}
	ExecCloseIndices(w->rri);
	ExecDropSingleTupleTableSlot(w->slot);
	FreeExecutorState(w->estate);
	table_close(w->log, NoLock);
}

/*
 * Prepare rendering of the audited table's rows: the JSON plan without the
 * excluded columns, the column names for "changed", the primary key for
 * row_id.
 */
static void
table_open_audit(AuditTable *t, TriggerData *td)
{
	Trigger    *trig = td->tg_trigger;
	Bitmapset  *pkattrs;
	int			i,
				k;

	t->rel = td->tg_relation;
	t->desc = RelationGetDescr(t->rel);
	t->diff = trig->tgnargs > 0 && strcmp(trig->tgargs[0], "diff") == 0;
	if (trig->tgnargs > 0 && strcmp(trig->tgargs[0], "diff") != 0 && strcmp(trig->tgargs[0], "full") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid audit mode \"%s\" on table \"%s\"", trig->tgargs[0],
						RelationGetRelationName(t->rel)),
				 errhint("Re-enable auditing with steward.enable_audit(tbl, mode => 'full' or 'diff').")));

	t->excluded = palloc0(sizeof(bool) * Max(t->desc->natts, 1));
	t->names = palloc0(sizeof(Datum) * Max(t->desc->natts, 1));
	for (i = 0; i < t->desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(t->desc, i);

		if (att->attisdropped)
			continue;
		for (k = 1; k < trig->tgnargs; k++)
			if (strcmp(NameStr(att->attname), trig->tgargs[k]) == 0)
				t->excluded[i] = true;
		t->names[i] = CStringGetTextDatum(NameStr(att->attname));
	}
	t->json = row_json_plan(t->desc, t->excluded);

	pkattrs = RelationGetIndexAttrBitmap(t->rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	t->npk = 0;
	t->pk = palloc(sizeof(AttrNumber) * Max(bms_num_members(pkattrs), 1));
	t->pk_out = palloc(sizeof(FmgrInfo) * Max(bms_num_members(pkattrs), 1));
	k = -1;
	while ((k = bms_next_member(pkattrs, k)) >= 0)
	{
		AttrNumber	attnum = k + FirstLowInvalidHeapAttributeNumber;
		Oid			outfn;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(t->desc, attnum - 1)->atttypid, &outfn, &varlena);
		fmgr_info(outfn, &t->pk_out[t->npk]);
		t->pk[t->npk++] = attnum;
	}
}

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
row_id(AuditTable *t, TupleTableSlot *slot, Datum *result)
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
 * Log the rows of one transition table (INSERT or DELETE).
 */
static void
log_rows(AuditWriter *w, AuditTable *t, Tuplestorestate *ts, bool is_new, MemoryContext rowcxt)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(t->desc, &TTSOpsMinimalTuple);

	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		MemoryContext oldcxt;
		Datum		id = 0;
		bool		has_id;
		Datum		jb;

		slot_getallattrs(slot);
		oldcxt = MemoryContextSwitchTo(rowcxt);
		has_id = row_id(t, slot, &id);
		jb = row_json_render(t->json, slot->tts_values, slot->tts_isnull, NULL);

		writer_put(w, id, !has_id, is_new ? 0 : jb, is_new, is_new ? jb : 0, !is_new, 0, true);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Log the changed rows of an UPDATE: old and new transition tables hold
 * the rows in the same order.  Columns are compared before anything is
 * rendered; in diff mode only the changed ones are rendered.
 */
static void
log_updates(AuditWriter *w, AuditTable *t, Tuplestorestate *olds, Tuplestorestate *news,
			MemoryContext rowcxt)
{
	TupleTableSlot *oslot = MakeSingleTupleTableSlot(t->desc, &TTSOpsMinimalTuple);
	TupleTableSlot *nslot = MakeSingleTupleTableSlot(t->desc, &TTSOpsMinimalTuple);
	int			natts = t->desc->natts;
	Datum	   *changed = palloc(sizeof(Datum) * Max(natts, 1));
	bool	   *differs = palloc(sizeof(bool) * Max(natts, 1));

	tuplestore_rescan(olds);
	tuplestore_rescan(news);
	while (tuplestore_gettupleslot(olds, true, false, oslot) &&
		   tuplestore_gettupleslot(news, true, false, nslot))
	{
		MemoryContext oldcxt;
		int			nchanged = 0,
					i;
		Datum		id = 0;
		bool		has_id;
		const bool *include;

		slot_getallattrs(oslot);
		slot_getallattrs(nslot);
		for (i = 0; i < natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(t->desc, i);

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
			continue;
		oldcxt = MemoryContextSwitchTo(rowcxt);
		include = t->diff ? differs : NULL;
		has_id = row_id(t, nslot, &id);
		writer_put(w, id, !has_id,
				   row_json_render(t->json, oslot->tts_values, oslot->tts_isnull, include), false,
				   row_json_render(t->json, nslot->tts_values, nslot->tts_isnull, include), false,
				   PointerGetDatum(construct_array(changed, nchanged, TEXTOID, -1, false, TYPALIGN_INT)),
				   false);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
	}
	ExecDropSingleTupleTableSlot(oslot);
	ExecDropSingleTupleTableSlot(nslot);
}

/*
 * steward.audit_trigger(): AFTER INSERT/UPDATE/DELETE/TRUNCATE FOR EACH
 * STATEMENT, with transition tables for the first three.
 */
Datum
steward_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	AuditWriter w;
	AuditTable	t;
	MemoryContext rowcxt;
	TriggerEvent ev;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward.audit_trigger() must be called as a trigger"),
				 errhint("Use steward.enable_audit(table) to attach it.")));
	ev = td->tg_event;
	if (!TRIGGER_FIRED_AFTER(ev) || !TRIGGER_FIRED_FOR_STATEMENT(ev))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward.audit_trigger() must be fired AFTER ... FOR EACH STATEMENT"),
				 errhint("Use steward.enable_audit(table) to attach it.")));
	if (TRIGGER_FIRED_BY_INSERT(ev))
		op = "INSERT";
	else if (TRIGGER_FIRED_BY_UPDATE(ev))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(ev))
		op = "DELETE";
	else
		op = "TRUNCATE";
	if ((TRIGGER_FIRED_BY_INSERT(ev) && td->tg_newtable == NULL) ||
		(TRIGGER_FIRED_BY_DELETE(ev) && td->tg_oldtable == NULL) ||
		(TRIGGER_FIRED_BY_UPDATE(ev) && (td->tg_oldtable == NULL || td->tg_newtable == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward.audit_trigger() on table \"%s\" has no transition tables",
						RelationGetRelationName(td->tg_relation)),
				 errhint("Use steward.enable_audit(table) to attach it.")));

	table_open_audit(&t, td);
	writer_open(&w, td->tg_relation, op,
				td->tg_newtable ? tuplestore_tuple_count(td->tg_newtable) :
				td->tg_oldtable ? tuplestore_tuple_count(td->tg_oldtable) : 1);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "steward audit row",
								   ALLOCSET_DEFAULT_SIZES);
	if (TRIGGER_FIRED_BY_INSERT(ev))
		log_rows(&w, &t, td->tg_newtable, true, rowcxt);
	else if (TRIGGER_FIRED_BY_DELETE(ev))
		log_rows(&w, &t, td->tg_oldtable, false, rowcxt);
	else if (TRIGGER_FIRED_BY_UPDATE(ev))
		log_updates(&w, &t, td->tg_oldtable, td->tg_newtable, rowcxt);
	else
		writer_put(&w, 0, true, 0, true, 0, true, 0, true);
	MemoryContextDelete(rowcxt);
	writer_close(&w);
	return PointerGetDatum(NULL);
}
