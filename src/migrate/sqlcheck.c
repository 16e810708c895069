/*-------------------------------------------------------------------------
 *
 * sqlcheck.c
 *		Find statements that cannot run inside a migration.
 *
 * A migration runs inside the caller's transaction, so statements that
 * PostgreSQL refuses in a transaction block (CREATE INDEX CONCURRENTLY,
 * VACUUM, CREATE DATABASE, ...) would fail half-way through an upgrade.
 * A no-transaction step (transactional => false, or a first line
 * "-- steward:no-transaction") runs its statements one by one as
 * top-level statements instead, so it may hold them.  Transaction
 * control (COMMIT, ROLLBACK, SAVEPOINT) is refused in both: it would break
 * a migration's atomicity, and a no-transaction step's statements each
 * run in a transaction of their own already.  COPY from or to the client
 * has no client to talk to in either.  The script is run through the raw
 * grammar only, which needs no catalog access, so it can be checked at
 * register time before any object the script refers to exists.
 *
 *-------------------------------------------------------------------------
 */
#include "sqlcheck.h"

#include "nodes/parsenodes.h"
#include "parser/parser.h"

/*
 * REINDEX: refused for a whole system or database, which PostgreSQL runs
 * as one transaction per table, and with CONCURRENTLY, which needs its
 * own transactions; a plain REINDEX of a table or index runs fine.
 */
static const char *
reindex_problem(ReindexStmt *r)
{
	ListCell   *lc;

	if (r->kind == REINDEX_OBJECT_SYSTEM || r->kind == REINDEX_OBJECT_DATABASE)
		return "REINDEX SYSTEM/DATABASE";
	foreach(lc, r->params)
	{
		DefElem    *opt = (DefElem *) lfirst(lc);

		if (strcmp(opt->defname, "concurrently") == 0)
			return "REINDEX CONCURRENTLY";
	}
	return NULL;
}

/*
 * COPY: refused only from or to the client, which a migration run through
 * SPI does not have; COPY with a file or a program runs on the server.
 */
static const char *
copy_problem(CopyStmt *c)
{
	if (c->filename == NULL && !c->is_program)
		return c->is_from ? "COPY FROM STDIN" : "COPY TO STDOUT";
	return NULL;
}

/*
 * ALTER TABLE: refused only for DETACH PARTITION CONCURRENTLY, which
 * commits in the middle; every other subcommand is transactional.
 */
static const char *
alter_table_problem(AlterTableStmt *a)
{
	ListCell   *lc;

	foreach(lc, a->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_DetachPartition && cmd->def != NULL &&
			IsA(cmd->def, PartitionCmd) && ((PartitionCmd *) cmd->def)->concurrent)
			return "DETACH PARTITION CONCURRENTLY";
	}
	return NULL;
}

/*
 * Describe a statement that cannot run in a transactional migration, or
 * return NULL when it can; *never is set when it cannot run in a
 * no-transaction step either.  The statements refused only with some
 * option have their own step above, so that this stays a table of one
 * line per kind of statement.
 */
static const char *
check_statement(Node *stmt, bool *never)
{
	*never = false;
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
			*never = true;
			return "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT)";
		case T_CopyStmt:
			*never = true;
			return copy_problem((CopyStmt *) stmt);
		case T_VacuumStmt:
			return ((VacuumStmt *) stmt)->is_vacuumcmd ? "VACUUM" : NULL;
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent ? "CREATE INDEX CONCURRENTLY" : NULL;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent ? "DROP INDEX CONCURRENTLY" : NULL;
		case T_ReindexStmt:
			return reindex_problem((ReindexStmt *) stmt);
		case T_ClusterStmt:
			return ((ClusterStmt *) stmt)->relation == NULL ? "CLUSTER without a table" : NULL;
		case T_CreatedbStmt:
			return "CREATE DATABASE";
		case T_DropdbStmt:
			return "DROP DATABASE";
		case T_CreateTableSpaceStmt:
			return "CREATE TABLESPACE";
		case T_DropTableSpaceStmt:
			return "DROP TABLESPACE";
		case T_AlterSystemStmt:
			return "ALTER SYSTEM";
		case T_CreateSubscriptionStmt:
			return "CREATE SUBSCRIPTION";
		case T_DropSubscriptionStmt:
			return "DROP SUBSCRIPTION";
		case T_AlterTableStmt:
			return alter_table_problem((AlterTableStmt *) stmt);
		default:
			return NULL;
	}
}

/*
 * Parse sql (raw grammar only) and return a description of the first
 * statement that cannot run in a migration step of this kind (inside a
 * transaction, or for a no-transaction step outside one), or NULL.  A
 * syntax error is raised as PostgreSQL's own error.
 */
const char *
steward_script_problem(const char *sql, bool transactional)
{
	List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	ListCell   *lc;

	foreach(lc, stmts)
	{
		bool		never;
		const char *what = check_statement(((RawStmt *) lfirst(lc))->stmt, &never);

		if (what != NULL && (transactional || never))
			return what;
	}
	return NULL;
}

/*
 * Does the script's first line mark it as a no-transaction step?  The line
 * is exactly "-- steward:no-transaction", blanks after it allowed, as the
 * pg_steward program reads its files.
 */
bool
steward_script_no_transaction(const char *sql)
{
	size_t		n = strlen(STEWARD_NO_TRANSACTION_MARK);
	const char *rest;

	if (sql == NULL || strncmp(sql, STEWARD_NO_TRANSACTION_MARK, n) != 0)
		return false;
	rest = sql + n;
	while (*rest == ' ' || *rest == '\t' || *rest == '\r')
		rest++;
	return *rest == '\n' || *rest == '\0';
}
