/*-------------------------------------------------------------------------
 *
 * deploy.c
 *		CALL steward.deploy(module, target): the procedure that applies a
 *		module's pending migrations one transaction each, runs its
 *		no-transaction steps as top-level statements, then its changed
 *		repeatable scripts.
 *
 * A C procedure in a non-atomic context commits between steps
 * (SPI_connect_ext(SPI_OPT_NONATOMIC), SPI_commit).  It holds the module
 * lock as a session lock across the whole deploy (the same lock tag that
 * upgrade takes for its transaction), so several deploys and upgrades at
 * once apply each migration exactly once; it waits for the lock, and for
 * each no-transaction step's background worker (worker.c), with no
 * snapshot held, since a CONCURRENTLY build waits for every older
 * snapshot.  A CONCURRENTLY build that fails leaves an invalid index: the
 * one its statement left (by table and name, new since the step began,
 * not being built by another session) is dropped concurrently before the
 * error is raised, so a re-run can build it again.
 * A step whose earlier run was interrupted (a cancelled or terminated
 * deploy) is resumed: the statements it committed are skipped and the
 * invalid index it left is dropped first (outside.c); a worker that
 * outlived its deploy is waited for (the step lock).  When a step is
 * recorded, drift re-fingerprints what its statements touched.
 *
 *-------------------------------------------------------------------------
 */
#include "migrate_int.h"

#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(steward_deploy);

/*
 * deploy commits: refuse a call from inside a transaction block, a
 * function or an atomic procedure call.
 */
static void
refuse_atomic(FunctionCallInfo fcinfo, const char *module)
{
	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		castNode(CallContext, fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("steward.deploy cannot run inside a transaction block"),
				 errdetail("It commits after each migration and runs no-transaction steps as top-level statements."),
				 errhint("CALL steward.deploy('%s') on its own in autocommit mode, not inside BEGIN ... COMMIT or a function; steward.upgrade('%s') runs inside a transaction.",
						 module, module)));
}

/*
 * Drop the commit's catalog snapshot too: from here until the next
 * catalog read, this backend holds no snapshot (no xmin).
 */
static void
commit_step(void)
{
	SPI_commit();
	InvalidateCatalogSnapshot();
}

/*
 * The indexes that are invalid now (before a no-transaction step), as an
 * oid[] Datum.
 */
static Datum
invalid_indexes(void)
{
	bool		isnull;

	if (SPI_execute("SELECT coalesce(pg_catalog.array_agg(indexrelid), '{}') FROM pg_catalog.pg_index "
					"WHERE NOT indisvalid", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list invalid indexes");
	return SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
							 false, -1);
}

/* Which invalid indexes a failed statement may have left (NULL/0: any). */
typedef struct LeftoverFilter
{
	Oid			table;			/* InvalidOid: any */
	Oid			schema;			/* InvalidOid: any */
	char	   *name;			/* NULL: any */
	char	   *pattern;		/* LIKE pattern of the name, NULL: any */
} LeftoverFilter;

/*
 * What a failed statement of a no-transaction step can have left behind:
 * a CREATE INDEX CONCURRENTLY its invalid index (the name it gave, or any
 * new one on its table), a REINDEX ... CONCURRENTLY the invalid "_ccnew"
 * copies on its table, schema or anywhere.  Resolved with this session's
 * search_path, which the step's worker ran with.  False when the
 * statement builds no index.
 */
static bool
leftover_filter(const char *sql, int statement, LeftoverFilter *f)
{
	List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	Node	   *stmt;

	memset(f, 0, sizeof(*f));
	if (statement < 1 || statement > list_length(stmts))
		return false;
	stmt = ((RawStmt *) list_nth(stmts, statement - 1))->stmt;
	if (IsA(stmt, IndexStmt) && ((IndexStmt *) stmt)->concurrent)
	{
		IndexStmt  *idx = (IndexStmt *) stmt;

		f->table = RangeVarGetRelid(idx->relation, NoLock, true);
		f->name = idx->idxname;
		return OidIsValid(f->table);
	}
	if (IsA(stmt, ReindexStmt))
	{
		ReindexStmt *r = (ReindexStmt *) stmt;
		ListCell   *lc;
		bool		concurrently = false;

		foreach(lc, r->params)
			if (strcmp(((DefElem *) lfirst(lc))->defname, "concurrently") == 0)
			concurrently = defGetBoolean(lfirst(lc));
		if (!concurrently)
			return false;
		f->pattern = "%\\_ccnew%";
		if (r->kind == REINDEX_OBJECT_TABLE)
			f->table = RangeVarGetRelid(r->relation, NoLock, true);
		else if (r->kind == REINDEX_OBJECT_INDEX)
		{
			Oid			index = RangeVarGetRelid(r->relation, NoLock, true);

			f->table = OidIsValid(index) ? IndexGetRelation(index, true) : InvalidOid;
		}
		else if (r->kind == REINDEX_OBJECT_SCHEMA)
			f->schema = get_namespace_oid(r->name, true);
		return (r->kind != REINDEX_OBJECT_TABLE && r->kind != REINDEX_OBJECT_INDEX) ||
			OidIsValid(f->table);
	}
	return false;
}

/*
 * After a failed no-transaction step: drop, concurrently and as the user,
 * the invalid indexes its failing statement left (a failed CONCURRENTLY
 * build or reindex): new since the step began, of the statement's table
 * and name (leftover_filter), and not being built by any session now.
 * Another session's build that fails meanwhile, or is still running,
 * keeps its index, and so does a table another session holds a lock on
 * that a build takes.  Returns what happened as a phrase for the error's
 * detail, NULL when there was nothing to drop.
 */
static char *
drop_new_invalid_indexes(const char *module, const char *version, Datum before,
						 const char *sql, int failed_statement)
{
	Oid			types[5] = {OIDARRAYOID, OIDOID, OIDOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	LeftoverFilter f;
	char	   *names;
	char	   *drops;
	OutsideResult res;

	if (sql == NULL || !leftover_filter(sql, failed_statement, &f))
		return NULL;
	values[0] = before;
	values[1] = ObjectIdGetDatum(f.table);
	values[2] = ObjectIdGetDatum(f.schema);
	values[3] = f.name ? CStringGetTextDatum(f.name) : (Datum) 0;
	nulls[3] = f.name ? ' ' : 'n';
	values[4] = f.pattern ? CStringGetTextDatum(f.pattern) : (Datum) 0;
	nulls[4] = f.pattern ? ' ' : 'n';
	if (SPI_execute_with_args("SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', n.nspname, c.relname), ', '), "
							  "  pg_catalog.string_agg(pg_catalog.format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I;', "
							  "    n.nspname, c.relname), E'\\n') "
							  "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
							  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
							  "WHERE NOT i.indisvalid AND i.indexrelid <> ALL ($1) "
							  "  AND ($2 = 0 OR i.indrelid = $2) AND ($3 = 0 OR c.relnamespace = $3) "
							  "  AND ($4 IS NULL OR c.relname = $4::name) AND ($5 IS NULL OR c.relname::text LIKE $5) "
							  "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p "
							  "                   WHERE p.index_relid = i.indexrelid)",
							  5, types, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list invalid indexes");
	names = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	drops = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (names == NULL)
		return NULL;

	/*
	 * A CONCURRENTLY build holds SHARE UPDATE EXCLUSIVE on its table from
	 * start to end: when another session holds it, it may be building an
	 * index this role cannot see in pg_stat_progress_create_index (another
	 * role's), so leave the table's invalid indexes to the user.
	 */
	if (OidIsValid(f.table))
	{
		if (!ConditionalLockRelationOid(f.table, ShareUpdateExclusiveLock))
			return psprintf("it left the invalid index %s, not dropped: another session is working on table %s; drop it with DROP INDEX CONCURRENTLY once that is done",
							names, get_rel_name(f.table));
		UnlockRelationOid(f.table, ShareUpdateExclusiveLock);
	}
	commit_step();
	steward_run_outside(module, version, drops, &res);
	if (!res.ok)
		return psprintf("it left the invalid index %s, which could not be dropped: %s", names, res.message);
	return psprintf("dropped the invalid index it left: %s", names);
}

/*
 * The statements of a no-transaction step left to run: those an
 * interrupted earlier run committed are skipped, and the invalid indexes
 * it left are dropped first (outside.c).  NULL when nothing is left.
 */
static char *
remaining_sql(const char *module, const char *version, const char *sql)
{
	List	   *drops;
	List	   *done;
	List	   *stmts;
	ListCell   *lc;
	StringInfoData buf;
	int			skipped = 0;

	steward_step_recovery(module, version, sql, &drops, &done);
	if (drops == NIL && done == NIL)
		return (char *) sql;
	initStringInfo(&buf);
	foreach(lc, drops)
		appendStringInfo(&buf, "%s;\n", strVal(lfirst(lc)));
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst(lc);
		int			len = raw->stmt_len > 0 ? raw->stmt_len : (int) strlen(sql + raw->stmt_location);
		char	   *key = steward_statement_key(sql + raw->stmt_location, len);

		if (list_member(done, makeString(key)))
			skipped++;
		else if (key[0] != '\0')
			appendStringInfo(&buf, "%s;\n", key);
	}
	if (skipped == 0 && drops == NIL)
		return (char *) sql;
	ereport(NOTICE,
			(errmsg("%s of module \"%s\": resuming the run that was interrupted",
					steward_step_name(version), module),
			 errdetail("Skipping the %d statement(s) it applied%s.", skipped,
					   drops != NIL ? "; dropping the invalid index it left first" : "")));
	return buf.len > 0 ? buf.data : NULL;
}

/*
 * Run a no-transaction step in a background worker, holding no snapshot
 * while it runs (and while waiting for a worker an interrupted deploy
 * left); on failure drop what a failed CONCURRENTLY build left and raise
 * the statement's error.  Returns the duration.
 */
static double
deploy_outside(ModuleState *st, PlanStep *p, const char *by, const char *target)
{
	Datum		before;
	OutsideResult res = {0};
	char	   *dropped;
	char	   *sql;

	commit_step();
	steward_wait_step_lock(st->module);
	sql = remaining_sql(st->module, p->mig->version, p->sql);
	before = invalid_indexes();
	commit_step();
	res.ok = true;
	if (sql != NULL)
		steward_run_outside(st->module, p->mig->version, sql, &res);
	if (res.ok)
	{
		steward_outside_done(st->module, p->mig->version);
		steward_record_applied(st, p->mig, res.ms, false, by);
		steward_record_event(st->module, p->mig->version, "apply", by,
							 steward_step_detail(res.ms, target, true));
		return res.ms;
	}
	dropped = drop_new_invalid_indexes(st->module, p->mig->version, before, sql,
									   res.failed_statement);
	ereport(ERROR,
			(errcode(res.sqlerrcode),
			 errmsg("%s of module \"%s\" failed at statement %d of %d",
					steward_step_name(p->mig->version), st->module, res.failed_statement,
					res.nstatements),
			 errdetail("%s%s%s%s%s%s", res.message, res.detail ? ": " : "", res.detail ? res.detail : "",
					   res.failed_statement > 1 ? "; the statements before it were applied" : "",
					   dropped ? "; " : "", dropped ? dropped : ""),
			 res.hint ? errhint("%s", res.hint) :
			 errhint("Fix the cause (or the script, with steward.register) and CALL steward.deploy('%s') again; the step stays pending.",
					 st->module)));
	return 0;					/* not reached */
}

/*
 * A transactional step, in the transaction deploy is in (committed by
 * the caller), with the listeners' calls around it.
 */
static double
deploy_in_transaction(ModuleState *st, PlanStep *p, const char *by, const char *target)
{
	double		ms;

	steward_run_begin();
	ms = steward_execute_step(st, p, by, target);
	steward_run_end(st->module, p->mig->version);
	return ms;
}

/*
 * Under the module's session lock: plan once (nobody else can change the
 * module meanwhile), then each step and its commit.
 */
static void
deploy_module(const char *module, const char *target)
{
	Target		t = steward_parse_target(target);
	ModuleState *st;
	List	   *plan;
	ListCell   *lc;
	char	   *by = steward_current_role_name();

	if (t.kind == TARGET_BASE || t.kind == TARGET_DOWN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("steward.deploy only applies migrations; target \"%s\" points down", target),
				 errhint("Use steward.downgrade('%s', '%s') to revert migrations.", module, target)));
	(void) steward_load_module_header(module);
	st = steward_load_module(module);
	plan = steward_make_plan(st, steward_upgrade_steps(st, t, false), true);
	if (plan == NIL)
		ereport(NOTICE,
				(errmsg("module \"%s\" is up to date: nothing to apply", module)));
	foreach(lc, plan)
	{
		PlanStep   *p = lfirst(lc);
		double		ms = p->mig->transactional ? deploy_in_transaction(st, p, by, target) :
			deploy_outside(st, p, by, target);

		ereport(NOTICE,
				(errmsg("applied %s of module \"%s\"%s", steward_step_name(p->mig->version),
						module, p->mig->transactional ? "" : " (no transaction)"),
				 errdetail("%.3f ms", ms)));
		commit_step();
	}
}

/*
 * CALL steward.deploy(module, target)
 */
Datum
steward_deploy(PG_FUNCTION_ARGS)
{
	char	   *module = steward_text_arg(fcinfo, 0, "module", false);
	char	   *target = steward_text_arg(fcinfo, 1, "target", false);

	steward_require_writable("steward.deploy()");
	refuse_atomic(fcinfo, module);
	SPI_connect_ext(SPI_OPT_NONATOMIC);
	/* wait for the lock holding no snapshot (the CALL's is dropped) */
	commit_step();
	steward_lock_module_session(module);
	PG_TRY();
	{
		deploy_module(module, target);
	}
	PG_CATCH();
	{
		steward_unlock_module_session(module);
		PG_RE_THROW();
	}
	PG_END_TRY();
	steward_unlock_module_session(module);
	SPI_finish();
	PG_RETURN_VOID();
}
