/*-------------------------------------------------------------------------
 *
 * fingerprint.c
 *		Keep steward.fingerprints equal to what the migrations left.
 *
 * While migrations run, the event-trigger dispatcher hands every object
 * their DDL created, altered or dropped to fingerprint_note(),
 * which remembers their OIDs per catalog.  When the steps of one upgrade
 * or downgrade call have run, steward_fingerprint_refresh() re-fingerprints
 * just those objects (with the indexes, constraints, triggers, policies and
 * rules of touched tables, and the views and foreign keys that depend on
 * them) and forgets the dropped ones, in one statement: the cost follows
 * what the migrations touched, not the size of the schema, so 1,000
 * migrations are O(n), not O(n^2).  Stored OIDs are only trusted in the
 * database that recorded them (dbid): after a dump and restore the rows
 * are re-linked by name first.  A no-transaction step commits statement by
 * statement, possibly in another process: its objects are taken from
 * steward.ddl_log when the step is recorded (catalog.c).
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "migrate/migrate.h"

static char *fingerprint_dbid(void);

/* Objects touched by the running migration, in TopTransactionContext. */
static LocalTransactionId touched_lxid = InvalidLocalTransactionId;
static List *touched_rels = NIL;
static List *touched_cons = NIL;
static List *touched_trgs = NIL;
static List *touched_procs = NIL;
static List *touched_types = NIL;
static List *dropped_idents = NIL;

/*
 * Start tracking for the migration steps of one upgrade or downgrade;
 * first re-link rows restored from another database (needs SPI).
 */
void
steward_fingerprint_begin(void)
{
	steward_relink_fingerprints(fingerprint_dbid());
	touched_lxid = StewardMyLocalTransactionId();
	touched_rels = touched_cons = touched_trgs = NIL;
	touched_procs = touched_types = dropped_idents = NIL;
}

/*
 * Table a policy or rule belongs to (InvalidOid when it is gone).
 */
static Oid
owning_table(Oid classid, Oid objid)
{
	Relation	catalog = table_open(classid, AccessShareLock);
	HeapTuple	tup;
	Oid			relid = InvalidOid;

	tup = get_catalog_object_by_oid(catalog,
									classid == PolicyRelationId ? Anum_pg_policy_oid : Anum_pg_rewrite_oid,
									objid);
	if (HeapTupleIsValid(tup))
		relid = classid == PolicyRelationId ? ((Form_pg_policy) GETSTRUCT(tup))->polrelid :
			((Form_pg_rewrite) GETSTRUCT(tup))->ev_class;
	table_close(catalog, AccessShareLock);
	return relid;
}

/*
 * Remember the objects of one DDL command run by a migration.  A column
 * (objsubid != 0), a policy or a rule stands for its table.
 */
static void
fingerprint_note(List *objs, bool dropped)
{
	MemoryContext oldcxt;
	ListCell   *lc;

	if (steward_migration_module() == NULL || touched_lxid != StewardMyLocalTransactionId())
		return;
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	foreach(lc, objs)
	{
		DdlObject  *o = lfirst(lc);

		if (o->objsubid != 0 && o->classid == RelationRelationId)
		{
			touched_rels = list_append_unique_oid(touched_rels, o->objid);
			continue;
		}
		if (dropped && o->object_identity != NULL)
			dropped_idents = lappend(dropped_idents, pstrdup(o->object_identity));
		switch (o->classid)
		{
			case RelationRelationId:
				touched_rels = list_append_unique_oid(touched_rels, o->objid);
				break;
			case ConstraintRelationId:
				touched_cons = list_append_unique_oid(touched_cons, o->objid);
				break;
			case TriggerRelationId:
				touched_trgs = list_append_unique_oid(touched_trgs, o->objid);
				break;
			case ProcedureRelationId:
				touched_procs = list_append_unique_oid(touched_procs, o->objid);
				break;
			case TypeRelationId:
				touched_types = list_append_unique_oid(touched_types, o->objid);
				break;
			case PolicyRelationId:
			case RewriteRelationId:
				if (!dropped)
				{
					Oid			relid = owning_table(o->classid, o->objid);

					if (OidIsValid(relid))
						touched_rels = list_append_unique_oid(touched_rels, relid);
				}
				break;
			default:
				break;
		}
	}
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Identity of this database for stored OIDs: system identifier and
 * database OID.
 */
static char *
fingerprint_dbid(void)
{
	return psprintf(UINT64_FORMAT ":%u", GetSystemIdentifier(), MyDatabaseId);
}

/*
 * Store fingerprints of what the migration steps since
 * steward_fingerprint_begin() touched; version is the last step's.
 */
void
steward_fingerprint_refresh(const char *module, const char *version)
{
	if (touched_lxid != StewardMyLocalTransactionId())
		return;
	if (touched_rels != NIL || touched_cons != NIL || touched_trgs != NIL ||
		touched_procs != NIL || touched_types != NIL || dropped_idents != NIL)
		steward_store_fingerprints(module, version, touched_rels, touched_cons, touched_trgs,
								   touched_procs, touched_types, dropped_idents,
								   fingerprint_dbid());
	touched_lxid = InvalidLocalTransactionId;
}

/*
 * The dispatcher's listeners: ddl_command_end and sql_drop objects of a
 * DDL command a migration runs.  They change no object.
 */
bool
steward_fingerprint_on_end(EventTriggerData *trig, List *objs)
{
	fingerprint_note(objs, false);
	return false;
}

bool
steward_fingerprint_on_drop(EventTriggerData *trig, List *objs)
{
	fingerprint_note(objs, true);
	return false;
}

/*
 * stamp: every stored fingerprint of the schema becomes its live state.
 */
void
steward_fingerprint_stamped(const char *schema, const char *module, const char *version)
{
	steward_snapshot_fingerprints(schema, module, version, fingerprint_dbid());
}

/*
 * A no-transaction step is being recorded: its statements committed one
 * by one, maybe in another session (deploy's worker, an interrupted run),
 * so the event triggers' notes are gone; the objects come from what
 * steward.ddl_log attributes to the step.
 */
void
steward_fingerprint_outside_done(const char *module, const char *version)
{
	char	   *dbid = fingerprint_dbid();

	steward_relink_fingerprints(dbid);
	steward_store_step_fingerprints(module, version, dbid);
}
