/*-------------------------------------------------------------------------
 *
 * inject.c
 *		On CREATE TABLE (and CREATE TABLE AS) in a managed schema, add what
 *		is missing of the policy's id, created, updated and href columns,
 *		attach steward.touch_updated() and, with audit, the audit triggers.
 *
 * The columns are added with ALTER TABLE issued through SPI while the
 * dispatcher is told it is steward's own (steward_run_own_ddl), so the event triggers this DDL
 * fires do nothing and nothing recurses.  Names follow the conventions:
 * the primary key on id is pk_<table>.  A conventional column that exists
 * with an incompatible type is a violation per the policy's mode.
 *
 *-------------------------------------------------------------------------
 */
#include "conventions_int.h"

#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "lib/stringinfo.h"
#include "naming.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

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

/*
 * The href generation expression for a template: literal parts quoted,
 * {table} the table name without the prefix, {id} the id as text.
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
			piece = psprintf("(%s)::text", quote_identifier(p->id_column));
			s += 4;
		}
		if (piece)
		{
			if (lit.len > 0)
			{
				appendStringInfo(&out, "%s%s", out.len ? " || " : "", quote_literal_cstr(lit.data));
				resetStringInfo(&lit);
			}
			appendStringInfo(&out, "%s%s", out.len ? " || " : "", piece);
			continue;
		}
		appendStringInfoChar(&lit, *s++);
	}
	if (lit.len > 0 || out.len == 0)
		appendStringInfo(&out, "%s%s", out.len ? " || " : "", quote_literal_cstr(lit.data));
	return out.data;
}

/*
 * Does the table have a primary key?
 */
static bool
has_primary_key(Oid relid)
{
	Relation	rel = relation_open(relid, NoLock);
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
		appendStringInfo(&sql, "%sADD COLUMN %s uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid()",
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
		appendStringInfo(&sql, "%sADD COLUMN %s timestamptz NOT NULL DEFAULT pg_catalog.now()",
						 sql.len ? ", " : "", quote_identifier(p->created_column));
	if (!OidIsValid(utype))
		appendStringInfo(&sql, "%sADD COLUMN %s timestamptz NOT NULL DEFAULT pg_catalog.now()",
						 sql.len ? ", " : "", quote_identifier(p->updated_column));
	if (sql.len > 0)
		steward_run_own_ddl(psprintf("ALTER TABLE %s %s", qname, sql.data));
	/* href references id, so it comes in a second statement */
	if (p->href_template && !OidIsValid(htype) && id_ok)
		steward_run_own_ddl(psprintf("ALTER TABLE %s ADD COLUMN href text GENERATED ALWAYS AS (%s) STORED",
									 qname, href_expression(p, table)));
	if (updated_ok)
		steward_run_own_ddl(psprintf("CREATE TRIGGER steward_touch_updated BEFORE UPDATE ON %s "
									 "FOR EACH ROW EXECUTE FUNCTION steward.touch_updated(%s)",
									 qname, quote_literal_cstr(p->updated_column)));
}

/*
 * ddl_command_end: inject into tables created in managed schemas, and
 * enable auditing where the policy says so.
 */
bool
steward_inject_ddl_end(EventTriggerData *trig, List *objs)
{
	ListCell   *lc;
	List	   *done = NIL;

	if (!IsA(trig->parsetree, CreateStmt) &&
		!(IsA(trig->parsetree, CreateTableAsStmt) &&
		  ((CreateTableAsStmt *) trig->parsetree)->objtype == OBJECT_TABLE))
		return false;
	foreach(lc, objs)
	{
		DdlObject  *o = lfirst(lc);
		StewardPolicy *p;
		char		relkind;

		/* a table can be reported twice (CREATE TABLE with an inline FK) */
		if (o->classid != RelationRelationId || o->objsubid != 0 ||
			list_member_oid(done, o->objid))
			continue;
		done = lappend_oid(done, o->objid);
		relkind = get_rel_relkind(o->objid);
		if ((relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) ||
			!steward_relation_managed(o->objid, &p))
			continue;
		if (p->inject)
			inject_table(p, o->objid);
		if (p->audit)
			steward_run_own_ddl(psprintf("SELECT steward.enable_audit(%s::regclass)",
										 quote_literal_cstr(quote_qualified_identifier(p->schema,
																					   get_rel_name(o->objid)))));
	}
	/* the objects the command reported are unchanged (no refetch) */
	return false;
}
