/*-------------------------------------------------------------------------
 *
 * outside.c
 *		No-transaction steps that a client runs itself: begin_step and
 *		record_step around the statements, and the recovery of a step whose
 *		earlier run was interrupted (shared with deploy).
 *
 * The pg_steward program runs a no-transaction step's statements as
 * top-level statements in its own session, under the module's session
 * lock.  steward.begin_step() marks the session as running that step until
 * steward.record_step() records it: capture logs the statements' DDL as
 * the migration's, the DDL guard lets them through, the rewrite guard
 * judges them, and the fingerprints of what they touched are refreshed
 * when the step is recorded (from steward.ddl_log, since its statements
 * commit one by one).
 *
 * A run can be interrupted between a statement's commit and the step's
 * record (a killed program, a cancelled or terminated deploy).  The
 * statements that committed logged their DDL as the step's; the next run
 * skips those, and first drops the invalid index that an interrupted
 * CREATE INDEX CONCURRENTLY of the step left, so that it can be built
 * again.  A deploy worker outliving the deploy that started it holds the
 * step lock (modlock.c) until it exits: the next run waits for it.
 *
 *-------------------------------------------------------------------------
 */
#include "migrate_int.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/float.h"

PG_FUNCTION_INFO_V1(steward_begin_step);
PG_FUNCTION_INFO_V1(steward_record_step);

/*
 * A statement as the recovery compares it: without the blanks and "--"
 * comment lines before it and the blanks and semicolons after it (capture
 * logs a statement's text without the blanks and semicolons around it).
 */
char *
steward_statement_key(const char *text, int len)
{
	int			start = 0;

	for (;;)
	{
		while (start < len && isspace((unsigned char) text[start]))
			start++;
		if (start + 1 < len && text[start] == '-' && text[start + 1] == '-')
		{
			while (start < len && text[start] != '\n')
				start++;
			continue;
		}
		break;
	}
	while (len > start && (isspace((unsigned char) text[len - 1]) || text[len - 1] == ';'))
		len--;
	return pnstrdup(text +start, len - start);
}

/*
 * The statements of the step that committed since its last event (apply
 * or revert): capture logged their DDL as the step's.  Keys, as
 * steward_statement_key makes them.
 */
static List *
logged_statements(const char *module, const char *version)
{
	const char *args[2] = {module, version};
	List	   *done = NIL;
	uint64		i;

	steward_catalog_exec("SELECT DISTINCT d.command FROM steward.ddl_log d "
						 " WHERE d.module = $1 AND d.version = $2 AND d.command IS NOT NULL "
						 "   AND d.at > coalesce((SELECT max(e.at) FROM steward.migration_events e "
						 "                         WHERE e.module = $1 AND e.version = $2), '-infinity')",
						 2, args, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *c = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		done = lappend(done, makeString(steward_statement_key(c, strlen(c))));
	}
	return done;
}

/*
 * The invalid index an interrupted CREATE INDEX CONCURRENTLY of stmt left
 * (same name, on a table of the statement's name), as a DROP statement,
 * or NULL.
 */
static char *
leftover_index(IndexStmt *stmt)
{
	Oid			types[3] = {NAMEOID, NAMEOID, NAMEOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	values[0] = CStringGetDatum(stmt->idxname);
	values[1] = CStringGetDatum(stmt->relation->relname);
	values[2] = stmt->relation->schemaname ? CStringGetDatum(stmt->relation->schemaname) : (Datum) 0;
	nulls[2] = stmt->relation->schemaname ? ' ' : 'n';
	if (SPI_execute_with_args("SELECT pg_catalog.format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname) "
							  "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
							  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
							  "JOIN pg_catalog.pg_class t ON t.oid = i.indrelid "
							  "WHERE NOT i.indisvalid AND c.relname = $1 AND t.relname = $2 "
							  "  AND ($3 IS NULL OR n.nspname = $3) LIMIT 1",
							  3, types, values, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look for invalid indexes");
	return SPI_processed > 0 ?
		SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
}

/*
 * What an interrupted run of a no-transaction step (sql: templates
 * expanded) left: *drops, the statements that drop its leftover invalid
 * indexes, to run first; *done, the keys of its statements that
 * committed, to skip (String nodes).  SPI is connected; the caller holds the module lock
 * and waited for the step lock.
 */
void
steward_step_recovery(const char *module, const char *version, const char *sql,
					  List **drops, List **done)
{
	List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	ListCell   *lc;

	*drops = NIL;
	*done = logged_statements(module, version);
	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst(lc);
		char	   *drop;

		if (!IsA(raw->stmt, IndexStmt) || !((IndexStmt *) raw->stmt)->concurrent ||
			((IndexStmt *) raw->stmt)->idxname == NULL)
			continue;
		drop = leftover_index((IndexStmt *) raw->stmt);
		if (drop != NULL && !list_member(*drops, makeString(drop)))
			*drops = lappend(*drops, makeString(drop));
	}
}

/*
 * The step record_step records: registered (or, for down, applied) and a
 * no-transaction step, since any other step is run by upgrade itself.
 */
static MigStep *
recordable_step(ModuleState *st, const char *version, bool up)
{
	MigStep    *s = steward_find_step(st, version);

	if (s == NULL || (up && !s->registered))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s of module \"%s\" is not registered", steward_step_name(version), st->module),
				 errhint("Register the step before recording it.")));
	if (s->registered && s->transactional)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s of module \"%s\" is not a no-transaction step", steward_step_name(version),
						st->module),
				 errdetail("record_step records only steps that a client ran itself outside a transaction."),
				 up ? errhint("Apply it with steward.upgrade('%s', '%s').", st->module, version) :
				 errhint("Revert it with steward.downgrade('%s', ...).", st->module)));
	return s;
}

/*
 * 'up' or 'down', as begin_step and record_step take the direction.
 */
static bool
direction_up(const char *direction)
{
	if (strcmp(direction, "up") != 0 && strcmp(direction, "down") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid direction \"%s\"", direction),
				 errhint("Give direction => 'up' (applied) or 'down' (reverted).")));
	return strcmp(direction, "up") == 0;
}

/*
 * begin_step's preconditions: this session holds the module's session
 * lock (as the program takes it), no deploy worker of the module still
 * runs, and the step is still to be run in that direction.
 */
static void
check_begin(ModuleState *st, MigStep *s, bool up)
{
	if (!steward_module_session_locked(st->module))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this session does not hold the lock of module \"%s\"", st->module),
				 errdetail("A client runs a no-transaction step under the module's session lock."),
				 errhint("Take it first: SELECT pg_advisory_lock(1937012580, hashtext('%s')).", st->module)));
	if (!steward_step_lock_free(st->module))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("a background worker of an interrupted steward.deploy still runs a no-transaction step of module \"%s\"",
						st->module),
				 errhint("Wait for it to finish, then call steward.begin_step again.")));
	if (up ? !steward_step_pending(s) : !s->applied)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s of module \"%s\" is already %s", steward_step_name(s->version), st->module,
						up ? "applied" : "reverted"),
				 errhint("Check steward.status('%s') under the module lock before running a step.", st->module)));
	if (!up && s->down_sql == NULL && s->applied_down_sql == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s of module \"%s\" has no down script", steward_step_name(s->version), st->module),
				 errhint("Register its down_sql with steward.register, or leave it applied.")));
}

/*
 * steward.begin_step(module, version, direction) RETURNS TABLE(action,
 * statement): before a client runs a no-transaction step's statements,
 * under the module's session lock.  The rows say what an interrupted
 * earlier run left: 'drop' statements to run first, and the 'done'
 * statements (without surrounding blanks, comment lines and semicolons)
 * to skip.  From here until record_step, the session runs the step.
 */
Datum
steward_begin_step(PG_FUNCTION_ARGS)
{
	char	   *module = steward_text_arg(fcinfo, 0, "module", false);
	char	   *version = steward_text_arg(fcinfo, 1, "version", false);
	bool		up = direction_up(steward_text_arg(fcinfo, 2, "direction", false));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ModuleState *st;
	MigStep    *s;
	PlanStep   *p;
	List	   *drops;
	List	   *done;
	ListCell   *lc;

	steward_require_writable("steward.begin_step()");
	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	st = steward_load_module(module);
	s = recordable_step(st, version, up);
	check_begin(st, s, up);
	p = linitial(steward_make_plan(st, list_make1(s), up));
	steward_step_recovery(module, version, p->sql, &drops, &done);
	foreach(lc, drops)
	{
		Datum		values[2] = {CStringGetTextDatum("drop"), CStringGetTextDatum(strVal(lfirst(lc)))};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	foreach(lc, done)
	{
		Datum		values[2] = {CStringGetTextDatum("done"), CStringGetTextDatum(strVal(lfirst(lc)))};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	steward_session_step_begin(module, version);
	return (Datum) 0;
}

/*
 * steward.record_step(module, version, direction, duration_ms) RETURNS
 * boolean: record a no-transaction step that a client (the pg_steward
 * program) ran itself, statement by statement under the module's session
 * lock, as applied ('up') or reverted ('down'); false when it already
 * was.  Ends the session's begin_step.  SECURITY DEFINER: the event names
 * the role that called it.
 */
Datum
steward_record_step(PG_FUNCTION_ARGS)
{
	char	   *module = steward_text_arg(fcinfo, 0, "module", false);
	char	   *version = steward_text_arg(fcinfo, 1, "version", false);
	bool		up = direction_up(steward_text_arg(fcinfo, 2, "direction", false));
	double		ms = PG_ARGISNULL(3) ? get_float8_nan() : PG_GETARG_FLOAT8(3);
	char	   *by = GetUserNameFromId(GetOuterUserId(), false);
	ModuleState *st;
	MigStep    *s;
	bool		done;

	steward_require_writable("steward.record_step()");
	steward_session_step_end();
	SPI_connect();
	steward_lock_module(module);
	st = steward_load_module(module);
	s = recordable_step(st, version, up);
	done = up ? !steward_step_pending(s) : !s->applied;
	if (!done)
		steward_outside_done(module, version);
	if (!done && up)
	{
		steward_record_applied(st, s, ms, false, by);
		steward_record_event(module, version, "apply", by, steward_step_detail(ms, NULL, true));
	}
	else if (!done)
	{
		steward_record_reverted(st, s);
		steward_record_event(module, version, "revert", by, steward_step_detail(ms, NULL, true));
	}
	SPI_finish();
	PG_RETURN_BOOL(!done);
}
