/*-------------------------------------------------------------------------
 *
 * target.c
 *		What the audit trigger knows about an audited table, kept across
 *		statements.
 *
 * A single-row INSERT pays the audit trigger's per-statement work once per
 * row, so that work is done once per trigger and cached: the JSON plan of
 * the row type (audit_json.c), the excluded columns, the column names for
 * "changed", the primary key and its output functions, the table the rows
 * are logged under (for a partition, its audited ancestor) and that
 * table's schema and name.  An entry is dropped when anything it was built
 * from may have changed: the relcache entry of the table or of one of its
 * partition ancestors (ALTER TABLE, a new or dropped trigger -- enable_audit
 * recreates them --, a rename, ATTACH or DETACH), any type (domains), any
 * cast (a cast to json changes how a type is rendered), any schema.
 *
 * Invalidations can arrive while a statement uses an entry (any lock taken
 * processes them, and rendering may run a cast function), so entries are
 * reference counted: an invalidated entry in use is only unlinked from the
 * hash and freed when its last user releases it.
 *
 *-------------------------------------------------------------------------
 */
#include "audit_int.h"

#include "access/htup_details.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"


typedef struct AuditTargetSlot
{
	Oid			tgoid;			/* hash key */
	AuditTarget *target;
} AuditTargetSlot;

static HTAB *targets = NULL;

/* bumped by every invalidation callback: tells a build that raced one */
static uint64 targets_invalidations = 0;

/*
 * Unlink an entry's target from the hash; free it unless a statement is
 * using it (then the last audit_target_release frees it).  Called from
 * invalidation callbacks, so it must not fail: removing an entry the hash
 * holds cannot.
 */
static void
target_drop(AuditTargetSlot *entry)
{
	AuditTarget *target = entry->target;
	Oid			tgoid = entry->tgoid;

	target->valid = false;
	(void) hash_search(targets, &tgoid, HASH_REMOVE, NULL);
	if (target->refcount == 0)
		MemoryContextDelete(target->cxt);
}

/*
 * Was target built from what a change of relid may have changed: its own
 * table, or an ancestor of a partition (enable_audit, disable_audit, a
 * rename, ATTACH or DETACH there changes where its rows are logged)?
 */
static bool
target_depends_on(AuditTarget *target, Oid relid)
{
	int			i;

	if (target->relid == relid)
		return true;
	for (i = 0; i < target->nancestors; i++)
		if (target->ancestors[i] == relid)
			return true;
	return false;
}

/*
 * Relcache invalidation: drop the targets of that table (all of them for
 * InvalidOid, which means "everything").
 */
static void
targets_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	AuditTargetSlot *entry;

	targets_invalidations++;
	if (targets == NULL)
		return;
	hash_seq_init(&status, targets);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || target_depends_on(entry->target, relid))
			target_drop(entry);
}

/*
 * Type, cast or schema changed: drop every target.
 */
static void
targets_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	targets_relcache_callback(arg, InvalidOid);
}

/*
 * target_build's step for the columns: which ones the trigger's arguments
 * exclude, and each one's name as text, worked out once here so that the
 * "changed" array of an UPDATE costs no name lookups per row.
 */
static void
target_columns(AuditTarget *t, Trigger *trig, TupleDesc desc)
{
	int			i,
				k;

	t->excluded = palloc0(sizeof(bool) * Max(desc->natts, 1));
	t->names = palloc0(sizeof(Datum) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		for (k = 1; k < trig->tgnargs; k++)
			if (strcmp(NameStr(att->attname), trig->tgargs[k]) == 0)
				t->excluded[i] = true;
		t->names[i] = CStringGetTextDatum(NameStr(att->attname));
	}
}

/*
 * target_build's step for the primary key: its columns in the key's order
 * and their output functions, looked up once so that row_id only calls
 * them.  A table without a primary key leaves npk at 0.
 */
static void
target_primary_key(AuditTarget *t, Relation rel, TupleDesc desc)
{
	Oid			pkoid = steward_primary_key_index(rel);
	int			k;

	if (OidIsValid(pkoid))
	{
		HeapTuple	pktup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkoid));
		Form_pg_index pk;

		if (!HeapTupleIsValid(pktup))
			elog(ERROR, "cache lookup failed for index %u", pkoid);
		pk = (Form_pg_index) GETSTRUCT(pktup);
		t->pk = palloc(sizeof(AttrNumber) * pk->indnkeyatts);
		t->pk_out = palloc(sizeof(FmgrInfo) * pk->indnkeyatts);
		for (k = 0; k < pk->indnkeyatts; k++)
		{
			AttrNumber	attnum = pk->indkey.values[k];
			Oid			outfn;
			bool		varlena;

			getTypeOutputInfo(TupleDescAttr(desc, attnum - 1)->atttypid, &outfn, &varlena);
			fmgr_info(outfn, &t->pk_out[t->npk]);
			t->pk[t->npk++] = attnum;
		}
		ReleaseSysCache(pktup);
	}
}

/*
 * target_build's step for where the rows go: the table itself, for a
 * partition its audited ancestor (partition.c), for a Citus shard its
 * distributed table (on a worker, the table's copy there: common/citus.c),
 * and that table's names, looked up once here.  The ancestors (or the
 * shard's table) are kept for invalidation.  Of a shard with copies on
 * several nodes (a reference table) only one copy logs.
 */
static void
target_log_relation(AuditTarget *t, Relation rel)
{
	List	   *ancestors;
	ListCell   *lc;
	char	   *schema = NULL;
	char	   *name = NULL;
	uint64		shardid;

	t->logas = steward_citus_shard_table(RelationGetNamespace(rel), RelationGetRelationName(rel),
										 &shardid);
	if (OidIsValid(t->logas))
	{
		t->shard = true;
		t->silent = !steward_citus_first_copy(shardid);
		ancestors = list_make1_oid(t->logas);
	}
	else
		t->logas = audit_log_relation(rel, &ancestors);
	t->nancestors = 0;
	t->ancestors = palloc(sizeof(Oid) * Max(list_length(ancestors), 1));
	foreach(lc, ancestors)
		t->ancestors[t->nancestors++] = lfirst_oid(lc);
	if (t->logas != t->relid)
	{
		name = get_rel_name(t->logas);
		schema = get_namespace_name(get_rel_namespace(t->logas));
	}
	if (name == NULL || schema == NULL)
	{
		/* no ancestor (or it vanished meanwhile): the table itself */
		t->logas = t->relid;
		name = RelationGetRelationName(rel);
		schema = get_namespace_name(RelationGetNamespace(rel));
	}
	t->schema_name = DirectFunctionCall1(namein, CStringGetDatum(schema));
	t->table_name = DirectFunctionCall1(namein, CStringGetDatum(name));
}

/*
 * Build the target of the firing trigger in a new memory context.  The
 * steps run in that context and inside one PG_TRY, so that a failure in
 * any of them deletes the half-built target with its context.
 */
static AuditTarget *
target_build(TriggerData *td)
{
	Trigger    *trig = td->tg_trigger;
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext cxt;
	MemoryContext oldcxt;
	AuditTarget *t;

	if (trig->tgnargs > 0 && strcmp(trig->tgargs[0], "diff") != 0 && strcmp(trig->tgargs[0], "full") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid audit mode \"%s\" on table \"%s\"", trig->tgargs[0],
						RelationGetRelationName(rel)),
				 errhint("Re-enable auditing with steward.enable_audit(tbl, mode => 'full' or 'diff').")));

	cxt = AllocSetContextCreate(CacheMemoryContext, "steward audit target", ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		t = palloc0(sizeof(AuditTarget));
		t->cxt = cxt;
		t->tgoid = trig->tgoid;
		t->relid = RelationGetRelid(rel);
		t->valid = true;
		t->natts = desc->natts;
		t->diff = trig->tgnargs > 0 && strcmp(trig->tgargs[0], "diff") == 0;
		target_columns(t, trig, desc);
		t->json = row_json_plan(desc, t->excluded);
		target_primary_key(t, rel, desc);
		target_log_relation(t, rel);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	return t;
}

/*
 * The target of the firing trigger, built if needed; the caller must
 * audit_target_release it (also on error).
 */
AuditTarget *
audit_target_acquire(TriggerData *td)
{
	Oid			tgoid = td->tg_trigger->tgoid;
	AuditTargetSlot *entry;
	bool		found;

	if (targets == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(AuditTargetSlot);
		ctl.hcxt = CacheMemoryContext;
		targets = hash_create("steward audit targets", 64, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(targets, &tgoid, HASH_FIND, NULL);
	if (entry && (entry->target->relid != RelationGetRelid(td->tg_relation) ||
				  entry->target->natts != RelationGetDescr(td->tg_relation)->natts))
	{
		target_drop(entry);
		entry = NULL;
	}
	if (entry == NULL)
	{
		uint64		before = targets_invalidations;
		AuditTarget *t = target_build(td);

		/*
		 * Building reads catalogs, which may have processed invalidations the
		 * new target missed: then use it for this statement only.
		 */
		if (targets_invalidations != before)
		{
			t->valid = false;
			t->refcount++;
			return t;
		}
		entry = hash_search(targets, &tgoid, HASH_ENTER, &found);
		Assert(!found);
		entry->target = t;
	}
	entry->target->refcount++;
	return entry->target;
}

void
audit_target_release(AuditTarget *target)
{
	Assert(target->refcount > 0);
	if (--target->refcount == 0 && !target->valid)
		MemoryContextDelete(target->cxt);
}

/*
 * Register the invalidation callbacks (from _PG_init, once per backend).
 */
void
audit_target_init(void)
{
	CacheRegisterRelcacheCallback(targets_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, targets_syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(CASTSOURCETARGET, targets_syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, targets_syscache_callback, (Datum) 0);
}
