/*-------------------------------------------------------------------------
 *
 * pg_steward.c
 *		Library entry point.  _PG_init only wires the concerns together:
 *		each registers its own settings, hooks and DDL listeners in its
 *		init (declared in common.h, so common/ includes no concern).
 *		Also the refusals every concern shares: a feature that needs the
 *		preload, a write in a read-only transaction or on a hot standby.
 *
 *-------------------------------------------------------------------------
 */
#include "common/common.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/resowner.h"

PG_MODULE_MAGIC;

bool		steward_preloaded = false;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(steward_version);
PG_FUNCTION_INFO_V1(steward_require_writable_sql);

/*
 * _PG_init runs both when the library is preloaded (postmaster start) and
 * when a backend loads it on demand (first call of one of its functions).
 * Everything that only works when preloaded is guarded by steward_preloaded,
 * so on-demand loading never crashes, it only refuses those features.
 */
void
_PG_init(void)
{
	steward_preloaded = process_shared_preload_libraries_in_progress;

	steward_ddl_events_init();
	steward_conventions_init();
	steward_migrate_init();
	steward_drift_init();
	steward_audit_init();
	steward_metrics_init();

	MarkGUCPrefixReserved("steward");
}

/*
 * Error out, with the postgresql.conf line to add, when a feature needs the
 * library to be in shared_preload_libraries and it is not.
 */
void
steward_require_preload(const char *feature)
{
	if (!steward_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s requires pg_steward to be loaded via shared_preload_libraries",
						feature),
				 errhint("Add shared_preload_libraries = 'pg_steward' to postgresql.conf and restart the server.")));
}

/*
 * Refuse a function that writes when the transaction is read-only.  It is
 * called before the function reads its arguments or takes a lock, so that
 * on a hot standby the error names what the user called, instead of the
 * first statement that happens to write deep inside it (a catalog INSERT,
 * or a migration's CREATE TABLE reported as the migration's failure), and
 * so that a call that would write nothing (an upgrade with nothing pending)
 * does not seem to work on a server where nothing can.
 */
void
steward_require_writable(const char *function)
{
	if (!XactReadOnly)
		return;
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot execute %s in a read-only transaction", function),
				 errdetail("This server is a hot standby: steward's catalogs, the audit log and the tables migrations change are written on the primary and reach the standby by replication."),
				 errhint("Run %s on the primary.", function)));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("cannot execute %s in a read-only transaction", function),
			 errhint("Run it in a read-write transaction (not after BEGIN READ ONLY or SET default_transaction_read_only = on).")));
}

/*
 * Refuse a function that changes no table, only shared memory (such as
 * reset_metrics), while the server is in recovery: on a standby every
 * steward function that changes something refuses, whatever it changes.
 * Outside recovery a read-only transaction may call it.
 */
void
steward_require_primary(const char *function)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot execute %s during recovery", function),
				 errdetail("This server is a hot standby: no steward function changes anything on a standby, its query metrics included (they go on counting the standby's own statements)."),
				 errhint("Reset this server's metrics once it is promoted; steward.reset_metrics() on the primary resets only the primary's.")));
}

/*
 * One place for the subtransaction dance a caught error needs (see
 * common.h): the caller's memory context and resource owner are restored
 * on both ways out, and the error is copied into the caller's context
 * before the subtransaction's memory goes.
 */
ErrorData *
steward_try_in_subxact(void (*fn) (void *), void *arg, int caught)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	if (edata != NULL && edata->sqlerrcode != caught)
		ReThrowError(edata);
	return edata;
}

/*
 * steward.require_writable(function text): steward_require_writable for
 * the functions written in SQL (manage_schema, enable_audit, capture,
 * ...), which call it first.
 */
Datum
steward_require_writable_sql(PG_FUNCTION_ARGS)
{
	steward_require_writable(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/*
 * steward.version() — the version of the loaded shared library, which can
 * differ from the installed SQL version until ALTER EXTENSION ... UPDATE.
 */
Datum
steward_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(STEWARD_VERSION));
}
