/*-------------------------------------------------------------------------
 *
 * rewrite_rules.c
 *		The rewrite guard's judgment of ALTER TABLE subcommands: would one
 *		rewrite the table, or read all of it, decided as PostgreSQL decides
 *		it before its phase 3?
 *
 * Each rule reads the subcommand's raw parse tree and the live table, and
 * makes the test tablecmds.c makes:
 *
 * - ADD COLUMN rewrites when its default, transformed, coerced to the
 *	 column's type and planned, is volatile (also serial and identity
 *	 columns, whose default is nextval()), when it is a stored generated
 *	 column, or of a domain with constraints.  A stable or immutable default
 *	 is stored once in the catalog.  Its CHECK, PRIMARY KEY and UNIQUE
 *	 constraints read every row; its REFERENCES only when it has a default.
 * - ALTER COLUMN TYPE rewrites unless the conversion of the old value --
 *	 the USING expression or an assignment cast, planned -- is the column
 *	 itself under binary-compatible relabelling.  Planning removes the
 *	 length coercion of varchar(n) -> varchar(m >= n) and numeric(p,s) ->
 *	 numeric(q >= p,s) (their planner support functions), varchar -> text
 *	 is a RelabelType (the cast's method is binary), and timestamp <->
 *	 timestamptz counts as binary when the session time zone is UTC: the
 *	 walk of ATColumnChangeRequiresRewrite.
 * - SET NOT NULL reads every row unless the column is NOT NULL already or
 *	 the table's validated CHECK constraints imply it
 *	 (PartConstraintImpliedByRelConstraint, as NotNullImpliedByRelConstraints
 *	 uses it); so does a PRIMARY KEY USING INDEX over a nullable column, and
 *	 (18) ADD CONSTRAINT ... NOT NULL without NOT VALID.  On 18 a column
 *	 whose not-null constraint is NOT VALID is read by SET NOT NULL whatever
 *	 proves it (the constraint is validated under ACCESS EXCLUSIVE); VALIDATE
 *	 CONSTRAINT is the safe form.
 * - ADD CONSTRAINT CHECK and FOREIGN KEY read every row unless NOT VALID;
 *	 PRIMARY KEY, UNIQUE and EXCLUDE build an index unless USING INDEX.
 * - SET TABLESPACE, SET LOGGED / UNLOGGED, SET ACCESS METHOD and SET
 *	 EXPRESSION of a stored generated column copy every row, unless they
 *	 change nothing.
 * - ATTACH PARTITION reads the table attached (each of its partitions)
 *	 unless its validated constraints imply the partition constraint its
 *	 bound gives it, and the default partition unless its own imply that
 *	 none of its rows falls in the new bound (ATExecAttachPartition and
 *	 QueuePartitionConstraintValidation).
 *
 * Each risk carries the safe pattern, written as SQL on the table the
 * statement named.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_constraint.h"
#include "catalog/partition.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "commands/tablespace.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parse_type.h"
#include "parser/parse_utilcmd.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#define NO_ONLINE_FORM \
	"PostgreSQL has no online form of this: run it in a maintenance window, or rebuild the table online with a tool such as pg_repack (pg_repack --table=%s)."

/*
 * A live column of rel by name, NULL when it has none (a column the same
 * statement adds, a system column, or the statement's own error).
 */
static Form_pg_attribute
live_column(Relation rel, const char *name)
{
	AttrNumber	attnum = name ? get_attnum(RelationGetRelid(rel), name) : InvalidAttrNumber;

	if (attnum <= 0)
		return NULL;
	return TupleDescAttr(RelationGetDescr(rel), attnum - 1);
}

/*
 * A raw expression of the statement over rel's columns, transformed as the
 * statement will transform it (names resolved in its own context).
 */
static Node *
cook_over_table(Relation rel, Node *raw, ParseExprKind kind, const char *query)
{
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	Node	   *expr;

	pstate->p_sourcetext = query;
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
	addNSItemToQuery(pstate, nsitem, true, true, true);
	expr = transformExpr(pstate, copyObject(raw), kind);
	assign_expr_collations(pstate, expr);
	free_parsestate(pstate);
	return expr;
}

/*
 * An expression over rel as SQL, for a hint.
 */
static char *
expr_sql(Relation rel, Node *expr)
{
	return deparse_expression(expr, deparse_context_for(RelationGetRelationName(rel),
														RelationGetRelid(rel)),
							  false, false);
}

/*
 * Does every column a raw expression names exist in rel?  A CHECK may name
 * a column the same ALTER TABLE adds; such an expression is not cooked.
 */
static bool
raw_columns_missing(Node *node, void *context)
{
	Relation	rel = (Relation) context;

	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		Node	   *last = llast(((ColumnRef *) node)->fields);

		return IsA(last, String) && live_column(rel, strVal(last)) == NULL;
	}
	return raw_expression_tree_walker(node, raw_columns_missing, context);
}

/*
 * Comma-separated quoted names of a list of String nodes.
 */
static char *
name_list(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", quote_identifier(strVal(lfirst(lc))));
	return buf.data;
}

/*
 * PostgreSQL's own test (ATColumnChangeRequiresRewrite): a planned
 * conversion needs no rewrite when it is the old column under relabelling,
 * coercions to domains without constraints, and the timestamp <->
 * timestamptz conversions while they are binary (session time zone UTC).
 */
static bool
change_requires_rewrite(Node *expr, AttrNumber attnum)
{
	for (;;)
	{
		if (IsA(expr, Var) && ((Var *) expr)->varattno == attnum)
			return false;
		else if (IsA(expr, RelabelType))
			expr = (Node *) ((RelabelType *) expr)->arg;
		else if (IsA(expr, CoerceToDomain))
		{
			CoerceToDomain *d = (CoerceToDomain *) expr;

			if (DomainHasConstraints(d->resulttype))
				return true;
			expr = (Node *) d->arg;
		}
		else if (IsA(expr, FuncExpr) &&
				 (((FuncExpr *) expr)->funcid == F_TIMESTAMPTZ_TIMESTAMP ||
				  ((FuncExpr *) expr)->funcid == F_TIMESTAMP_TIMESTAMPTZ) &&
				 !TimestampTimestampTzRequiresRewrite())
			expr = linitial(((FuncExpr *) expr)->args);
		else
			return true;
	}
}

/*
 * Does converting the old value (expr) to the new type rewrite the table?
 * Coerced by assignment and planned as ATPrepAlterColumnType does it; a
 * conversion that does not exist is the statement's own error: no risk.
 */
static bool
conversion_rewrites(Node *expr, Oid typid, int32 typmod, AttrNumber attnum)
{
	ParseState *pstate = make_parsestate(NULL);

	expr = coerce_to_target_type(pstate, expr, exprType(expr), typid, typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (expr != NULL)
		assign_expr_collations(pstate, expr);
	free_parsestate(pstate);
	if (expr == NULL)
		return false;
	return change_requires_rewrite((Node *) expression_planner((Expr *) expr), attnum);
}

/*
 * The type a TypeName of the statement denotes (resolved in its context),
 * InvalidOid when it denotes none (the statement reports that).
 */
static Oid
statement_type(TypeName *name, int32 *typmod)
{
	Type		typ = LookupTypeName(NULL, name, typmod, true);
	Oid			typid;

	if (typ == NULL)
		return InvalidOid;
	typid = typeTypeId(typ);
	ReleaseSysCache(typ);
	return typid;
}

/*
 * The integer type of a serial pseudo-type, NULL when the column type is
 * not one.  Only an unqualified name is, as transformColumnDefinition
 * decides.
 */
static const char *
serial_base_type(TypeName *name)
{
	static const char *const serials[][2] = {
		{"smallserial", "smallint"}, {"serial2", "smallint"}, {"serial", "integer"},
	{"serial4", "integer"}, {"bigserial", "bigint"}, {"serial8", "bigint"}};
	int			i;

	if (name == NULL || name->pct_type || list_length(name->names) != 1)
		return NULL;
	for (i = 0; i < (int) lengthof(serials); i++)
		if (strcmp(strVal(linitial(name->names)), serials[i][0]) == 0)
			return serials[i][1];
	return NULL;
}

/*
 * The risk of a column added with a value for every row, and its safe
 * pattern (hint).
 */
static RewriteRisk *
added_column_risk(ColumnDef *col, const char *why, char *hint)
{
	return steward_rewrite_risk("rewrite",
								psprintf("Column %s %s, so adding it writes every row.",
										 quote_identifier(col->colname), why),
								hint);
}

/*
 * The safe pattern of a column whose value differs per row: add it plain,
 * give new rows their value, fill the existing ones in batches.
 */
static char *
batch_fill_hint(const GuardTable *t, ColumnDef *col, const char *type, const char *fill)
{
	const char *c = quote_identifier(col->colname);

	return psprintf("Add the column without it, then give new rows their value and fill the existing ones in batches: "
					"ALTER TABLE %s ADD COLUMN %s %s; ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s; "
					"then UPDATE %s SET %s = %s WHERE <a range of keys>, one batch per transaction.",
					t->qname, c, type, t->qname, c, fill, t->qname, c, fill);
}

/*
 * The risk of a constraint that reads every row, with the NOT VALID
 * pattern: VALIDATE CONSTRAINT takes only a SHARE UPDATE EXCLUSIVE lock.
 */
static RewriteRisk *
not_valid_risk(const GuardTable *t, const char *cause, const char *name, const char *definition)
{
	return steward_rewrite_risk("scan", pstrdup(cause),
								psprintf("Add it as NOT VALID (rows written from then on are checked), then validate it, which lets reads and writes go on: "
										 "ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID; ALTER TABLE %s VALIDATE CONSTRAINT %s.",
										 t->qname, name, definition, t->qname, name));
}

/*
 * The risk of a constraint that builds an index over every row, with the
 * concurrent build and USING INDEX.
 */
static RewriteRisk *
index_constraint_risk(const GuardTable *t, ConstrType contype, const char *name, const char *cols)
{
	const char *kind = contype == CONSTR_PRIMARY ? "PRIMARY KEY" : "UNIQUE";

	if (contype == CONSTR_EXCLUSION)
		return steward_rewrite_risk("scan", pstrdup("EXCLUDE builds its index over every row."),
									psprintf(NO_ONLINE_FORM, t->qname));
	return steward_rewrite_risk("scan", psprintf("%s builds its index over every row.", kind),
								psprintf("Build the index without blocking writes in a no-transaction step (run by CALL steward.deploy or the pg_steward program), then attach it: "
										 "CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (%s); ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s.%s",
										 name, t->qname, cols, t->qname, name, kind, name,
										 contype == CONSTR_PRIMARY ? " Make the columns NOT NULL first through a validated CHECK (col IS NOT NULL)." : ""));
}

/*
 * The constraints of an added column that read every row.  A REFERENCES
 * is checked only when the column has a default (transformFKConstraints
 * skips the check of an all-NULL column).
 */
static RewriteRisk *
judge_column_constraint(const GuardTable *t, ColumnDef *col, Constraint *con, bool has_default)
{
	const char *c = quote_identifier(col->colname);

	switch (con->contype)
	{
		case CONSTR_CHECK:
			return not_valid_risk(t, "The CHECK constraint of the new column is verified against every row.",
								  "<name>", "CHECK (...)");
		case CONSTR_PRIMARY:
		case CONSTR_UNIQUE:
		case CONSTR_EXCLUSION:
			return index_constraint_risk(t, con->contype, "<name>", c);
		case CONSTR_FOREIGN:
			if (!has_default)
				return NULL;
			return not_valid_risk(t, "The REFERENCES constraint of the new column, which has a default, is verified against every row.",
								  "<name>", psprintf("FOREIGN KEY (%s) REFERENCES %s ...", c,
													 quote_identifier(con->pktable->relname)));
		default:
			return NULL;
	}
}

/*
 * The default an added column gets from its DEFAULT clause, NULL for none.
 */
static Node *
column_default(ColumnDef *col)
{
	ListCell   *lc;

	foreach(lc, col->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		if (con->contype == CONSTR_DEFAULT)
			return con->raw_expr;
	}
	return col->raw_default;
}

/*
 * The added column's default as PostgreSQL stores it: transformed in the
 * statement's context, coerced to the column's type, planned.  NULL when
 * the statement itself fails on it.
 */
static Expr *
planned_default(Node *raw, Oid typid, int32 typmod, const char *query)
{
	ParseState *pstate = make_parsestate(NULL);
	Node	   *expr;

	pstate->p_sourcetext = query;
	expr = transformExpr(pstate, copyObject(raw), EXPR_KIND_COLUMN_DEFAULT);
	expr = coerce_to_target_type(pstate, expr, exprType(expr), typid, typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	free_parsestate(pstate);
	return expr ? expression_planner((Expr *) expr) : NULL;
}

/*
 * ADD COLUMN whose values differ per row (serial, identity, stored
 * generated) or whose type is a domain with constraints; NULL otherwise.
 */
static RewriteRisk *
judge_column_kind(const GuardTable *t, ColumnDef *col, Oid typid, int32 typmod)
{
	const char *type = OidIsValid(typid) ? format_type_with_typemod(typid, typmod) : "integer";
	const char *seq = "nextval('<a sequence OWNED BY the column>')";
	ListCell   *lc;

	if (serial_base_type(col->typeName) != NULL)
		return added_column_risk(col, "is serial (its default nextval() differs per row)",
								 batch_fill_hint(t, col, serial_base_type(col->typeName), seq));
	foreach(lc, col->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		if (con->contype == CONSTR_IDENTITY)
			return added_column_risk(col, "is an identity column (every row gets its own value)",
									 batch_fill_hint(t, col, type, seq));
		if (con->contype == CONSTR_GENERATED && steward_generated_is_stored(con))
			return added_column_risk(col, "is a stored generated column (computed for every row)",
									 psprintf("Add a plain %s column that a trigger keeps current, and fill the existing rows in batches "
											  "(UPDATE %s SET %s = <its expression> WHERE <a range of keys>, one batch per transaction); "
											  "from PostgreSQL 18 on, a VIRTUAL generated column is computed when read and writes nothing.",
											  type, t->qname, quote_identifier(col->colname)));
	}
	if (OidIsValid(typid) && DomainHasConstraints(typid))
		return added_column_risk(col, "is of a domain with constraints (checked on every row)",
								 psprintf("Add it with the domain's base type and its checks as a CHECK constraint, added NOT VALID and validated without blocking: "
										  "ALTER TABLE %s ADD COLUMN %s %s; ALTER TABLE %s ADD CONSTRAINT <name> CHECK (...) NOT VALID; "
										  "ALTER TABLE %s VALIDATE CONSTRAINT <name>.",
										  t->qname, quote_identifier(col->colname),
										  format_type_be(getBaseType(typid)), t->qname, t->qname));
	return NULL;
}

/*
 * ADD COLUMN: does it write every row (see the file header), or do its
 * constraints read every row?
 */
static RewriteRisk *
judge_add_column(Relation rel, AlterTableCmd *cmd, const GuardTable *t)
{
	ColumnDef  *col = castNode(ColumnDef, cmd->def);
	Node	   *raw_default = column_default(col);
	int32		typmod = -1;
	Oid			typid = InvalidOid;
	RewriteRisk *risk;
	ListCell   *lc;

	if (live_column(rel, col->colname) != NULL)
		return NULL;			/* IF NOT EXISTS, or the statement's own error */
	if (serial_base_type(col->typeName) == NULL)
		typid = statement_type(col->typeName, &typmod);
	if ((risk = judge_column_kind(t, col, typid, typmod)) != NULL)
		return risk;
	if (raw_default != NULL && OidIsValid(typid))
	{
		Expr	   *def = planned_default(raw_default, typid, typmod, t->query);

		if (def != NULL && contain_volatile_functions((Node *) def))
		{
			char	   *sql = deparse_expression((Node *) def, NIL, false, false);

			return added_column_risk(col, psprintf("has the volatile default %s (evaluated for every row)", sql),
									 batch_fill_hint(t, col, format_type_with_typemod(typid, typmod), sql));
		}
	}
	foreach(lc, col->constraints)
	{
		risk = judge_column_constraint(t, col, lfirst_node(Constraint, lc), raw_default != NULL);
		if (risk != NULL)
			return risk;
	}
	return NULL;
}

/*
 * ALTER COLUMN TYPE: rewrites unless PostgreSQL finds the conversion
 * binary-compatible (see the file header).
 */
static RewriteRisk *
judge_alter_type(Relation rel, AlterTableCmd *cmd, const GuardTable *t)
{
	ColumnDef  *def = castNode(ColumnDef, cmd->def);
	Form_pg_attribute att = live_column(rel, cmd->name);
	const char *c = quote_identifier(cmd->name);
	const char *cnew = quote_identifier(psprintf("%s_new", cmd->name));
	int32		typmod = -1;
	Oid			typid;
	Node	   *expr;
	char	   *type;
	char	   *fill;

	if (att == NULL || !OidIsValid(typid = statement_type(def->typeName, &typmod)))
		return NULL;
	if (def->raw_default != NULL)
		expr = cook_over_table(rel, def->raw_default, EXPR_KIND_ALTER_COL_TRANSFORM, t->query);
	else
		expr = (Node *) makeVar(1, att->attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
	if (!conversion_rewrites(expr, typid, typmod, att->attnum))
		return NULL;
	type = format_type_with_typemod(typid, typmod);
	fill = def->raw_default ? expr_sql(rel, expr) : psprintf("%s::%s", c, type);
	return steward_rewrite_risk("rewrite",
								psprintf("Column %s changes from %s to %s, which is not binary-compatible, so every row is rewritten and every index rebuilt.",
										 c, format_type_with_typemod(att->atttypid, att->atttypmod), type),
								psprintf("Add a column of the new type, fill it in batches (a trigger keeps it current meanwhile), then swap the names in a short migration: "
										 "ALTER TABLE %s ADD COLUMN %s %s; UPDATE %s SET %s = %s WHERE <a range of keys>, one batch per transaction; "
										 "ALTER TABLE %s RENAME COLUMN %s TO %s; ALTER TABLE %s RENAME COLUMN %s TO %s. "
										 "Binary-compatible changes (varchar(n) to varchar(m > n) or text, numeric(p,s) to numeric(q > p,s)) need no rewrite.",
										 t->qname, cnew, type, t->qname, cnew, fill,
										 t->qname, c, quote_identifier(psprintf("%s_old", cmd->name)),
										 t->qname, cnew, c));
}

/*
 * Do rel's validated CHECK constraints (and NOT NULL columns) prove that
 * the column holds no NULL?  The test NotNullImpliedByRelConstraints makes.
 */
static bool
not_null_proven(Relation rel, Form_pg_attribute att)
{
	NullTest   *test = makeNode(NullTest);

	test->arg = (Expr *) makeVar(1, att->attnum, att->atttypid, att->atttypmod,
								 att->attcollation, 0);
	test->nulltesttype = IS_NOT_NULL;
	test->argisrow = false;
	test->location = -1;
	return PartConstraintImpliedByRelConstraint(rel, list_make1(test));
}

/*
 * SET NOT NULL of a column with a NOT VALID not-null constraint (18)
 * validates that constraint by reading every row under ACCESS EXCLUSIVE;
 * VALIDATE CONSTRAINT reads them while reads and writes go on.
 */
static RewriteRisk *
not_valid_not_null_risk(const char *colname, HeapTuple con, const GuardTable *t)
{
	const char *c = quote_identifier(colname);
	const char *name = quote_identifier(NameStr(((Form_pg_constraint) GETSTRUCT(con))->conname));

	return steward_rewrite_risk("scan",
								psprintf("Column %s has the NOT VALID not-null constraint %s, which making it NOT NULL validates by reading every row (a validated CHECK does not spare that).",
										 c, name),
								psprintf("Validate the constraint instead, which lets reads and writes go on; the column is NOT NULL then: "
										 "ALTER TABLE %s VALIDATE CONSTRAINT %s.",
										 t->qname, name));
}

/*
 * Making a column NOT NULL reads every row unless it is NOT NULL or proven
 * so already (see the file header).
 */
static RewriteRisk *
not_null_risk(Relation rel, Form_pg_attribute att, const GuardTable *t)
{
	const char *colname = NameStr(att->attname);
	const char *c;
	const char *ck;

	if (att->attnotnull || not_null_proven(rel, att))
		return NULL;
	c = quote_identifier(colname);
	ck = quote_identifier(psprintf("ck_%s_%s", t->relname, colname));
	return steward_rewrite_risk("scan",
								psprintf("Making column %s NOT NULL reads every row, as no validated CHECK (%s IS NOT NULL) proves it.", c, c),
								psprintf("Prove it first with a CHECK constraint validated without blocking; SET NOT NULL then reads nothing: "
										 "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID; ALTER TABLE %s VALIDATE CONSTRAINT %s; "
										 "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL (the CHECK may be dropped afterwards). "
										 "From PostgreSQL 18 on, a NOT VALID not-null constraint does it without the CHECK: "
										 "ALTER TABLE %s ADD CONSTRAINT <name> NOT NULL %s NOT VALID; ALTER TABLE %s VALIDATE CONSTRAINT <name>.",
										 t->qname, ck, c, t->qname, ck, t->qname, c, t->qname, c, t->qname));
}

/*
 * SET NOT NULL: reads every row unless the column is NOT NULL or proven so
 * already; a NOT VALID not-null constraint (18) is validated by reading
 * every row, whatever proves it.
 */
static RewriteRisk *
judge_set_not_null(Relation rel, const char *colname, const GuardTable *t)
{
	Form_pg_attribute att = live_column(rel, colname);
	HeapTuple	not_valid;

	if (att == NULL)
		return NULL;
	if ((not_valid = steward_not_valid_not_null(rel, att->attnum)) != NULL)
		return not_valid_not_null_risk(colname, not_valid, t);
	return not_null_risk(rel, att, t);
}

/*
 * A PRIMARY KEY or a NOT NULL constraint (18) makes its columns NOT NULL
 * like SET NOT NULL, but a column with a NOT VALID not-null constraint is
 * the statement's own error (18 refuses it as incompatible).
 */
static RewriteRisk *
judge_implied_not_null(Relation rel, const char *colname, const GuardTable *t)
{
	Form_pg_attribute att = live_column(rel, colname);

	if (att == NULL || steward_not_valid_not_null(rel, att->attnum) != NULL)
		return NULL;
	return not_null_risk(rel, att, t);
}

/*
 * ADD CONSTRAINT ... PRIMARY KEY USING INDEX sets its columns NOT NULL:
 * each nullable one not proven so is read.
 */
static RewriteRisk *
judge_key_not_null(Relation rel, Constraint *con, const GuardTable *t)
{
	Oid			indexoid = get_relname_relid(con->indexname, RelationGetNamespace(rel));
	HeapTuple	tup;
	RewriteRisk *risk = NULL;
	int			i;

	if (!OidIsValid(indexoid))
		return NULL;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	if (!HeapTupleIsValid(tup))
		return NULL;
	for (i = 0; risk == NULL && i < ((Form_pg_index) GETSTRUCT(tup))->indnkeyatts; i++)
	{
		AttrNumber	attnum = ((Form_pg_index) GETSTRUCT(tup))->indkey.values[i];

		if (attnum > 0)
			risk = judge_implied_not_null(rel, get_attname(RelationGetRelid(rel), attnum, false), t);
	}
	ReleaseSysCache(tup);
	return risk;
}

/*
 * A CHECK constraint's expression as SQL, for the hint ("..." when it
 * names a column the same statement adds).
 */
static char *
check_sql(Relation rel, Constraint *con, const char *query)
{
	if (raw_columns_missing(con->raw_expr, rel))
		return pstrdup("...");
	return expr_sql(rel, cook_over_table(rel, con->raw_expr, EXPR_KIND_CHECK_CONSTRAINT, query));
}

/*
 * ADD CONSTRAINT: CHECK and FOREIGN KEY read every row unless NOT VALID;
 * PRIMARY KEY, UNIQUE and EXCLUDE build an index unless USING INDEX; a
 * NOT NULL constraint (18) is judged like SET NOT NULL.
 */
static RewriteRisk *
judge_add_constraint(Relation rel, Constraint *con, const GuardTable *t)
{
	const char *name = con->conname ? quote_identifier(con->conname) : "<name>";
	ListCell   *lc;
	RewriteRisk *risk = NULL;

	switch (con->contype)
	{
		case CONSTR_CHECK:
			if (con->skip_validation || (con->is_no_inherit && RelationGetRelid(rel) != t->relid))
				return NULL;
			return not_valid_risk(t, "ADD CONSTRAINT ... CHECK without NOT VALID verifies every row.", name,
								  psprintf("CHECK (%s)", check_sql(rel, con, t->query)));
		case CONSTR_FOREIGN:
			if (con->skip_validation)
				return NULL;
			return not_valid_risk(t, "ADD CONSTRAINT ... FOREIGN KEY without NOT VALID verifies every row.", name,
								  psprintf("FOREIGN KEY (%s) REFERENCES %s%s%s%s", name_list(con->fk_attrs),
										   quote_qualified_identifier(con->pktable->schemaname, con->pktable->relname),
										   con->pk_attrs ? " (" : "", con->pk_attrs ? name_list(con->pk_attrs) : "",
										   con->pk_attrs ? ")" : ""));
		case CONSTR_PRIMARY:
		case CONSTR_UNIQUE:
		case CONSTR_EXCLUSION:
			if (con->indexname == NULL)
				return index_constraint_risk(t, con->contype, name, name_list(con->keys));
			return con->contype == CONSTR_PRIMARY ? judge_key_not_null(rel, con, t) : NULL;
		case CONSTR_NOTNULL:
			if (con->skip_validation)
				return NULL;
			foreach(lc, con->keys)
				if (risk == NULL)
				risk = judge_implied_not_null(rel, strVal(lfirst(lc)), t);
			return risk;
		default:
			return NULL;
	}
}

/*
 * SET TABLESPACE, SET LOGGED / UNLOGGED, SET ACCESS METHOD: copy every row
 * into new files, unless the table has that property already.
 */
static RewriteRisk *
judge_table_move(Relation rel, AlterTableCmd *cmd, const GuardTable *t)
{
	const char *what;
	bool		same;
	Oid			target;

	switch (cmd->subtype)
	{
		case AT_SetTableSpace:
			what = "SET TABLESPACE";
			target = get_tablespace_oid(cmd->name, false);
			same = target == rel->rd_rel->reltablespace ||
				(target == MyDatabaseTableSpace && rel->rd_rel->reltablespace == InvalidOid);
			break;
		case AT_SetLogged:
		case AT_SetUnLogged:
			what = cmd->subtype == AT_SetLogged ? "SET LOGGED" : "SET UNLOGGED";
			same = rel->rd_rel->relpersistence ==
				(cmd->subtype == AT_SetLogged ? RELPERSISTENCE_PERMANENT : RELPERSISTENCE_UNLOGGED);
			break;
		case AT_SetAccessMethod:
			what = "SET ACCESS METHOD";
			same = get_table_am_oid(cmd->name ? cmd->name : default_table_access_method, false) ==
				rel->rd_rel->relam;
			break;
		default:
			return NULL;
	}
	if (same)
		return NULL;
	return steward_rewrite_risk("rewrite", psprintf("%s copies every row into new files.", what),
								psprintf(NO_ONLINE_FORM, t->qname));
}

/*
 * SET EXPRESSION (17) recomputes every row of a stored generated column.
 */
static RewriteRisk *
judge_set_expression(Relation rel, AlterTableCmd *cmd, const GuardTable *t)
{
	Form_pg_attribute att = live_column(rel, cmd->name);

	if (att == NULL || att->attgenerated != ATTRIBUTE_GENERATED_STORED)
		return NULL;
	return steward_rewrite_risk("rewrite",
								psprintf("SET EXPRESSION recomputes stored generated column %s in every row.",
										 quote_identifier(cmd->name)),
								psprintf(NO_ONLINE_FORM, t->qname));
}

/*
 * The bytes of scanrel that proving constraint (over from's columns) would
 * read: none when its validated constraints imply it, else the table, and
 * for a partitioned table what each partition needs -- the recursion of
 * QueuePartitionConstraintValidation, partitions locked as it locks them.
 */
static int64
unproven_bytes(Relation scanrel, List *constraint, Relation from)
{
	List	   *mapped = map_partition_varattnos(constraint, 1, scanrel, from);
	PartitionDesc pd;
	int64		bytes = 0;
	int			i;

	if (PartConstraintImpliedByRelConstraint(scanrel, mapped))
		return 0;
	if (scanrel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return steward_table_bytes(scanrel);
	pd = RelationGetPartitionDesc(scanrel, true);
	for (i = 0; i < pd->nparts; i++)
	{
		Relation	part = table_open(pd->oids[i], AccessExclusiveLock);

		bytes += unproven_bytes(part, mapped, scanrel);
		table_close(part, NoLock);
	}
	return bytes;
}

/*
 * The safe pattern of a table that would be read to prove its partition
 * constraint: a CHECK saying the same, validated without blocking first.
 */
static char *
bound_check_hint(Relation rel, List *constraint, Relation from, const char *why)
{
	List	   *mapped = map_partition_varattnos(constraint, 1, rel, from);
	const char *qname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel));
	const char *ck = quote_identifier(psprintf("ck_%s_bound", RelationGetRelationName(rel)));

	Expr	   *expr = make_ands_explicit(mapped);
	char	   *sql = expr_sql(rel, (Node *) expr);

	/* a boolean expression comes parenthesized: CHECK adds its own */
	if (IsA(expr, BoolExpr))
	{
		sql[strlen(sql) - 1] = '\0';
		sql++;
	}
	return psprintf("Prove %s first with a CHECK constraint validated without blocking; ATTACH PARTITION then reads nothing: "
					"ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s) NOT VALID; ALTER TABLE %s VALIDATE CONSTRAINT %s "
					"(the CHECK may be dropped after the attach).",
					why, qname, ck, sql, qname, ck);
}

/*
 * ALTER TABLE parent ATTACH PARTITION: the attached table (attachrel, its
 * partitions locked already) is read whole under ACCESS EXCLUSIVE unless
 * its validated constraints prove its partition constraint -- its bound
 * and the parent's own, built as ATExecAttachPartition builds them -- and
 * so is the default partition (defaultrel, or NULL), whose constraint
 * excludes the new bound.  Returns the risk and the bytes read in *bytes;
 * *scanned is the table named, the first one read.
 */
RewriteRisk *
steward_judge_attach(Relation parent, Relation attachrel, Relation defaultrel,
					 PartitionCmd *cmd, const char *query, int64 *bytes, Oid *scanned)
{
	ParseState *pstate = make_parsestate(NULL);
	PartitionBoundSpec *bound;
	List	   *bound_qual;
	List	   *part_qual;
	List	   *default_qual = NIL;
	int64		attach_bytes = 0;
	int64		default_bytes = 0;
	char	   *hint = NULL;

	pstate->p_sourcetext = query;
	bound = transformPartitionBound(pstate, parent, copyObject(cmd->bound));
	free_parsestate(pstate);
	bound_qual = get_qual_from_partbound(parent, bound);
	part_qual = list_concat_copy(bound_qual, RelationGetPartitionQual(parent));
	if (part_qual != NIL)
	{
		part_qual = list_make1(make_ands_explicit((List *) eval_const_expressions(NULL, (Node *) part_qual)));
		attach_bytes = unproven_bytes(attachrel, part_qual, parent);
	}
	if (defaultrel != NULL)
	{
		default_qual = get_proposed_default_constraint(list_copy(bound_qual));
		default_bytes = unproven_bytes(defaultrel, default_qual, parent);
	}
	*bytes = attach_bytes + default_bytes;
	if (*bytes == 0)
		return NULL;
	*scanned = RelationGetRelid(attach_bytes > 0 ? attachrel : defaultrel);
	if (attach_bytes > 0)
		hint = bound_check_hint(attachrel, part_qual, parent, "the partition's bound");
	if (default_bytes > 0)
		hint = psprintf("%s%s%s", hint ? hint : "", hint ? " And: " : "",
						bound_check_hint(defaultrel, default_qual, parent,
										 "that the default partition holds no row of the new bound"));
	return steward_rewrite_risk("scan",
								psprintf("ATTACH PARTITION reads every row %s to check %s, as no validated CHECK constraint proves %s.",
										 attach_bytes > 0 && default_bytes > 0 ? "of the table and of the default partition" :
										 attach_bytes > 0 ? "of the table" : "of the default partition",
										 attach_bytes > 0 ? "the partition's bound" : "that none belongs to the new partition",
										 attach_bytes > 0 && default_bytes > 0 ? "either" : "it"),
								hint);
}

/*
 * What the first subcommand of an ALTER TABLE that rewrites or reads rel
 * would do to it; NULL when none does.
 */
RewriteRisk *
steward_judge_alter_cmds(Relation rel, List *cmds, const GuardTable *t)
{
	ListCell   *lc;

	foreach(lc, cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		RewriteRisk *risk = NULL;

		if (cmd->subtype == AT_AddColumn)
			risk = judge_add_column(rel, cmd, t);
		else if (cmd->subtype == AT_AlterColumnType)
			risk = judge_alter_type(rel, cmd, t);
		else if (cmd->subtype == AT_SetNotNull)
			risk = judge_set_not_null(rel, cmd->name, t);
		else if (cmd->subtype == AT_AddConstraint)
			risk = judge_add_constraint(rel, castNode(Constraint, cmd->def), t);
		else if (steward_at_is_set_expression(cmd->subtype))
			risk = judge_set_expression(rel, cmd, t);
		else if (RelationGetRelid(rel) == t->relid)
			risk = judge_table_move(rel, cmd, t);	/* these stay on the table
													 * named */
		if (risk != NULL)
			return risk;
	}
	return NULL;
}
