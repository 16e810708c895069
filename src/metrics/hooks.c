/*-------------------------------------------------------------------------
 *
 * hooks.c
 *		Follow every statement from its start to its end: executor and
 *		utility hooks, emit_log_hook for what fails outside them, and the
 *		post_parse_analyze hook for the query jumble's constants.
 *
 * Each statement this backend runs (at top level, or nested with
 * steward.track_nested) gets a StewardRunning at its start, in a list of
 * running statements.  An executor statement's lives in its query's
 * memory context and is found again by its QueryDesc: any number may be
 * open at once (cursors fetched between other statements, portals of the
 * extended protocol) and each is recorded at its own ExecutorEnd.  When an
 * error passes one of our hooks, the statement it ends is recorded there,
 * with its real duration and the SQLSTATE; emit_log_hook adds the message
 * and counts the error.  A query that ends without ExecutorEnd (a cursor
 * still open at ROLLBACK, an abort) is recorded when its memory context
 * goes, by a reset callback; whatever is still open when the backend
 * exits is recorded before its slot is retired.  Nothing is dropped.
 *
 * Time is execution time: the stretches in which the statement's
 * executor runs, so that a cursor's time between FETCHes is not counted.
 * A stretch opens at ExecutorStart or when a fetch starts and closes when
 * a fetch of a limited number of rows returns or at the end; an ordinary
 * statement reads the clock twice.
 *
 *-------------------------------------------------------------------------
 */
#include "metrics_int.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/timestamp.h"

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static emit_log_hook_type prev_emit_log = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;

static int	nesting_level = 0;
static bool in_emit_log = false;
static bool ready = false;		/* this backend has a slot and a text buffer */

/* The statements this backend has started and not yet recorded. */
static dlist_head running = DLIST_STATIC_INIT(running);
static dlist_head free_running = DLIST_STATIC_INIT(free_running);

/* A top-level DECLARE CURSOR running now: its query is a top-level one. */
static PlannedStmt *declaring = NULL;

/*
 * The top-level statement whose ExecutorStart runs now, since when, and in
 * which (sub)transaction: it is valid only there, as the abort that follows
 * a failed start frees it (emit_log_hook comes before that abort).
 */
static QueryDesc *starting = NULL;
static instr_time starting_at;
static LocalTransactionId starting_lxid;
static SubTransactionId starting_subxid;

/*
 * Whether a statement starting now at this nesting level is counted: the
 * metrics are on, this is not a parallel worker (its leader counts), and
 * there is somewhere to record it.
 */
static bool
tracking(bool toplevel)
{
	if (!steward_metrics_enabled || !(toplevel || steward_track_nested) ||
		steward_metrics == NULL || IsParallelWorker())
		return false;
	if (!ready)
		ready = steward_my_slot() != NULL && steward_prepare_recording();
	return ready;
}

static int
command_of(CmdType op)
{
	switch (op)
	{
		case CMD_SELECT:
			return STEWARD_CMD_SELECT;
		case CMD_INSERT:
			return STEWARD_CMD_INSERT;
		case CMD_UPDATE:
			return STEWARD_CMD_UPDATE;
		case CMD_DELETE:
			return STEWARD_CMD_DELETE;
		case CMD_MERGE:
			return STEWARD_CMD_MERGE;
		default:
			return STEWARD_CMD_UTILITY;
	}
}

static void
open_stretch(StewardRunning *r)
{
	if (!r->open)
	{
		INSTR_TIME_SET_CURRENT(r->since);
		r->open = true;
	}
}

static void
close_stretch(StewardRunning *r)
{
	if (r->open)
	{
		instr_time	now;

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, r->since);
		r->elapsed_ms += INSTR_TIME_GET_MILLISEC(now);
		r->open = false;
	}
}

/* The running statement of a QueryDesc, NULL when it is not followed. */
static StewardRunning *
find_running(QueryDesc *qd)
{
	dlist_iter	iter;

	dlist_foreach(iter, &running)
	{
		StewardRunning *r = dlist_container(StewardRunning, node, iter.cur);

		if (r->qd == qd)
			return r;
	}
	return NULL;
}

/*
 * Record a statement an error is ending, as the error passes one of our
 * hooks: its time up to now and the error's SQLSTATE (the message follows
 * in emit_log_hook).  Runs in PG_CATCH: allocates nothing, raises nothing.
 */
static void
running_failed(StewardRunning *r)
{
	if (r->recorded)
		return;
	close_stretch(r);
	r->depth = 0;
	if (steward_metrics_enabled)
		steward_record(r, geterrcode(), NULL);
	r->recorded = true;
}

/*
 * A StewardRunning for a statement starting: from the free list, or new
 * (in TopMemoryContext; the list keeps as many as were ever open at once).
 */
static StewardRunning *
running_alloc(void)
{
	if (!dlist_is_empty(&free_running))
		return dlist_container(StewardRunning, node, dlist_pop_head_node(&free_running));
	return MemoryContextAlloc(TopMemoryContext, sizeof(StewardRunning));
}

/*
 * Memory context reset callback of an executor statement's query context:
 * the query is gone.  One that ExecutorEnd did not record (an open cursor
 * at ROLLBACK, a portal an abort dropped) is recorded now with the rows it
 * produced, as a statement that ended; then it leaves the list for the
 * free list (the callback is done with it once it returns).
 */
static void
running_gone(void *arg)
{
	StewardRunning *r = (StewardRunning *) arg;

	if (!r->recorded && steward_metrics_enabled)
	{
		close_stretch(r);
		steward_record(r, 0, NULL);
	}
	dlist_delete(&r->node);
	dlist_push_head(&free_running, &r->node);
}

/*
 * Whether the query starting is the query of a top-level DECLARE CURSOR:
 * the one the cursor's portal starts (nested statements its planning or
 * start runs are not).
 */
static bool
is_declared_query(QueryDesc *qd)
{
	return declaring != NULL && nesting_level == 1 && ActivePortal != NULL &&
		ActivePortal->stmts != NIL && linitial(ActivePortal->stmts) == qd->plannedstmt;
}

/*
 * Fill what a statement's record needs from its start: command, text, query
 * id.  A cursor's query is shown as its DECLARE statement, whose text the
 * cursor's portal keeps (a copy of the query string; the bounds are the
 * DECLARE's).
 */
static void
running_init(StewardRunning *r, QueryDesc *qd, instr_time start, bool toplevel)
{
	PlannedStmt *p = qd->plannedstmt;

	r->qd = qd;
	r->cmd = command_of(qd->operation);
	r->toplevel = toplevel;
	r->recorded = false;
	r->depth = 0;
	r->open = true;
	r->since = start;
	r->elapsed_ms = 0;
	r->rows = 0;
	r->ntables = r->tdropped = 0;
	r->tables = r->inline_tables;
	r->text = qd->sourceText;
	if (is_declared_query(qd))
	{
		r->location = declaring->stmt_location;
		r->len = declaring->stmt_len;
		r->queryid = declaring->queryId ? steward_query_id(declaring->queryId) :
			steward_utility_id(r->text, r->location, r->len);
	}
	else
	{
		r->location = p->stmt_location;
		r->len = p->stmt_len;
		r->queryid = steward_query_id(p->queryId);
	}
}

/*
 * Run the executor's start for a followed statement.  A start that fails
 * is recorded as a failed statement of its command: a nested one here (a
 * function may catch the error), a top-level one by emit_log_hook, which
 * always sees its error (so the common case sets no exception handler).
 */
static void
start_followed(QueryDesc *queryDesc, int eflags, instr_time start, bool toplevel)
{
	if (toplevel)
	{
		starting = queryDesc;
		starting_at = start;
		starting_lxid = StewardMyLocalTransactionId();
		starting_subxid = GetCurrentSubTransactionId();
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
		starting = NULL;
		return;
	}
	PG_TRY();
	{
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
	}
	PG_CATCH();
	{
		StewardRunning failed;

		running_init(&failed, queryDesc, start, toplevel);
		running_failed(&failed);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * ExecutorStart: follow the statement from here.  Its StewardRunning is
 * allocated in the query's memory context, whose reset callback unlinks
 * it.
 */
static void
steward_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		toplevel = nesting_level == 0 || is_declared_query(queryDesc);
	StewardRunning *r;
	MemoryContext cxt;
	instr_time	start;
	int			n;

	if (!tracking(toplevel))
	{
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
		return;
	}
	if (toplevel)
		steward_forget_messages();
	INSTR_TIME_SET_CURRENT(start);
	start_followed(queryDesc, eflags, start, toplevel);
	cxt = queryDesc->estate->es_query_cxt;
	r = running_alloc();
	running_init(r, queryDesc, start, toplevel);
	n = list_length(queryDesc->plannedstmt->rtable);
	r->tables = n <= STEWARD_RUNNING_TABLES ? r->inline_tables :
		MemoryContextAlloc(cxt, sizeof(int) * n);
	steward_resolve_tables(r, queryDesc->plannedstmt->rtable);
	r->cb.func = running_gone;
	r->cb.arg = r;
	MemoryContextRegisterResetCallback(cxt, &r->cb);
	dlist_push_head(&running, &r->node);
}

/*
 * ExecutorRun: one stretch of execution (all of it, or one fetch of a
 * cursor or portal), adding its rows.  A fetch of a limited number of rows
 * closes the stretch (the client decides when the next one comes); a run
 * to completion leaves it open until the statement ends.
 */
static void
steward_ExecutorRun(STEWARD_EXECUTOR_RUN_PARAMS)
{
	StewardRunning *r = dlist_is_empty(&running) ? NULL : find_running(queryDesc);

	if (r)
	{
		open_stretch(r);
		r->depth++;
	}
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(STEWARD_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(STEWARD_EXECUTOR_RUN_ARGS);
	}
	PG_CATCH();
	{
		nesting_level--;
		if (r)
			running_failed(r);
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
	if (r)
	{
		r->depth--;
		/* es_processed restarts at every call: a cursor fetches in batches */
		r->rows += queryDesc->estate->es_processed;
		if (count != 0)
			close_stretch(r);
	}
}

/*
 * ExecutorFinish (AFTER triggers, the rest of modifying CTEs): part of the
 * statement's time; ExecutorEnd follows.
 */
static void
steward_ExecutorFinish(QueryDesc *queryDesc)
{
	StewardRunning *r = dlist_is_empty(&running) ? NULL : find_running(queryDesc);

	if (r)
	{
		open_stretch(r);
		r->depth++;
	}
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		nesting_level--;
		if (r)
			running_failed(r);
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
	if (r)
		r->depth--;
}

/*
 * ExecutorEnd: the statement ended without error; record it (the query
 * context's deletion then unlinks it).
 */
static void
steward_ExecutorEnd(QueryDesc *queryDesc)
{
	StewardRunning *r = dlist_is_empty(&running) ? NULL : find_running(queryDesc);

	if (r && !r->recorded)
	{
		close_stretch(r);
		if (r->rows == 0 && queryDesc->estate)
			r->rows = queryDesc->estate->es_processed;
		if (steward_metrics_enabled)
			steward_record(r, 0, NULL);
		r->recorded = true;
		if (r->toplevel)
			steward_forget_messages();
	}
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * The one call down the ProcessUtility chain: the previous hook, or the
 * standard function when there is none.
 */
static void
call_next_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						 ProcessUtilityContext context, ParamListInfo params,
						 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
							dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
}

/*
 * Run a utility statement one nesting level down: the statements it runs
 * in turn (event triggers, functions, DO blocks) are nested ones, counted
 * only with steward.track_nested.  When it is timed (r), an error ends it
 * here.  A top-level DECLARE CURSOR (declare) is noted while it runs, so
 * that its query is followed as a top-level statement.  The level, the
 * list and the note are restored on error.
 */
static void
call_nested_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						   ProcessUtilityContext context, ParamListInfo params,
						   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc,
						   StewardRunning *r, bool declare)
{
	if (declare)
		declaring = pstmt;
	nesting_level++;
	PG_TRY();
	{
		call_next_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		nesting_level--;
		if (declare)
			declaring = NULL;
		if (r)
		{
			dlist_delete(&r->node);
			running_failed(r);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
	if (declare)
		declaring = NULL;
}

/*
 * Whether a utility statement is timed and counted as UTILITY.  Not
 * PREPARE and DEALLOCATE (bookkeeping of prepared statements), nor
 * EXECUTE (the executor hooks count the statement it runs), nor DECLARE,
 * FETCH, MOVE and CLOSE: a cursor counts as its query, from DECLARE to its
 * end, with the rows of every FETCH.
 */
static bool
utility_timed(Node *stmt)
{
	return steward_track_utility &&
		!IsA(stmt, ExecuteStmt) && !IsA(stmt, PrepareStmt) && !IsA(stmt, DeallocateStmt) &&
		!IsA(stmt, DeclareCursorStmt) && !IsA(stmt, FetchStmt) &&
		!IsA(stmt, ClosePortalStmt) && tracking(nesting_level == 0);
}

/*
 * Start following a timed utility statement (its StewardRunning lives in
 * the caller's frame, on the list while it runs).
 */
static void
utility_begin(StewardRunning *r, PlannedStmt *pstmt, const char *queryString)
{
	memset(r, 0, sizeof(*r));
	r->cmd = STEWARD_CMD_UTILITY;
	r->toplevel = nesting_level == 0;
	r->depth = 1;
	r->text = queryString;
	r->location = pstmt->stmt_location;
	r->len = pstmt->stmt_len;
	r->queryid = pstmt->queryId ? steward_query_id(pstmt->queryId) :
		steward_utility_id(queryString, pstmt->stmt_location, pstmt->stmt_len);
	if (r->toplevel)
		steward_forget_messages();
	open_stretch(r);
	dlist_push_head(&running, &r->node);
}

/*
 * Record a timed utility statement that ended without error, with the
 * rows its completion tag reports.
 */
static void
utility_end(StewardRunning *r, QueryCompletion *qc)
{
	dlist_delete(&r->node);
	close_stretch(r);
	r->rows = qc ? qc->nprocessed : 0;
	if (steward_metrics_enabled)
		steward_record(r, 0, NULL);
	if (r->toplevel)
		steward_forget_messages();
}

/*
 * ProcessUtility hook: time and count utility statements.  EXECUTE runs at
 * this level, untimed (the executor hooks see its statement as a
 * top-level one); every other statement runs one level down, timed when
 * utility_timed() says so.
 */
static void
steward_metrics_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
							   ProcessUtilityContext context, ParamListInfo params,
							   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	StewardRunning r;
	bool		timed;

	if (IsA(stmt, ExecuteStmt))
	{
		call_next_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
		return;
	}
	timed = utility_timed(stmt);
	if (timed)
		utility_begin(&r, pstmt, queryString);
	call_nested_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							   queryEnv, dest, qc, timed ? &r : NULL,
							   IsA(stmt, DeclareCursorStmt) && nesting_level == 0);
	if (timed)
		utility_end(&r, qc);
}

/*
 * post_parse_analyze: when the query jumble located the constants of a
 * statement that will be followed, normalize its text with them now; of a
 * utility statement, remember the query id.
 */
static void
steward_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	if (query->queryId == 0 || steward_metrics == NULL ||
		!steward_metrics_enabled || (nesting_level > 0 && !steward_track_nested))
		return;
	if (query->utilityStmt != NULL)
		steward_stash_utility_id(pstate->p_sourcetext, query->stmt_location, query->stmt_len,
								 steward_query_id(query->queryId));
	else if (jstate != NULL && steward_normalize_text)
		steward_stash_jumble(pstate->p_sourcetext, query->stmt_location, query->stmt_len,
							 steward_query_id(query->queryId), jstate);
}

/*
 * A FATAL error (the backend was terminated, or a timeout ended it) ends
 * the statements running now without passing our hooks: record them with
 * its SQLSTATE and message.  Returns how many.
 */
static int
fail_running(ErrorData *edata)
{
	dlist_iter	iter;
	int			n = 0;

	dlist_foreach(iter, &running)
	{
		StewardRunning *r = dlist_container(StewardRunning, node, iter.cur);

		if (r->recorded || r->depth == 0)
			continue;
		close_stretch(r);
		steward_record(r, edata->sqlerrcode, edata->message);
		n++;
	}
	return n;
}

/*
 * Whether the error being reported ended a top-level ExecutorStart: one
 * began in this very (sub)transaction and did not return.  A start that
 * failed without a report (log_min_messages above error) belongs to a
 * (sub)transaction aborted since, and its QueryDesc is gone.
 */
static bool
start_failed(void)
{
	return starting != NULL && starting_lxid == StewardMyLocalTransactionId() &&
		starting_subxid == GetCurrentSubTransactionId();
}

/*
 * A top-level statement whose ExecutorStart failed: record it, with its
 * time up to now and the error.  Its QueryDesc lives until the abort that
 * follows the error report.  Returns 1.
 */
static int
fail_start(ErrorData *edata)
{
	StewardRunning failed;

	running_init(&failed, starting, starting_at, true);
	starting = NULL;
	close_stretch(&failed);
	steward_record(&failed, edata->sqlerrcode, edata->message);
	return 1;
}

/*
 * A failure that no statement of ours recorded: it happened before a
 * statement started (parse analysis, planning, binding parameters), in a
 * statement not followed, or at commit.  Its text is the whole query
 * string; its time runs from when the server received it.
 */
static void
record_unattached(ErrorData *edata)
{
	StewardRunning r;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz start = GetCurrentStatementStartTimestamp();

	memset(&r, 0, sizeof(r));
	r.cmd = STEWARD_CMD_NONE;
	r.text = debug_query_string;
	r.elapsed_ms = now > start ? (double) (now - start) / 1000.0 : 0;
	steward_record(&r, edata->sqlerrcode, edata->message);
}

/*
 * Count a failure reported to the client.  Runs inside error reporting: it
 * must not throw or allocate, and it ignores messages raised while it
 * runs.  Failed statements were recorded as the error passed our hooks;
 * here they get the message, the error is counted by SQLSTATE, and a
 * failure outside any followed statement is recorded.
 */
static void
steward_emit_log(ErrorData *edata)
{
	bool		fatal = edata->elevel == FATAL;

	if (prev_emit_log)
		prev_emit_log(edata);
	if (in_emit_log || (edata->elevel != ERROR && !fatal) || steward_metrics == NULL ||
		!steward_metrics_enabled || MyBackendType != B_BACKEND || IsParallelWorker() ||
		!OidIsValid(MyDatabaseId) || steward_my_backend_index() < 0 || steward_writing() ||
		LWLockHeldByMe(steward_metrics->lock))
		return;
	in_emit_log = true;
	if (steward_my_slot() != NULL && steward_prepare_recording())
	{
		int			ended = fatal ? fail_running(edata) : 0;

		if (start_failed() && !steward_messages_awaited())
			ended += fail_start(edata);
		else if (!fatal && !steward_messages_awaited())
			record_unattached(edata);
		starting = NULL;
		if (!fatal || ended > 0)
			steward_record_error(edata->sqlerrcode, edata->message);
		steward_patch_messages(edata->sqlerrcode, edata->message);
	}
	in_emit_log = false;
}

/*
 * Before the backend's slot is retired at exit: record the statements
 * still open (cursors of a transaction the exit will abort) as ended.
 */
void
steward_record_leftovers(void)
{
	dlist_iter	iter;

	dlist_foreach(iter, &running)
	{
		StewardRunning *r = dlist_container(StewardRunning, node, iter.cur);

		if (r->recorded)
			continue;
		close_stretch(r);
		if (steward_metrics_enabled)
			steward_record(r, 0, NULL);
		r->recorded = true;
	}
}

/*
 * Install the hooks (only when preloaded).
 */
void
steward_metrics_hooks_init(void)
{
	steward_normalize_init();
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = steward_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = steward_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = steward_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = steward_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = steward_metrics_ProcessUtility;
	prev_emit_log = emit_log_hook;
	emit_log_hook = steward_emit_log;
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = steward_post_parse_analyze;
}
