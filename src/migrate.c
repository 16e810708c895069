/*-------------------------------------------------------------------------
 *
 * migrate.c
 *		Migration runner: ordering, locking, executing and recording
 *		versioned migrations.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include <limits.h>

#include "migrate.h"
#include "utils/guc.h"

int			steward_migration_lock_timeout = 30000;
int			steward_ddl_lock_timeout = 5000;

/*
 * Register the runner's settings.  Both are user-settable so that a
 * deployment script can raise them for one long migration.
 */
void
steward_migrate_init(void)
{
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
