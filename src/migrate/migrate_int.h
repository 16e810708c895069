/*-------------------------------------------------------------------------
 *
 * migrate_int.h
 *		Private to src/migrate/: module state, catalog access, settings and
 *		the runner's parts shared by the SQL functions (runner.c), the
 *		registration of scripts (register.c), the no-transaction steps a
 *		client runs and their recovery (outside.c), the deploy procedure
 *		(deploy.c), its background worker (worker.c), the catalogs
 *		(catalog.c) and the module lock (modlock.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_MIGRATE_INT_H
#define STEWARD_MIGRATE_INT_H

#include "common/common.h"
#include "fmgr.h"
#include "migrate/migrate.h"

extern int	steward_migration_lock_timeout;
extern int	steward_ddl_lock_timeout;

/*
 * A repeatable script is identified by its description and kept under the
 * version "R__<description>"; no versioned script may have such a version.
 */
#define STEWARD_REPEATABLE_PREFIX "R__"
#define steward_is_repeatable_key(v) \
	(strncmp((v), STEWARD_REPEATABLE_PREFIX, strlen(STEWARD_REPEATABLE_PREFIX)) == 0)

/* One version of a module: its registered script and/or its applied row. */
typedef struct MigStep
{
	char	   *version;
	bool		registered;
	bool		repeatable;		/* kind 'repeatable' (version R__...) */
	bool		transactional;	/* false: a no-transaction step */
	char	   *description;
	char	   *up_sql;
	char	   *down_sql;
	char	   *checksum;
	List	   *requires;		/* char * "module:version" */
	bool		requires_null;	/* registered with requires NULL */
	bool		applied;
	bool		baseline;
	char	   *applied_checksum;
	char	   *applied_down_sql;
	char	   *applied_description;
} MigStep;

/*
 * Everything known of a module: the versioned steps in natural version
 * order, then the repeatable ones in natural order of their description.
 */
typedef struct ModuleState
{
	char	   *module;
	char	   *schema;
	int			nsteps;
	MigStep   **steps;
	int			max_rank;
} ModuleState;

typedef enum TargetKind
{
	TARGET_HEAD,
	TARGET_BASE,
	TARGET_UP,					/* +N */
	TARGET_DOWN,				/* -N */
	TARGET_VERSION,
	TARGET_ONE					/* exactly this version (migrate) */
} TargetKind;

typedef struct Target
{
	TargetKind	kind;
	int			n;
	const char *version;
} Target;

/* One step of a plan: a migration and the direction it runs in. */
typedef struct PlanStep
{
	MigStep    *mig;
	bool		up;
	char	   *sql;			/* templates expanded */
} PlanStep;

/*
 * The migrations whose SQL runs now, innermost first: a migration's SQL may
 * run another module's migrations, and each level must know every module
 * that is in the middle of one (steward_migration_running).
 */
typedef struct RunningMigration
{
	const char *module;
	const char *version;
	struct RunningMigration *outer;
} RunningMigration;

/* A script to register, as register, migrate and register_set take it. */
typedef struct ScriptDef
{
	char	   *version;		/* NULL for a repeatable script until keyed */
	char	   *up_sql;
	char	   *down_sql;
	char	   *description;
	Datum		requires;		/* text[] */
	bool		requires_null;
	bool		repeatable;
	bool		transactional;	/* as asked; the first-line mark also counts */
	char	   *checksum;		/* of up_sql, once checked */
	char		did;			/* stored: 'a'dded, 'r'eplaced, 'u'nchanged */
} ScriptDef;

/* catalog.c: reads and writes of steward's catalogs, as their owner */
extern ModuleState *steward_load_module(const char *module);
extern ModuleState *steward_load_module_header(const char *module);
extern char *steward_applied_checksum(const char *module, const char *version,
									  bool *applied);
extern void steward_define_module_row(const char *module, const char *schema,
									  const char *description);
extern char steward_store_script(const char *module, ScriptDef *def);
extern void steward_store_scripts(const char *module, List *defs, bool fresh);
extern void steward_delete_script(const char *module, const char *version);
extern void steward_restore_applied_script(const char *module, const char *version);
extern void steward_record_applied(ModuleState *st, MigStep *step, double ms,
								   bool baseline, const char *by);
extern void steward_record_reverted(ModuleState *st, MigStep *step);
extern bool steward_hold_records(void);
extern void steward_release_records(bool write);
extern void steward_record_event(const char *module, const char *version,
								 const char *event, const char *by, const char *detail);
extern void steward_record_repair(const char *module, const char *version,
								  const char *up_sql, const char *checksum);
extern int64 steward_ddl_log_high_water(void);
extern bool steward_version_applied(const char *module, const char *version);
extern char *steward_lock_holder(uint32 key1, uint32 key2);
extern bool steward_module_changed_unseen(const char *module);

/* runner.c: arguments, plans and the execution of one step */
extern char *steward_text_arg(FunctionCallInfo fcinfo, int n, const char *name,
							  bool nullable);
extern Target steward_parse_target(const char *target);
extern MigStep *steward_find_step(ModuleState *st, const char *version);
extern bool steward_step_pending(MigStep *s);
extern void steward_mismatch_error(ModuleState *st, MigStep *s);
extern List *steward_upgrade_steps(ModuleState *st, Target t, bool out_of_order);
extern List *steward_make_plan(ModuleState *st, List *migs, bool up);
extern char *steward_step_name(const char *version);
extern double steward_execute_step(ModuleState *st, PlanStep *p, const char *by,
								   const char *target);
extern char *steward_step_detail(double ms, const char *target, bool outside);
extern char *steward_current_role_name(void);
extern void steward_run_begin(void);
extern void steward_run_end(const char *module, const char *version);
extern void steward_migration_enter(RunningMigration *frame, const char *module,
									const char *version);
extern void steward_migration_leave(RunningMigration *frame);
extern const char *steward_migration_running(const char *module);
extern void steward_session_step_begin(const char *module, const char *version);
extern void steward_session_step_end(void);
extern void steward_outside_done(const char *module, const char *version);


/* register.c: checks of a script, and storing it */
extern void steward_check_script(const char *module, const char *version,
								 const char *schema, const char *sql,
								 const char *which, bool transactional);
extern char steward_register_script(const char *module, ScriptDef *def);

/* modlock.c */
extern void steward_lock_module(const char *module);
extern void steward_lock_module_session(const char *module);
extern void steward_unlock_module_session(const char *module);
extern bool steward_module_session_locked(const char *module);
extern void steward_wait_step_lock(const char *module);
extern bool steward_step_lock_free(const char *module);
extern void steward_hold_step_lock(const char *module);
extern void steward_release_step_lock(const char *module);

/* outside.c: no-transaction steps a client runs, and their recovery */
extern char *steward_statement_key(const char *text, int len);
extern void steward_step_recovery(const char *module, const char *version, const char *sql,
								  List **drops, List **done);

/*
 * worker.c: a no-transaction step's statements, run one by one as
 * top-level statements by a background worker; what they did.
 */
typedef struct OutsideResult
{
	bool		ok;
	int			nstatements;
	int			failed_statement;	/* 1-based; 0 when ok */
	int			sqlerrcode;
	char	   *message;
	char	   *detail;			/* NULL when none */
	char	   *hint;			/* NULL when none */
	double		ms;
} OutsideResult;

extern void steward_run_outside(const char *module, const char *version,
								const char *sql, OutsideResult *res);
extern PGDLLEXPORT void steward_deploy_worker_main(Datum main_arg);

#endif							/* STEWARD_MIGRATE_INT_H */
