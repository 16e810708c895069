/*-------------------------------------------------------------------------
 *
 * inverse.c
 *		The down SQL of captured DDL: known inverses of the statements
 *		steward.capture() turns into a migration.
 *
 * steward.inverse_sql(sql) parses the statements (PostgreSQL's own raw
 * parser, no text matching) and writes, in reverse order, the statement
 * that undoes each: CREATE TABLE / INDEX / VIEW / MATERIALIZED VIEW /
 * SEQUENCE -> DROP, ALTER TABLE ADD COLUMN -> DROP COLUMN, ADD CONSTRAINT
 * name -> DROP CONSTRAINT, RENAME -> RENAME back.  When any statement has
 * no known inverse (or an unnamed constraint or index, whose name only the
 * server chose) the result is NULL: a down script that undid only part of
 * the change would be worse than none.  Names are written as the user
 * wrote them, quoted.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(steward_inverse_sql);

/*
 * A RangeVar as the user wrote it, quoted (schema-qualified when it was).
 */
static char *
rv_name(RangeVar *rv)
{
	return rv->schemaname ? quote_qualified_identifier(rv->schemaname, rv->relname) :
		pstrdup(quote_identifier(rv->relname));
}

/*
 * The inverse of one ALTER TABLE subcommand, or NULL.
 */
static char *
alter_cmd_inverse(AlterTableCmd *cmd)
{
	if (cmd->subtype == AT_AddColumn && cmd->def && IsA(cmd->def, ColumnDef))
		return psprintf("DROP COLUMN %s", quote_identifier(((ColumnDef *) cmd->def)->colname));
	if (cmd->subtype == AT_AddConstraint && cmd->def && IsA(cmd->def, Constraint) &&
		((Constraint *) cmd->def)->conname != NULL)
		return psprintf("DROP CONSTRAINT %s", quote_identifier(((Constraint *) cmd->def)->conname));
	return NULL;
}

/*
 * ALTER TABLE: its subcommands undone in reverse order, or NULL.
 */
static char *
alter_table_inverse(AlterTableStmt *stmt)
{
	StringInfoData out;
	int			i;

	if (stmt->objtype != OBJECT_TABLE)
		return NULL;
	initStringInfo(&out);
	for (i = list_length(stmt->cmds) - 1; i >= 0; i--)
	{
		char	   *inv = alter_cmd_inverse(list_nth(stmt->cmds, i));

		if (inv == NULL)
			return NULL;
		appendStringInfo(&out, "%s%s", out.len ? ", " : "", inv);
	}
	return psprintf("ALTER TABLE %s %s", rv_name(stmt->relation), out.data);
}

/*
 * RENAME back, for relations, columns and table constraints.
 */
static char *
rename_inverse(RenameStmt *stmt)
{
	const char *kind;
	RangeVar   *renamed;

	switch (stmt->renameType)
	{
		case OBJECT_COLUMN:
			return psprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", rv_name(stmt->relation),
							quote_identifier(stmt->newname), quote_identifier(stmt->subname));
		case OBJECT_TABCONSTRAINT:
			return psprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s", rv_name(stmt->relation),
							quote_identifier(stmt->newname), quote_identifier(stmt->subname));
		case OBJECT_TABLE:
			kind = "TABLE";
			break;
		case OBJECT_VIEW:
			kind = "VIEW";
			break;
		case OBJECT_MATVIEW:
			kind = "MATERIALIZED VIEW";
			break;
		case OBJECT_INDEX:
			kind = "INDEX";
			break;
		case OBJECT_SEQUENCE:
			kind = "SEQUENCE";
			break;
		default:
			return NULL;
	}
	renamed = makeRangeVar(stmt->relation->schemaname, stmt->newname, -1);
	return psprintf("ALTER %s %s RENAME TO %s", kind, rv_name(renamed),
					quote_identifier(stmt->relation->relname));
}

/*
 * The statement that undoes one parsed statement, or NULL when there is
 * no known inverse.
 */
static char *
statement_inverse(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
			return psprintf("DROP TABLE %s", rv_name(((CreateStmt *) stmt)->relation));
		case T_IndexStmt:
			{
				IndexStmt  *ix = (IndexStmt *) stmt;

				if (ix->idxname == NULL)
					return NULL;
				return psprintf("DROP INDEX %s",
								rv_name(makeRangeVar(ix->relation->schemaname, ix->idxname, -1)));
			}
		case T_ViewStmt:
			return psprintf("DROP VIEW %s", rv_name(((ViewStmt *) stmt)->view));
		case T_CreateTableAsStmt:
			return psprintf("DROP %s %s",
							((CreateTableAsStmt *) stmt)->objtype == OBJECT_MATVIEW ?
							"MATERIALIZED VIEW" : "TABLE",
							rv_name(((CreateTableAsStmt *) stmt)->into->rel));
		case T_CreateSeqStmt:
			return psprintf("DROP SEQUENCE %s", rv_name(((CreateSeqStmt *) stmt)->sequence));
		case T_AlterTableStmt:
			return alter_table_inverse((AlterTableStmt *) stmt);
		case T_RenameStmt:
			return ((RenameStmt *) stmt)->relation ? rename_inverse((RenameStmt *) stmt) : NULL;
		default:
			return NULL;
	}
}

/*
 * steward.inverse_sql(sql text) RETURNS text: the statements undoing sql,
 * last first, or NULL when one of them has no known inverse.
 */
Datum
steward_inverse_sql(PG_FUNCTION_ARGS)
{
	List	   *stmts = raw_parser(text_to_cstring(PG_GETARG_TEXT_PP(0)), RAW_PARSE_DEFAULT);
	StringInfoData out;
	int			i;

	initStringInfo(&out);
	for (i = list_length(stmts) - 1; i >= 0; i--)
	{
		char	   *inv = statement_inverse(((RawStmt *) list_nth(stmts, i))->stmt);

		if (inv == NULL)
			PG_RETURN_NULL();
		appendStringInfo(&out, "%s;\n", inv);
	}
	if (out.len == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}
