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
 * Two kinds of caller are refused.  A migration's own SQL may not change
 * its module: the run around it records the step after the SQL returns,
 * over whatever the SQL did.  And a REPEATABLE READ or SERIALIZABLE
 * transaction may not wait for another runner (it is refused before
 * waiting), nor go on when another runner committed after it took its
 * snapshot: that snapshot would not show what the other runner applied,
 * and it would apply it again.
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
/* 'stwS': the step lock, held by deploy's worker while it runs */
#define STEWARD_STEP_LOCK_KEY1 0x73747753

/*
 * Refuse a call from inside a running migration of the same module: the
 * run has loaded the module's state and records its step when the SQL
 * returns, so a nested upgrade, downgrade, stamp or register would leave
 * the catalog saying one thing and the run reporting another.
 */
static void
refuse_nested_call(const char *module)
{
	const char *version = steward_migration_running(module);

	if (version != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot change module \"%s\" from inside its own migration %s",
						module, version),
				 errdetail("Migration SQL called a steward function that changes the module (upgrade, downgrade, migrate, stamp, repair, register, define_module or dry_run)."),
				 errhint("Call it from the deployment, before or after the migration, not from the migration's SQL.")));
}

/*
 * The error for a transaction whose snapshot cannot see another runner's
 * work (REPEATABLE READ, SERIALIZABLE): holder names the runner it would
 * have waited for, NULL when that runner has committed already.  A
 * serialization failure, since the same call in a new transaction, or in
 * READ COMMITTED, succeeds.
 */
static void
snapshot_error(const char *module, const char *holder)
{
	const char *level = XactIsoLevel == XACT_SERIALIZABLE ? "SERIALIZABLE" : "REPEATABLE READ";
	const char *hint = "Run migrations in READ COMMITTED (the default): a runner then waits for the other session and skips what it applied.";

	if (holder != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("cannot wait for another migration of module \"%s\" in a %s transaction",
						module, level),
				 errdetail("The lock is held by %s; once it commits, this transaction's snapshot would not show what it applied, and the migrations would run again.",
						   holder),
				 errhint("%s", hint)));
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("module \"%s\" was migrated by another session after this %s transaction took its snapshot",
					module, level),
			 errdetail("This transaction's snapshot does not show what that session applied, so the migrations would run again."),
			 errhint("%s", hint)));
}

/* wait_for_lock's acquisition, run by steward_try_in_subxact */
typedef struct ModuleLockWait
{
	LOCKTAG    *tag;
	bool		session;
} ModuleLockWait;

static void
acquire_with_timeout(void *arg)
{
	ModuleLockWait *w = arg;
	int			nestlevel = NewGUCNestLevel();
	char		timeout[32];

	snprintf(timeout, sizeof(timeout), "%d", steward_migration_lock_timeout);
	(void) set_config_option("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) LockAcquire(w->tag, ExclusiveLock, w->session, false);
	AtEOXact_GUC(true, nestlevel);
}

/*
 * steward_lock_module's wait, for when the lock is taken: bounded by
 * steward.migration_lock_timeout, whose expiry names the holder.
 */
static void
wait_for_lock(LOCKTAG *tag, const char *module, uint32 key2, bool session)
{
	ModuleLockWait w = {tag, session};

	if (steward_try_in_subxact(acquire_with_timeout, &w, ERRCODE_LOCK_NOT_AVAILABLE) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not lock migration module \"%s\": timed out after %d ms",
						module, steward_migration_lock_timeout),
				 errdetail("The lock is held by %s.",
						   steward_lock_holder(STEWARD_LOCK_KEY1, key2)),
				 errhint("Wait for that migration to finish, or raise steward.migration_lock_timeout.")));
}

/*
 * The module lock's tag: key2 (returned) is the hash of the name, which is
 * hashtext(module), so that clients can take the same lock with
 * pg_advisory_lock(1937012580, hashtext(module)).
 */
static uint32
module_lock_tag(const char *module, LOCKTAG *tag)
{
	uint32		key2 = DatumGetUInt32(hash_any((const unsigned char *) module, strlen(module)));

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, STEWARD_LOCK_KEY1, key2, 2);
	return key2;
}

/*
 * The lock is taken by a runner in a no-transaction step (deploy's worker,
 * or a client between begin_step and record_step: both hold the step
 * lock).  Such a step is typically CREATE INDEX CONCURRENTLY, which waits
 * for every transaction holding a snapshot: this one, waiting here for the
 * module lock, would hold one, and the build and this call would stall
 * each other until steward.migration_lock_timeout failed this call.  So
 * it fails now instead.
 */
static void
refuse_during_step(const char *module, uint32 key2)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("module \"%s\" is running a no-transaction step in another session", module),
			 errdetail("The lock is held by %s.  A statement such as CREATE INDEX CONCURRENTLY waits for every transaction that holds a snapshot, and waiting for the module's lock inside this transaction would hold one.",
					   steward_lock_holder(STEWARD_LOCK_KEY1, key2)),
			 errhint("Run this again when that step is done, or deploy with CALL steward.deploy('%s') or the pg_steward program, which wait outside a transaction.",
					 module)));
}

/*
 * Take the module's lock, waiting at most steward.migration_lock_timeout.
 * A transaction that reads with one snapshot throughout must neither wait
 * (refused at once) nor go on when another runner committed after its
 * snapshot was taken.
 */
void
steward_lock_module(const char *module)
{
	uint32		key2;
	LOCKTAG		tag;
	LockAcquireResult res;

	refuse_nested_call(module);
	key2 = module_lock_tag(module, &tag);
	res = LockAcquire(&tag, ExclusiveLock, false, true);
	if (res == LOCKACQUIRE_NOT_AVAIL && IsolationUsesXactSnapshot())
		snapshot_error(module, steward_lock_holder(STEWARD_LOCK_KEY1, key2));
	if (res == LOCKACQUIRE_NOT_AVAIL && !steward_step_lock_free(module))
		refuse_during_step(module, key2);
	if (res == LOCKACQUIRE_NOT_AVAIL)
		wait_for_lock(&tag, module, key2, false);
	else if (res == LOCKACQUIRE_OK && IsolationUsesXactSnapshot() &&
			 steward_module_changed_unseen(module))
		snapshot_error(module, NULL);
}

/*
 * Take the module's lock for the session (CALL steward.deploy): held
 * across the transactions of a deploy until steward_unlock_module_session,
 * which the caller must also call on error, since a session lock outlives
 * a failed transaction.  The caller waits holding no snapshot, so that a
 * CONCURRENTLY build of the runner it waits for is not waiting for it.
 */
void
steward_lock_module_session(const char *module)
{
	LOCKTAG		tag;
	uint32		key2;

	refuse_nested_call(module);
	key2 = module_lock_tag(module, &tag);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		wait_for_lock(&tag, module, key2, true);
}

void
steward_unlock_module_session(const char *module)
{
	LOCKTAG		tag;

	(void) module_lock_tag(module, &tag);
	(void) LockRelease(&tag, ExclusiveLock, true);
}

/*
 * Does this session hold the module's lock as a session lock (the
 * pg_steward program takes it with pg_try_advisory_lock)?
 */
bool
steward_module_session_locked(const char *module)
{
	LOCKTAG		tag;
	LockAcquireResult res;

	(void) module_lock_tag(module, &tag);
	res = LockAcquire(&tag, ExclusiveLock, true, true);
	if (res == LOCKACQUIRE_NOT_AVAIL)
		return false;
	(void) LockRelease(&tag, ExclusiveLock, true);
	return res == LOCKACQUIRE_ALREADY_HELD || res == LOCKACQUIRE_ALREADY_CLEAR;
}

/*
 * The step lock: deploy's background worker holds it from its start until
 * it exits, so that a worker that outlives its deploy (terminated, its
 * worker left running) is waited for by the next runner of the module,
 * which holds the module lock by then; a client holds it from begin_step
 * to record_step.  A runner that would wait for the module lock inside a
 * transaction while it is held is refused at once (refuse_during_step).
 * Same keys as the module lock but key1.
 */
static void
step_lock_tag(const char *module, LOCKTAG *tag)
{
	uint32		key2 = DatumGetUInt32(hash_any((const unsigned char *) module, strlen(module)));

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, STEWARD_STEP_LOCK_KEY1, key2, 2);
}

/*
 * deploy, holding no snapshot: wait until no step of the module runs.  The
 * waiters and testers below take the step lock in SHARE mode, which only
 * the EXCLUSIVE holders (a worker, a client between begin_step and
 * record_step) conflict with: two runners testing at once do not see each
 * other as a running step.
 */
void
steward_wait_step_lock(const char *module)
{
	LOCKTAG		tag;

	step_lock_tag(module, &tag);
	(void) LockAcquire(&tag, ShareLock, true, false);
	(void) LockRelease(&tag, ShareLock, true);
}

/* Does no worker or client run a step of the module now? */
bool
steward_step_lock_free(const char *module)
{
	LOCKTAG		tag;

	step_lock_tag(module, &tag);
	if (LockAcquire(&tag, ShareLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	(void) LockRelease(&tag, ShareLock, true);
	return true;
}

/* begin_step's step ends (record_step, a failed statement, a new begin_step) */
void
steward_release_step_lock(const char *module)
{
	LOCKTAG		tag;

	step_lock_tag(module, &tag);
	(void) LockRelease(&tag, ExclusiveLock, true);
}

/*
 * deploy's worker: hold the step lock until the process exits; begin_step:
 * until the step ends (steward_release_step_lock) or the session does.
 */
void
steward_hold_step_lock(const char *module)
{
	LOCKTAG		tag;

	step_lock_tag(module, &tag);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
}
