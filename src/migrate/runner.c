/*-------------------------------------------------------------------------
 *
 * runner.c
 *		Migration runner: the SQL-callable functions upgrade, downgrade,
 *		migrate, stamp, repair, plan and dry_run, and the planning and
 *		execution of steps that deploy (deploy.c) shares.
 *
 * Every function that reads a module's state first takes the module's
 * lock (modlock.c) and only then loads the state, so concurrent runners
 * apply each migration exactly once.  Migration SQL runs through SPI as the
 * calling role, with lock_timeout = steward.ddl_lock_timeout, inside the
 * caller's transaction: the body and its catalog rows commit together.
 * A failure is re-raised with module and version in the message and the
 * original error in the detail, keeping the original SQLSTATE.
 *
 * A plan takes the pending versioned steps in version order, then (for
 * head, +N or a repeatable target) the repeatable scripts whose checksum
 * changed since they were last applied, in natural order of their
 * description.  A no-transaction step cannot run inside the caller's
 * transaction: upgrade, migrate and downgrade refuse a plan that holds
 * one before anything runs, naming it and how to run it.
 *
 *-------------------------------------------------------------------------
 */
#include "migrate_int.h"

#include <limits.h>
#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "checksum.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "parser/parser.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "sqlcheck.h"
#include "template.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "version.h"

int			steward_migration_lock_timeout = 30000;
int			steward_ddl_lock_timeout = 5000;

/* The migrations whose SQL runs now, innermost first (migrate_int.h). */
static RunningMigration *running = NULL;

/* The no-transaction step this session runs (begin_step), or NULL. */
static RunningMigration *session_step = NULL;

/* Who listens to runs (drift's fingerprints); a copy, zeroed when none. */
static StewardMigrationListener listener;

PG_FUNCTION_INFO_V1(steward_define_module);
PG_FUNCTION_INFO_V1(steward_upgrade);
PG_FUNCTION_INFO_V1(steward_downgrade);
PG_FUNCTION_INFO_V1(steward_migrate);
PG_FUNCTION_INFO_V1(steward_stamp);
PG_FUNCTION_INFO_V1(steward_repair);
PG_FUNCTION_INFO_V1(steward_plan);
PG_FUNCTION_INFO_V1(steward_dry_run);

/*
 * The migration running now in this backend (migrate.h): capture and audit
 * record it with what they write.
 */
const char *
steward_migration_module(void)
{
	return running ? running->module : NULL;
}

const char *
steward_migration_version(void)
{
	return running ? running->version : NULL;
}

/*
 * The version of module whose migration SQL is running now in this
 * backend, at any nesting level, or NULL: the module lock refuses to let
 * that SQL change the module under the run that records it.
 */
const char *
steward_migration_running(const char *module)
{
	RunningMigration *r;

	for (r = running; r != NULL; r = r->outer)
		if (strcmp(r->module, module) == 0)
			return r->version;
	return NULL;
}

/*
 * Make module:version the innermost running migration while its SQL runs
 * (here, or in deploy's background worker); steward_migration_leave
 * restores the outer one, also on error.
 */
void
steward_migration_enter(RunningMigration *frame, const char *module, const char *version)
{
	frame->module = module;
	frame->version = version;
	frame->outer = running;
	running = frame;
}

void
steward_migration_leave(RunningMigration *frame)
{
	running = frame->outer;
}

/*
 * Mark the session as running a no-transaction step (begin_step): from
 * here until steward_session_step_end (record_step, or a transaction that
 * aborts), across the transactions of its statements, they run as that
 * migration.  A step begun before and never recorded is replaced.
 */
void
steward_session_step_begin(const char *module, const char *version)
{
	steward_session_step_end();
	if (running != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot begin a no-transaction step of module \"%s\" from inside migration %s of module \"%s\"",
						module, running->version, running->module),
				 errhint("Call steward.begin_step from the deployment, not from a migration's SQL.")));
	session_step = MemoryContextAlloc(TopMemoryContext, sizeof(RunningMigration));
	session_step->module = MemoryContextStrdup(TopMemoryContext, module);
	session_step->version = MemoryContextStrdup(TopMemoryContext, version);
	session_step->outer = NULL;
	running = session_step;
	/* others see the step: a runner waiting in a transaction is refused */
	steward_hold_step_lock(module);
}

void
steward_session_step_end(void)
{
	if (session_step == NULL)
		return;
	steward_release_step_lock(session_step->module);
	if (running == session_step)
		running = NULL;
	pfree((char *) session_step->module);
	pfree((char *) session_step->version);
	pfree(session_step);
	session_step = NULL;
}

/*
 * A no-transaction step is being recorded (record_step, deploy): the
 * listener refreshes what its statements touched.
 */
void
steward_outside_done(const char *module, const char *version)
{
	if (listener.outside_done)
		listener.outside_done(module, version);
}

/*
 * Set the one listener to migration runs (drift, from its init).
 */
void
steward_migration_listen(const StewardMigrationListener *l)
{
	listener = *l;
}

/*
 * The listener's calls around a run of steps, for deploy too.
 */
void
steward_run_begin(void)
{
	if (listener.run_begin)
		listener.run_begin();
}

void
steward_run_end(const char *module, const char *version)
{
	if (listener.run_end)
		listener.run_end(module, version);
}

/*
 * A statement of a no-transaction step that fails ends the session's step
 * (its transaction aborts): the client stops there, and the session is no
 * longer in a migration; begin_step again resumes the step.
 */
static void
session_step_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		steward_session_step_end();
}

/*
 * Register the runner's settings.  Both are user-settable so that a
 * deployment script can raise them for one long migration.
 */
void
steward_migrate_init(void)
{
	RegisterXactCallback(session_step_xact_callback, NULL);
	DefineCustomIntVariable("steward.migration_lock_timeout",
							"Longest wait for another session's migration of the same module.",
							"0 waits forever.",
							&steward_migration_lock_timeout,
							30000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.ddl_lock_timeout",
							"lock_timeout in force while each migration body runs.",
							"0 disables the limit.",
							&steward_ddl_lock_timeout,
							5000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* ---------- argument checks ---------- */

/*
 * Fetch a text argument as a C string; NULL or empty is an error unless
 * allowed.
 */
char *
steward_text_arg(FunctionCallInfo fcinfo, int n, const char *name, bool nullable)
{
	char	   *s;

	if (PG_ARGISNULL(n))
	{
		if (nullable)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("Pass a non-empty %s.", name)));
	}
	s = text_to_cstring(PG_GETARG_TEXT_PP(n));
	if (!nullable && s[strspn(s, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name),
				 errhint("Pass a non-empty %s.", name)));
	return s;
}

/*
 * Parse a target: head, base, +N, -N or a version.
 */
Target
steward_parse_target(const char *target)
{
	Target		t = {TARGET_VERSION, 0, target};

	if (strcmp(target, "head") == 0)
		t.kind = TARGET_HEAD;
	else if (strcmp(target, "base") == 0)
		t.kind = TARGET_BASE;
	else if (target[0] == '+' || target[0] == '-')
	{
		const char *p = target + 1;
		long		n = 0;

		while (*p >= '0' && *p <= '9' && n <= 1000000)
			n = n * 10 + (*p++ - '0');
		if (*p != '\0' || p == target + 1 || n < 1 || n > 1000000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid migration target \"%s\"", target),
					 errdetail("A relative target is + or - followed by a step count from 1 to 1000000."),
					 errhint("Use head, base, +N, -N or a version.")));
		t.kind = target[0] == '+' ? TARGET_UP : TARGET_DOWN;
		t.n = (int) n;
	}
	else
		steward_check_version(target, "migration target");
	return t;
}

/* ---------- planning ---------- */

/*
 * The step of a version (or of a repeatable script's R__ key), NULL when
 * the module knows none.
 */
MigStep *
steward_find_step(ModuleState *st, const char *version)
{
	int			i;

	for (i = 0; i < st->nsteps; i++)
		if (strcmp(st->steps[i]->version, version) == 0)
			return st->steps[i];
	return NULL;
}

/*
 * Is the step to be applied: registered and never applied, or for a
 * repeatable script, changed since it was last applied?
 */
bool
steward_step_pending(MigStep *s)
{
	if (!s->registered)
		return false;
	if (!s->applied)
		return true;
	return s->repeatable && (s->applied_checksum == NULL ||
							 strcmp(s->applied_checksum, s->checksum) != 0);
}

/*
 * How messages name a step: "migration 3", or for a repeatable script
 * "repeatable script "views"".
 */
char *
steward_step_name(const char *version)
{
	if (steward_is_repeatable_key(version))
		return psprintf("repeatable script \"%s\"", version + strlen(STEWARD_REPEATABLE_PREFIX));
	return psprintf("migration %s", version);
}

/* Position of a step in the module's order. */
static int
step_index(ModuleState *st, MigStep *s)
{
	int			i;

	for (i = 0; i < st->nsteps; i++)
		if (st->steps[i] == s)
			return i;
	return -1;
}

static MigStep *
known_target(ModuleState *st, const char *version)
{
	MigStep    *s = steward_find_step(st, version);

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("unknown target version \"%s\" of module \"%s\"", version, st->module),
				 errhint("SELECT * FROM steward.status('%s') lists the known versions.",
						 st->module)));
	return s;
}

/*
 * Raise the checksum-mismatch error for an applied migration whose
 * registered script changed.
 */
void
steward_mismatch_error(ModuleState *st, MigStep *s)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("checksum mismatch for applied migration %s of module \"%s\"",
					s->version, st->module),
			 errdetail("Applied checksum %s, registered checksum %s.",
					   s->applied_checksum, s->checksum),
			 errhint("Applied migrations are immutable: add a new version, or accept the new script with steward.repair('%s', '%s', 'reason', up_sql => ...).",
					 st->module, s->version)));
}

/*
 * upgrade_steps' first check, over the applied versions: refuse to go on
 * when the registered script of one of them is not the script that ran
 * (an applied migration is immutable).  Returns the highest applied
 * version, or NULL when none is, for the order check of pending_steps.
 */
static const char *
check_applied(ModuleState *st)
{
	const char *highest = NULL;
	int			i;

	for (i = 0; i < st->nsteps; i++)
	{
		MigStep    *s = st->steps[i];

		if (s->applied && !s->repeatable)
		{
			highest = s->version;
			if (s->registered && s->applied_checksum != NULL &&
				strcmp(s->applied_checksum, s->checksum) != 0)
				steward_mismatch_error(st, s);
		}
	}
	return highest;
}

/*
 * upgrade_steps' choice of the steps to run, in the module's order (the
 * versioned ones by version, then the changed repeatable scripts), up to
 * target (or t.n of them for +N; only target for migrate).  A version
 * target takes no repeatable script.  Refuses a version below the highest
 * applied one, and for migrate a pending version below target, unless
 * out_of_order: either would apply migrations in another order than
 * their versions.
 */
static List *
pending_steps(ModuleState *st, Target t, MigStep *target, const char *highest,
			  bool out_of_order)
{
	List	   *steps = NIL;
	int			ti = target ? step_index(st, target) : -1;
	int			i;

	for (i = 0; i < st->nsteps; i++)
	{
		MigStep    *s = st->steps[i];

		if (!steward_step_pending(s))
			continue;
		if (t.kind == TARGET_ONE && s != target)
		{
			/* migrate must not silently leave lower pending versions behind */
			if (!out_of_order && !s->repeatable && i < ti)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("migration %s of module \"%s\" is pending below %s",
								s->version, st->module, target->version),
						 errdetail("Applying %s alone would leave it behind, out of order.",
								   target->version),
						 errhint("Run steward.upgrade('%s', '%s') to apply both in order, or pass allow_out_of_order => true.",
								 st->module, target->version)));
			continue;
		}
		if (ti >= 0 && i > ti)
			break;
		if (t.kind == TARGET_UP && list_length(steps) >= t.n)
			break;
		if (!s->repeatable && highest != NULL && !out_of_order &&
			steward_version_compare(s->version, highest) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("migration %s of module \"%s\" is older than applied version %s",
							s->version, st->module, highest),
					 errdetail("Applying it now would run migrations out of order."),
					 errhint("Pass allow_out_of_order => true to apply it anyway, or give it a version above %s.",
							 highest)));
		steps = lappend(steps, s);
	}
	return steps;
}

/*
 * upgrade_steps' last check: every requirement of every step to run is
 * met, so that nothing runs when one is not.  A requirement is met when
 * it is applied already, or, within the same module, when an earlier step
 * of this run applies it.
 */
static void
check_requirements(ModuleState *st, List *steps)
{
	ListCell   *lc;

	foreach(lc, steps)
	{
		MigStep    *s = lfirst(lc);
		ListCell   *rc;

		foreach(rc, s->requires)
		{
			char	   *req = pstrdup(lfirst(rc));
			char	   *colon = strrchr(req, ':');
			const char *rversion = colon + 1;
			bool		met = false;

			*colon = '\0';
			if (strcmp(req, st->module) == 0)
			{
				MigStep    *r = steward_find_step(st, rversion);
				ListCell   *ec;

				met = r != NULL && r->applied;
				foreach(ec, steps)
				{
					if (lfirst(ec) == s)
						break;
					if (lfirst(ec) == r)
						met = true;
				}
			}
			else
				met = steward_version_applied(req, rversion);
			if (!met)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("migration %s of module \"%s\" requires %s:%s, which is not applied",
								s->version, st->module, req, rversion),
						 errhint("Upgrade module \"%s\" to %s first.", req, rversion)));
		}
	}
}

/*
 * Steps to apply for upgrade (and deploy) to target, in the module's
 * order.  Refuses changed applied scripts, gaps (unless allowed) and unmet
 * requirements before anything runs.
 */
List *
steward_upgrade_steps(ModuleState *st, Target t, bool out_of_order)
{
	List	   *steps;
	const char *highest;
	MigStep    *target = NULL;

	if (t.kind == TARGET_BASE || t.kind == TARGET_DOWN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("upgrade target \"%s\" points down", t.kind == TARGET_BASE ? "base" : "-N"),
				 errhint("Use steward.downgrade('%s', ...) to revert migrations.", st->module)));
	if (t.kind == TARGET_VERSION || t.kind == TARGET_ONE)
		target = known_target(st, t.version);

	highest = check_applied(st);
	steps = pending_steps(st, t, target, highest, out_of_order);
	check_requirements(st, steps);
	return steps;
}

/*
 * The step a downgrade stops at (NULL for base and -N).  head, +N and a
 * repeatable script point up: repeatable scripts are never reverted.
 */
static MigStep *
downgrade_target(ModuleState *st, Target t)
{
	MigStep    *target = NULL;

	if (t.kind == TARGET_HEAD || t.kind == TARGET_UP)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("downgrade target \"%s\" points up", t.kind == TARGET_HEAD ? "head" : "+N"),
				 errhint("Use steward.upgrade('%s', ...) to apply migrations.", st->module)));
	if (t.kind == TARGET_VERSION)
		target = known_target(st, t.version);
	if (target != NULL && target->repeatable)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("downgrade target \"%s\" is a repeatable script", t.version),
				 errdetail("Repeatable scripts are applied again when they change and never reverted."),
				 errhint("Downgrade to a version, -N or base.")));
	return target;
}

/*
 * Steps to revert for downgrade to target, newest first; repeatable
 * scripts stay.  Refuses before anything runs if any of them has no
 * down_sql.
 */
static List *
downgrade_steps(ModuleState *st, Target t)
{
	List	   *steps = NIL;
	MigStep    *target = downgrade_target(st, t);
	StringInfoData missing;
	int			i;
	ListCell   *lc;

	for (i = st->nsteps - 1; i >= 0; i--)
	{
		MigStep    *s = st->steps[i];

		if (!s->applied || s->repeatable)
			continue;
		if (target != NULL && steward_version_compare(s->version, target->version) <= 0)
			break;
		if (t.kind == TARGET_DOWN && list_length(steps) >= t.n)
			break;
		steps = lappend(steps, s);
	}
	if (t.kind == TARGET_DOWN && list_length(steps) < t.n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot downgrade module \"%s\" by %d: only %d migrations are applied",
						st->module, t.n, list_length(steps)),
				 errhint("Use steward.downgrade('%s', 'base') to revert all of them.", st->module)));

	initStringInfo(&missing);
	foreach(lc, steps)
	{
		MigStep    *s = lfirst(lc);

		if ((s->registered ? s->down_sql : NULL) == NULL && s->applied_down_sql == NULL)
			appendStringInfo(&missing, "%s%s", missing.len ? ", " : "", s->version);
	}
	if (missing.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot downgrade module \"%s\": no down_sql for version %s",
						st->module, missing.data),
				 errhint("Register the migration again with a down_sql, or restore from a backup.")));
	return steps;
}

static char *
down_sql_of(MigStep *s)
{
	return (s->registered && s->down_sql) ? s->down_sql : s->applied_down_sql;
}

/*
 * Turn migration steps into plan steps with the SQL to run.  The SQL of a
 * no-transaction step starts with the line that marks it as one, so that
 * whoever reads the plan (steward.plan, the pg_steward program) knows how
 * it must run.
 */
List *
steward_make_plan(ModuleState *st, List *migs, bool up)
{
	List	   *plan = NIL;
	ListCell   *lc;

	foreach(lc, migs)
	{
		PlanStep   *p = palloc(sizeof(PlanStep));

		p->mig = lfirst(lc);
		p->up = up;
		p->sql = steward_expand_templates(up ? p->mig->up_sql : down_sql_of(p->mig), st->schema);
		if (!p->mig->transactional && !steward_script_no_transaction(p->sql))
			p->sql = psprintf("%s\n%s", STEWARD_NO_TRANSACTION_MARK, p->sql);
		plan = lappend(plan, p);
	}
	return plan;
}

/*
 * The error for a no-transaction step that would run inside the caller's
 * transaction (upgrade, migrate, downgrade, dry_run): it names the step
 * and what runs it.
 */
static void
no_transaction_error(ModuleState *st, MigStep *s, bool up)
{
	ereport(ERROR,
			(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
			 errmsg("%s of module \"%s\" is a no-transaction step and cannot be %s inside a transaction",
					steward_step_name(s->version), st->module, up ? "applied" : "reverted"),
			 errdetail("Its statements (such as CREATE INDEX CONCURRENTLY) run one by one as top-level statements; this function runs inside the caller's transaction."),
			 up ? errhint("Apply it with CALL steward.deploy('%s') or the pg_steward program (pg_steward upgrade).", st->module) :
			 errhint("Revert it with the pg_steward program (pg_steward downgrade), which runs its down script statement by statement.")));
}

/*
 * upgrade, migrate and downgrade run inside the caller's transaction:
 * refuse a plan that holds a no-transaction step before anything runs.
 */
static List *
refuse_no_transaction(ModuleState *st, List *plan)
{
	ListCell   *lc;

	foreach(lc, plan)
	{
		PlanStep   *p = lfirst(lc);

		if (!p->mig->transactional)
			no_transaction_error(st, p->mig, p->up);
	}
	return plan;
}

/*
 * Which way does target point for plan/dry_run: down for base, -N, or a
 * version below an applied one; up otherwise.
 */
static bool
target_is_down(ModuleState *st, Target t)
{
	int			i;

	if (t.kind == TARGET_BASE || t.kind == TARGET_DOWN)
		return true;
	if (t.kind != TARGET_VERSION)
		return false;
	if (known_target(st, t.version)->repeatable)
		return false;
	for (i = 0; i < st->nsteps; i++)
		if (st->steps[i]->applied && !st->steps[i]->repeatable &&
			steward_version_compare(st->steps[i]->version, t.version) > 0)
			return true;
	return false;
}

/* ---------- execution ---------- */

/*
 * The error context of a failed script quotes the script; keep a long one
 * readable by cutting it at STEWARD_CONTEXT_MAX bytes (on a character
 * boundary).
 */
#define STEWARD_CONTEXT_MAX 500
static char *
truncate_context(char *context)
{
	int			len = strlen(context);

	if (len <= STEWARD_CONTEXT_MAX)
		return context;
	len = pg_mbcliplen(context, len, STEWARD_CONTEXT_MAX);
	return psprintf("%.*s...", len, context);
}

/*
 * Execute a migration's script.  Where Citus is installed, statement by
 * statement, each with its own text: Citus sends the text of some
 * statements (CREATE INDEX) to the workers as it got it, and there a text
 * holding several statements fails.  The whole script is parsed first in
 * both cases, so a syntax error anywhere runs nothing.
 */
static void
execute_script(const char *sql)
{
	List	   *stmts;
	ListCell   *lc;

	if (!steward_citus_present())
		stmts = list_make1(NULL);
	else
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	foreach(lc, stmts)
	{
		RawStmt    *rs = lfirst(lc);
		const char *one = rs == NULL ? sql :
			rs->stmt_len > 0 ? pnstrdup(sql + rs->stmt_location, rs->stmt_len) :
			sql + rs->stmt_location;
		int			rc = SPI_execute(one, false, 0);

		if (rc < 0)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	}
}

/*
 * Run one migration's SQL as the calling role with lock_timeout set from
 * steward.ddl_lock_timeout; return its duration in ms.  An error is raised
 * again naming module and version.  While the SQL runs, this migration is
 * the innermost running one (what capture and audit record, and what the
 * module lock refuses to let the SQL change); the outer one is restored
 * afterwards, also on error.
 */
static double
run_sql(const char *module, MigStep *s, bool up, const char *sql)
{
	int			nestlevel;
	char		timeout[32];
	instr_time	start;
	instr_time	duration;
	MemoryContext oldcxt = CurrentMemoryContext;
	RunningMigration frame;

	nestlevel = NewGUCNestLevel();
	snprintf(timeout, sizeof(timeout), "%d", steward_ddl_lock_timeout);
	(void) set_config_option("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	steward_migration_enter(&frame, module, s->version);
	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		execute_script(sql);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		steward_migration_leave(&frame);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg("%s of module \"%s\" failed%s", steward_step_name(s->version), module,
						up ? "" : " to revert"),
				 errdetail("%s%s%s", edata->message,
						   edata->detail ? ": " : "", edata->detail ? edata->detail : ""),
				 edata->hint ? errhint("%s", edata->hint) : 0,
				 edata->context ? errcontext("%s", truncate_context(edata->context)) : 0));
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	steward_migration_leave(&frame);
	AtEOXact_GUC(true, nestlevel);
	return INSTR_TIME_GET_MILLISEC(duration);
}

/* The role that runs the migrations, as events record it. */
char *
steward_current_role_name(void)
{
	return GetUserNameFromId(GetUserId(), false);
}

/*
 * An apply or revert event's detail: the duration (NaN: unknown), the
 * target of the run (NULL for record_step) and whether the step ran
 * outside a transaction.
 */
char *
steward_step_detail(double ms, const char *target, bool outside)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (isnan(ms))
		appendStringInfoString(&buf, "{\"duration_ms\": null, \"target\": ");
	else
		appendStringInfo(&buf, "{\"duration_ms\": %.3f, \"target\": ", ms);
	if (target != NULL)
		escape_json(&buf, target);
	else
		appendStringInfoString(&buf, "null");
	if (outside)
		appendStringInfoString(&buf, ", \"no_transaction\": true");
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Run and record one plan step of a transactional migration; return its
 * duration.
 */
double
steward_execute_step(ModuleState *st, PlanStep *p, const char *by, const char *target)
{
	double		ms = run_sql(st->module, p->mig, p->up, p->sql);
	char	   *detail = steward_step_detail(ms, target, false);

	if (p->up)
	{
		steward_record_applied(st, p->mig, ms, false, by);
		steward_record_event(st->module, p->mig->version, "apply", by, detail);
	}
	else
	{
		steward_record_reverted(st, p->mig);
		steward_record_event(st->module, p->mig->version, "revert", by, detail);
	}
	return ms;
}

/*
 * Execute a plan, appending (version, description, duration_ms) rows to
 * the result tuplestore when one is given.  The history rows of the steps
 * are written together after the last one (steward_hold_records).
 */
static int
execute_plan(ModuleState *st, List *plan, const char *target, ReturnSetInfo *rsinfo)
{
	char	   *by = steward_current_role_name();
	ListCell   *lc;
	bool		holding;

	if (plan == NIL)
		return 0;
	steward_run_begin();
	holding = steward_hold_records();
	PG_TRY();
	{
		foreach(lc, plan)
		{
			PlanStep   *p = lfirst(lc);
			double		ms = steward_execute_step(st, p, by, target);

			if (rsinfo != NULL)
			{
				Datum		values[3];
				bool		nulls[3] = {false, false, false};
				char	   *desc = p->up ? p->mig->description :
					(p->mig->description ? p->mig->description : p->mig->applied_description);

				values[0] = CStringGetTextDatum(p->mig->version);
				values[1] = desc ? CStringGetTextDatum(desc) : (Datum) 0;
				nulls[1] = desc == NULL;
				values[2] = Float8GetDatum(ms);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
		}
	}
	PG_CATCH();
	{
		if (holding)
			steward_release_records(false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (holding)
		steward_release_records(true);
	steward_run_end(st->module, ((PlanStep *) llast(plan))->mig->version);
	return list_length(plan);
}

/*
 * Lock the module and load its state: the common start of every runner.
 */
static ModuleState *
open_module(const char *module)
{
	steward_lock_module(module);
	return steward_load_module(module);
}

/* ---------- SQL-callable functions ---------- */

/*
 * steward.define_module(module, schema_name, description)
 */
Datum
steward_define_module(PG_FUNCTION_ARGS)
{
	char	   *module;
	char	   *description;
	char	   *schema;

	steward_require_writable("steward.define_module()");
	module = steward_text_arg(fcinfo, 0, "module", false);
	description = steward_text_arg(fcinfo, 2, "description", true);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema_name must not be NULL"),
				 errhint("Pass the schema the module's objects live in, e.g. 'public'.")));
	schema = NameStr(*PG_GETARG_NAME(1));
	if (schema[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schema_name must not be empty"),
				 errhint("Pass the schema the module's objects live in, e.g. 'public'.")));
	SPI_connect();
	steward_lock_module(module);
	steward_define_module_row(module, schema, description);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * steward.upgrade(module, target, allow_out_of_order)
 */
Datum
steward_upgrade(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *module;
	char	   *target;
	bool		ooo = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	Target		t;
	ModuleState *st;

	steward_require_writable("steward.upgrade()");
	module = steward_text_arg(fcinfo, 0, "module", false);
	target = steward_text_arg(fcinfo, 1, "target", false);
	t = steward_parse_target(target);
	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	st = open_module(module);
	execute_plan(st, refuse_no_transaction(st, steward_make_plan(st, steward_upgrade_steps(st, t, ooo), true)),
				 target, rsinfo);
	SPI_finish();
	return (Datum) 0;
}

/*
 * steward.downgrade(module, target)
 */
Datum
steward_downgrade(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *module;
	char	   *target;
	Target		t;
	ModuleState *st;

	steward_require_writable("steward.downgrade()");
	module = steward_text_arg(fcinfo, 0, "module", false);
	target = steward_text_arg(fcinfo, 1, "target", false);
	t = steward_parse_target(target);
	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	st = open_module(module);
	execute_plan(st, refuse_no_transaction(st, steward_make_plan(st, downgrade_steps(st, t), false)),
				 target, rsinfo);
	SPI_finish();
	return (Datum) 0;
}

/*
 * steward.migrate(module, version, up_sql, down_sql, description,
 * allow_out_of_order): register, then upgrade to that version.
 */
Datum
steward_migrate(PG_FUNCTION_ARGS)
{
	char	   *module;
	char	   *version;
	char	   *up_sql;
	char	   *down_sql;
	char	   *description;
	bool		ooo = !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
	ModuleState *st;
	MigStep    *s;
	Target		t;
	const char *result = "skipped";
	ScriptDef	def = {0};

	steward_require_writable("steward.migrate()");
	module = steward_text_arg(fcinfo, 0, "module", false);
	version = steward_text_arg(fcinfo, 1, "version", true);
	up_sql = steward_text_arg(fcinfo, 2, "up_sql", false);
	down_sql = steward_text_arg(fcinfo, 3, "down_sql", true);
	description = steward_text_arg(fcinfo, 4, "description", true);
	def.version = version;
	def.up_sql = up_sql;
	def.down_sql = down_sql;
	def.description = description;
	def.requires_null = true;
	def.transactional = true;
	SPI_connect();
	steward_register_script(module, &def);
	st = steward_load_module(module);
	s = steward_find_step(st, version);
	if (!s->applied)
	{
		t.kind = TARGET_ONE;
		t.version = version;
		t.n = 0;
		execute_plan(st, refuse_no_transaction(st, steward_make_plan(st, steward_upgrade_steps(st, t, ooo), true)),
					 version, NULL);
		result = "applied";
	}
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * stamp's first step: forget the applied versions above the stamp (every
 * applied version for base), newest first as a downgrade would revert
 * them, each with a baseline event saying so.  detail is the event
 * detail's opening, {"stamp": version.
 */
static void
stamp_forget(ModuleState *st, Target t, const char *version, const char *by,
			 const char *detail)
{
	int			i;

	for (i = st->nsteps - 1; i >= 0; i--)
	{
		MigStep    *s = st->steps[i];

		if (s->applied && !s->repeatable &&
			(t.kind == TARGET_BASE || steward_version_compare(s->version, version) > 0))
		{
			steward_record_reverted(st, s);
			steward_record_event(st->module, s->version, "baseline", by,
								 psprintf("%s, \"action\": \"forget\"}", detail));
		}
	}
}

/*
 * stamp's second step: adopt the registered, unapplied versions up to the
 * stamp as applied (as baseline, nothing runs), oldest first as an upgrade
 * would apply them, each with a baseline event saying so.
 */
static void
stamp_adopt(ModuleState *st, const char *version, const char *by, const char *detail)
{
	int			i;

	for (i = 0; i < st->nsteps; i++)
	{
		MigStep    *s = st->steps[i];

		if (s->repeatable || steward_version_compare(s->version, version) > 0)
			break;
		if (!s->applied && s->registered)
		{
			steward_record_applied(st, s, 0, true, by);
			steward_record_event(st->module, s->version, "baseline", by,
								 psprintf("%s, \"action\": \"adopt\"}", detail));
		}
	}
}

/*
 * stamp's step for a version that has no registered script, such as the
 * revision id of the tool that managed the database before (Alembic's
 * '007b77ece35d'): record it as applied, as a baseline without SQL, so that
 * status, current, requires and check know where the database is.  The
 * row has no checksum, so a script registered for it later is accepted as
 * it is (and its down_sql is what a downgrade below it runs).
 */
static void
stamp_unregistered(ModuleState *st, const char *version, const char *by, const char *detail)
{
	MigStep    *s = palloc0(sizeof(MigStep));

	s->version = pstrdup(version);
	steward_record_applied(st, s, 0, true, by);
	steward_record_event(st->module, version, "baseline", by,
						 psprintf("%s, \"action\": \"adopt\", \"registered\": false}", detail));
	ereport(NOTICE,
			(errmsg("module \"%s\" is stamped at version %s, which has no registered script",
					st->module, version),
			 errdetail("It is recorded as a baseline without SQL. Registered versions above it in natural version order stay pending; a downgrade below it needs a down_sql registered for it.")));
}

/*
 * stamp's version argument: a version (registered or not) or 'base'.  It
 * is checked before anything is read, with errors that say what stamp
 * takes, because an unregistered version is stored as it is given.
 */
static Target
stamp_target(FunctionCallInfo fcinfo, const char *module)
{
	char	   *version = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Target		t;

	if (version == NULL || version[strspn(version, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(version == NULL ? ERRCODE_NULL_VALUE_NOT_ALLOWED : ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot stamp module \"%s\" at %s version", module,
						version == NULL ? "a NULL" : "an empty"),
				 errhint("Pass the version the database is at (registered or not, e.g. another tool's revision id), or 'base' to forget every applied version.")));
	if (strcmp(version, "base") != 0 && strcmp(version, "head") != 0 &&
		version[0] != '+' && version[0] != '-')
		steward_check_version(version, "migration version");
	if (steward_is_repeatable_key(version))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot stamp module \"%s\" at \"%s\"", module, version),
				 errdetail("Versions starting with %s name repeatable scripts, which are applied whenever they change.",
						   STEWARD_REPEATABLE_PREFIX),
				 errhint("Stamp at a version, or at base.")));
	t = steward_parse_target(version);
	if (t.kind != TARGET_VERSION && t.kind != TARGET_BASE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot stamp module \"%s\" at \"%s\"", module, version),
				 errhint("Stamp at a version (registered or not, e.g. another tool's revision id), or at base.")));
	return t;
}

/*
 * steward.stamp(module, version): make the database be at version without
 * running anything.  Registered versions up to it become applied (as
 * baseline); applied versions above it are forgotten; a version with no
 * registered script is itself recorded as a baseline without SQL.  'base'
 * forgets all.
 */
Datum
steward_stamp(PG_FUNCTION_ARGS)
{
	char	   *module;
	Target		t;
	const char *version;
	ModuleState *st;
	bool		known;
	char	   *by;
	StringInfoData detail;

	steward_require_writable("steward.stamp()");
	module = steward_text_arg(fcinfo, 0, "module", false);
	t = stamp_target(fcinfo, module);
	version = t.version;
	SPI_connect();
	st = open_module(module);
	known = t.kind == TARGET_BASE || steward_find_step(st, version) != NULL;
	by = steward_current_role_name();
	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"stamp\": ");
	escape_json(&detail, version);
	stamp_forget(st, t, version, by, detail.data);
	if (t.kind == TARGET_VERSION)
		stamp_adopt(st, version, by, detail.data);
	if (!known)
		stamp_unregistered(st, version, by, detail.data);

	/*
	 * The schema is as at this version now: that is what check compares to,
	 * and DDL logged so far is accepted (the event carries the high water).
	 */
	if (listener.stamped)
		listener.stamped(st->schema, module, version);
	steward_record_event(module, t.kind == TARGET_BASE ? NULL : version, "baseline", by,
						 psprintf("%s, \"action\": \"snapshot\", \"ddl_log_id\": " INT64_FORMAT "}",
								  detail.data, steward_ddl_log_high_water()));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * repair's check of what it is asked to repair: an applied migration
 * (a pending one is simply registered again), with a script to accept,
 * the one given or the registered one.
 */
static MigStep *
repairable_step(ModuleState *st, const char *module, const char *version, const char *up_sql)
{
	MigStep    *s = steward_find_step(st, version);

	if (s != NULL && s->repeatable)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s of module \"%s\" needs no repair", steward_step_name(s->version), module),
				 errdetail("A repeatable script that changed is applied again, not refused."),
				 errhint("Apply it with steward.upgrade('%s') or CALL steward.deploy('%s').", module, module)));
	if (s == NULL || !s->applied)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration %s of module \"%s\" is not applied", version, module),
				 errhint("Only applied migrations need repair; change a pending one with steward.register().")));
	if (up_sql == NULL && !s->registered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration %s of module \"%s\" has no registered script", version, module),
				 errhint("Pass the script: steward.repair('%s', '%s', 'reason', up_sql => '...').",
						 module, version)));
	return s;
}

/*
 * The detail of a repair event, as JSON: the reason, and the checksums
 * before (null when the applied row had none) and after, so that the
 * history tells which script was accepted and why.
 */
static char *
repair_detail(const char *reason, const char *old_checksum, const char *new_checksum)
{
	StringInfoData detail;

	initStringInfo(&detail);
	appendStringInfoString(&detail, "{\"reason\": ");
	escape_json(&detail, reason);
	appendStringInfoString(&detail, ", \"old_checksum\": ");
	if (old_checksum)
		escape_json(&detail, old_checksum);
	else
		appendStringInfoString(&detail, "null");
	appendStringInfoString(&detail, ", \"new_checksum\": ");
	escape_json(&detail, new_checksum);
	appendStringInfoChar(&detail, '}');
	return detail.data;
}

/*
 * steward.repair(module, version, reason, up_sql, down_sql): accept a new
 * script for one applied migration (the one given, or the registered one)
 * and record the event with the reason.
 */
Datum
steward_repair(PG_FUNCTION_ARGS)
{
	char	   *module;
	char	   *version;
	char	   *reason;
	char	   *up_sql;
	char	   *down_sql;
	ModuleState *st;
	MigStep    *s;
	char	   *old_checksum;
	char	   *new_sql;
	char	   *new_checksum;
	char	   *detail;
	bool		tx;

	steward_require_writable("steward.repair()");
	module = steward_text_arg(fcinfo, 0, "module", false);
	version = steward_text_arg(fcinfo, 1, "version", true);
	reason = steward_text_arg(fcinfo, 2, "reason", false);
	up_sql = steward_text_arg(fcinfo, 3, "up_sql", true);
	down_sql = steward_text_arg(fcinfo, 4, "down_sql", true);
	steward_check_version(version, "migration version");
	SPI_connect();
	st = open_module(module);
	s = repairable_step(st, module, version, up_sql);
	new_sql = up_sql ? up_sql : s->up_sql;
	tx = (s->registered ? s->transactional : true) && !steward_script_no_transaction(new_sql) &&
		!steward_script_no_transaction(down_sql);
	if (up_sql != NULL)
		steward_check_script(module, version, st->schema, up_sql, "up_sql", tx);
	if (down_sql != NULL)
		steward_check_script(module, version, st->schema, down_sql, "down_sql", tx);
	new_checksum = steward_script_checksum(new_sql, strlen(new_sql));
	old_checksum = s->applied_checksum;
	if (old_checksum != NULL && strcmp(old_checksum, new_checksum) == 0 && down_sql == NULL &&
		s->registered && strcmp(s->checksum, new_checksum) == 0)
		ereport(NOTICE,
				(errmsg("migration %s of module \"%s\" needs no repair", version, module),
				 errdetail("Its applied and registered checksums are both %s.", new_checksum)));
	else
	{
		ScriptDef	def = {0};

		def.version = version;
		def.up_sql = new_sql;
		def.down_sql = down_sql ? down_sql : (s->registered ? s->down_sql : s->applied_down_sql);
		def.description = s->registered ? s->description : s->applied_description;
		def.checksum = new_checksum;
		def.requires = steward_list_to_array(s->requires, TEXTOID);
		def.requires_null = s->requires == NIL;
		def.transactional = tx;
		steward_store_script(module, &def);
		steward_record_repair(module, version, new_sql, new_checksum);
		detail = repair_detail(reason, old_checksum, new_checksum);
		steward_record_event(module, version, "repair", steward_current_role_name(), detail);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * The plan for target in either direction (plan and dry_run).
 */
static List *
plan_for(ModuleState *st, const char *target)
{
	Target		t = steward_parse_target(target);

	if (target_is_down(st, t))
		return steward_make_plan(st, downgrade_steps(st, t), false);
	return steward_make_plan(st, steward_upgrade_steps(st, t, false), true);
}

/*
 * steward.plan(module, target): the SQL that would run, in order.
 */
Datum
steward_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *module = steward_text_arg(fcinfo, 0, "module", false);
	char	   *target = steward_text_arg(fcinfo, 1, "target", false);
	ModuleState *st;
	ListCell   *lc;
	int			step = 0;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	st = steward_load_module(module);
	foreach(lc, plan_for(st, target))
	{
		PlanStep   *p = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int32GetDatum(++step);
		values[1] = CStringGetTextDatum(p->mig->version);
		values[2] = CStringGetTextDatum(p->up ? "up" : "down");
		values[3] = CStringGetTextDatum(p->sql);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * dry_run's execution: run the plan's steps in a subtransaction, stopping
 * at the first error, and roll it back whatever happened, so that nothing
 * of the run stays.  Fills durations[] for the steps that ran, sets *ndone
 * to their number and returns the error (message: detail) of the step
 * that failed, or NULL.  On its own because of the subtransaction: its
 * PG_TRY needs the volatile locals and the restored memory context and
 * resource owner.
 */
static char *
dry_run_plan(ModuleState *st, List *plan, const char *by, const char *target,
			 double *durations, int *ndone)
{
	MemoryContext oldcxt;
	ResourceOwner oldowner;
	ListCell   *lc;
	volatile int done = 0;
	char	   *volatile error = NULL;

	oldcxt = CurrentMemoryContext;
	oldowner = CurrentResourceOwner;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		foreach(lc, plan)
		{
			PlanStep   *p = lfirst(lc);

			if (!p->mig->transactional)
				no_transaction_error(st, p->mig, p->up);
			durations[done] = steward_execute_step(st, p, by, target);
			done++;
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		error = edata->detail ? psprintf("%s: %s", edata->message, edata->detail) : edata->message;
	}
	PG_END_TRY();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	*ndone = done;
	return error;
}

/*
 * dry_run's report: one row per step that ran, with its duration, then
 * one for the step that failed, with the error; the steps after a failure
 * never ran and get no row.
 */
static void
dry_run_rows(ReturnSetInfo *rsinfo, List *plan, double *durations, int done, const char *error)
{
	ListCell   *lc;
	int			step = 0;

	foreach(lc, plan)
	{
		PlanStep   *p = lfirst(lc);
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, true, false};
		bool		failed = step == done;

		values[0] = Int32GetDatum(step + 1);
		values[1] = CStringGetTextDatum(p->mig->version);
		values[2] = CStringGetTextDatum(p->up ? "up" : "down");
		values[3] = CStringGetTextDatum(failed ? "error" : "ok");
		if (failed)
		{
			values[4] = CStringGetTextDatum(error);
			nulls[4] = false;
			nulls[5] = true;
		}
		else
			values[5] = Float8GetDatum(durations[step]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if (failed)
			break;
		step++;
	}
}

/*
 * steward.dry_run(module, target): run the plan in a subtransaction, roll
 * it back, and report each step, stopping at the first error.
 */
Datum
steward_dry_run(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *module;
	char	   *target;
	ModuleState *st;
	List	   *plan;
	char	   *by;
	int			done;
	double	   *durations;
	char	   *error;

	/* its steps would all fail on a standby, as if the migrations were bad */
	steward_require_writable("steward.dry_run()");
	module = steward_text_arg(fcinfo, 0, "module", false);
	target = steward_text_arg(fcinfo, 1, "target", false);
	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	st = open_module(module);
	plan = plan_for(st, target);
	by = steward_current_role_name();
	durations = palloc0(sizeof(double) * (list_length(plan) + 1));
	error = dry_run_plan(st, plan, by, target, durations, &done);
	dry_run_rows(rsinfo, plan, durations, done, error);
	SPI_finish();
	return (Datum) 0;
}
