/*-------------------------------------------------------------------------
 *
 * inject.c
 *		On CREATE TABLE in a managed schema, add what is missing of the
 *		policy's id, created, updated and href columns to the statement
 *		before it runs; attach steward.touch_updated() and, with audit, the
 *		audit triggers after it ran.
 *
 * The columns go into the CreateStmt itself (its table elements, after the
 * user's), so the table is created once, with the statement's own rights,
 * and never rewritten.  That happens in a ProcessUtility hook, which sees
 * every CREATE TABLE (the elements of CREATE SCHEMA too) and resolves the
 * table's schema in the statement's own context; when the library was not
 * loaded yet as the statement began (no shared_preload_libraries, first DDL
 * of a session), the ddl_command_start listener does the same to the
 * statement's parse tree.  Tables whose columns are not known before they
 * exist -- CREATE TABLE AS, LIKE, INHERITS -- and tables that arrive in a
 * managed schema (SET SCHEMA, a schema renamed to a managed name) get the
 * columns by ALTER TABLE at the end of the command, run as the role that
 * ran the command (steward_run_ddl_as_caller), as are the triggers.
 *
 * Names follow the conventions: the primary key on id is pk_<table>.  A
 * conventional column that exists with an incompatible type is a violation
 * per the policy's mode.  Opt-outs: the policy's inject_exclude (LIKE
 * patterns of table names) and SET steward.inject = off.
 *
 *-------------------------------------------------------------------------
 */
#include "conventions_int.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "naming.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

bool		steward_inject = true;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * Type of column name of relid, or InvalidOid when there is none.
 */
static Oid
column_type(Oid relid, const char *name)
{
	AttrNumber	attnum = get_attnum(relid, name);

	return attnum == InvalidAttrNumber ? InvalidOid : get_atttype(relid, attnum);
}

/*
 * A conventional column exists with the wrong type: report per the mode.
 * Returns false (the column cannot be used).
 */
static bool
wrong_type(StewardPolicy *p, Oid relid, const char *col, const char *want)
{
	ereport(p->mode == 'e' ? ERROR : WARNING,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of table \"%s\" must be of type %s in schema \"%s\"",
					col, get_rel_name(relid), want, p->schema),
			 errdetail("Tables in managed schemas get the columns %s, %s, %s and href.",
					   p->id_column, p->created_column, p->updated_column),
			 errhint("Change the column to %s, rename it, or create the table with inject_columns off.",
					 want)));
	return false;
}

/* text concatenation that no search_path can redirect */
#define CONCAT " OPERATOR(pg_catalog.||) "

/*
 * The href generation expression for a template: literal parts quoted,
 * {table} the table name without the prefix, {id} the id as text.  Every
 * name is schema-qualified: the expression is also parsed under the
 * user's search_path (injection into the CREATE TABLE statement).
 */
static char *
href_expression(StewardPolicy *p, const char *table)
{
	StringInfoData out;
	StringInfoData lit;
	const char *s = p->href_template;
	const char *bare = table;

	if (p->prefix[0] && strncmp(table, p->prefix, strlen(p->prefix)) == 0)
		bare = table + strlen(p->prefix);
	initStringInfo(&out);
	initStringInfo(&lit);
	while (*s)
	{
		const char *piece = NULL;

		if (strncmp(s, "{table}", 7) == 0)
		{
			appendStringInfoString(&lit, bare);
			s += 7;
			continue;
		}
		if (strncmp(s, "{id}", 4) == 0)
		{
			piece = psprintf("(%s)::pg_catalog.text", quote_identifier(p->id_column));
			s += 4;
		}
		if (piece)
		{
			if (lit.len > 0)
			{
				appendStringInfo(&out, "%s%s", out.len ? CONCAT : "", quote_literal_cstr(lit.data));
				resetStringInfo(&lit);
			}
			appendStringInfo(&out, "%s%s", out.len ? CONCAT : "", piece);
			continue;
		}
		appendStringInfoChar(&lit, *s++);
	}
	if (lit.len > 0 || out.len == 0)
		appendStringInfo(&out, "%s%s", out.len ? CONCAT : "", quote_literal_cstr(lit.data));
	return out.data;
}

/*
 * Does the table have a primary key?  The table is locked: a table that
 * arrives with its schema's rename is not locked by the command.
 */
static bool
has_primary_key(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	Oid			pk = steward_primary_key_index(rel);

	relation_close(rel, NoLock);
	return OidIsValid(pk);
}

/*
 * Add the missing conventional columns and triggers to one table.
 */
static void
inject_table(StewardPolicy *p, Oid relid)
{
	char	   *table = get_rel_name(relid);
	char	   *qname = quote_qualified_identifier(p->schema, table);
	bool		partitioned = get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE;
	Oid			idtype = column_type(relid, p->id_column);
	Oid			ctype = column_type(relid, p->created_column);
	Oid			utype = column_type(relid, p->updated_column);
	Oid			htype = column_type(relid, "href");
	bool		id_ok = idtype == UUIDOID || (!OidIsValid(idtype));
	bool		updated_ok = utype == TIMESTAMPTZOID || !OidIsValid(utype);
	bool		pk = has_primary_key(relid);
	StringInfoData sql;

	if (OidIsValid(idtype) && idtype != UUIDOID)
		id_ok = wrong_type(p, relid, p->id_column, "uuid");
	if (OidIsValid(ctype) && ctype != TIMESTAMPTZOID)
		wrong_type(p, relid, p->created_column, "timestamptz");
	if (OidIsValid(utype) && utype != TIMESTAMPTZOID)
		updated_ok = wrong_type(p, relid, p->updated_column, "timestamptz");
	if (OidIsValid(htype) && htype != TEXTOID)
		wrong_type(p, relid, "href", "text");

	initStringInfo(&sql);
	if (!OidIsValid(idtype))
	{
		appendStringInfo(&sql, "%sADD COLUMN %s pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid()",
						 sql.len ? ", " : "", quote_identifier(p->id_column));
		if (!pk && !partitioned)
			appendStringInfo(&sql, " CONSTRAINT %s PRIMARY KEY",
							 quote_identifier(steward_compose_name("pk", table, NIL, NULL)));
	}
	else if (id_ok && !pk && !partitioned)
		appendStringInfo(&sql, "%sADD CONSTRAINT %s PRIMARY KEY (%s)", sql.len ? ", " : "",
						 quote_identifier(steward_compose_name("pk", table, NIL, NULL)),
						 quote_identifier(p->id_column));
	if (!OidIsValid(ctype))
		appendStringInfo(&sql, "%sADD COLUMN %s pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()",
						 sql.len ? ", " : "", quote_identifier(p->created_column));
	if (!OidIsValid(utype))
		appendStringInfo(&sql, "%sADD COLUMN %s pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()",
						 sql.len ? ", " : "", quote_identifier(p->updated_column));
	if (sql.len > 0)
		steward_run_ddl_as_caller(psprintf("ALTER TABLE %s %s", qname, sql.data));
	/* href references id, so it comes in a second statement */
	if (p->href_template && !OidIsValid(htype) && id_ok)
		steward_run_ddl_as_caller(psprintf("ALTER TABLE %s ADD COLUMN href pg_catalog.text "
										   "GENERATED ALWAYS AS (%s) STORED",
										   qname, href_expression(p, table)));
	if (updated_ok)
		steward_run_ddl_as_caller(psprintf("CREATE OR REPLACE TRIGGER steward_touch_updated BEFORE UPDATE ON %s "
										   "FOR EACH ROW EXECUTE FUNCTION steward.touch_updated(%s)",
										   qname, quote_literal_cstr(p->updated_column)));
}

/*
 * Does the policy want columns injected into this table?  Not when the
 * policy has inject_columns off, the table matches one of its
 * inject_exclude LIKE patterns, or the session said SET steward.inject = off.
 */
bool
steward_inject_wanted(StewardPolicy *p, const char *table)
{
	ListCell   *lc;

	if (!p->inject || !steward_inject)
		return false;
	foreach(lc, p->inject_exclude)
	{
		if (DatumGetBool(DirectFunctionCall2Coll(textlike, C_COLLATION_OID,
												 CStringGetTextDatum(table),
												 CStringGetTextDatum(lfirst(lc)))))
			return false;
	}
	return true;
}

/*
 * Is the type name uuid (as written in a CREATE TABLE)?
 */
static bool
typename_is_uuid(TypeName *t)
{
	char	   *last = strVal(llast(t->names));

	return t->arrayBounds == NIL && strcmp(last, "uuid") == 0 &&
		(list_length(t->names) == 1 ||
		 (list_length(t->names) == 2 && strcmp(strVal(linitial(t->names)), "pg_catalog") == 0));
}

/*
 * Parse column definitions (SQL text) into CreateStmt table elements, with
 * no source position (they are not in the user's query string).
 */
static List *
parse_columns(const char *defs)
{
	List	   *raw = raw_parser(psprintf("CREATE TABLE steward_injected (%s)", defs),
								 RAW_PARSE_DEFAULT);
	CreateStmt *cs = (CreateStmt *) ((RawStmt *) linitial(raw))->stmt;
	ListCell   *lc;

	foreach(lc, cs->tableElts)
	{
		Node	   *e = lfirst(lc);

		if (IsA(e, ColumnDef))
		{
			((ColumnDef *) e)->location = -1;
			((ColumnDef *) e)->typeName->location = -1;
		}
		else if (IsA(e, Constraint))
			((Constraint *) e)->location = -1;
	}
	return cs->tableElts;
}

/*
 * What the user's CREATE TABLE already has: the policy's columns (and
 * whether id is a uuid) and a primary key.  False when its columns cannot
 * be known before it runs (LIKE).
 */
typedef struct DeclaredColumns
{
	bool		id;
	bool		id_uuid;
	bool		created;
	bool		updated;
	bool		href;
	bool		pk;
}			DeclaredColumns;

static bool
declared_columns(CreateStmt *stmt, StewardPolicy *p, DeclaredColumns * d)
{
	ListCell   *lc;
	ListCell   *cc;

	memset(d, 0, sizeof(*d));
	foreach(lc, stmt->tableElts)
	{
		Node	   *e = lfirst(lc);

		if (IsA(e, TableLikeClause))
			return false;
		if (IsA(e, Constraint) && ((Constraint *) e)->contype == CONSTR_PRIMARY)
			d->pk = true;
		if (!IsA(e, ColumnDef))
			continue;
		if (strcmp(((ColumnDef *) e)->colname, p->id_column) == 0)
		{
			d->id = true;
			d->id_uuid = typename_is_uuid(((ColumnDef *) e)->typeName);
		}
		d->created |= strcmp(((ColumnDef *) e)->colname, p->created_column) == 0;
		d->updated |= strcmp(((ColumnDef *) e)->colname, p->updated_column) == 0;
		d->href |= strcmp(((ColumnDef *) e)->colname, "href") == 0;
		foreach(cc, ((ColumnDef *) e)->constraints)
			d->pk |= ((Constraint *) lfirst(cc))->contype == CONSTR_PRIMARY;
	}
	return true;
}

/*
 * Add what is missing of the policy's columns (and the primary key on id
 * when the table has none) to a CREATE TABLE statement before it runs,
 * after the user's columns.  Idempotent: what the statement already has is
 * left alone, so the hook and the ddl_command_start listener may both see
 * one statement.  New nodes go into the current memory context, which must
 * live as long as the statement.  Partitions, typed tables, INHERITS and
 * LIKE are left to the end of the command.
 */
void
steward_inject_into_create(CreateStmt *stmt, StewardPolicy *p)
{
	const char *table = stmt->relation->relname;
	bool		partitioned = stmt->partspec != NULL;
	DeclaredColumns d;
	StringInfoData sql;
	const char *pk = quote_identifier(steward_compose_name("pk", (char *) table, NIL, NULL));

	if (stmt->partbound || stmt->ofTypename || stmt->inhRelations ||
		!steward_inject_wanted(p, table) || !declared_columns(stmt, p, &d))
		return;
	initStringInfo(&sql);
	if (!d.id)
		appendStringInfo(&sql, "%s pg_catalog.uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid()%s",
						 quote_identifier(p->id_column),
						 d.pk || partitioned ? "" : psprintf(" CONSTRAINT %s PRIMARY KEY", pk));
	else if (d.id_uuid && !d.pk && !partitioned)
		appendStringInfo(&sql, "CONSTRAINT %s PRIMARY KEY (%s)", pk, quote_identifier(p->id_column));
	if (!d.created)
		appendStringInfo(&sql, "%s%s pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()",
						 sql.len ? ", " : "", quote_identifier(p->created_column));
	if (!d.updated)
		appendStringInfo(&sql, "%s%s pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()",
						 sql.len ? ", " : "", quote_identifier(p->updated_column));
	if (p->href_template && !d.href && (!d.id || d.id_uuid))
		appendStringInfo(&sql, "%shref pg_catalog.text GENERATED ALWAYS AS (%s) STORED",
						 sql.len ? ", " : "", href_expression(p, table));
	if (sql.len > 0)
		stmt->tableElts = list_concat(stmt->tableElts, parse_columns(sql.data));
}

/*
 * Is pg_steward installed in this database (its policies readable)?
 */
static bool
steward_installed(void)
{
	Oid			nsp = get_namespace_oid("steward", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("schema_policies", nsp)) &&
		OidIsValid(get_relname_relid("migrations", nsp));
}

/*
 * The ProcessUtility hook's part: look up the policy of the schema a
 * CREATE TABLE goes to (resolved in the statement's context) as the
 * catalog owner with a pinned search_path, and inject into the statement.
 */
static void
inject_before_create(CreateStmt *stmt)
{
	MemoryContext stmtcxt = CurrentMemoryContext;
	MemoryContext spicxt;
	Oid			nsp = steward_ddl_creation_namespace(stmt->relation);
	StewardCatalogAccess ca;
	StewardPolicy *p;

	if (!OidIsValid(nsp) || !steward_installed())
		return;
	steward_catalog_enter(&ca);
	SPI_connect();
	p = steward_policy_for(nsp);
	if (p != NULL)
	{
		spicxt = MemoryContextSwitchTo(stmtcxt);
		steward_inject_into_create(stmt, p);
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();
	steward_catalog_leave(&ca);
}

/*
 * Inject into every CREATE TABLE before it runs (see the file header), but
 * not into the shards Citus creates of a distributed table, nor into what
 * Citus replays in a superuser's session, the workers' copies of a table
 * included (common/citus.c): they get the coordinator's table's columns.
 * A statement from a cached plan is read-only: it is copied first.
 */
static void
inject_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, CreateStmt) && steward_inject && steward_conventions &&
		!creating_extension && !IsBinaryUpgrade && !steward_citus_internal_backend() &&
		!steward_citus_owned_statement(pstmt->utilityStmt))
	{
		if (readOnlyTree)
		{
			pstmt = copyObject(pstmt);
			readOnlyTree = false;
		}
		inject_before_create((CreateStmt *) pstmt->utilityStmt);
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/*
 * The ddl_command_start listener: the same injection, into the parse tree
 * the command is about to run, for a CREATE TABLE the hook did not see (the
 * library was loaded by this very command's event trigger).  New nodes are
 * allocated where the statement lives.
 */
static bool
inject_ddl_start(EventTriggerData *trig, List *objs)
{
	CreateStmt *stmt;
	StewardPolicy *p;
	Oid			nsp;
	MemoryContext oldcxt;

	if (!IsA(trig->parsetree, CreateStmt) || !steward_inject || !steward_conventions ||
		creating_extension)
		return false;
	stmt = (CreateStmt *) trig->parsetree;
	nsp = steward_ddl_creation_namespace(stmt->relation);
	if (!OidIsValid(nsp) || (p = steward_policy_for(nsp)) == NULL)
		return false;
	oldcxt = MemoryContextSwitchTo(GetMemoryChunkContext(stmt));
	steward_inject_into_create(stmt, p);
	MemoryContextSwitchTo(oldcxt);
	return false;
}

/*
 * Register steward.inject, the ProcessUtility hook and the
 * ddl_command_start listener (the ddl_command_end one is registered with
 * the conventions').
 */
void
steward_inject_init(void)
{
	DefineCustomBoolVariable("steward.inject",
							 "Add the policy's columns to tables created in managed schemas.",
							 "Any user may turn it off for their own statements.",
							 &steward_inject, true, PGC_USERSET, 0, NULL, NULL, NULL);
	steward_ddl_listen(STEWARD_DDL_START, STEWARD_DDL_ORDER_INJECTION, "injection",
					   inject_ddl_start);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = inject_ProcessUtility;
}

/*
 * The ddl_command_end listener: give the tables the command created or
 * brought into a managed schema what the policy wants -- the columns
 * still missing (ALTER TABLE, for tables the statement could not get them
 * in), touch_updated, and the audit triggers -- as the role that ran the
 * command.  The objects it reported stay as they are (no refetch).
 */
bool
steward_inject_ddl_end(EventTriggerData *trig, List *objs)
{
	Node	   *tree = trig->parsetree;
	ListCell   *lc;

	if (!IsA(tree, CreateStmt) &&
		!(IsA(tree, CreateTableAsStmt) && ((CreateTableAsStmt *) tree)->objtype == OBJECT_TABLE) &&
		!IsA(tree, CreateSchemaStmt) &&
		!(IsA(tree, AlterObjectSchemaStmt) &&
		  ((AlterObjectSchemaStmt *) tree)->objectType == OBJECT_TABLE) &&
		!(IsA(tree, RenameStmt) && ((RenameStmt *) tree)->renameType == OBJECT_SCHEMA))
		return false;
	foreach(lc, steward_command_tables(trig, objs))
	{
		Oid			relid = lfirst_oid(lc);
		StewardPolicy *p;

		if (!steward_relation_managed(relid, &p))
			continue;
		if (steward_inject_wanted(p, get_rel_name(relid)))
			inject_table(p, relid);
		if (p->audit)
			steward_run_ddl_as_caller(psprintf("SELECT steward.enable_audit(%s::pg_catalog.regclass)",
											   quote_literal_cstr(quote_qualified_identifier(p->schema,
																							 get_rel_name(relid)))));
	}
	return false;
}
