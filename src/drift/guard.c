/*-------------------------------------------------------------------------
 *
 * guard.c
 *		Prevent drift instead of reporting it: in a schema whose policy has
 *		ddl = 'migrations', DDL on the schema's objects runs only inside a
 *		steward migration.
 *
 * The guard is a listener of the DDL dispatcher, first in line at
 * ddl_command_end and sql_drop: it refuses (42501) a command that created,
 * altered or dropped an object of a guarded schema while no migration runs,
 * so the command rolls back.  CREATE INDEX CONCURRENTLY commits on its own,
 * so it is judged at ddl_command_start, from the statement's table resolved
 * as the statement resolves it.  Passing: migrations (upgrade, migrate,
 * downgrade, deploy and the pg_steward program, which use them), extension
 * scripts, sessions with steward.conventions off (pg_restore), and the
 * break-glass: a member of steward_ddl_admin may SET steward.allow_ddl = on;
 * such DDL runs and capture marks its DDL log rows as break-glass, which
 * steward.check() reports.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "migrate/migrate.h"

bool		steward_allow_ddl = false;

/*
 * Only members of steward_ddl_admin may turn steward.allow_ddl on.  A
 * session's own value is checked when it is set (SET, SET ROLE does not
 * re-check: the role that set it answers for it, like any SET).
 */
static bool
check_allow_ddl(bool *newval, void **extra, GucSource source)
{
	Oid			admin;

	if (!*newval || source < PGC_S_CLIENT || !IsTransactionState())
		return true;
	admin = get_role_oid("steward_ddl_admin", true);
	if (OidIsValid(admin) && is_member_of_role(GetUserId(), admin))
		return true;
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("permission denied to set steward.allow_ddl");
	GUC_check_errhint("Only members of role steward_ddl_admin may break glass: GRANT steward_ddl_admin TO <role>.");
	return false;
}

/*
 * Is DDL on this schema's objects guarded right now?  Not inside a
 * migration, an extension script or a restore (steward.conventions off),
 * and only when the schema's policy says ddl = 'migrations'.  Needs SPI.
 */
static bool
schema_guarded(const char *schema)
{
	Oid			types[1] = {NAMEOID};
	Datum		values[1];
	const char *conventions = GetConfigOption("steward.conventions", true, false);

	if (schema == NULL || steward_migration_module() != NULL || creating_extension ||
		(conventions != NULL && strcmp(conventions, "off") == 0))
		return false;
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	return steward_exec_cached("SELECT 1 FROM steward.schema_policies "
							   "WHERE schema_name = $1 AND ddl = 'migrations' AND mode <> 'off'",
							   1, types, values, NULL, SPI_OK_SELECT) > 0;
}

/*
 * Refuse DDL on an object of a guarded schema, naming it and the ways to
 * run it: as a migration of the schema's module, or break-glass.
 */
static void
refuse(const char *schema, const char *identity)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("DDL on %s is allowed only inside a steward migration", identity),
			 errdetail("Schema \"%s\" is managed with ddl => 'migrations'.", schema),
			 errhint("Run it as a migration (SELECT steward.migrate(module, version, up_sql), CALL steward.deploy(module) or the pg_steward program); in an emergency a member of steward_ddl_admin may SET steward.allow_ddl = on.")));
}

/*
 * The ddl_command_end and sql_drop listener: refuse the command when it
 * touched an object of a guarded schema.  Break-glass lets it through (its
 * DDL log rows are marked by capture).  Changes no object.
 */
bool
steward_guard_objects(EventTriggerData *trig, List *objs)
{
	ListCell   *lc;
	const char *last_schema = NULL;
	bool		last_guarded = false;

	if (steward_allow_ddl)
		return false;
	foreach(lc, objs)
	{
		DdlObject  *o = lfirst(lc);

		if (o->schema_name == NULL)
			continue;
		if (last_schema == NULL || strcmp(last_schema, o->schema_name) != 0)
		{
			last_schema = o->schema_name;
			last_guarded = schema_guarded(o->schema_name);
		}
		if (last_guarded)
			refuse(o->schema_name, o->object_identity ? o->object_identity : o->schema_name);
	}
	return false;
}

/*
 * The ddl_command_start listener: CREATE INDEX CONCURRENTLY commits on its
 * own and cannot be rolled back at its end, so it is refused before it
 * starts when its table is in a guarded schema.
 */
bool
steward_guard_start(EventTriggerData *trig, List *objs)
{
	IndexStmt  *stmt;
	Oid			relid;
	char	   *schema;

	if (steward_allow_ddl || !IsA(trig->parsetree, IndexStmt) ||
		!((IndexStmt *) trig->parsetree)->concurrent)
		return false;
	stmt = (IndexStmt *) trig->parsetree;
	relid = steward_ddl_relation_oid(stmt->relation);
	if (!OidIsValid(relid))
		return false;
	schema = get_namespace_name(get_rel_namespace(relid));
	if (schema_guarded(schema))
		refuse(schema, quote_qualified_identifier(schema, get_rel_name(relid)));
	return false;
}

/*
 * Register steward.allow_ddl; drift.c registers the listeners.
 */
void
steward_guard_init(void)
{
	DefineCustomBoolVariable("steward.allow_ddl",
							 "Break glass: allow DDL outside migrations in guarded schemas.",
							 "Only members of steward_ddl_admin may turn it on; such DDL is logged as break-glass.",
							 &steward_allow_ddl, false, PGC_USERSET, 0,
							 check_allow_ddl, NULL, NULL);
}
