/*-------------------------------------------------------------------------
 *
 * modlock.c
 *		The per-module migration lock.
 *
 * Runners of one module serialise on a transaction-scoped advisory lock,
 * the same one pg_advisory_xact_lock(key1, key2) takes, with key1 fixed
 * for pg_steward and key2 a hash of the module name, so operators can see
 * it in pg_locks (locktype advisory, classid = key1, objid = key2,
 * objsubid = 2).  The wait is bounded by steward.migration_lock_timeout;
 * on timeout the error names the session holding the lock, looked up
 * before the wait started (after an error no query may run).
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include "common/hashfn.h"
#include "migrate.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/guc.h"

/* 'stwd' */
#define STEWARD_LOCK_KEY1 0x73747764

/*
 * Take the module's lock, waiting at most steward.migration_lock_timeout.
 */
void
steward_lock_module(const char *module)
{
	uint32		key2 = DatumGetUInt32(hash_any((const unsigned char *) module, strlen(module)));
	LOCKTAG		tag;
	char	   *holder;
	int			nestlevel;
	char		timeout[32];
	MemoryContext oldcxt = CurrentMemoryContext;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, STEWARD_LOCK_KEY1, key2, 2);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return;

	holder = steward_lock_holder(STEWARD_LOCK_KEY1, key2);

	nestlevel = NewGUCNestLevel();
	snprintf(timeout, sizeof(timeout), "%d", steward_migration_lock_timeout);
	(void) set_config_option("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	PG_TRY();
	{
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not lock migration module \"%s\": timed out after %d ms",
						module, steward_migration_lock_timeout),
				 errdetail("The lock is held by %s.", holder),
				 errhint("Wait for that migration to finish, or raise steward.migration_lock_timeout.")));
	}
	PG_END_TRY();
	AtEOXact_GUC(true, nestlevel);
}
