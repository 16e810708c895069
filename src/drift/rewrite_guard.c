/*-------------------------------------------------------------------------
 *
 * rewrite_guard.c
 *		Inside steward migrations, refuse a statement that would rewrite a
 *		big table, or read all of it under a lock that stops its users,
 *		before it runs.
 *
 * A ProcessUtility hook judges every utility statement a migration runs
 * (steward_migration_module() is set: upgrade, downgrade, migrate, deploy,
 * the pg_steward program, dry_run) from its parse tree and the live table:
 * ALTER TABLE subcommands and ATTACH PARTITION (rewrite_rules.c), CREATE
 * INDEX, REINDEX INDEX / TABLE and REFRESH MATERIALIZED VIEW without
 * CONCURRENTLY, CLUSTER and VACUUM FULL.  The forms that name no table
 * (CLUSTER, VACUUM FULL, REINDEX SCHEMA / DATABASE without CONCURRENTLY,
 * REINDEX SYSTEM) are refused whatever the sizes: a migration names the
 * tables it rewrites.  The table is looked up and locked the way the
 * statement itself does it -- the same function, lock level and permission
 * callback -- so a name resolves as the statement resolves it, and no lock
 * is upgraded later.  The statement is refused (55000) when the tables it
 * would rewrite or read are together larger than steward.rewrite_guard_mb,
 * with the safe pattern in the hint.
 *
 * A table's size is pg_table_size(): heap and TOAST with their free space
 * and visibility maps.  Indexes are not counted: every rule reads or
 * writes the heap, index builds and rebuilds grow with it, and the figure
 * is one users can check.  Partitions and inheritance children the
 * statement recurses to are added up.  A table created in the current
 * transaction counts as empty: no other session can see it, so its lock
 * stops nobody.  Outside migrations nothing is judged, and nothing costs
 * more than two tests.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "access/relation.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "miscadmin.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "migrate/migrate.h"

static double steward_rewrite_guard_mb = 100.0;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * A risk, allocated in the statement's memory.
 */
RewriteRisk *
steward_rewrite_risk(const char *action, char *cause, char *hint)
{
	RewriteRisk *risk = palloc(sizeof(RewriteRisk));

	risk->action = action;
	risk->cause = cause;
	risk->hint = hint;
	return risk;
}

static void
guard_table_init(GuardTable *t, Oid relid, const char *query)
{
	t->relid = relid;
	t->relname = get_rel_name(relid);
	t->qname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										  t->relname);
	t->query = query;
}

/*
 * The bytes of one locked table a statement would hold still: heap and
 * TOAST (pg_table_size()), for a Citus table its shards' (common/citus.c:
 * Citus rewrites them on the workers; when Citus cannot measure them in
 * this transaction, a warning and nothing); nothing for a table without
 * storage or one that no other session can see yet.
 */
int64
steward_table_bytes(Relation rel)
{
	int64		bytes;

	if (!RELKIND_HAS_STORAGE(rel->rd_rel->relkind) ||
		rel->rd_createSubid != InvalidSubTransactionId)
		return 0;
	if (steward_citus_table_bytes(RelationGetRelid(rel), &bytes))
	{
		if (bytes < 0)
			ereport(WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("the rewrite guard cannot measure the distributed table %s here",
							RelationGetRelationName(rel)),
					 errdetail("Citus gives no table sizes in a transaction that already changed several shards; the statement is not judged."),
					 errhint("Put statements that may rewrite a distributed table first in their migration, or in a migration of their own.")));
		return Max(bytes, 0);
	}
	return DatumGetInt64(DirectFunctionCall1(pg_table_size,
											 ObjectIdGetDatum(RelationGetRelid(rel))));
}

/*
 * The tables a statement on relid acts on: relid and, when it recurses,
 * every table that inherits from it, locked as the statement locks them.
 */
static List *
statement_tables(Oid relid, bool recurse, LOCKMODE lockmode)
{
	if (recurse && has_subclass(relid))
		return find_all_inheritors(relid, lockmode, NULL);
	return list_make1_oid(relid);
}

static int64
tables_bytes(List *relids)
{
	int64		bytes = 0;
	ListCell   *lc;

	foreach(lc, relids)
	{
		Relation	rel = relation_open(lfirst_oid(lc), NoLock);

		bytes += steward_table_bytes(rel);
		relation_close(rel, NoLock);
	}
	return bytes;
}

static bool
over_limit(int64 bytes)
{
	return steward_rewrite_guard_mb > 0 && bytes > steward_rewrite_guard_mb * 1024.0 * 1024.0;
}

static const char *
lock_words(LOCKMODE lockmode)
{
	switch (lockmode)
	{
		case AccessExclusiveLock:
			return "an ACCESS EXCLUSIVE lock (reads and writes wait)";
		case ExclusiveLock:
			return "an EXCLUSIVE lock (writes wait)";
		case ShareRowExclusiveLock:
			return "a SHARE ROW EXCLUSIVE lock (writes wait)";
		case ShareLock:
			return "a SHARE lock (writes wait)";
		default:
			return "its lock";
	}
}

/*
 * Refuse the statement: what it would do to which table of what size
 * under which lock, why, and the safe pattern.  When pg_steward's own DDL
 * is refused (the columns a policy adds to a table that arrives in a
 * managed schema), the hint names the opt-outs.
 */
static void
refuse(const char *command, const GuardTable *t, const RewriteRisk *risk, int64 bytes,
	   LOCKMODE lockmode)
{
	char	   *size = text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
																		  Int64GetDatum(bytes))));
	const char *limit = GetConfigOptionByName("steward.rewrite_guard_mb", NULL, false);
	const char *hint = risk->hint;
	const char *kind = get_rel_relkind(t->relid) == RELKIND_MATVIEW ? "materialized view" : "table";

	if (steward_running_own_ddl())
		hint = psprintf("pg_steward adds the columns of the schema's policy to a table that arrives in it. "
						"Leave them out in this migration with SET LOCAL steward.inject = off, or list the table in the policy's inject_exclude, "
						"and add them the safe way. %s", risk->hint);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s would %s %s %s (%s) under %s",
					command, risk->action, kind, t->qname, size, lock_words(lockmode)),
			 errdetail("%s Inside migrations, tables larger than steward.rewrite_guard_mb (%s) are not rewritten or read whole under a lock that stops their users.",
					   risk->cause, limit),
			 errhint("%s To accept the lock in this migration only, begin it with SET LOCAL steward.rewrite_guard_mb = 0.",
					 hint)));
}

/*
 * Refuse a statement that names no table and would act on every table of
 * its kind (CLUSTER, VACUUM FULL, REINDEX SCHEMA / DATABASE / SYSTEM):
 * inside a migration the tables a statement rewrites must be named, so
 * that their size can be judged -- and a module's migration has no
 * business with the rest of the database.
 */
static void
refuse_unnamed(const char *command, const char *what, const char *safe)
{
	const char *limit = GetConfigOptionByName("steward.rewrite_guard_mb", NULL, false);

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s would %s, each under a lock that stops its users", command, what),
			 errdetail("Inside migrations, a statement that rewrites or reads tables whole names them, so that the rewrite guard can judge their size (steward.rewrite_guard_mb is %s).",
					   limit),
			 errhint("Name the tables: %s. To accept the locks in this migration only, begin it with SET LOCAL steward.rewrite_guard_mb = 0.",
					 safe)));
}

/*
 * Does an ALTER TABLE act on the children of its table too?  Only the
 * subcommands the guard judges count: SET TABLESPACE, SET LOGGED and SET
 * ACCESS METHOD stay on the table named, so its children are neither
 * locked nor judged for them.
 */
static bool
alter_recurses(AlterTableStmt *stmt)
{
	ListCell   *lc;

	if (!stmt->relation->inh)
		return false;
	foreach(lc, stmt->cmds)
	{
		AlterTableType subtype = lfirst_node(AlterTableCmd, lc)->subtype;

		if (subtype == AT_AddColumn || subtype == AT_AlterColumnType ||
			subtype == AT_SetNotNull || subtype == AT_AddConstraint ||
			steward_at_is_set_expression(subtype))
			return true;
	}
	return false;
}

/*
 * ALTER TABLE ... ATTACH PARTITION (rewrite_rules.c judges it): locked as
 * ATExecAttachPartition locks, in its order -- the default partition, the
 * table attached, its partitions, all ACCESS EXCLUSIVE.  A name that does
 * not resolve, or a parent that is not partitioned, is the statement's own
 * error.
 */
static void
judge_attach_partition(Oid parentid, PartitionCmd *cmd, const char *query)
{
	Relation	parent = relation_open(parentid, NoLock);
	Relation	attachrel;
	Relation	defaultrel = NULL;
	Oid			default_oid = InvalidOid;
	Oid			relid;
	Oid			scanned = InvalidOid;
	int64		bytes = 0;
	RewriteRisk *risk;
	GuardTable	t;

	if (parent->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		default_oid = get_default_oid_from_partdesc(RelationGetPartitionDesc(parent, true));
	if (OidIsValid(default_oid))
		LockRelationOid(default_oid, AccessExclusiveLock);
	relid = parent->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ?
		RangeVarGetRelid(cmd->name, AccessExclusiveLock, true) : InvalidOid;
	if (!OidIsValid(relid) || relid == parentid || relid == default_oid ||
		get_rel_relispartition(relid))
	{
		relation_close(parent, NoLock);
		return;
	}
	(void) find_all_inheritors(relid, AccessExclusiveLock, NULL);
	attachrel = relation_open(relid, NoLock);
	if (OidIsValid(default_oid))
		defaultrel = relation_open(default_oid, NoLock);
	risk = steward_judge_attach(parent, attachrel, defaultrel, cmd, query, &bytes, &scanned);
	if (defaultrel)
		relation_close(defaultrel, NoLock);
	relation_close(attachrel, NoLock);
	relation_close(parent, NoLock);
	if (risk == NULL || !over_limit(bytes))
		return;
	guard_table_init(&t, scanned, query);
	refuse("ALTER TABLE", &t, risk, bytes, AccessExclusiveLock);
}

/*
 * ALTER TABLE / ALTER MATERIALIZED VIEW: the table is looked up and locked
 * by AlterTableLookupRelation at the level AlterTableGetLockLevel gives,
 * as ProcessUtilitySlow does next; each table the statement recurses to is
 * judged with every subcommand.
 */
static void
judge_alter_table(AlterTableStmt *stmt, const char *query)
{
	LOCKMODE	lockmode;
	Oid			relid;
	GuardTable	t;
	RewriteRisk *risk = NULL;
	int64		bytes = 0;
	ListCell   *lc;

	if (stmt->objtype != OBJECT_TABLE && stmt->objtype != OBJECT_MATVIEW)
		return;
	if (stmt->missing_ok && !OidIsValid(RangeVarGetRelid(stmt->relation, NoLock, true)))
		return;					/* the statement says it skips */
	lockmode = AlterTableGetLockLevel(stmt->cmds);
	relid = AlterTableLookupRelation(stmt, lockmode);
	if (!OidIsValid(relid))
		return;
	if (list_length(stmt->cmds) == 1 &&
		linitial_node(AlterTableCmd, stmt->cmds)->subtype == AT_AttachPartition)
	{
		judge_attach_partition(relid, castNode(PartitionCmd, linitial_node(AlterTableCmd, stmt->cmds)->def),
							   query);
		return;
	}
	guard_table_init(&t, relid, query);
	foreach(lc, statement_tables(relid, alter_recurses(stmt), lockmode))
	{
		Relation	rel = relation_open(lfirst_oid(lc), NoLock);
		RewriteRisk *r = steward_judge_alter_cmds(rel, stmt->cmds, &t);

		if (r != NULL)
		{
			risk = risk ? risk : r;
			bytes += steward_table_bytes(rel);
		}
		relation_close(rel, NoLock);
	}
	if (risk != NULL && over_limit(bytes))
		refuse(stmt->objtype == OBJECT_MATVIEW ? "ALTER MATERIALIZED VIEW" : "ALTER TABLE",
			   &t, risk, bytes, lockmode);
}

/*
 * The safe form of a CREATE INDEX: CONCURRENTLY, in a no-transaction step;
 * on a partitioned table, per partition.
 */
static char *
index_hint(IndexStmt *stmt, const GuardTable *t, bool partitioned)
{
	const char *name = stmt->idxname ? quote_identifier(stmt->idxname) : "<name>";
	const char *unique = stmt->unique ? "UNIQUE " : "";
	StringInfoData def;
	ListCell   *lc;

	initStringInfo(&def);
	if (stmt->accessMethod && strcmp(stmt->accessMethod, DEFAULT_INDEX_TYPE) != 0)
		appendStringInfo(&def, "USING %s ", quote_identifier(stmt->accessMethod));
	appendStringInfoChar(&def, '(');
	foreach(lc, stmt->indexParams)
	{
		IndexElem  *elem = lfirst_node(IndexElem, lc);

		appendStringInfo(&def, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 elem->name ? quote_identifier(elem->name) : "(...)");
	}
	appendStringInfo(&def, ")%s", stmt->whereClause ? " WHERE ..." : "");
	if (partitioned)
		return psprintf("Build it partition by partition without blocking writes: CREATE %sINDEX %s ON ONLY %s %s; "
						"then for each partition, in a no-transaction step (run by CALL steward.deploy or the pg_steward program), "
						"CREATE %sINDEX CONCURRENTLY ON <partition> %s and ALTER INDEX %s ATTACH PARTITION <that index>.",
						unique, name, t->qname, def.data, unique, def.data, name);
	return psprintf("Build it without blocking writes in a no-transaction step (a migration whose first line is -- steward:no-transaction, "
					"run by CALL steward.deploy or the pg_steward program): CREATE %sINDEX CONCURRENTLY %s ON %s %s.",
					unique, name, t->qname, def.data);
}

/*
 * CREATE INDEX without CONCURRENTLY reads every row under a SHARE lock:
 * looked up and locked as ProcessUtilitySlow does it (partitions too).
 */
static void
judge_create_index(IndexStmt *stmt, const char *query)
{
	Oid			relid;
	bool		partitioned;
	int64		bytes;
	GuardTable	t;

	if (stmt->concurrent)
		return;
	relid = RangeVarGetRelidExtended(stmt->relation, ShareLock, 0,
									 RangeVarCallbackOwnsRelation, NULL);
	if (stmt->if_not_exists && stmt->idxname != NULL &&
		OidIsValid(get_relname_relid(stmt->idxname, get_rel_namespace(relid))))
		return;					/* the statement says it skips */
	partitioned = get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE;
	bytes = tables_bytes(statement_tables(relid, partitioned && stmt->relation->inh, ShareLock));
	if (!over_limit(bytes))
		return;
	guard_table_init(&t, relid, query);
	refuse("CREATE INDEX", &t,
		   steward_rewrite_risk("scan", pstrdup("CREATE INDEX without CONCURRENTLY reads every row while writes wait."),
								index_hint(stmt, &t, partitioned)),
		   bytes, ShareLock);
}

/*
 * The safe form of CLUSTER and VACUUM FULL: an online rebuild.
 */
static RewriteRisk *
repack_risk(const GuardTable *t, const char *cause)
{
	return steward_rewrite_risk("rewrite", pstrdup(cause),
								psprintf("Rebuild it online with a tool such as pg_repack (pg_repack --table=%s), or run it in a maintenance window.",
										 t->qname));
}

/*
 * CLUSTER and VACUUM FULL of one table (a partitioned one: all its
 * partitions) write it anew under ACCESS EXCLUSIVE: refuse it when the
 * tables are over the limit, with the online-rebuild hint.  relid is
 * already locked as the statement locks it.
 */
static void
judge_repack(Oid relid, const char *query, const char *what, const char *cause)
{
	int64		bytes;
	GuardTable	t;

	bytes = tables_bytes(statement_tables(relid, get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE,
										  AccessShareLock));
	if (!over_limit(bytes))
		return;
	guard_table_init(&t, relid, query);
	refuse(what, &t, repack_risk(&t, cause), bytes, AccessExclusiveLock);
}

/*
 * CLUSTER of one table (a partitioned one: each partition) rewrites it
 * under ACCESS EXCLUSIVE; locked with the permission callback CLUSTER
 * uses.  CLUSTER without a table rewrites every clustered table the user
 * may maintain: refused.
 */
static void
judge_cluster(ClusterStmt *stmt, const char *query)
{
	Oid			relid;

	if (stmt->relation == NULL)
		refuse_unnamed("CLUSTER without a table", "rewrite every clustered table of the database",
					   "CLUSTER <table> USING <index>, judged by the table's size; to rebuild a big table online, use a tool such as pg_repack");
	relid = RangeVarGetRelidExtended(stmt->relation, AccessExclusiveLock, 0,
									 steward_rangevar_callback_maintains, NULL);
	judge_repack(relid, query, "CLUSTER", "CLUSTER writes the table anew in index order.");
}

/*
 * Is a boolean option of a statement's option list on (VACUUM's FULL,
 * REINDEX's CONCURRENTLY)?
 */
static bool
option_on(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, name) == 0)
			return defGetBoolean(opt);
	}
	return false;
}

/*
 * VACUUM FULL of named tables rewrites each under ACCESS EXCLUSIVE; each
 * is looked up as VACUUM looks it up (a name it skips is not judged).
 * VACUUM FULL without tables rewrites the whole database: refused.
 */
static void
judge_vacuum_full(VacuumStmt *stmt, const char *query)
{
	ListCell   *lc;

	if (!stmt->is_vacuumcmd || !option_on(stmt->options, "full"))
		return;
	if (stmt->rels == NIL)
		refuse_unnamed("VACUUM FULL without a table", "rewrite every table of the database",
					   "VACUUM FULL <table>, judged by the table's size; to rebuild a big table online, use a tool such as pg_repack");
	foreach(lc, stmt->rels)
	{
		VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);
		Oid			relid;

		if (vrel->relation == NULL)
			continue;
		relid = RangeVarGetRelidExtended(vrel->relation, AccessShareLock, RVR_MISSING_OK, NULL, NULL);
		if (OidIsValid(relid))
			judge_repack(relid, query, "VACUUM FULL", "VACUUM FULL writes the table anew.");
	}
}

/*
 * REFRESH MATERIALIZED VIEW without CONCURRENTLY runs the view's query and
 * writes its rows anew while reads wait; the view's present size stands
 * for that work.  WITH NO DATA only empties it.  Locked as the refresh
 * locks it.
 */
static void
judge_refresh(RefreshMatViewStmt *stmt, const char *query)
{
	Oid			relid;
	int64		bytes;
	GuardTable	t;

	if (stmt->concurrent || stmt->skipData)
		return;
	relid = RangeVarGetRelidExtended(stmt->relation, AccessExclusiveLock, 0,
									 steward_rangevar_callback_maintains, NULL);
	bytes = tables_bytes(list_make1_oid(relid));
	if (!over_limit(bytes))
		return;
	guard_table_init(&t, relid, query);
	refuse("REFRESH MATERIALIZED VIEW", &t,
		   steward_rewrite_risk("rewrite", pstrdup("REFRESH MATERIALIZED VIEW runs the view's query and writes its rows anew while reads wait."),
								psprintf("Refresh it while reads go on: REFRESH MATERIALIZED VIEW CONCURRENTLY %s (the view needs a unique index on plain columns).",
										 t.qname)),
		   bytes, AccessExclusiveLock);
}

/*
 * REINDEX INDEX's lookup, as ReindexIndex makes it (its callback is
 * private to indexcmds.c): the permission check before any lock, then the
 * table's lock before the index's, SHARE and ACCESS EXCLUSIVE.  Returns
 * the table, InvalidOid when the statement will fail on its own (no such
 * index, no right to it) or the name moved meanwhile.
 */
static Oid
reindex_index_table(RangeVar *relation, Oid *indexoid)
{
	Oid			heapoid;
	char		relkind;

	*indexoid = RangeVarGetRelid(relation, NoLock, true);
	relkind = OidIsValid(*indexoid) ? get_rel_relkind(*indexoid) : '\0';
	if (relkind != RELKIND_INDEX && relkind != RELKIND_PARTITIONED_INDEX)
		return InvalidOid;
	heapoid = IndexGetRelation(*indexoid, true);
	if (!OidIsValid(heapoid) || !steward_may_reindex_index(*indexoid, heapoid))
		return InvalidOid;
	LockRelationOid(heapoid, ShareLock);
	LockRelationOid(*indexoid, AccessExclusiveLock);
	if (RangeVarGetRelid(relation, NoLock, true) != *indexoid ||
		IndexGetRelation(*indexoid, true) != heapoid)
		return InvalidOid;
	return heapoid;
}

/*
 * REINDEX SCHEMA and DATABASE without CONCURRENTLY, and REINDEX SYSTEM,
 * name no table: refused (see refuse_unnamed).
 */
static void
judge_reindex_unnamed(ReindexStmt *stmt)
{
	const char *what = stmt->kind == REINDEX_OBJECT_SCHEMA ? "REINDEX SCHEMA" :
		stmt->kind == REINDEX_OBJECT_DATABASE ? "REINDEX DATABASE" : "REINDEX SYSTEM";

	refuse_unnamed(what,
				   stmt->kind == REINDEX_OBJECT_SYSTEM ? "rebuild every index of the system catalogs" :
				   "rebuild every index of every table it covers",
				   "REINDEX TABLE CONCURRENTLY <table> or REINDEX INDEX CONCURRENTLY <index>, in a no-transaction step (run by CALL steward.deploy or the pg_steward program)");
}

/*
 * REINDEX INDEX and REINDEX TABLE without CONCURRENTLY rebuild indexes
 * from every row of the table while writes wait (and reads that would use
 * an index being rebuilt); a partitioned table's partitions add up.
 * Locked as ReindexIndex and ReindexTable lock.
 */
static void
judge_reindex(ReindexStmt *stmt, const char *query)
{
	bool		index = stmt->kind == REINDEX_OBJECT_INDEX;
	Oid			indexoid = InvalidOid;
	Oid			relid;
	int64		bytes;
	GuardTable	t;

	if (stmt->kind == REINDEX_OBJECT_SYSTEM ||
		((stmt->kind == REINDEX_OBJECT_SCHEMA || stmt->kind == REINDEX_OBJECT_DATABASE) &&
		 !option_on(stmt->params, "concurrently")))
		judge_reindex_unnamed(stmt);
	if ((!index && stmt->kind != REINDEX_OBJECT_TABLE) || stmt->relation == NULL ||
		option_on(stmt->params, "concurrently"))
		return;
	relid = index ? reindex_index_table(stmt->relation, &indexoid) :
		RangeVarGetRelidExtended(stmt->relation, ShareLock, 0, steward_rangevar_callback_maintains, NULL);
	if (!OidIsValid(relid))
		return;
	bytes = tables_bytes(statement_tables(relid, get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE,
										  AccessShareLock));
	if (!over_limit(bytes))
		return;
	guard_table_init(&t, relid, query);
	refuse("REINDEX", &t,
		   steward_rewrite_risk("scan",
								pstrdup(index ? "REINDEX INDEX rebuilds the index from all of the table's rows." :
										"REINDEX TABLE rebuilds every index of the table from all of its rows."),
								psprintf("Rebuild %s without blocking writes in a no-transaction step (run by CALL steward.deploy or the pg_steward program): REINDEX %s CONCURRENTLY %s.",
										 index ? "it" : "them", index ? "INDEX" : "TABLE",
										 index ? quote_qualified_identifier(get_namespace_name(get_rel_namespace(indexoid)),
																			get_rel_name(indexoid)) : t.qname)),
		   bytes, ShareLock);
}

/*
 * Judge the statements a migration runs (see the file header), then run
 * them.  The parse tree is only read.
 */
static void
rewrite_guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
							 ProcessUtilityContext context, ParamListInfo params,
							 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (steward_rewrite_guard_mb > 0 && steward_migration_module() != NULL)
	{
		if (IsA(stmt, AlterTableStmt))
			judge_alter_table((AlterTableStmt *) stmt, queryString);
		else if (IsA(stmt, IndexStmt))
			judge_create_index((IndexStmt *) stmt, queryString);
		else if (IsA(stmt, ClusterStmt))
			judge_cluster((ClusterStmt *) stmt, queryString);
		else if (IsA(stmt, VacuumStmt))
			judge_vacuum_full((VacuumStmt *) stmt, queryString);
		else if (IsA(stmt, RefreshMatViewStmt))
			judge_refresh((RefreshMatViewStmt *) stmt, queryString);
		else if (IsA(stmt, ReindexStmt))
			judge_reindex((ReindexStmt *) stmt, queryString);
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
}

/*
 * Register steward.rewrite_guard_mb and the ProcessUtility hook.  The
 * setting is in MB and takes fractions and units ('512kB'); any user may
 * change it, per migration with SET LOCAL: it is a safety net for the
 * migration's author, not a privilege.
 */
void
steward_rewrite_guard_init(void)
{
	DefineCustomRealVariable("steward.rewrite_guard_mb",
							 "Inside migrations, refuse statements that would rewrite or read whole, under a lock that stops its users, a table larger than this.",
							 "0 turns the guard off. The table's heap and TOAST count, not its indexes.",
							 &steward_rewrite_guard_mb, 100.0, 0.0, 1.0e9,
							 PGC_USERSET, GUC_UNIT_MB, NULL, NULL, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = rewrite_guard_ProcessUtility;
}
