/*-------------------------------------------------------------------------
 *
 * drift.c
 *		Wiring of the drift concern: capture and fingerprints listen to
 *		DDL events and to migration runs.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "migrate/migrate.h"

static const StewardMigrationListener fingerprint_listener = {
	.run_begin = steward_fingerprint_begin,
	.run_end = steward_fingerprint_refresh,
	.stamped = steward_fingerprint_stamped,
	.outside_done = steward_fingerprint_outside_done,
};

/*
 * Called once from _PG_init.  The rewrite guard judges a migration's
 * statements before they run (its own ProcessUtility hook).  Among the
 * listeners, the guard judges first (a refused command needs no other
 * work); capture records every DDL command after the conventions and
 * injection have given objects their final names (a publication of
 * steward's own catalogs is warned about just before); the fingerprints
 * note what a running migration touched last.
 */
void
steward_drift_init(void)
{
	steward_capture_init();
	steward_guard_init();
	steward_rewrite_guard_init();
	steward_ddl_listen(STEWARD_DDL_START, STEWARD_DDL_ORDER_GUARD, "guard", steward_guard_start);
	steward_ddl_listen(STEWARD_DDL_END, STEWARD_DDL_ORDER_GUARD, "guard", steward_guard_objects);
	steward_ddl_listen(STEWARD_DDL_DROP, STEWARD_DDL_ORDER_GUARD, "guard", steward_guard_objects);
	steward_ddl_listen(STEWARD_DDL_END, STEWARD_DDL_ORDER_CAPTURE, "publication",
					   steward_publication_objects);
	steward_ddl_listen(STEWARD_DDL_END, STEWARD_DDL_ORDER_CAPTURE, "capture",
					   steward_capture_objects);
	steward_ddl_listen(STEWARD_DDL_DROP, STEWARD_DDL_ORDER_CAPTURE, "capture",
					   steward_capture_objects);
	steward_ddl_listen(STEWARD_DDL_END, STEWARD_DDL_ORDER_FINGERPRINTS, "fingerprints",
					   steward_fingerprint_on_end);
	steward_ddl_listen(STEWARD_DDL_DROP, STEWARD_DDL_ORDER_FINGERPRINTS, "fingerprints",
					   steward_fingerprint_on_drop);
	steward_migration_listen(&fingerprint_listener);
}
