/*-------------------------------------------------------------------------
 *
 * drift.h
 *		The public header of src/drift/: DDL capture into steward.ddl_log
 *		and the schema fingerprints that steward.check() compares.
 *
 * Drift listens to DDL (through the dispatcher in common/) and to
 * migration runs (through migrate.h); no other concern calls into it, so
 * its public face is its initialiser alone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_DRIFT_H
#define STEWARD_DRIFT_H

#include "postgres.h"

/* Register the capture setting, the ProcessUtility hook and the listeners. */
extern void steward_drift_init(void);

#endif							/* STEWARD_DRIFT_H */
