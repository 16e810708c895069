/*-------------------------------------------------------------------------
 *
 * migrate_int.h
 *		Private to src/migrate/: module state, catalog access and settings
 *		shared by the runner (runner.c), its catalogs (catalog.c) and the
 *		module lock (modlock.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_MIGRATE_INT_H
#define STEWARD_MIGRATE_INT_H

#include "common/common.h"
#include "migrate/migrate.h"

extern int	steward_migration_lock_timeout;
extern int	steward_ddl_lock_timeout;

/* One version of a module: its registered script and/or its applied row. */
typedef struct MigStep
{
	char	   *version;
	bool		registered;
	char	   *description;
	char	   *up_sql;
	char	   *down_sql;
	char	   *checksum;
	List	   *requires;		/* char * "module:version" */
	bool		applied;
	bool		baseline;
	char	   *applied_checksum;
	char	   *applied_down_sql;
	char	   *applied_description;
} MigStep;

/* Everything known of a module, steps in natural version order. */
typedef struct ModuleState
{
	char	   *module;
	char	   *schema;
	int			nsteps;
	MigStep   **steps;
	int			max_rank;
} ModuleState;

/* catalog.c: reads and writes of steward's catalogs, as their owner */
extern ModuleState *steward_load_module(const char *module);
extern ModuleState *steward_load_module_header(const char *module);
extern char *steward_applied_checksum(const char *module, const char *version,
									  bool *applied);
extern void steward_define_module_row(const char *module, const char *schema,
									  const char *description);
extern void steward_store_script(const char *module, const char *version,
								 const char *up_sql, const char *down_sql,
								 const char *description, const char *checksum,
								 Datum requires, bool requires_null);
extern void steward_record_applied(ModuleState *st, MigStep *step, double ms,
								   bool baseline, const char *by);
extern void steward_record_reverted(ModuleState *st, MigStep *step);
extern void steward_record_event(const char *module, const char *version,
								 const char *event, const char *by, const char *detail);
extern void steward_record_repair(const char *module, const char *version,
								  const char *up_sql, const char *checksum);
extern int64 steward_ddl_log_high_water(void);
extern bool steward_version_applied(const char *module, const char *version);
extern char *steward_lock_holder(uint32 key1, uint32 key2);
extern bool steward_module_changed_unseen(const char *module);

/* runner.c */
extern const char *steward_migration_running(const char *module);

/* modlock.c */
extern void steward_lock_module(const char *module);

#endif							/* STEWARD_MIGRATE_INT_H */
