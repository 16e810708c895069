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
 * ARCHITECTURE.md).  The dispatcher knows no concern.
 *
 * The event-trigger functions are SECURITY INVOKER on purpose: on entry the
 * dispatcher records the statement's own context -- the role that runs it
 * and its search path, temporary schema included -- so that listeners can
 * resolve the names the user wrote exactly as the statement does
 * (steward_ddl_relation_oid) and run DDL on the user's table with the
 * user's rights (steward_run_ddl_as_caller).  Only then does it become the
 * catalog owner with a pinned search_path (as a SECURITY DEFINER function
 * would) for the listeners, which write steward's catalogs for whoever
 * runs DDL.  Events caused by DDL that pg_steward issues itself are skipped.
 *
 * Each command between its ddl_command_start and ddl_command_end has a
 * frame on a stack; listeners keep what they note at the start in it
 * (steward_ddl_note), so a note belongs to exactly one command.  A frame is
 * popped at the command's end, and dropped with the subtransaction or
 * transaction that fails before the end.
 *
 *-------------------------------------------------------------------------
 */
#include "common/common.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

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

/*
 * The statement an event belongs to, recorded on entry (in the dispatch
 * call's memory): the role that runs it and its search path with the
 * implicit schemas (temporary schema, pg_catalog) where it searches them.
 */
typedef struct CallerContext
{
	Oid			userid;
	int			sec_context;
	List	   *search_path;	/* namespace OIDs, in search order */
	Oid			creation_namespace; /* where an unqualified CREATE goes */
}			CallerContext;

static CallerContext * caller = NULL;

/* One DDL command between its start and end events (TopTransactionContext). */
typedef struct CommandFrame
{
	Node	   *parsetree;
	SubTransactionId subxid;	/* the subtransaction the command started in */
	void	   *notes[STEWARD_DDL_NOTE_SLOTS];
}			CommandFrame;

static List *frames = NIL;		/* innermost first */
static int	nnote_slots = 0;

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
 * Is DDL that pg_steward issues itself (steward_run_own_ddl) running now?
 * The rewrite guard words its refusal for columns steward adds.
 */
bool
steward_running_own_ddl(void)
{
	return own_ddl_nesting > 0;
}

/*
 * Run DDL on a user's object (through SPI, which must be connected) as the
 * role that runs the current DDL command, not as the catalog owner, with
 * the event triggers not reacting to it.  The search_path stays pinned, so
 * sql must name everything schema-qualified.
 */
void
steward_run_ddl_as_caller(const char *sql)
{
	Oid			save_userid;
	int			save_sec;

	if (caller == NULL)
		elog(ERROR, "steward_run_ddl_as_caller called outside a DDL event");
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(caller->userid, caller->sec_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		steward_run_own_ddl(sql);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}

/*
 * The relation a name in the user's statement denotes, resolved as the
 * statement resolves it: a qualified name in its schema (pg_temp meaning
 * the session's temporary schema), an unqualified one along the
 * statement's search path.  InvalidOid when there is none.  Only valid
 * while a listener runs.
 */
Oid
steward_ddl_relation_oid(const RangeVar *rv)
{
	ListCell   *lc;

	if (rv == NULL || caller == NULL)
		return InvalidOid;
	if (rv->schemaname != NULL)
	{
		Oid			nsp = LookupNamespaceNoError(rv->schemaname);

		return OidIsValid(nsp) ? get_relname_relid(rv->relname, nsp) : InvalidOid;
	}
	foreach(lc, caller->search_path)
	{
		Oid			relid = get_relname_relid(rv->relname, lfirst_oid(lc));

		if (OidIsValid(relid))
			return relid;
	}
	return InvalidOid;
}

/*
 * The schema a CREATE of rv puts its object in, as the statement decides
 * it: the named schema, or the statement's creation schema (the first
 * schema of its search path that exists).  InvalidOid for a temporary
 * object or when there is none.  Called outside a listener (from a
 * ProcessUtility hook, which runs in the statement's context), it uses
 * the current search path.
 */
Oid
steward_ddl_creation_namespace(const RangeVar *rv)
{
	Oid			nsp;

	if (rv == NULL || rv->relpersistence == RELPERSISTENCE_TEMP)
		return InvalidOid;
	if (rv->schemaname != NULL)
		nsp = LookupNamespaceNoError(rv->schemaname);
	else if (caller != NULL)
		nsp = caller->creation_namespace;
	else
	{
		/* not in a listener: the statement's own context (ProcessUtility) */
		List	   *path = fetch_search_path(false);

		nsp = path != NIL ? linitial_oid(path) : InvalidOid;
	}
	return OidIsValid(nsp) && !isAnyTempNamespace(nsp) ? nsp : InvalidOid;
}

/*
 * A slot for a listener's per-command note; called from a concern's init.
 */
int
steward_ddl_note_slot(void)
{
	if (nnote_slots >= STEWARD_DDL_NOTE_SLOTS)
		elog(ERROR, "too many DDL note slots");
	return nnote_slots++;
}

/*
 * The note in slot of the command being dispatched (NULL when none), and
 * where to set it: a listener at ddl_command_start stores a pointer to
 * memory it allocated in TopTransactionContext; ddl_command_end of the
 * same command reads it.  Outside a command both are NULL.
 */
void	  **
steward_ddl_note(int slot)
{
	CommandFrame *f;

	if (frames == NIL)
		return NULL;
	f = linitial(frames);
	return &f->notes[slot];
}

/*
 * Open a frame for a command at its ddl_command_start.
 */
static void
frame_push(Node *parsetree)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	CommandFrame *f = palloc0(sizeof(CommandFrame));

	f->parsetree = parsetree;
	f->subxid = GetCurrentSubTransactionId();
	frames = lcons(f, frames);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Make the frame of parsetree the innermost one, dropping frames above it
 * (commands whose end never came: they failed inside a PL/pgSQL exception
 * block's subtransaction that our callback has not seen end yet), and say
 * whether there is one.  A command without a frame (its start event came
 * before our event triggers existed, as in CREATE EXTENSION pg_steward)
 * leaves the stack alone.
 */
static bool
frame_find(Node *parsetree)
{
	ListCell   *lc;

	foreach(lc, frames)
	{
		if (((CommandFrame *) lfirst(lc))->parsetree == parsetree)
		{
			while (linitial(frames) != lfirst(lc))
				frames = list_delete_first(frames);
			return true;
		}
	}
	return false;
}

/*
 * Frames live as long as their command: all go at transaction end, and
 * those of a subtransaction that aborts go with it.
 */
static void
frames_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		frames = NIL;
	caller = NULL;
}

static void
frames_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (frames != NIL && ((CommandFrame *) linitial(frames))->subxid >= mySubid)
		frames = list_delete_first(frames);
	caller = NULL;
}

/*
 * Called once from _PG_init, before the concerns register their listeners.
 */
void
steward_ddl_events_init(void)
{
	RegisterXactCallback(frames_xact_callback, NULL);
	RegisterSubXactCallback(frames_subxact_callback, NULL);
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
 * when pg_steward issued the DDL itself; not in a session of Citus's that
 * a superuser runs (Citus's own connections between nodes, a superuser's
 * DDL replayed: the coordinator judged it already), nor for a statement on
 * a shard or a table Citus converts (citus.c: a non-superuser's session
 * is judged whatever its application_name says); and not when the
 * catalogs are gone (the event that drops the extension itself).
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
	if (own_ddl_nesting > 0 || steward_citus_internal_backend() ||
		steward_citus_owned_statement(((EventTriggerData *) fcinfo->context)->parsetree))
		return false;
	nsp = get_namespace_oid("steward", true);
	return OidIsValid(nsp) && OidIsValid(get_relname_relid("ddl_log", nsp));
}

/*
 * Is the object in row i of the fetched objects Citus's: on a shard or a
 * table Citus builds to convert one (see citus.c)?  Existing objects are looked up; dropped ones by the second
 * of their address names, the name of a relation or of the table an object
 * is on (column 9; for a type, from its qualified name).
 */
static bool
fetched_citus_own(uint64 i, DdlObject *o, bool dropped)
{
	if (!dropped)
		return steward_citus_owned_object(o->classid, o->objid);
	return steward_citus_owned_dropped(o->schema_name,
									   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 9));
}

/*
 * Keep an object unless it is in a temporary or TOAST schema, or (where
 * Citus is) Citus's own; row is its row in SPI_tuptable for a dropped one.
 */
static List *
keep_object(List *objs, DdlObject *o, bool citus, bool dropped, uint64 row)
{
	if (steward_skipped_schema(o->schema_name) ||
		(citus && fetched_citus_own(row, o, dropped)))
		return objs;
	return lappend(objs, o);
}

static const char *const dropped_objects_sql =
"SELECT classid, objid, objsubid, NULL::text, object_type, "
"  coalesce(schema_name, CASE WHEN object_type IN ('policy', 'rule', 'trigger') "
"    THEN address_names[1] END), "
"  object_identity, false, "
"  coalesce(address_names[2], CASE WHEN object_type = 'type' "
"    THEN (pg_catalog.parse_ident(address_names[1], false))[2] END) "
"FROM pg_catalog.pg_event_trigger_dropped_objects() "
"WHERE NOT is_temporary";

/*
 * The objects a command dropped (sql_drop), from
 * pg_event_trigger_dropped_objects(), as DdlObjects.  Column order:
 * classid, objid, objsubid, command_tag, object_type, schema_name,
 * object_identity, in_extension, the second address name.  Policies,
 * rules and triggers have no schema of their own: they get their table's.
 */
static List *
fetch_dropped_objects(void)
{
	List	   *objs = NIL;
	uint64		i;
	bool		citus = steward_citus_present();

	steward_exec_cached(dropped_objects_sql, 0, NULL, NULL, NULL, SPI_OK_SELECT);
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
		o->in_extension = false;
		objs = keep_object(objs, o, citus, true, i);
	}
	return objs;
}

/*
 * The objects a command created or altered (ddl_command_end), as
 * DdlObjects: pg_event_trigger_ddl_commands() called directly rather than
 * through a query, since this runs for every DDL command (a query was a
 * tenth of the cost of a CREATE TABLE in a migration).  A policy, rule or
 * trigger gets the schema of its table, the first of its address names.
 */
static List *
fetch_ddl_commands(void)
{
	List	   *objs = NIL;
	bool		citus = steward_citus_present();
	FmgrInfo	flinfo;
	ReturnSetInfo rsinfo = {0};
	TupleTableSlot *slot;

	LOCAL_FCINFO(fcinfo, 0);

	fmgr_info(F_PG_EVENT_TRIGGER_DDL_COMMANDS, &flinfo);
	rsinfo.type = T_ReturnSetInfo;
	rsinfo.econtext = CreateStandaloneExprContext();
	rsinfo.allowedModes = SFRM_Materialize;
	rsinfo.returnMode = SFRM_Materialize;
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, (Node *) &rsinfo);
	(void) FunctionCallInvoke(fcinfo);
	if (rsinfo.setResult == NULL)
	{
		FreeExprContext(rsinfo.econtext, true);
		return NIL;
	}
	slot = MakeSingleTupleTableSlot(rsinfo.setDesc, &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(rsinfo.setResult, true, false, slot))
	{
		DdlObject  *o = palloc0(sizeof(DdlObject));
		bool		isnull;
		Datum		d;

		slot_getallattrs(slot);
		o->classid = DatumGetObjectId(slot->tts_values[0]);
		o->objid = DatumGetObjectId(slot->tts_values[1]);
		o->objsubid = DatumGetInt32(slot->tts_values[2]);
		o->command_tag = slot->tts_isnull[3] ? NULL : TextDatumGetCString(slot->tts_values[3]);
		o->object_type = slot->tts_isnull[4] ? NULL : TextDatumGetCString(slot->tts_values[4]);
		o->schema_name = slot->tts_isnull[5] ? NULL : TextDatumGetCString(slot->tts_values[5]);
		o->object_identity = slot->tts_isnull[6] ? NULL : TextDatumGetCString(slot->tts_values[6]);
		d = slot_getattr(slot, 8, &isnull);
		o->in_extension = !isnull && DatumGetBool(d);
		if (o->schema_name == NULL && o->object_type != NULL &&
			(strcmp(o->object_type, "policy") == 0 || strcmp(o->object_type, "rule") == 0 ||
			 strcmp(o->object_type, "trigger") == 0))
		{
			ObjectAddress addr = {o->classid, o->objid, o->objsubid};
			List	   *names = NIL;
			List	   *args = NIL;

			(void) getObjectIdentityParts(&addr, &names, &args, true);
			if (names != NIL)
				o->schema_name = linitial(names);
		}
		objs = keep_object(objs, o, citus, false, 0);
	}
	ExecDropSingleTupleTableSlot(slot);
	tuplestore_end(rsinfo.setResult);
	FreeExprContext(rsinfo.econtext, true);
	return objs;
}

/* The number of the event being dispatched (0: none); see below. */
static uint64 current_serial = 0;

/*
 * A number that identifies the event being dispatched, 0 outside one: a
 * listener may keep what it read of steward's catalogs under it (the
 * listeners of one event change none of what another reads, such as
 * schema policies), so that the listeners of one event read it once.
 */
uint64
steward_ddl_event_serial(void)
{
	return current_serial;
}

/*
 * The listener loop of dispatch(), with SPI connected around it.
 */
static void
call_listeners(StewardDdlEvent event, EventTriggerData *trig, List *(*fetch) (void))
{
	List	   *objs = NIL;
	int			i;

	if (nlisteners[event] == 0)
		return;
	SPI_connect();
	if (fetch != NULL)
		objs = fetch();
	for (i = 0; i < nlisteners[event]; i++)
	{
		if (fetch != NULL && objs == NIL)
			break;
		if (listeners[event][i].fn(trig, objs) && fetch != NULL)
			objs = fetch();
	}
	SPI_finish();
}

/*
 * Call the event's listeners in order, as the catalog owner with a pinned
 * search_path, after recording the statement's own role and search path
 * (see the file header).  When a listener says it changed the objects,
 * read them again (with fetch) for the listeners after it.  Nothing
 * is called when the command touched no object we track (except at
 * ddl_command_start, which has none to report).  ddl_command_start opens
 * the command's frame and ddl_command_end closes it.
 */
static void
dispatch(StewardDdlEvent event, EventTriggerData *trig, List *(*fetch) (void))
{
	static uint64 serials = 0;
	uint64		save_serial = current_serial;
	CallerContext me;
	CallerContext *save_caller = caller;
	StewardCatalogAccess ca;
	List	   *explicit_path;
	bool		framed;

	GetUserIdAndSecContext(&me.userid, &me.sec_context);
	me.search_path = fetch_search_path(true);
	explicit_path = fetch_search_path(false);
	me.creation_namespace = explicit_path != NIL ? linitial_oid(explicit_path) : InvalidOid;
	if (event == STEWARD_DDL_START)
		frame_push(trig->parsetree);
	framed = frame_find(trig->parsetree);
	caller = &me;
	current_serial = ++serials;
	steward_catalog_enter(&ca);
	PG_TRY();
	{
		call_listeners(event, trig, fetch);
	}
	PG_FINALLY();
	{
		caller = save_caller;
		current_serial = save_serial;
	}
	PG_END_TRY();
	steward_catalog_leave(&ca);
	if (event == STEWARD_DDL_END && framed)
		frames = list_delete_first(frames);
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


/*
 * steward.on_ddl_command_end(): objects created or altered by a command.
 */
Datum
steward_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	if (event_wanted(fcinfo, "steward.on_ddl_command_end()"))
		dispatch(STEWARD_DDL_END, (EventTriggerData *) fcinfo->context, fetch_ddl_commands);
	PG_RETURN_VOID();
}


/*
 * steward.on_sql_drop(): every object a command dropped, cascades included.
 */
Datum
steward_on_sql_drop(PG_FUNCTION_ARGS)
{
	if (event_wanted(fcinfo, "steward.on_sql_drop()"))
		dispatch(STEWARD_DDL_DROP, (EventTriggerData *) fcinfo->context, fetch_dropped_objects);
	PG_RETURN_VOID();
}
