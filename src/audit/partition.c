/*-------------------------------------------------------------------------
 *
 * partition.c
 *		Auditing partitioned tables: writes made directly to a partition,
 *		partitions created or attached later, and TRUNCATE of a tree.
 *
 * Statement-level triggers fire only on the table a statement names, and
 * PostgreSQL does not clone them to partitions.  So steward.enable_audit()
 * attaches the audit triggers to the table and to every partition below it,
 * and a DDL listener gives a partition created or attached later the
 * triggers of its parent.  A write through the parent fires the parent's
 * triggers only; a write to a partition fires the partition's; either way
 * the rows are logged under the topmost audited ancestor, as writes
 * through it are.
 *
 * TRUNCATE is the exception: truncating a table truncates its partitions
 * too and fires the TRUNCATE triggers of every one of them.  A BEFORE
 * TRUNCATE trigger, on tables in a partition tree only (every trigger
 * costs every statement on its table), notes each table as the statement
 * begins on it; a partition whose ancestor was noted before it is covered
 * by the ancestor's log row and logs none of its own.  Notes live in the
 * top transaction's memory, are consumed by the AFTER trigger, and are
 * dropped with the subtransaction that made them when it aborts.
 *
 * A table audited on_replica passes that on as well: a partition created or
 * attached later gets, like the parent's other partitions, the row-level
 * triggers that fire in replica mode and TRUNCATE triggers that fire
 * always.  The parent's TRUNCATE trigger tells (it fires always).
 *
 *-------------------------------------------------------------------------
 */
#include "audit_int.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* the audit trigger that marks a table as audited */
#define AUDIT_INSERT_TRIGGER "steward_audit_insert"
/* the audit trigger that notes a TRUNCATE, in partition trees only */
#define AUDIT_BEFORE_TRUNCATE_TRIGGER "steward_audit_before_truncate"
/* the TRUNCATE trigger, which fires always when audited on_replica */
#define AUDIT_TRUNCATE_TRIGGER "steward_audit_truncate"

/* A table whose TRUNCATE has begun and not yet been logged. */
typedef struct TruncateNote
{
	Oid			relid;
	bool		covered;		/* an ancestor's log row covers it */
	SubTransactionId subid;		/* made in this subtransaction */
} TruncateNote;

/* TruncateNotes in TopTransactionContext, valid in transaction notes_lxid */
static List *notes = NIL;
static LocalTransactionId notes_lxid = InvalidLocalTransactionId;

/*
 * Does relid have the trigger called name, and with which arguments (args
 * may be NULL) and firing state (tgenabled; enabled may be NULL)?
 */
static bool
find_trigger(Oid relid, const char *name, List **args, char *enabled)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;

	ScanKeyInit(&key[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(name));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 2, key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);
	if (found && enabled != NULL)
		*enabled = ((Form_pg_trigger) GETSTRUCT(tup))->tgenabled;
	if (found && args != NULL)
	{
		int			nargs = ((Form_pg_trigger) GETSTRUCT(tup))->tgnargs;
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_trigger_tgargs, RelationGetDescr(tgrel), &isnull);
		char	   *p = isnull ? NULL : VARDATA_ANY(DatumGetByteaPP(d));
		int			i;

		*args = NIL;
		for (i = 0; p != NULL && i < nargs; i++, p += strlen(p) + 1)
			*args = lappend(*args, pstrdup(p));
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return found;
}

/*
 * Is relid audited, and with which trigger arguments (mode, then excluded
 * columns)?  Read from pg_trigger by index, without locking the table: the
 * trigger on a partition asks this of its ancestors, which a write to the
 * partition has not locked.  args may be NULL.
 */
bool
audit_trigger_args(Oid relid, List **args)
{
	return find_trigger(relid, AUDIT_INSERT_TRIGGER, args, NULL);
}

/*
 * The table the rows of rel's audit trigger are logged under: rel itself,
 * or, for a partition, its topmost ancestor in an unbroken line of audited
 * ones, which is where writes through that ancestor are logged.  Sets
 * *ancestors to all of rel's ancestors (NIL when it is no partition): the
 * caller's cache depends on them.
 */
Oid
audit_log_relation(Relation rel, List **ancestors)
{
	Oid			logas = RelationGetRelid(rel);
	ListCell   *lc;

	*ancestors = NIL;
	if (!rel->rd_rel->relispartition)
		return logas;
	*ancestors = get_partition_ancestors(logas);
	foreach(lc, *ancestors)
	{
		if (!audit_trigger_args(lfirst_oid(lc), NULL))
			break;
		logas = lfirst_oid(lc);
	}
	return logas;
}

/*
 * old_row of a partition's TRUNCATE, which is logged under an ancestor:
 * {"partition": "schema.name"}, so that the log does not claim the whole
 * table was emptied.
 */
Datum
audit_partition_note(Relation rel)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"partition\": ");
	escape_json(&buf, quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												 RelationGetRelationName(rel)));
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * The notes of this transaction (NIL when they belong to an earlier one,
 * whose memory is gone).
 */
static List *
current_notes(void)
{
	if (notes_lxid != StewardMyLocalTransactionId())
	{
		notes = NIL;
		notes_lxid = StewardMyLocalTransactionId();
	}
	return notes;
}

/*
 * BEFORE TRUNCATE: note that the TRUNCATE of rel has begun, covered when
 * that of one of its ancestors began before it in this statement (the
 * ancestor's log row then stands for it).  An ancestor is truncated before
 * its partitions: PostgreSQL lists a table's partitions after it.
 */
void
audit_truncate_begin(Relation rel)
{
	bool		covered = false;
	ListCell   *lc;
	MemoryContext oldcxt;
	TruncateNote *note;

	if (rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(RelationGetRelid(rel));

		foreach(lc, current_notes())
			covered |= list_member_oid(ancestors, ((TruncateNote *) lfirst(lc))->relid);
	}
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	note = palloc(sizeof(TruncateNote));
	note->relid = RelationGetRelid(rel);
	note->covered = covered;
	note->subid = GetCurrentSubTransactionId();
	notes = lappend(current_notes(), note);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * AFTER TRUNCATE: consume rel's note; true when an ancestor's log row
 * covers this TRUNCATE.  Without a note (a BEFORE trigger missing) it is
 * logged.
 */
bool
audit_truncate_covered(Relation rel)
{
	ListCell   *lc;
	TruncateNote *found = NULL;

	foreach(lc, current_notes())
	{
		TruncateNote *note = lfirst(lc);

		if (note->relid == RelationGetRelid(rel))
			found = note;
	}
	if (found == NULL)
		return false;
	notes = list_delete_ptr(notes, found);
	return found->covered;
}

/*
 * A subtransaction aborted: its notes (and those of subtransactions inside
 * it, which have higher ids) belong to TRUNCATEs that never finished.
 * Frees nothing and cannot fail.
 */
static void
notes_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB || notes == NIL ||
		notes_lxid != StewardMyLocalTransactionId())
		return;
	foreach(lc, notes)
	{
		if (((TruncateNote *) lfirst(lc))->subid >= mySubid)
			notes = foreach_delete_current(notes, lc);
	}
}

/*
 * Is relid audited on_replica: does its TRUNCATE trigger fire always?
 */
static bool
audited_on_replica(Oid relid)
{
	char		enabled = TRIGGER_DISABLED;

	return find_trigger(relid, AUDIT_TRUNCATE_TRIGGER, NULL, &enabled) &&
		enabled == TRIGGER_FIRES_ALWAYS;
}

/*
 * Are two lists of trigger arguments (C strings) the same?
 */
static bool
same_args(List *a, List *b)
{
	ListCell   *la;
	ListCell   *lb;

	if (list_length(a) != list_length(b))
		return false;
	forboth(la, a, lb, b)
	{
		if (strcmp(lfirst(la), lfirst(lb)) != 0)
			return false;
	}
	return true;
}

/*
 * Give partition child its parent's audit triggers when the parent is
 * audited and the child is not, or is audited with other arguments or
 * on_replica setting, or was audited before it became a partition (it
 * lacks the BEFORE TRUNCATE trigger of partition trees): created or
 * attached since enable_audit.
 * enable_audit does the work, for the child and every partition below it.
 * Foreign tables cannot have the triggers' transition tables and are left
 * alone.
 */
static void
follow_parent(Oid child)
{
	Oid			parent = get_partition_parent(child, true);
	List	   *pargs = NIL;
	List	   *cargs = NIL;
	bool		on_replica;
	StringInfoData sql;
	ListCell   *lc;

	if (get_rel_relkind(child) == RELKIND_FOREIGN_TABLE || !audit_trigger_args(parent, &pargs))
		return;
	on_replica = audited_on_replica(parent);
	if (audit_trigger_args(child, &cargs) && same_args(pargs, cargs) &&
		find_trigger(child, AUDIT_BEFORE_TRUNCATE_TRIGGER, NULL, NULL) &&
		audited_on_replica(child) == on_replica)
		return;
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT steward.enable_audit(%u::pg_catalog.oid::pg_catalog.regclass, "
					 "ARRAY[", child);
	for_each_from(lc, pargs, 1)
		appendStringInfo(&sql, "%s%s", foreach_current_index(lc) > 1 ? ", " : "",
						 quote_literal_cstr(lfirst(lc)));
	appendStringInfo(&sql, "]::pg_catalog.text[], %s, %s)",
					 quote_literal_cstr(pargs != NIL ? linitial(pargs) : "full"),
					 on_replica ? "true" : "false");
	steward_run_own_ddl(sql.data);
}

/*
 * ddl_command_end listener: a table created as a partition (CREATE TABLE
 * ... PARTITION OF) or a partitioned table altered (ALTER TABLE ... ATTACH
 * PARTITION reports the parent) gets its audit triggers from its parent.
 * Costs two syscache lookups for a table outside any partition tree.
 */
static bool
partitions_ddl_end(EventTriggerData *trig, List *objs)
{
	ListCell   *lc;
	List	   *done = NIL;

	foreach(lc, objs)
	{
		DdlObject  *o = lfirst(lc);
		char		relkind;

		if (o->classid != RelationRelationId || o->objsubid != 0 || o->command_tag == NULL ||
			(strcmp(o->command_tag, "CREATE TABLE") != 0 &&
			 strcmp(o->command_tag, "ALTER TABLE") != 0) ||
			list_member_oid(done, o->objid))
			continue;
		done = lappend_oid(done, o->objid);
		relkind = get_rel_relkind(o->objid);
		if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
			continue;
		if (get_rel_relispartition(o->objid))
			follow_parent(o->objid);
		if (relkind == RELKIND_PARTITIONED_TABLE)
		{
			ListCell   *cc;

			foreach(cc, find_inheritance_children(o->objid, NoLock))
				follow_parent(lfirst_oid(cc));
		}
	}
	/* the objects the command reported are unchanged (no refetch) */
	return false;
}

/*
 * Register the DDL listener and the subtransaction callback (from
 * _PG_init, once per backend).
 */
void
audit_partition_init(void)
{
	steward_ddl_listen(STEWARD_DDL_END, STEWARD_DDL_ORDER_AUDIT, "audit partitions",
					   partitions_ddl_end);
	RegisterSubXactCallback(notes_subxact_callback, NULL);
}
