/*-------------------------------------------------------------------------
 *
 * pg_steward.h
 *		Declarations shared by every pg_steward unit: the module entry
 *		points that _PG_init wires together and the preload check.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_STEWARD_H
#define PG_STEWARD_H

#include "postgres.h"

#define STEWARD_VERSION "0.1"

/* True when the library was loaded through shared_preload_libraries. */
extern bool steward_preloaded;

/*
 * Raise a clear error when a feature that needs shared_preload_libraries is
 * used in a server that loaded the library on demand.
 */
extern void steward_require_preload(const char *feature);

/* Module initialisers, called once from _PG_init. */
extern void steward_migrate_init(void);
extern void steward_ddl_capture_init(void);
extern void steward_conventions_init(void);
extern void steward_metrics_init(void);
extern void steward_audit_init(void);

#endif							/* PG_STEWARD_H */
