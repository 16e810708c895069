/*-------------------------------------------------------------------------
 *
 * modlock.c
 *		The per-module migration lock.
 *
 * Runners of one module serialise on a transaction-scoped advisory lock,
 * the same one pg_advisory_xact_lock(key1, key2) takes, with key1 fixed
 * for pg_steward and key2 a hash of the module name, so operators can see
 * it in pg_locks (locktype advisory, classid = key1, objid = key2,
 * objsubid = 2).  The wait is bounded by steward.migration_lock_timeout.
 * It runs in a subtransaction so that, on timeout, the subtransaction can
 * be rolled back and the session holding the lock looked up and named in
 * the error; the lock, once granted, passes to the parent transaction.
 * The uncontended path is one conditional lock call.
 *
 *-------------------------------------------------------------------------
 */
#include "migrate_int.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/guc.h"
#include "utils/resowner.h"

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
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, STEWARD_LOCK_KEY1, key2, 2);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		int			nestlevel = NewGUCNestLevel();
		char		timeout[32];

		snprintf(timeout, sizeof(timeout), "%d", steward_migration_lock_timeout);
		(void) set_config_option("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
		AtEOXact_GUC(true, nestlevel);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not lock migration module \"%s\": timed out after %d ms",
						module, steward_migration_lock_timeout),
				 errdetail("The lock is held by %s.",
						   steward_lock_holder(STEWARD_LOCK_KEY1, key2)),
				 errhint("Wait for that migration to finish, or raise steward.migration_lock_timeout.")));
	}
	PG_END_TRY();
}
