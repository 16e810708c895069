/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The statements of a no-transaction step, run as top-level
 *		statements by a dynamic background worker (CALL steward.deploy).
 *
 * CREATE INDEX CONCURRENTLY and its kind refuse to run anywhere but as a
 * top-level statement outside a transaction block; SPI, even in a
 * procedure, runs nested statements.  So deploy starts a background worker
 * connected to the same database as the session user (acting as the
 * current user, with the caller's search_path), which parses the step and
 * runs each statement the way the server runs a simple query: its own
 * transaction, a portal run as top level.  The task and the outcome (the
 * failed statement's SQLSTATE, message, detail and hint) travel in a DSM
 * segment; the caller waits for the worker to exit.
 *
 * The caller must hold no snapshot while it waits: CREATE INDEX
 * CONCURRENTLY waits for every transaction with an older snapshot, and it
 * would wait for the caller forever (deploy.c commits before it calls).
 * The worker runs under the running-migration frame of its step, so that
 * capture and audit record what it does as that migration.
 *
 *-------------------------------------------------------------------------
 */
#include "migrate_int.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"

#define WORKER_TEXT_MAX 2048

/* The task and its outcome, in the DSM segment. */
typedef struct WorkerTask
{
	Oid			database;
	Oid			session_user;
	Oid			current_user;
	int			lock_timeout;	/* ms */
	bool		finished;		/* set last by the worker */
	int			nstatements;
	int			failed_statement;
	int			sqlerrcode;
	double		ms;
	char		message[WORKER_TEXT_MAX];
	char		detail[WORKER_TEXT_MAX];
	char		hint[WORKER_TEXT_MAX];
	Size		version_off;
	Size		search_path_off;
	Size		guard_mb_off;	/* steward.rewrite_guard_mb */
	Size		sql_off;
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* module, version, ... */
} WorkerTask;

/* ---------- in the background worker ---------- */

/*
 * The caller's session as far as the statements see it: its role (the
 * worker connects as the session user, which may log in, and then acts as
 * the current user, as SET ROLE or a SECURITY DEFINER caller did), its
 * search_path, its rewrite guard setting, and the migration
 * lock_timeout.  The worker holds the module's step lock until it exits
 * (modlock.c), even when the deploy that started it is gone.
 */
static void
adopt_session(WorkerTask *task)
{
	char		timeout[32];

	snprintf(timeout, sizeof(timeout), "%d", task->lock_timeout);
	StartTransactionCommand();
	SetConfigOption("search_path", task->data + task->search_path_off, PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("application_name", "pg_steward deploy", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("steward.rewrite_guard_mb", task->data + task->guard_mb_off, PGC_USERSET,
					PGC_S_SESSION);
	steward_hold_step_lock(task->data);
	CommitTransactionCommand();
	if (task->current_user != task->session_user)
		SetUserIdAndSecContext(task->current_user, 0);
}

/*
 * Run one parsed statement as the server runs a simple query's statement:
 * in a transaction of its own, analysed, planned and run through a portal
 * as a top-level statement.  Its results are discarded.
 */
static void
run_top_level(const char *sql, RawStmt *raw, MemoryContext cxt)
{
	MemoryContext oldcxt;
	CommandTag	tag = CreateCommandTag(raw->stmt);
	bool		snapshot = false;
	List	   *plans;
	Portal		portal;
	DestReceiver *dest;
	QueryCompletion qc;
	int16		format = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	oldcxt = MemoryContextSwitchTo(cxt);
	debug_query_string = raw->stmt_len > 0 ?
		pnstrdup(sql + raw->stmt_location, raw->stmt_len) : pstrdup(sql + raw->stmt_location);
	pgstat_report_activity(STATE_RUNNING, debug_query_string);
	if (analyze_requires_snapshot(raw))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		snapshot = true;
	}
	plans = pg_plan_queries(pg_analyze_and_rewrite_fixedparams(raw, sql, NULL, 0, NULL),
							sql, CURSOR_OPT_PARALLEL_OK, NULL);
	if (snapshot)
		PopActiveSnapshot();
	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, tag, plans, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	PortalSetResultFormat(portal, 1, &format);
	dest = CreateDestReceiver(DestNone);
	MemoryContextSwitchTo(oldcxt);
	(void) steward_portal_run_top_level(portal, dest, &qc);
	dest->rDestroy(dest);
	PortalDrop(portal, false);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	debug_query_string = NULL;
	MemoryContextReset(cxt);
}

/*
 * Run one statement; on error note it in the task, abort its transaction
 * and return false.
 */
static bool
run_statement(WorkerTask *task, const char *sql, RawStmt *raw, MemoryContext cxt)
{
	volatile bool ok = true;

	PG_TRY();
	{
		run_top_level(sql, raw, cxt);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		debug_query_string = NULL;
		task->sqlerrcode = edata->sqlerrcode;
		strlcpy(task->message, edata->message ? edata->message : "", WORKER_TEXT_MAX);
		strlcpy(task->detail, edata->detail ? edata->detail : "", WORKER_TEXT_MAX);
		strlcpy(task->hint, edata->hint ? edata->hint : "", WORKER_TEXT_MAX);
		FreeErrorData(edata);
		MemoryContextReset(cxt);
		RESUME_INTERRUPTS();
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * Parse the step and run its statements in order, stopping at the first
 * that fails.
 */
static void
run_statements(WorkerTask *task)
{
	const char *module = task->data;
	const char *sql = task->data + task->sql_off;
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "pg_steward deploy statement",
											  ALLOCSET_DEFAULT_SIZES);
	RunningMigration frame;
	instr_time	start;
	instr_time	duration;
	List	   *stmts;
	ListCell   *lc;
	int			i = 0;

	StartTransactionCommand();
	MemoryContextSwitchTo(TopMemoryContext);
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	CommitTransactionCommand();
	MemoryContextSwitchTo(TopMemoryContext);
	task->nstatements = list_length(stmts);
	steward_migration_enter(&frame, module, task->data + task->version_off);
	INSTR_TIME_SET_CURRENT(start);
	foreach(lc, stmts)
	{
		i++;
		if (!run_statement(task, sql, lfirst(lc), cxt))
		{
			task->failed_statement = i;
			break;
		}
	}
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	task->ms = INSTR_TIME_GET_MILLISEC(duration);
	steward_migration_leave(&frame);
}

/*
 * The background worker's entry point: attach the task, connect, run.
 */
void
steward_deploy_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	WorkerTask *task;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_steward deploy worker: could not map its dynamic shared memory segment")));
	task = dsm_segment_address(seg);
	BackgroundWorkerInitializeConnectionByOid(task->database, task->session_user, 0);
	adopt_session(task);
	run_statements(task);
	pg_memory_barrier();
	task->finished = true;
	dsm_detach(seg);
}

/* ---------- in the calling backend ---------- */

/*
 * The task for a step, in a new DSM segment.
 */
static dsm_segment *
make_task(const char *module, const char *version, const char *sql)
{
	const char *search_path = GetConfigOption("search_path", false, false);
	const char *guard_mb = GetConfigOption("steward.rewrite_guard_mb", false, false);
	Size		lens[5] = {strlen(module) + 1, strlen(version) + 1, strlen(search_path) + 1,
	strlen(guard_mb) + 1, strlen(sql) + 1};
	dsm_segment *seg = dsm_create(offsetof(WorkerTask, data) + lens[0] + lens[1] + lens[2] +
								  lens[3] + lens[4], 0);
	WorkerTask *task = dsm_segment_address(seg);

	memset(task, 0, offsetof(WorkerTask, data));
	task->database = MyDatabaseId;
	task->session_user = GetSessionUserId();
	task->current_user = GetUserId();
	task->lock_timeout = steward_ddl_lock_timeout;
	task->version_off = lens[0];
	task->search_path_off = lens[0] + lens[1];
	task->guard_mb_off = lens[0] + lens[1] + lens[2];
	task->sql_off = task->guard_mb_off + lens[3];
	memcpy(task->data, module, lens[0]);
	memcpy(task->data + task->version_off, version, lens[1]);
	memcpy(task->data + task->search_path_off, search_path, lens[2]);
	memcpy(task->data + task->guard_mb_off, guard_mb, lens[3]);
	memcpy(task->data + task->sql_off, sql, lens[4]);
	return seg;
}

/*
 * Start the worker and wait for it to exit; a cancel of the wait (or any
 * error) terminates it, so that nothing runs on unseen.
 */
static void
start_and_wait(dsm_segment *seg, const char *module, const char *version)
{
	BackgroundWorker worker = {0};
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;

	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "pg_steward", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "steward_deploy_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_steward deploy %s %s", module, version);
	strlcpy(worker.bgw_type, "pg_steward deploy", BGW_MAXLEN);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a background worker for %s of module \"%s\"",
						steward_step_name(version), module),
				 errdetail("A no-transaction step runs in a background worker; all %d are in use.",
						   max_worker_processes),
				 errhint("Raise max_worker_processes, or CALL steward.deploy again when fewer background workers run.")));
	PG_TRY();
	{
		status = WaitForBackgroundWorkerShutdown(handle);
	}
	PG_CATCH();
	{
		TerminateBackgroundWorker(handle);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (status == BGWH_POSTMASTER_DIED)
		ereport(FATAL,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("the server stopped while %s of module \"%s\" ran", steward_step_name(version), module)));
}

/*
 * Run a no-transaction step's statements (templates expanded) as top-level
 * statements in a background worker, and say what they did.  The caller
 * holds no snapshot.
 */
void
steward_run_outside(const char *module, const char *version, const char *sql,
					OutsideResult *res)
{
	dsm_segment *seg = make_task(module, version, sql);
	WorkerTask *task = dsm_segment_address(seg);

	start_and_wait(seg, module, version);
	pg_memory_barrier();
	if (!task->finished)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the background worker running %s of module \"%s\" stopped before it finished",
						steward_step_name(version), module),
				 errdetail("It could not connect as role %u, or was terminated.", task->session_user),
				 errhint("See the server log, then CALL steward.deploy('%s') again.", module)));
	res->nstatements = task->nstatements;
	res->failed_statement = task->failed_statement;
	res->ok = task->failed_statement == 0;
	res->sqlerrcode = task->sqlerrcode;
	res->message = pstrdup(task->message);
	res->detail = task->detail[0] ? pstrdup(task->detail) : NULL;
	res->hint = task->hint[0] ? pstrdup(task->hint) : NULL;
	res->ms = task->ms;
	dsm_detach(seg);
}
