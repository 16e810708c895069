/*-------------------------------------------------------------------------
 *
 * hooks.c
 *		Record every statement's metrics: executor and utility hooks for
 *		successes, emit_log_hook for failures (including statements that
 *		fail in parse or plan).
 *
 * The hot path writes only this backend's slot (metrics.h): find the
 * (database, user, command) entry (cached per command), add the counters
 * and the latency bucket, add each table the statement touched (found
 * through a backend-local hash), and put the statement in the shared ring
 * of recent statements (one atomic add to claim a position).  Nested
 * statements count only with steward.track_nested, utility statements
 * only with steward.track_utility, parallel workers never.
 *
 *-------------------------------------------------------------------------
 */
#include "metrics_int.h"

#include "access/parallel.h"
#include <sys/socket.h>
#include <netinet/in.h>

#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "libpq/libpq-be.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "tcop/utility.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static emit_log_hook_type prev_emit_log = NULL;

static int	nesting_level = 0;
static bool in_emit_log = false;

/* Statements started and not yet ended, to time them. */
#define MAX_RUNNING 32
typedef struct Running
{
	QueryDesc  *qd;
	instr_time	start;
	int			cmd;
	uint64		rows;			/* summed over ExecutorRun calls (fetches) */
} Running;
static Running running[MAX_RUNNING];
static int	nrunning = 0;

/* Command of the top-level statement running now, for errors (-1: none). */
static int	current_cmd = -1;

/* Backend-local caches into this backend's slot. */
static uint32 cache_generation = 0;
static int	key_cache[STEWARD_NCMDS];
static HTAB *table_index = NULL;

typedef struct TableKey
{
	Oid			dbid;
	Oid			relid;
	int			cmd;
} TableKey;

typedef struct TableIndexEntry
{
	TableKey	key;
	int			pos;
} TableIndexEntry;

static bool
tracking(void)
{
	return steward_metrics != NULL && steward_metrics_enabled && !IsParallelWorker() &&
		(nesting_level == 0 || steward_track_nested);
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

/*
 * Begin writing this backend's slot; after a reset by someone else, empty
 * it first (only the owner writes a slot).
 */
static StewardSlot *
begin_write(void)
{
	StewardSlot *slot = steward_my_slot();
	uint32		gen;

	if (slot == NULL)
		return NULL;
	pg_atomic_write_u32(&slot->changecount, pg_atomic_read_u32(&slot->changecount) + 1);
	pg_write_barrier();
	gen = pg_atomic_read_u32(&steward_metrics->generation);
	if (slot->generation != gen || cache_generation != gen)
	{
		int			i;

		slot->nkeys = slot->nerrors = slot->ntables = 0;
		slot->tables_dropped = slot->keys_dropped = 0;
		slot->generation = gen;
		cache_generation = gen;
		for (i = 0; i < STEWARD_NCMDS; i++)
			key_cache[i] = -1;
		if (table_index)
		{
			hash_destroy(table_index);
			table_index = NULL;
		}
	}
	return slot;
}

static void
end_write(StewardSlot *slot)
{
	pg_write_barrier();
	pg_atomic_write_u32(&slot->changecount, pg_atomic_read_u32(&slot->changecount) + 1);
}

/*
 * The slot's entry for (this database, current user, cmd), or NULL when
 * the slot's entries are used up.
 */
static StewardQueryCounters *
key_for(StewardSlot *slot, int cmd)
{
	Oid			userid = GetUserId();
	int			i = key_cache[cmd];
	StewardQueryCounters *k;

	if (i >= 0 && i < slot->nkeys && slot->keys[i].userid == userid &&
		slot->keys[i].dbid == MyDatabaseId && slot->keys[i].cmd == cmd)
		return &slot->keys[i];
	k = steward_query_entry(slot->keys, &slot->nkeys, STEWARD_SLOT_KEYS,
							MyDatabaseId, userid, cmd);
	if (k == NULL)
	{
		slot->keys_dropped++;
		return NULL;
	}
	key_cache[cmd] = k - slot->keys;
	return k;
}

/*
 * Add one table of a statement to the slot.
 */
static void
add_table(StewardSlot *slot, Oid relid, int cmd, int64 rows, double ms)
{
	TableKey	key;
	TableIndexEntry *e;
	bool		found;
	StewardTableCounters *t;

	if (table_index == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(TableKey);
		ctl.entrysize = sizeof(TableIndexEntry);
		ctl.hcxt = TopMemoryContext;
		table_index = hash_create("pg_steward table index", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.relid = relid;
	key.cmd = cmd;
	e = hash_search(table_index, &key, HASH_ENTER, &found);
	if (!found)
	{
		if (slot->ntables >= steward_metrics->max_tables)
		{
			hash_search(table_index, &key, HASH_REMOVE, NULL);
			slot->tables_dropped++;
			return;
		}
		e->pos = slot->ntables++;
		t = &slot->tables[e->pos];
		t->dbid = MyDatabaseId;
		t->relid = relid;
		t->cmd = cmd;
		t->calls = t->rows = 0;
		t->total_ms = 0;
	}
	t = &slot->tables[e->pos];
	t->calls++;
	t->rows += rows;
	t->total_ms += ms;
}

/*
 * Fill a ring entry (recent or slow statement).
 */
static void
fill_trace(StewardTraceEntry *e, int cmd, double ms, int64 rows, int sqlstate,
		   const char *query, int location, int len)
{
	int			qlen;

	pg_atomic_fetch_add_u32(&e->changecount, 1);
	pg_write_barrier();
	e->at = GetCurrentTimestamp();
	e->pid = MyProcPid;
	e->dbid = MyDatabaseId;
	e->userid = GetUserId();
	e->cmd = cmd;
	e->duration_ms = ms;
	e->rows = rows;
	e->sqlstate = sqlstate;
	e->has_addr = false;
	if (MyProcPort && (MyProcPort->raddr.addr.ss_family == AF_INET ||
					   MyProcPort->raddr.addr.ss_family == AF_INET6))
	{
		struct sockaddr_storage *sa = &MyProcPort->raddr.addr;

		memset(&e->client_addr, 0, sizeof(e->client_addr));
		if (sa->ss_family == AF_INET)
		{
			e->client_addr.family = PGSQL_AF_INET;
			e->client_addr.bits = 32;
			memcpy(e->client_addr.ipaddr, &((struct sockaddr_in *) sa)->sin_addr, 4);
		}
		else
		{
			e->client_addr.family = PGSQL_AF_INET6;
			e->client_addr.bits = 128;
			memcpy(e->client_addr.ipaddr, &((struct sockaddr_in6 *) sa)->sin6_addr, 16);
		}
		e->has_addr = true;
	}
	strlcpy(e->application_name, application_name ? application_name : "", NAMEDATALEN);
	if (query == NULL)
		query = "";
	if (location > 0 && location <= (int) strlen(query))
		query += location;
	qlen = len > 0 ? len : (int) strlen(query);
	while (qlen > 0 && (*query == ' ' || *query == '\n' || *query == '\t'))
	{
		query++;
		qlen--;
	}
	if (qlen > steward_metrics->query_len)
		qlen = pg_mbcliplen(query, qlen, steward_metrics->query_len);
	memcpy(e->query, query, qlen);
	e->query[qlen] = '\0';
	pg_write_barrier();
	pg_atomic_fetch_add_u32(&e->changecount, 1);
}

/*
 * Put a statement into the ring of recent statements and, when slow
 * enough, into the ring of slow ones.
 */
static void
trace(int cmd, double ms, int64 rows, int sqlstate, const char *query, int location, int len)
{
	StewardMetricsShared *m = steward_metrics;

	if (m->trace_size > 0)
	{
		uint64		pos = pg_atomic_fetch_add_u64(&m->trace_next, 1);

		fill_trace(steward_trace_entry((int) (pos % m->trace_size)), cmd, ms, rows, sqlstate,
				   query, location, len);
	}
	if (steward_slow_query_ms >= 0 && ms >= steward_slow_query_ms && sqlstate == 0)
	{
		LWLockAcquire(m->lock, LW_EXCLUSIVE);
		fill_trace(steward_slow_entry(m->slow_next), cmd, ms, rows, sqlstate, query, location, len);
		m->slow_next = (m->slow_next + 1) % STEWARD_SLOW_ENTRIES;
		LWLockRelease(m->lock);
	}
}

/*
 * Record a finished statement.
 */
static void
record(int cmd, double ms, int64 rows, List *rtable, const char *query, int location, int len)
{
	StewardSlot *slot = begin_write();
	StewardQueryCounters *k;
	ListCell   *lc;

	if (slot == NULL)
		return;
	k = key_for(slot, cmd);
	if (k)
	{
		if (k->calls == 0 || ms < k->min_ms)
			k->min_ms = ms;
		if (ms > k->max_ms)
			k->max_ms = ms;
		k->calls++;
		k->rows += rows;
		k->total_ms += ms;
		k->sumsq_ms += ms * ms;
		k->hist[steward_hist_bucket(ms)]++;
	}
	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		ListCell   *prev;
		bool		seen = false;

		if (rte->rtekind != RTE_RELATION || rte->relkind == RELKIND_VIEW)
			continue;
		foreach(prev, rtable)
		{
			RangeTblEntry *p = lfirst(prev);

			if (p == rte)
				break;
			if (p->rtekind == RTE_RELATION && p->relid == rte->relid)
			{
				seen = true;
				break;
			}
		}
		if (!seen)
			add_table(slot, rte->relid, cmd, rows, ms);
	}
	end_write(slot);
	trace(cmd, ms, rows, 0, query, location, len);
}

static void
steward_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	if (nesting_level == 0)
		nrunning = 0;			/* forget statements an error ended */
	if (tracking() && nrunning < MAX_RUNNING)
	{
		running[nrunning].qd = queryDesc;
		running[nrunning].cmd = command_of(queryDesc->operation);
		running[nrunning].rows = 0;
		INSTR_TIME_SET_CURRENT(running[nrunning].start);
		if (nesting_level == 0)
			current_cmd = running[nrunning].cmd;
		nrunning++;
	}
}

static void
steward_ExecutorRun(STEWARD_EXECUTOR_RUN_PARAMS)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(STEWARD_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(STEWARD_EXECUTOR_RUN_ARGS);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
	/* es_processed restarts at every call: a cursor fetches in batches */
	if (queryDesc->estate)
	{
		int			i;

		for (i = nrunning - 1; i >= 0; i--)
			if (running[i].qd == queryDesc)
			{
				running[i].rows += queryDesc->estate->es_processed;
				break;
			}
	}
}

static void
steward_ExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
steward_ExecutorEnd(QueryDesc *queryDesc)
{
	int			i;

	for (i = nrunning - 1; i >= 0; i--)
		if (running[i].qd == queryDesc)
			break;
	if (i >= 0)
	{
		instr_time	now;
		Running		r = running[i];

		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, r.start);
		memmove(&running[i], &running[i + 1], sizeof(Running) * (nrunning - i - 1));
		nrunning--;
		if (steward_metrics_enabled && queryDesc->estate)
			record(r.cmd, INSTR_TIME_GET_MILLISEC(now),
				   (int64) (r.rows > 0 ? r.rows : queryDesc->estate->es_processed),
				   queryDesc->plannedstmt->rtable, queryDesc->sourceText,
				   queryDesc->plannedstmt->stmt_location, queryDesc->plannedstmt->stmt_len);
		if (nesting_level == 0)
			current_cmd = -1;
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
 * only with steward.track_nested.  The level is restored on error too.
 */
static void
call_nested_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						   ProcessUtilityContext context, ParamListInfo params,
						   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	nesting_level++;
	PG_TRY();
	{
		call_next_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/*
 * Whether a utility statement is timed and counted as UTILITY.  Not
 * PREPARE and DEALLOCATE (bookkeeping of prepared statements, not work),
 * nor EXECUTE: the executor hooks count the statement it runs.
 */
static bool
utility_timed(Node *stmt)
{
	return steward_track_utility && tracking() && steward_metrics != NULL &&
		!IsA(stmt, ExecuteStmt) && !IsA(stmt, PrepareStmt) && !IsA(stmt, DeallocateStmt);
}

/*
 * Start timing a counted utility statement.  At top level it becomes the
 * command an error is charged to (steward_emit_log), until it ends.
 */
static void
utility_begin(instr_time *start)
{
	INSTR_TIME_SET_CURRENT(*start);
	if (nesting_level == 0)
		current_cmd = STEWARD_CMD_UTILITY;
}

/*
 * Record a counted utility statement that ended without error, with the
 * rows its completion tag reports.
 */
static void
utility_end(instr_time start, PlannedStmt *pstmt, const char *queryString,
			QueryCompletion *qc)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	record(STEWARD_CMD_UTILITY, INSTR_TIME_GET_MILLISEC(now), qc ? (int64) qc->nprocessed : 0,
		   NIL, queryString, pstmt->stmt_location, pstmt->stmt_len);
	if (nesting_level == 0)
		current_cmd = -1;
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
	bool		timed;
	instr_time	start;

	if (IsA(stmt, ExecuteStmt))
	{
		call_next_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
		return;
	}
	timed = utility_timed(stmt);
	if (timed)
		utility_begin(&start);
	call_nested_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							   queryEnv, dest, qc);
	if (timed)
		utility_end(start, pstmt, queryString, qc);
}

/*
 * Count a failed statement.  Runs inside error reporting: it must not
 * throw or allocate, and it ignores messages raised while it runs.
 */
static void
steward_emit_log(ErrorData *edata)
{
	if (prev_emit_log)
		prev_emit_log(edata);
	if (in_emit_log || edata->elevel != ERROR || steward_metrics == NULL ||
		LWLockHeldByMe(steward_metrics->lock) ||
		!steward_metrics_enabled || MyBackendType != B_BACKEND || IsParallelWorker() ||
		steward_my_backend_index() < 0)
		return;
	in_emit_log = true;
	{
		/* takes the slot over on first use: no allocation, one short lock */
		StewardSlot *slot = begin_write();

		if (slot != NULL)
		{
			StewardErrorCounters *e;

			e = steward_error_entry(slot->errors, &slot->nerrors, STEWARD_SLOT_ERRORS,
									MyDatabaseId, edata->sqlerrcode);
			if (e != NULL)
			{
				e->count++;
				e->last_at = GetCurrentTimestamp();
				strlcpy(e->last_message, edata->message ? edata->message : "",
						STEWARD_MESSAGE_LEN);
			}
			if (current_cmd >= 0)
			{
				StewardQueryCounters *k = key_for(slot, current_cmd);

				if (k)
					k->errors++;
			}
			end_write(slot);
		}
		trace(current_cmd, 0, 0, edata->sqlerrcode, debug_query_string, -1, 0);
	}
	current_cmd = -1;
	in_emit_log = false;
}

/*
 * Install the hooks (only when preloaded).
 */
void
steward_metrics_hooks_init(void)
{
	int			i;

	for (i = 0; i < STEWARD_NCMDS; i++)
		key_cache[i] = -1;
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
}
