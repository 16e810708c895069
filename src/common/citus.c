/*-------------------------------------------------------------------------
 *
 * citus.c
 *		Telling Citus's own work apart from the user's, so that pg_steward
 *		acts on the tables a user creates and distributes on the
 *		coordinator, never on the copies Citus makes of them.
 *
 * In a Citus cluster a table the user distributes exists as the table on
 * the coordinator (the one steward judges, injects into, migrates and
 * fingerprints), as shards named <table>_<shard id> (on the workers, and on
 * the coordinator for its copies of reference tables), and on every worker
 * as a shell table with the same name.  Citus creates and alters shards
 * and shells itself, replaying the DDL the coordinator ran; steward must
 * leave that alone: the coordinator already judged the statement, and a
 * shard's name is not the user's.
 *
 * Two tests, both cheap, in C, and without any Citus header or symbol (so
 * one build of pg_steward works with any Citus version, or none):
 *
 * - a Citus-internal backend: a session Citus opened from another node to
 *   replay DDL or run a shard's part of a query.  Citus marks those only by
 *   their application_name ("citus_internal gpid=", "citus_rebalancer
 *   gpid=", "citus_shard_..."), which any client may set, so steward takes
 *   the name for Citus only when the session's user is a superuser (and
 *   Citus is loaded in this server: its citus.version setting exists).
 *   Citus opens its own connections (metadata sync, objects a table depends
 *   on, shard moves) as the owner of the citus extension, which Citus
 *   requires to be a superuser, and replays a superuser's DDL as that
 *   superuser; a superuser could turn steward's event triggers off anyway,
 *   so trusting the name there gives nothing away.  Citus replays any other
 *   role's DDL as that role, which steward cannot tell from the role
 *   connecting itself with Citus's name (Citus has no other mark, and
 *   checks only that the role may do what it asks): such a session is
 *   judged like any other, by the guard, the DDL log, conventions and
 *   injection of this node's schema policies -- so a policy on a worker
 *   applies to what Citus replays there for a non-superuser (README,
 *   "Replicas and Citus": keep policies on the coordinator);
 * - Citus's own relations, by their names, in any session: a shard,
 *   <table>_<shard id> (or, for a long name, <start of table>_<hash>_<shard
 *   id>) where Citus's catalog pg_catalog.pg_dist_shard says that shard
 *   belongs to a table of that name in the same schema; and the new table a
 *   table conversion (alter_distributed_table, undistribute_table) builds,
 *   <table>_<hash of the name>.  The catalog is read with a plain catalog
 *   scan, and only when the name ends in _<digits> and the catalog exists
 *   in this database (CREATE EXTENSION citus).  This catches Citus working
 *   in a user's own session: on the coordinator's copies of reference
 *   tables (local execution), and converting a table.  Only these
 *   relations are skipped in every session: a user's own tables, the
 *   workers' copies of distributed tables included, are judged unless a
 *   superuser's Citus session (above) changes them.
 *
 * Columns of Citus's catalogs are found by name, not position.
 *
 *-------------------------------------------------------------------------
 */
#include "common/common.h"

#include <ctype.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/resowner.h"

/* The application_name prefixes of the sessions Citus opens itself. */
static const char *const citus_internal_prefixes[] = {
	"citus_internal gpid=",		/* DDL and queries from another node */
	"citus_rebalancer gpid=",	/* shard moves and rebalancing */
	"citus_shard_",				/* shard transfer and split */
};

/*
 * Is this a session whose DDL steward leaves to Citus: one carrying the
 * application_name of a session Citus opened from another node, whose
 * session user is a superuser (see the file header)?  The name alone
 * proves nothing -- any client may set it -- so for any other role the
 * answer is no and the session's DDL is judged like any other.  The
 * session user, not the current one: a SECURITY DEFINER function or SET
 * ROLE does not make a non-superuser's session Citus's.
 */
bool
steward_citus_internal_backend(void)
{
	size_t		i;

	if (application_name == NULL || strncmp(application_name, "citus_", 6) != 0 ||
		GetConfigOption("citus.version", true, false) == NULL)
		return false;
	for (i = 0; i < lengthof(citus_internal_prefixes); i++)
		if (strncmp(application_name, citus_internal_prefixes[i],
					strlen(citus_internal_prefixes[i])) == 0)
			return superuser_arg(GetSessionUserId());
	return false;
}

/*
 * A scan of one of Citus's catalogs (pg_catalog.<table>) for the rows whose
 * key column equals a value (every row when keycol is NULL), through the
 * named index when it exists.
 */
typedef struct CitusScan
{
	Relation	rel;
	SysScanDesc scan;
} CitusScan;

static bool
citus_scan_begin(CitusScan *s, const char *table, const char *index, const char *keycol,
				 RegProcedure eqproc, Datum key)
{
	Oid			relid = get_relname_relid(table, PG_CATALOG_NAMESPACE);
	Oid			indexid = index ? get_relname_relid(index, PG_CATALOG_NAMESPACE) : InvalidOid;
	AttrNumber	keyatt = InvalidAttrNumber;
	ScanKeyData skey;

	if (!OidIsValid(relid) ||
		(keycol && (keyatt = get_attnum(relid, keycol)) == InvalidAttrNumber))
		return false;
	s->rel = table_open(relid, AccessShareLock);
	if (keycol)
		ScanKeyInit(&skey, keyatt, BTEqualStrategyNumber, eqproc, key);
	s->scan = systable_beginscan(s->rel, indexid, OidIsValid(indexid), NULL, keycol ? 1 : 0, &skey);
	return true;
}

/* The value of column att of the next row; false when there is none. */
static bool
citus_scan_next(CitusScan *s, AttrNumber att, Datum *value)
{
	HeapTuple	tup = systable_getnext(s->scan);
	bool		isnull;

	if (!HeapTupleIsValid(tup))
		return false;
	*value = heap_getattr(tup, att, RelationGetDescr(s->rel), &isnull);
	return !isnull;
}

static void
citus_scan_end(CitusScan *s)
{
	systable_endscan(s->scan);
	table_close(s->rel, AccessShareLock);
}

/*
 * The shard id a name ends in (_<digits>), and the length of the name
 * before that suffix; 0 when it ends otherwise.
 */
static uint64
name_shard_id(const char *name, int *stemlen)
{
	const char *sep = strrchr(name, '_');
	uint64		id = 0;
	const char *p;

	if (sep == NULL || sep[1] == '\0')
		return 0;
	for (p = sep + 1; *p; p++)
	{
		if (*p < '0' || *p > '9' || id > (PG_UINT64_MAX - 9) / 10)
			return 0;
		id = id * 10 + (*p - '0');
	}
	*stemlen = sep - name;
	return id;
}

/*
 * Is stem (stemlen bytes) what Citus puts before _<shard id> for a shard
 * of the table named table: the name itself, or for a name too long to
 * take the suffix, its start followed by _<8 hex digits of a hash>?
 */
static bool
shard_stem_matches(const char *stem, int stemlen, const char *table)
{
	int			tablelen = strlen(table);
	int			i;

	if (stemlen == tablelen)
		return memcmp(stem, table, tablelen) == 0;
	if (stemlen < 9 || stem[stemlen - 9] != '_' || stemlen - 9 > tablelen)
		return false;
	for (i = stemlen - 8; i < stemlen; i++)
		if (!isxdigit((unsigned char) stem[i]))
			return false;
	return memcmp(stem, table, stemlen - 9) == 0;
}

/*
 * Is Citus installed in this database?  Its catalog of shards exists.
 */
bool
steward_citus_present(void)
{
	return OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE));
}

/*
 * The table Citus's catalog says shard id belongs to (InvalidOid when it
 * knows no such shard): the OID of the distributed table, which may be
 * dropped already.
 */
static Oid
shard_owner(uint64 id)
{
	CitusScan	s;
	Datum		value;
	Oid			table = InvalidOid;

	if (id > PG_INT64_MAX ||
		!citus_scan_begin(&s, "pg_dist_shard", "pg_dist_shard_shardid_index", "shardid",
						  F_INT8EQ, Int64GetDatum((int64) id)))
		return InvalidOid;
	if (citus_scan_next(&s, get_attnum(RelationGetRelid(s.rel), "logicalrelid"), &value))
		table = DatumGetObjectId(value);
	citus_scan_end(&s);
	return table;
}

/*
 * The distributed (or reference) table whose shard a relation named
 * relname in schema nsp is, by Citus's catalog; InvalidOid when it is no
 * shard (see the file header).  *shardid gets the shard's id.
 */
Oid
steward_citus_shard_table(Oid nsp, const char *relname, uint64 *shardid)
{
	int			stemlen;
	uint64		id = name_shard_id(relname, &stemlen);
	Oid			table = id == 0 ? InvalidOid : shard_owner(id);
	char	   *name;

	if (!OidIsValid(table) || get_rel_namespace(table) != nsp ||
		(name = get_rel_name(table)) == NULL || !shard_stem_matches(relname, stemlen, name))
		return InvalidOid;
	if (shardid)
		*shardid = id;
	return table;
}

/*
 * Is a relation named relname in schema nsp Citus's own: a shard, or the
 * new table a table conversion (alter_distributed_table,
 * undistribute_table, ...) builds next to the table it converts, named
 * <table>_<hash of the table's name> (a 32-bit hash_any, as Citus makes
 * it), before it drops the old table and renames the new one?  Such a
 * table gets the old one's columns, keys and triggers from Citus.
 */
static bool
citus_own_relation(Oid nsp, const char *relname)
{
	int			stemlen;
	uint64		id = name_shard_id(relname, &stemlen);
	char	   *stem;

	if (id == 0)
		return false;
	if (OidIsValid(steward_citus_shard_table(nsp, relname, NULL)))
		return true;
	if (id > PG_UINT32_MAX || !steward_citus_present() ||
		DatumGetUInt32(hash_any((const unsigned char *) relname, stemlen)) != id)
		return false;
	stem = pnstrdup(relname, stemlen);
	return OidIsValid(get_relname_relid(stem, nsp));
}

/*
 * Is the relation relid (an index: its table) Citus's own: a shard, or a
 * table a conversion builds?
 */
bool
steward_citus_owned(Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	char	   *name;

	if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
		relid = IndexGetRelation(relid, true);
	name = OidIsValid(relid) ? get_rel_name(relid) : NULL;
	return name != NULL && citus_own_relation(get_rel_namespace(relid), name);
}

/*
 * Does this node hold the copy of the shard that writes to it are
 * recorded on: its copy on the node of lowest group id (one copy for a
 * distributed table, the coordinator's or first worker's copy of a
 * reference table, whose every copy is written)?  True when Citus's
 * catalogs do not say (no placement rows on this node).
 */
bool
steward_citus_first_copy(uint64 shardid)
{
	CitusScan	s;
	Datum		value;
	int32		mine = -1;
	int32		first = -1;
	AttrNumber	att;

	if (citus_scan_begin(&s, "pg_dist_local_group", NULL, NULL, InvalidOid, (Datum) 0))
	{
		if (citus_scan_next(&s, get_attnum(RelationGetRelid(s.rel), "groupid"), &value))
			mine = DatumGetInt32(value);
		citus_scan_end(&s);
	}
	if (mine < 0 ||
		!citus_scan_begin(&s, "pg_dist_placement", "pg_dist_placement_shardid_index", "shardid",
						  F_INT8EQ, Int64GetDatum((int64) shardid)))
		return true;
	att = get_attnum(RelationGetRelid(s.rel), "groupid");
	while (citus_scan_next(&s, att, &value))
		if (first < 0 || DatumGetInt32(value) < first)
			first = DatumGetInt32(value);
	citus_scan_end(&s);
	return first < 0 || first == mine;
}

/*
 * The table an object a DDL command reported belongs to: a relation
 * itself (an index: its table), or the table of a constraint, trigger,
 * column default, policy or rule; InvalidOid for anything else.
 */
static Oid
object_table(Oid classid, Oid objid)
{
	Relation	catalog;
	HeapTuple	tup;
	Oid			table = InvalidOid;

	if (classid == RelationRelationId)
	{
		char		relkind = get_rel_relkind(objid);

		return relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX ?
			IndexGetRelation(objid, true) : objid;
	}
	if (classid != ConstraintRelationId && classid != TriggerRelationId &&
		classid != AttrDefaultRelationId && classid != PolicyRelationId &&
		classid != RewriteRelationId)
		return InvalidOid;
	catalog = table_open(classid, AccessShareLock);
	tup = get_catalog_object_by_oid(catalog, get_object_attnum_oid(classid), objid);
	if (HeapTupleIsValid(tup))
	{
		if (classid == ConstraintRelationId)
			table = ((Form_pg_constraint) GETSTRUCT(tup))->conrelid;
		else if (classid == TriggerRelationId)
			table = ((Form_pg_trigger) GETSTRUCT(tup))->tgrelid;
		else if (classid == AttrDefaultRelationId)
			table = ((Form_pg_attrdef) GETSTRUCT(tup))->adrelid;
		else if (classid == PolicyRelationId)
			table = ((Form_pg_policy) GETSTRUCT(tup))->polrelid;
		else
			table = ((Form_pg_rewrite) GETSTRUCT(tup))->ev_class;
	}
	table_close(catalog, AccessShareLock);
	return table;
}

/*
 * Does an object a DDL command created or altered belong to one of
 * Citus's own relations (is it one, or its index, constraint, trigger,
 * default, policy or rule)?
 */
bool
steward_citus_owned_object(Oid classid, Oid objid)
{
	Oid			table = object_table(classid, objid);

	return OidIsValid(table) && steward_citus_owned(table);
}

/*
 * The same for a dropped object, which is gone from the catalogs: by its
 * address names (pg_event_trigger_dropped_objects), whose second one is
 * the object's own name for a relation and its table's for the objects on
 * a table.  Citus drops a table's shards before it forgets them, so its
 * catalog still knows the shard; but when the table itself is being
 * dropped (Citus drops the shards from its sql_drop trigger), the table is
 * gone already, and the shard id alone must do.
 */
bool
steward_citus_owned_dropped(const char *schema, const char *second_name)
{
	Oid			nsp;
	Oid			table;
	int			stemlen;
	uint64		id;

	if (schema == NULL || second_name == NULL ||
		(id = name_shard_id(second_name, &stemlen)) == 0 ||
		!OidIsValid(table = shard_owner(id)))
		return false;
	nsp = get_namespace_oid(schema, true);
	if (get_rel_name(table) == NULL)
		return true;
	return OidIsValid(nsp) && citus_own_relation(nsp, second_name);
}

/*
 * Is a statement, about to run, Citus's DDL on one of its own relations
 * (by the relation it names)?  For ddl_command_start and the
 * ProcessUtility hooks, before the statement has created or reported
 * anything.
 */
bool
steward_citus_owned_statement(Node *stmt)
{
	RangeVar   *rv = NULL;
	Oid			nsp;
	int			stemlen;

	if (IsA(stmt, CreateStmt))
		rv = ((CreateStmt *) stmt)->relation;
	else if (IsA(stmt, AlterTableStmt))
		rv = ((AlterTableStmt *) stmt)->relation;
	else if (IsA(stmt, IndexStmt))
		rv = ((IndexStmt *) stmt)->relation;
	else if (IsA(stmt, CreateTrigStmt))
		rv = ((CreateTrigStmt *) stmt)->relation;
	if (rv == NULL || name_shard_id(rv->relname, &stemlen) == 0)
		return false;
	nsp = rv->schemaname ? get_namespace_oid(rv->schemaname, true) :
		steward_ddl_creation_namespace(rv);
	return OidIsValid(nsp) && citus_own_relation(nsp, rv->relname);
}

/* citus_size_now's call, run by steward_try_in_subxact */
typedef struct CitusSizeCall
{
	Oid			fn;
	Oid			relid;
	int64		bytes;
} CitusSizeCall;

static void
citus_size_call(void *arg)
{
	CitusSizeCall *c = arg;

	c->bytes = DatumGetInt64(OidFunctionCall1(c->fn, ObjectIdGetDatum(c->relid)));
}

/*
 * citus_table_size(relid) in a subtransaction: Citus refuses to measure
 * in a transaction that already changed several shards (SQLSTATE 25001);
 * then -1.  Any other error (a cancel, a node down) is raised again.
 */
static int64
citus_size_now(Oid fn, Oid relid)
{
	CitusSizeCall c = {fn, relid, -1};
	ErrorData  *edata = steward_try_in_subxact(citus_size_call, &c,
											   ERRCODE_ACTIVE_SQL_TRANSACTION);

	if (edata != NULL)
	{
		FreeErrorData(edata);
		return -1;
	}
	return c.bytes;
}

/*
 * The bytes of a distributed or reference table (or a table Citus keeps
 * on the coordinator only): its data is in its shards, on the workers,
 * while the coordinator's table itself is empty.  Citus's own
 * citus_table_size() adds the shards up (one copy each); it is looked up
 * by name.  *bytes is -1 when Citus cannot tell in this transaction.
 * False when relid is no Citus table (not in Citus's pg_dist_partition)
 * or Citus has no such function.
 */
bool
steward_citus_table_bytes(Oid relid, int64 *bytes)
{
	CitusScan	s;
	Datum		value;
	bool		citus_table;
	Oid			argtypes[1] = {REGCLASSOID};
	Oid			fn;

	if (!citus_scan_begin(&s, "pg_dist_partition", "pg_dist_partition_logical_relid_index",
						  "logicalrelid", F_OIDEQ, ObjectIdGetDatum(relid)))
		return false;
	citus_table = citus_scan_next(&s, get_attnum(RelationGetRelid(s.rel), "logicalrelid"), &value);
	citus_scan_end(&s);
	if (!citus_table)
		return false;
	fn = LookupFuncName(list_make2(makeString("pg_catalog"), makeString("citus_table_size")),
						1, argtypes, true);
	if (!OidIsValid(fn))
		return false;
	*bytes = citus_size_now(fn, relid);
	return true;
}

PG_FUNCTION_INFO_V1(steward_citus_shard);

/*
 * steward.citus_shard(rel): is rel a shard (or an index of one, or a table
 * a conversion builds)?  For the reports that list a schema's objects:
 * Citus hides shards from queries on pg_class in most sessions, but not in
 * all (its setting citus.show_shards_for_app_name_prefixes).
 */
Datum
steward_citus_shard(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(steward_citus_owned(PG_GETARG_OID(0)));
}
