/*-------------------------------------------------------------------------
 *
 * ddl_events.c
 *		The DDL event dispatcher: one event trigger per event, any number
 *		of listeners registered by the concerns.
 *
 * The extension installs one event trigger per event (ddl_command_start,
 * ddl_command_end, sql_drop) with the C functions below.  Each fetches the
 * affected objects once and hands them to the listeners the concerns
 * registered in their init, in the order their registrations ask for
 * (conventions, injection, capture, fingerprints: see common.h and
 * ARCHITECTURE.md).  The dispatcher knows no concern.  The functions are
 * SECURITY DEFINER (listeners write steward's catalogs for whoever runs
 * DDL) with a fixed search_path, and skip events caused by DDL that
 * pg_steward issues itself through steward_run_own_ddl().
 *
 *-------------------------------------------------------------------------
 */
#include "common/common.h"

#include "catalog/namespace.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#define STEWARD_MAX_LISTENERS 8

typedef struct ListenerEntry
{
	int			order;
	const char *name;
	StewardDdlListener fn;
} ListenerEntry;

/* Per event, sorted by order; filled by the concerns' inits. */
static ListenerEntry listeners[STEWARD_DDL_NEVENTS][STEWARD_MAX_LISTENERS];
static int	nlisteners[STEWARD_DDL_NEVENTS];

/*
 * Depth of DDL that pg_steward itself issues from a listener; events are
 * ignored while it is > 0, so such DDL never recurses.
 */
static int	own_ddl_nesting = 0;

PG_FUNCTION_INFO_V1(steward_on_ddl_command_start);
PG_FUNCTION_INFO_V1(steward_on_ddl_command_end);
PG_FUNCTION_INFO_V1(steward_on_sql_drop);

/*
 * Register a listener for one event; called from a concern's init (in
 * _PG_init, so once per backend).  Listeners of equal order run in
 * registration order.
 */
void
steward_ddl_listen(StewardDdlEvent event, int order, const char *name,
				   StewardDdlListener listener)
{
	ListenerEntry *list = listeners[event];
	int			n = nlisteners[event];
	int			i;

	if (n >= STEWARD_MAX_LISTENERS)
		elog(ERROR, "too many DDL listeners for one event (adding \"%s\")", name);
	for (i = n; i > 0 && list[i - 1].order > order; i--)
		list[i] = list[i - 1];
	list[i].order = order;
	list[i].name = name;
	list[i].fn = listener;
	nlisteners[event] = n + 1;
}

/*
 * Run steward's own DDL (through SPI, which must be connected) without the
 * event triggers reacting to it.
 */
void
steward_run_own_ddl(const char *sql)
{
	own_ddl_nesting++;
	PG_TRY();
	{
		int			rc = SPI_execute(sql, false, 0);

		if (rc < 0)
			elog(ERROR, "SPI_execute failed (%s): %s", SPI_result_code_string(rc), sql);
	}
	PG_FINALLY();
	{
		own_ddl_nesting--;
	}
	PG_END_TRY();
}


/*
 * Objects in these schemas are never captured or checked: temporary
 * schemas (the DDL commands function names the session's own "pg_temp")
 * and TOAST.
 */
bool
steward_skipped_schema(const char *schema_name)
{
	return schema_name != NULL &&
		(strcmp(schema_name, "pg_temp") == 0 ||
		 strncmp(schema_name, "pg_temp_", 8) == 0 ||
		 strncmp(schema_name, "pg_toast", 8) == 0);
}

/*
 * Refuse a direct call, and say whether the event should be handled: not
 * when pg_steward issued the DDL itself, and not when its catalogs are
 * gone (the event that drops the extension itself).
 */
static bool
event_wanted(FunctionCallInfo fcinfo, const char *fname)
{
	Oid			nsp;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be called by an event trigger", fname),
				 errhint("It runs from pg_steward's event triggers; do not call it directly.")));
	if (own_ddl_nesting > 0)
		return false;
	nsp = get_namespace_oid("steward", true);
	return OidIsValid(nsp) && OidIsValid(get_relname_relid("ddl_log", nsp));
}

/*
 * Run the query (ddl commands or dropped objects) and turn its rows into
 * DdlObjects.  Column order: classid, objid, objsubid, command_tag,
 * object_type, schema_name, object_identity, in_extension.  Policies, rules
 * and triggers have no schema of their own: they get their table's.
 */
static List *
fetch_objects(const char *sql)
{
	List	   *objs = NIL;
	uint64		i;

	steward_exec_cached(sql, 0, NULL, NULL, NULL, SPI_OK_SELECT);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		DdlObject  *o = palloc0(sizeof(DdlObject));
		bool		isnull;

		o->classid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		o->objid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		o->objsubid = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		o->command_tag = SPI_getvalue(tup, desc, 4);
		o->object_type = SPI_getvalue(tup, desc, 5);
		o->schema_name = SPI_getvalue(tup, desc, 6);
		o->object_identity = SPI_getvalue(tup, desc, 7);
		o->in_extension = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull)) && !isnull;
		if (!steward_skipped_schema(o->schema_name))
			objs = lappend(objs, o);
	}
	return objs;
}

/*
 * Call the event's listeners in order.  When one says it changed the
 * objects, read them again (with refetch_sql) for the listeners after it.
 * Nothing is called when the command touched no object we track (except
 * at ddl_command_start, which has none to report).
 */
static void
dispatch(StewardDdlEvent event, EventTriggerData *trig, const char *refetch_sql)
{
	List	   *objs = NIL;
	int			i;

	SPI_connect();
	if (refetch_sql != NULL)
		objs = fetch_objects(refetch_sql);
	for (i = 0; i < nlisteners[event]; i++)
	{
		if (refetch_sql != NULL && objs == NIL)
			break;
		if (listeners[event][i].fn(trig, objs) && refetch_sql != NULL)
			objs = fetch_objects(refetch_sql);
	}
	SPI_finish();
}

/*
 * steward.on_ddl_command_start(): before a command runs (conventions that
 * must refuse a command before it starts).
 */
Datum
steward_on_ddl_command_start(PG_FUNCTION_ARGS)
{
	if (event_wanted(fcinfo, "steward.on_ddl_command_start()"))
		dispatch(STEWARD_DDL_START, (EventTriggerData *) fcinfo->context, NULL);
	PG_RETURN_VOID();
}

static const char *const ddl_commands_sql =
"SELECT classid, objid, objsubid, command_tag, object_type, "
"  coalesce(schema_name, CASE WHEN object_type IN ('policy', 'rule', 'trigger') "
"    THEN (pg_catalog.pg_identify_object_as_address(classid, objid, objsubid))"
"         .object_names[1] END), "
"  object_identity, in_extension "
"FROM pg_catalog.pg_event_trigger_ddl_commands()";

/*
 * steward.on_ddl_command_end(): objects created or altered by a command.
 */
Datum
steward_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	if (event_wanted(fcinfo, "steward.on_ddl_command_end()"))
		dispatch(STEWARD_DDL_END, (EventTriggerData *) fcinfo->context, ddl_commands_sql);
	PG_RETURN_VOID();
}

static const char *const dropped_objects_sql =
"SELECT classid, objid, objsubid, NULL::text, object_type, "
"  coalesce(schema_name, CASE WHEN object_type IN ('policy', 'rule', 'trigger') "
"    THEN address_names[1] END), "
"  object_identity, false "
"FROM pg_catalog.pg_event_trigger_dropped_objects() "
"WHERE NOT is_temporary";

/*
 * steward.on_sql_drop(): every object a command dropped, cascades included.
 */
Datum
steward_on_sql_drop(PG_FUNCTION_ARGS)
{
	if (event_wanted(fcinfo, "steward.on_sql_drop()"))
		dispatch(STEWARD_DDL_DROP, (EventTriggerData *) fcinfo->context, dropped_objects_sql);
	PG_RETURN_VOID();
}
