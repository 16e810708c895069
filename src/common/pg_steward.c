/*-------------------------------------------------------------------------
 *
 * pg_steward.c
 *		Library entry point.  _PG_init only wires the concerns together:
 *		each registers its own settings, hooks and DDL listeners in its
 *		init (declared in common.h, so common/ includes no concern).
 *
 *-------------------------------------------------------------------------
 */
#include "common/common.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

bool		steward_preloaded = false;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(steward_version);

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
 * steward.version() — the version of the loaded shared library, which can
 * differ from the installed SQL version until ALTER EXTENSION ... UPDATE.
 */
Datum
steward_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(STEWARD_VERSION));
}
