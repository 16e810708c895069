/*-------------------------------------------------------------------------
 *
 * common.h
 *		The public header of src/common/: what every concern may use.
 *
 * common/ knows no concern.  It holds the library entry point (which only
 * calls each concern's init), the PostgreSQL version shims (compat.h), the
 * DDL event dispatcher with its listener registry, session-lifetime SPI
 * plans and the switch to the catalog owner for steward's own statements.
 * See ARCHITECTURE.md for how they fit together.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_COMMON_H
#define STEWARD_COMMON_H

#include "postgres.h"

#include "commands/event_trigger.h"
#include "common/compat.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "nodes/primnodes.h"

#define STEWARD_VERSION "0.1"

/* ---- pg_steward.c: entry point ---- */

/* True when the library was loaded through shared_preload_libraries. */
extern bool steward_preloaded;

/*
 * Raise a clear error when a feature that needs shared_preload_libraries is
 * used in a server that loaded the library on demand.
 */
extern void steward_require_preload(const char *feature);

/*
 * Refuse, with PostgreSQL's read-only error (SQLSTATE 25006), a steward
 * function that writes (catalogs, user tables, triggers) when the
 * transaction is read-only, as it always is on a hot standby; and one that
 * changes only shared memory while the server is in recovery.  function
 * is what the user called, e.g. "steward.upgrade()".
 */
extern void steward_require_writable(const char *function);
extern void steward_require_primary(const char *function);

/*
 * Run fn(arg) in a subtransaction of its own, committed when fn returns.
 * An error of SQLSTATE caught is rolled back with the subtransaction and
 * returned, so the caller can say what it means there; any other error is
 * raised again.  NULL when fn succeeded.
 */
extern ErrorData *steward_try_in_subxact(void (*fn) (void *), void *arg, int caught);

/*
 * Each concern's initialiser, defined in that concern and called once from
 * _PG_init in this order.  They are declared here so that common/ needs to
 * include no concern's header.
 */
extern void steward_conventions_init(void);
extern void steward_migrate_init(void);
extern void steward_drift_init(void);
extern void steward_audit_init(void);
extern void steward_metrics_init(void);

/* ---- spi_cache.c: plans of steward's own fixed statements ---- */

extern SPIPlanPtr steward_cached_plan(const char *sql, int nargs, Oid *types);
extern int	steward_exec_cached(const char *sql, int nargs, Oid *types, Datum *values,
								const char *nulls, int expected);

/* ---- catalog_access.c: steward's statements as the catalog owner ---- */

typedef struct StewardCatalogAccess
{
	Oid			save_userid;
	int			save_sec;
	int			nestlevel;
} StewardCatalogAccess;

extern void steward_catalog_enter(StewardCatalogAccess *ca);
extern void steward_catalog_leave(StewardCatalogAccess *ca);
extern int	steward_catalog_exec(const char *sql, int nargs, const char **args, int expected);
extern Datum steward_list_to_array(List *list, Oid elemtype);

/* ---- ddl_events.c: the DDL event dispatcher ---- */

/* One object a DDL command created, altered or dropped. */
typedef struct DdlObject
{
	Oid			classid;
	Oid			objid;
	int32		objsubid;
	char	   *command_tag;
	char	   *object_type;
	char	   *schema_name;	/* NULL for objects outside schemas */
	char	   *object_identity;
	bool		in_extension;
} DdlObject;

/* The three events pg_steward has an event trigger for. */
typedef enum StewardDdlEvent
{
	STEWARD_DDL_START,			/* ddl_command_start: objs is NIL */
	STEWARD_DDL_END,			/* ddl_command_end: created or altered objects */
	STEWARD_DDL_DROP,			/* sql_drop: dropped objects, cascades
								 * included */
	STEWARD_DDL_NEVENTS
} StewardDdlEvent;

/*
 * A listener.  It runs with SPI connected, inside the event trigger's
 * SECURITY DEFINER context.  Returning true says it renamed or otherwise
 * changed the objects: the dispatcher reads them again before calling the
 * next listener, so later listeners see the final names.
 */
typedef bool (*StewardDdlListener) (EventTriggerData *trig, List *objs);

/*
 * Listener order within one event (lower runs first); documented in
 * ARCHITECTURE.md.  The guard refuses before anything else runs,
 * conventions rename before anything records a name,
 * injection adds columns before capture and fingerprints read the table,
 * audit gives new partitions their parent's triggers before fingerprints
 * read them.
 */
#define STEWARD_DDL_ORDER_GUARD			5
#define STEWARD_DDL_ORDER_CONVENTIONS	10
#define STEWARD_DDL_ORDER_INJECTION		20
#define STEWARD_DDL_ORDER_AUDIT			25
#define STEWARD_DDL_ORDER_CAPTURE		30
#define STEWARD_DDL_ORDER_FINGERPRINTS	40

extern void steward_ddl_events_init(void);
extern void steward_ddl_listen(StewardDdlEvent event, int order, const char *name,
							   StewardDdlListener listener);
extern void steward_run_own_ddl(const char *sql);
extern void steward_run_ddl_as_caller(const char *sql);
extern bool steward_running_own_ddl(void);
extern bool steward_skipped_schema(const char *schema_name);
extern uint64 steward_ddl_event_serial(void);

/*
 * Names in the user's statement, resolved as the statement resolves them
 * (its search path and temporary schema), not under the listeners' pinned
 * search_path; valid while a listener runs.
 */
extern Oid	steward_ddl_relation_oid(const RangeVar *rv);
extern Oid	steward_ddl_creation_namespace(const RangeVar *rv);

/*
 * Per-command notes: a slot per listener (taken in its init), holding a
 * pointer (to TopTransactionContext memory) that lives from the command's
 * ddl_command_start to its ddl_command_end, or until it fails.
 */
#define STEWARD_DDL_NOTE_SLOTS	4
extern int	steward_ddl_note_slot(void);
extern void **steward_ddl_note(int slot);

/* ---- citus.c: Citus's own work (shards, DDL it replays) ---- */

extern bool steward_citus_internal_backend(void);
extern bool steward_citus_present(void);
extern Oid	steward_citus_shard_table(Oid nsp, const char *relname, uint64 *shardid);
extern bool steward_citus_first_copy(uint64 shardid);
extern bool steward_citus_owned(Oid relid);
extern bool steward_citus_owned_object(Oid classid, Oid objid);
extern bool steward_citus_owned_dropped(const char *schema, const char *second_name);
extern bool steward_citus_owned_statement(Node *stmt);
extern bool steward_citus_table_bytes(Oid relid, int64 *bytes);

#endif							/* STEWARD_COMMON_H */
