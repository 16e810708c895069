/*-------------------------------------------------------------------------
 *
 * migrate.h
 *		The public header of src/migrate/: what other concerns may know of
 *		the migration runner.
 *
 * Other concerns learn which migration is running (capture and audit
 * record it) and may listen to migration runs (drift refreshes its
 * fingerprints after one).  The runner itself includes no other concern:
 * it calls the listener it was given.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_MIGRATE_H
#define STEWARD_MIGRATE_H

#include "postgres.h"

/*
 * Module and version of the migration whose SQL runs now in this backend,
 * or NULL outside one.
 */
extern const char *steward_migration_module(void);
extern const char *steward_migration_version(void);

/*
 * Called by the runner around a run of migration steps (upgrade, downgrade,
 * migrate), after stamp, and when a no-transaction step is recorded.  Any
 * member may be NULL.
 */
typedef struct StewardMigrationListener
{
	/* before the first step of a run */
	void		(*run_begin) (void);
	/* after the last step of a run; version is the last step's */
	void		(*run_end) (const char *module, const char *version);
	/* stamp: the schema is declared to be as at this version */
	void		(*stamped) (const char *schema, const char *module, const char *version);

	/*
	 * A no-transaction step is being recorded as applied or reverted: its
	 * statements committed one by one before (in this session, in deploy's
	 * worker, or in an earlier session that was interrupted), so what they
	 * touched is what steward.ddl_log attributes to module and version since
	 * the step's last event.  Called before the step's event is written.
	 */
	void		(*outside_done) (const char *module, const char *version);
} StewardMigrationListener;

extern void steward_migration_listen(const StewardMigrationListener *listener);

#endif							/* STEWARD_MIGRATE_H */
