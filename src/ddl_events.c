/*-------------------------------------------------------------------------
 *
 * ddl_events.c
 *		One dispatcher per event trigger event.
 *
 * The extension installs one event trigger per event (ddl_command_start,
 * ddl_command_end, sql_drop) with these C functions.  Each fetches the
 * affected objects once and hands them to every feature that reacts to
 * DDL: naming conventions (conventions.c), injected columns and triggers
 * (inject.c), capture into steward.ddl_log
 * (ddl_capture.c) and fingerprint tracking inside migrations
 * (fingerprint.c).  Later features hook in here rather than
 * adding event triggers of their own.  The functions are SECURITY DEFINER
 * (they write steward's catalogs for whoever runs DDL) with a fixed
 * search_path, and skip events caused by DDL pg_steward issues itself.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include "catalog/namespace.h"
#include "conventions.h"
#include "ddl_capture.h"
#include "ddl_events.h"
#include "executor/spi.h"
#include "fingerprint.h"
#include "inject.h"
#include "fmgr.h"
#include "spi_cache.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

int			steward_ddl_nesting = 0;

PG_FUNCTION_INFO_V1(steward_on_ddl_command_start);
PG_FUNCTION_INFO_V1(steward_on_ddl_command_end);
PG_FUNCTION_INFO_V1(steward_on_sql_drop);

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
	if (steward_ddl_nesting > 0)
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
 * steward.on_ddl_command_start(): before a command runs (conventions that
 * must refuse a command before it starts).
 */
Datum
steward_on_ddl_command_start(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;

	if (!event_wanted(fcinfo, "steward.on_ddl_command_start()"))
		PG_RETURN_VOID();
	trig = (EventTriggerData *) fcinfo->context;
	if (!IsA(trig->parsetree, IndexStmt) && !IsA(trig->parsetree, AlterTableStmt) &&
		!IsA(trig->parsetree, CreateStmt))
		PG_RETURN_VOID();

	SPI_connect();
	steward_conventions_ddl_start(trig);
	SPI_finish();
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
 * Conventions run first: when they rename objects, the identities are read
 * again so that the log and the fingerprints carry the final names.
 */
Datum
steward_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	List	   *objs;

	if (!event_wanted(fcinfo, "steward.on_ddl_command_end()"))
		PG_RETURN_VOID();
	trig = (EventTriggerData *) fcinfo->context;

	SPI_connect();
	objs = fetch_objects(ddl_commands_sql);
	if (objs != NIL && steward_conventions_ddl_end(trig, objs))
		objs = fetch_objects(ddl_commands_sql);
	if (objs != NIL)
		steward_inject_ddl_end(trig, objs);
	if (objs != NIL)
	{
		steward_capture_objects(trig, objs);
		steward_fingerprint_note(objs, false);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * steward.on_sql_drop(): every object a command dropped, cascades included.
 */
Datum
steward_on_sql_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	List	   *objs;

	if (!event_wanted(fcinfo, "steward.on_sql_drop()"))
		PG_RETURN_VOID();
	trig = (EventTriggerData *) fcinfo->context;

	SPI_connect();
	objs = fetch_objects("SELECT classid, objid, objsubid, NULL::text, object_type, "
						 "  coalesce(schema_name, CASE WHEN object_type IN ('policy', 'rule', 'trigger') "
						 "    THEN address_names[1] END), "
						 "  object_identity, false "
						 "FROM pg_catalog.pg_event_trigger_dropped_objects() "
						 "WHERE NOT is_temporary");
	if (objs != NIL)
	{
		steward_capture_objects(trig, objs);
		steward_fingerprint_note(objs, true);
	}
	SPI_finish();
	PG_RETURN_VOID();
}
