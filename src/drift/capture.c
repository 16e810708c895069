/*-------------------------------------------------------------------------
 *
 * capture.c
 *		Record every DDL command in steward.ddl_log, one row per object.
 *
 * The event trigger knows which objects a command touched but not the text
 * of the statement, which may be one of many in a query string (a psql -f
 * script, a migration run through SPI).  A ProcessUtility hook therefore
 * remembers the text of the utility statement being executed (its
 * location and length in the query string, as pg_stat_statements uses
 * them); without the preload the hook is not in place for the first DDL of
 * a session and the whole top-level query string is logged instead.
 * Inside a migration the rows carry its module and version; inside an
 * extension script, the extension's name.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "migrate/migrate.h"

static bool steward_ddl_capture = true;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* The utility statement being executed now (innermost). */
static const char *utility_query = NULL;
static int	utility_location = -1;
static int	utility_length = 0;

/*
 * Remember the statement's text around its execution, restoring the outer
 * statement's afterwards (utility statements nest: CREATE SCHEMA with
 * elements, DDL inside functions or migrations).
 */
static void
steward_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					   ProcessUtilityContext context, ParamListInfo params,
					   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	const char *save_query = utility_query;
	int			save_location = utility_location;
	int			save_length = utility_length;

	utility_query = queryString;
	utility_location = pstmt->stmt_location;
	utility_length = pstmt->stmt_len;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		utility_query = save_query;
		utility_location = save_location;
		utility_length = save_length;
	}
	PG_END_TRY();
}

/*
 * Text of the DDL statement running now, trimmed of surrounding blanks.
 */
static char *
current_command_text(void)
{
	const char *q = utility_query ? utility_query : debug_query_string;
	int			start = 0;
	int			len;

	if (q == NULL)
		return NULL;
	len = strlen(q);
	if (utility_query != NULL && utility_location >= 0 && utility_location <= len)
	{
		start = utility_location;
		if (utility_length > 0 && start + utility_length <= len)
			len = start + utility_length;
	}
	while (start < len && isspace((unsigned char) q[start]))
		start++;
	while (len > start && (isspace((unsigned char) q[len - 1]) || q[len - 1] == ';'))
		len--;
	return pnstrdup(q + start, len - start);
}

/*
 * Register the capture setting and the ProcessUtility hook.
 */
void
steward_capture_init(void)
{
	DefineCustomBoolVariable("steward.ddl_capture",
							 "Record DDL commands in steward.ddl_log.",
							 "Superuser only; turn off for a restore whose DDL is not drift.",
							 &steward_ddl_capture,
							 true, PGC_SUSET, 0,
							 NULL, NULL, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = steward_ProcessUtility;
}

/*
 * Insert one steward.ddl_log row per object: the listener for
 * ddl_command_end and sql_drop.  Called by the dispatcher, already
 * SECURITY DEFINER, with SPI connected.  Changes no object.
 */
bool
steward_capture_objects(EventTriggerData *trig, List *objs)
{
	Oid			types[11] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[11];
	char		nulls[11];
	const char *args[11];
	char	   *extension = NULL;
	ListCell   *lc;
	int			i;

	if (!steward_ddl_capture)
		return false;
	if (creating_extension)
		extension = get_extension_name(CurrentExtensionObject);

	args[4] = current_command_text();
	args[5] = GetUserNameFromId(GetOuterUserId(), false);
	args[6] = application_name;
	args[7] = steward_migration_module();
	args[8] = steward_migration_version();
	/* break-glass: allowed by steward.allow_ddl outside a migration */
	args[10] = steward_allow_ddl && args[7] == NULL ? "true" : "false";
	foreach(lc, objs)
	{
		DdlObject  *o = lfirst(lc);

		args[0] = o->command_tag ? o->command_tag : GetCommandTagName(trig->tag);
		args[1] = o->object_type;
		args[2] = o->schema_name;
		args[3] = o->object_identity;
		/* the extension object itself is reported after its script ran */
		args[9] = (o->object_type && strcmp(o->object_type, "extension") == 0) ?
			o->object_identity : extension;
		for (i = 0; i < 11; i++)
		{
			values[i] = args[i] ? CStringGetTextDatum(args[i]) : (Datum) 0;
			nulls[i] = args[i] ? ' ' : 'n';
		}
		steward_exec_cached("INSERT INTO steward.ddl_log (command_tag, object_type, schema_name, "
							"  object_identity, command, by_user, application_name, module, "
							"  version, extension, break_glass) "
							"VALUES ($1, $2, $3::name, $4, $5, $6::name, $7, $8, $9, $10::name, "
							"  $11::boolean)",
							11, types, values, nulls, SPI_OK_INSERT);
	}
	return false;
}
