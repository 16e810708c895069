/*-------------------------------------------------------------------------
 *
 * conventions.c
 *		Enforce the naming conventions of managed schemas on DDL.
 *
 * Listeners of the DDL event dispatcher (common/ddl_events.c).  At
 * ddl_command_end the parse tree tells which names the user wrote and the
 * catalogs what was created: names the user gave are checked (enforce:
 * error, the DDL rolls back; warn: WARNING), names PostgreSQL generated
 * (an unnamed PRIMARY KEY, UNIQUE, FOREIGN KEY, CHECK or EXCLUDE, an
 * unnamed index, the sequence of a serial or identity column) are renamed
 * to the standard name (naming.c).  Renames are done with the catalog
 * routines ALTER ... RENAME uses, not by issuing DDL, so no event trigger
 * fires for them and nothing recurses.  At ddl_command_start a CREATE
 * INDEX CONCURRENTLY with a bad explicit name is refused before it starts
 * (it cannot be rolled back afterwards), and the indexes, constraints and
 * sequences a table has before an ALTER TABLE are noted, so that only the
 * ones the ALTER adds are judged.
 *
 *-------------------------------------------------------------------------
 */
#include "conventions_int.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/tablecmds.h"
#include "inflect.h"
#include "miscadmin.h"
#include "naming.h"
#include "nodes/nodeFuncs.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

bool		steward_conventions = true;

/*
 * What ddl_command_start notes for its command's ddl_command_end, kept in
 * the command's frame of the dispatcher (steward_ddl_note), so it belongs
 * to exactly that command and is gone when the command ends or fails.  In
 * TopTransactionContext.
 *
 * given: the names the user wrote -- PostgreSQL turns a CREATE TABLE's
 * table constraints into separate commands in place while executing it,
 * so at ddl_command_end the parse tree no longer has them.
 * alter_relid/children: a table's constraints, indexes and sequences
 * before an ALTER TABLE, so that only those the ALTER adds are judged.
 */
typedef struct CommandNote
{
	bool		has_given;
	List	   *given;
	Oid			alter_relid;
	List	   *children;
}			CommandNote;

static int	note_slot = -1;

/*
 * Register steward.conventions and the listeners: conventions first at
 * ddl_command_start and ddl_command_end (they rename before anything
 * records a name), then injection (columns before capture reads them).
 */
void
steward_conventions_init(void)
{
	DefineCustomBoolVariable("steward.conventions",
							 "Enforce naming conventions and inject columns in managed schemas.",
							 "Superuser only; turn off for a restore.",
							 &steward_conventions,
							 true, PGC_SUSET, 0,
							 NULL, NULL, NULL);
	note_slot = steward_ddl_note_slot();
	steward_ddl_listen(STEWARD_DDL_START, STEWARD_DDL_ORDER_CONVENTIONS, "conventions",
					   steward_conventions_ddl_start);
	steward_ddl_listen(STEWARD_DDL_END, STEWARD_DDL_ORDER_CONVENTIONS, "conventions",
					   steward_conventions_ddl_end);
	steward_ddl_listen(STEWARD_DDL_END, STEWARD_DDL_ORDER_INJECTION, "injection",
					   steward_inject_ddl_end);
	steward_inject_init();
}

/*
 * The elements of a text[] Datum (no NULLs) as a list of C strings.
 */
static List *
text_array_to_list(Datum array)
{
	Datum	   *elems;
	int			n;
	int			i;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &n);
	for (i = 0; i < n; i++)
		result = lappend(result, TextDatumGetCString(elems[i]));
	return result;
}

static StewardPolicy *read_policy(Oid nspoid);

/*
 * A copy of a policy in cxt (callers may keep it longer than the memory
 * it was read into).
 */
static StewardPolicy *
copy_policy(MemoryContext cxt, const StewardPolicy *p)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	StewardPolicy *c = palloc(sizeof(StewardPolicy));
	ListCell   *lc;

	*c = *p;
	c->schema = pstrdup(p->schema);
	c->prefix = pstrdup(p->prefix);
	c->id_column = pstrdup(p->id_column);
	c->created_column = pstrdup(p->created_column);
	c->updated_column = pstrdup(p->updated_column);
	c->href_template = p->href_template ? pstrdup(p->href_template) : NULL;
	c->inject_exclude = NIL;
	foreach(lc, p->inject_exclude)
		c->inject_exclude = lappend(c->inject_exclude, pstrdup(lfirst(lc)));
	MemoryContextSwitchTo(oldcxt);
	return c;
}

/*
 * The policy of a schema, or NULL when the schema is not managed or its
 * mode is off.  Within one DDL event the answer is kept, in a context of
 * its own (a listener may read it inside an SPI connection of its own,
 * whose memory goes before the event's other listeners run), and handed
 * out as a copy in the caller's memory.
 */
StewardPolicy *
steward_policy_for(Oid nspoid)
{
	static MemoryContext cache_cxt = NULL;
	static uint64 cached_serial = 0;
	static Oid	cached_nsp = InvalidOid;
	static StewardPolicy *cached = NULL;
	uint64		serial = steward_ddl_event_serial();
	StewardPolicy *found;

	/* the listeners of one DDL event (up to four) read a schema's policy once */
	if (serial != 0 && serial == cached_serial && nspoid == cached_nsp)
		return cached ? copy_policy(CurrentMemoryContext, cached) : NULL;
	found = read_policy(nspoid);
	if (serial != 0)
	{
		if (cache_cxt == NULL)
			cache_cxt = AllocSetContextCreate(TopMemoryContext, "steward policy cache",
											  ALLOCSET_SMALL_SIZES);
		MemoryContextReset(cache_cxt);
		cached_serial = serial;
		cached_nsp = nspoid;
		cached = found ? copy_policy(cache_cxt, found) : NULL;
	}
	return found;
}

/*
 * A column of a schema_policies row, found by name.
 */
static Datum
policy_column(HeapTuple tup, TupleDesc desc, const char *name, bool *isnull)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "steward.schema_policies has no column \"%s\"", name);
	return heap_getattr(tup, attnum, desc, isnull);
}

/*
 * steward_policy_for's read of steward.schema_policies: one probe of its
 * primary key, read as a query in this command would read it (a copy of
 * the active snapshot that sees the transaction's earlier commands).  It
 * runs for every CREATE TABLE, where a query through SPI cost as much as
 * the rest of the conventions together.
 */
static StewardPolicy *
read_policy(Oid nspoid)
{
	char	   *schema = get_namespace_name(nspoid);
	Oid			stewardnsp = get_namespace_oid("steward", true);
	Oid			relid;
	Relation	rel;
	TupleDesc	desc;
	ScanKeyData key;
	SysScanDesc scan;
	NameData	keyname;
	HeapTuple	tup;
	StewardPolicy *p = NULL;
	bool		isnull;
	Datum		d;

	if (schema == NULL || strcmp(schema, "steward") == 0 || strcmp(schema, "pg_catalog") == 0 ||
		steward_skipped_schema(schema) || !OidIsValid(stewardnsp))
		return NULL;
	relid = get_relname_relid("schema_policies", stewardnsp);
	if (!OidIsValid(relid))
		return NULL;
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	namestrcpy(&keyname, schema);
	ScanKeyInit(&key, SPI_fnumber(desc, "schema_name"), BTEqualStrategyNumber, F_NAMEEQ,
				NameGetDatum(&keyname));
	if (ActiveSnapshotSet())
		PushCopiedSnapshot(GetActiveSnapshot());
	else
		PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	scan = systable_beginscan(rel, StewardRelationGetPrimaryKeyIndex(rel), true, GetActiveSnapshot(),
							  1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup) &&
		strcmp(TextDatumGetCString(policy_column(tup, desc, "mode", &isnull)), "off") != 0)
	{
		p = palloc0(sizeof(StewardPolicy));
		p->schema = schema;
		p->prefix = TextDatumGetCString(policy_column(tup, desc, "table_prefix", &isnull));
		p->plural = DatumGetBool(policy_column(tup, desc, "plural_tables", &isnull));
		p->inject = DatumGetBool(policy_column(tup, desc, "inject_columns", &isnull));
		p->audit = DatumGetBool(policy_column(tup, desc, "audit", &isnull));
		p->mode = TextDatumGetCString(policy_column(tup, desc, "mode", &isnull))[0];
		p->id_column = pstrdup(NameStr(*DatumGetName(policy_column(tup, desc, "id_column", &isnull))));
		p->created_column = pstrdup(NameStr(*DatumGetName(policy_column(tup, desc, "created_column",
																		&isnull))));
		p->updated_column = pstrdup(NameStr(*DatumGetName(policy_column(tup, desc, "updated_column",
																		&isnull))));
		d = policy_column(tup, desc, "href_template", &isnull);
		p->href_template = isnull ? NULL : TextDatumGetCString(d);
		d = policy_column(tup, desc, "inject_exclude", &isnull);
		p->inject_exclude = isnull ? NIL : text_array_to_list(d);
	}
	systable_endscan(scan);
	PopActiveSnapshot();
	table_close(rel, AccessShareLock);
	return p;
}

/*
 * Is relid in a managed schema and not one of the skipped kinds
 * (temporary, partition, typed table, foreign table)?  Sets *policy.
 */
bool
steward_relation_managed(Oid relid, StewardPolicy **policy)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class rel;
	bool		skip;
	Oid			nsp;

	*policy = NULL;
	if (!HeapTupleIsValid(tup))
		return false;
	rel = (Form_pg_class) GETSTRUCT(tup);
	skip = rel->relpersistence == RELPERSISTENCE_TEMP || rel->relispartition ||
		OidIsValid(rel->reloftype) || rel->relkind == RELKIND_FOREIGN_TABLE ||
		rel->relkind == RELKIND_TOASTVALUE;
	nsp = rel->relnamespace;
	ReleaseSysCache(tup);
	if (skip || !steward_conventions || creating_extension)
		return false;
	*policy = steward_policy_for(nsp);
	return *policy != NULL;
}

/*
 * Table of a constraint (InvalidOid for domain constraints).
 */
static Oid
constraint_relid(Oid conoid)
{
	HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	Oid			relid = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		relid = ((Form_pg_constraint) GETSTRUCT(tup))->conrelid;
		ReleaseSysCache(tup);
	}
	return relid;
}

/*
 * Table of an index.
 */
static Oid
index_relid(Oid indexoid)
{
	HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	Oid			relid = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		relid = ((Form_pg_index) GETSTRUCT(tup))->indrelid;
		ReleaseSysCache(tup);
	}
	return relid;
}

/*
 * Report a naming violation per the policy's mode.
 */
static void
violation(StewardPolicy *p, const char *what, const char *name, const char *detail,
		  const char *suggestion)
{
	ereport(p->mode == 'e' ? ERROR : WARNING,
			(errcode(ERRCODE_INVALID_NAME),
			 errmsg("%s name \"%s\" does not follow the naming convention of schema \"%s\"",
					what, name, p->schema),
			 errdetail("%s", detail),
			 errhint("Use \"%s\".", suggestion)));
}

/*
 * Check a table name: snake_case, prefix, plural last word.
 */
static void
check_table_name(StewardPolicy *p, const char *name)
{
	char	   *suggestion = steward_suggest_table_name(name, p->prefix, p->plural);
	StringInfoData detail;

	if (strcmp(suggestion, name) == 0)
		return;
	initStringInfo(&detail);
	if (!steward_is_snake(name))
		appendStringInfoString(&detail, "Names are lower snake_case. ");
	if (p->prefix[0] && strncmp(name, p->prefix, strlen(p->prefix)) != 0)
		appendStringInfo(&detail, "Table names in schema \"%s\" start with \"%s\". ",
						 p->schema, p->prefix);
	if (p->plural && !steward_is_plural(name))
		appendStringInfoString(&detail, "Table names end in a plural word. ");
	if (detail.len > 0)
		detail.data[--detail.len] = '\0';
	violation(p, "table", name, detail.data, suggestion);
}

/*
 * Check a plain identifier (column, view, sequence): snake_case.
 */
static void
check_snake(StewardPolicy *p, const char *what, const char *name)
{
	if (!steward_is_snake(name))
		violation(p, what, name, "Names are lower snake_case.", steward_snake_case(name));
}

/*
 * Check the column names of a relation.  The relation is locked: a table
 * that arrives with its schema's rename is not locked by the command.
 */
static void
check_columns(StewardPolicy *p, Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped)
			check_snake(p, "column", NameStr(att->attname));
	}
	relation_close(rel, NoLock);
}

/*
 * Names the user wrote in a statement: constraint and index names.
 */
static void
names_in_constraints(List *constraints, List **names)
{
	ListCell   *lc;

	foreach(lc, constraints)
	{
		Node	   *n = lfirst(lc);

		if (IsA(n, Constraint))
		{
			Constraint *c = (Constraint *) n;

			if (c->conname)
				*names = lappend(*names, c->conname);
			if (c->indexname)
				*names = lappend(*names, c->indexname);
		}
		else if (IsA(n, ColumnDef))
			names_in_constraints(((ColumnDef *) n)->constraints, names);
		else if (IsA(n, IndexStmt) && ((IndexStmt *) n)->idxname)
			*names = lappend(*names, ((IndexStmt *) n)->idxname);
	}
}

static List *
given_names(Node *tree)
{
	List	   *names = NIL;
	ListCell   *lc;

	if (IsA(tree, CreateStmt))
	{
		names_in_constraints(((CreateStmt *) tree)->tableElts, &names);
		names_in_constraints(((CreateStmt *) tree)->constraints, &names);
	}
	else if (IsA(tree, AlterTableStmt))
	{
		foreach(lc, ((AlterTableStmt *) tree)->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			if (cmd->def)
				names_in_constraints(list_make1(cmd->def), &names);
		}
	}
	else if (IsA(tree, IndexStmt) && ((IndexStmt *) tree)->idxname)
		names = lappend(names, ((IndexStmt *) tree)->idxname);
	else if (IsA(tree, CreateSchemaStmt))
	{
		foreach(lc, ((CreateSchemaStmt *) tree)->schemaElts)
			names = list_concat(names, given_names(lfirst(lc)));
	}
	return names;
}

static bool
name_in(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	}
	return false;
}

/*
 * A free relation name in the namespace: standard, or standard_2, _3...
 */
static char *
free_relation_name(const char *standard, Oid nsp, Oid relid, Oid skip_constraint_rel)
{
	char	   *name = pstrdup(standard);
	int			n = 2;

	while (OidIsValid(get_relname_relid(name, nsp)) ||
		   (OidIsValid(skip_constraint_rel) &&
			ConstraintNameIsUsed(CONSTRAINT_RELATION, skip_constraint_rel, name)))
		name = steward_fit_name(psprintf("%s_%d", standard, n++));
	return name;
}

/*
 * A free constraint name on a table: standard, or standard_2, _3...
 */
static char *
free_constraint_name(const char *standard, Oid relid)
{
	char	   *name = pstrdup(standard);
	int			n = 2;

	while (ConstraintNameIsUsed(CONSTRAINT_RELATION, relid, name))
		name = steward_fit_name(psprintf("%s_%d", standard, n++));
	return name;
}

/*
 * The children of a table: its constraints, its indexes and its owned
 * sequences, as OIDs (the three catalogs' OIDs do not collide in practice
 * and are only compared with each other here).  Reads the catalogs only,
 * without locking the table.
 */
static List *
table_children(Oid relid)
{
	List	   *children = NIL;
	Relation	catalog;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	catalog = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		children = lappend_oid(children, ((Form_pg_constraint) GETSTRUCT(tup))->oid);
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);

	catalog = table_open(IndexRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, IndexIndrelidIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		children = lappend_oid(children, ((Form_pg_index) GETSTRUCT(tup))->indexrelid);
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);

	return list_concat(children, getOwnedSequences(relid));
}

/*
 * fix_child's step for a constraint (tup is its pg_constraint row, which
 * this releases).  A name the user gave is only judged; a generated one is
 * renamed.  A primary key, unique or exclusion constraint is renamed
 * through its index, which renames the constraint with it, so that the
 * two keep one name; other constraints are renamed in pg_constraint.
 */
static bool
fix_constraint(StewardPolicy *p, Oid relid, Oid nsp, Oid child, HeapTuple tup, List *given)
{
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
	char	   *name = pstrdup(NameStr(con->conname));
	Oid			conindid = con->conindid;
	char		contype = con->contype;
	char	   *standard;

	ReleaseSysCache(tup);
	standard = steward_constraint_standard_name(child);
	if (standard == NULL || steward_name_acceptable(name, standard))
		return false;
	if (name_in(given, name))
	{
		violation(p, "constraint", name,
				  "Constraint names are pk_<table>, uq_<table>_<columns>, fk_<table>_<columns>_<referenced table>, ck_<table>_<columns> or ex_<table>_<columns>.",
				  standard);
		return false;
	}
	if ((contype == CONSTRAINT_PRIMARY || contype == CONSTRAINT_UNIQUE ||
		 contype == CONSTRAINT_EXCLUSION) && OidIsValid(conindid))
		RenameRelationInternal(conindid, free_relation_name(standard, nsp, conindid, relid),
							   false, true);
	else
		RenameConstraintById(child, free_constraint_name(standard, relid));
	CommandCounterIncrement();
	return true;
}

/*
 * fix_child's step for an index that belongs to no constraint (one that
 * does is judged as its constraint).  As for constraints, a name the user
 * gave is judged and a generated one renamed.
 */
static bool
fix_index(StewardPolicy *p, Oid nsp, Oid child, List *given)
{
	char	   *name;
	char	   *standard;

	if (OidIsValid(get_index_constraint(child)))
		return false;			/* judged as its constraint */
	name = get_rel_name(child);
	standard = steward_index_standard_name(child);
	if (steward_index_name_acceptable(name, standard))
		return false;
	if (name_in(given, name))
	{
		violation(p, "index", name,
				  "Index names are ix_<table>_<columns> (uq_<table>_<columns> for unique indexes).",
				  standard);
		return false;
	}
	RenameRelationInternal(child, free_relation_name(standard, nsp, InvalidOid, InvalidOid),
						   false, true);
	CommandCounterIncrement();
	return true;
}

/*
 * fix_child's step for an owned sequence: the user never names the
 * sequence of a serial or identity column, so it is always renamed to the
 * standard name when it differs.
 */
static bool
fix_sequence(Oid nsp, Oid child)
{
	char	   *name = get_rel_name(child);
	char	   *standard = steward_sequence_standard_name(child);

	if (standard == NULL || steward_name_acceptable(name, standard))
		return false;
	RenameRelationInternal(child, free_relation_name(standard, nsp, InvalidOid, InvalidOid),
						   false, false);
	CommandCounterIncrement();
	return true;
}

/*
 * Check or rename one child of a table: a constraint, an index or an
 * owned sequence.  Returns true when it renamed it.  The three kinds are
 * named and renamed differently, so each has its own step above; this
 * only tells which kind the child is.
 */
static bool
fix_child(StewardPolicy *p, Oid relid, Oid child, List *given)
{
	Oid			nsp = get_rel_namespace(relid);
	HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(child));

	if (HeapTupleIsValid(tup))
		return fix_constraint(p, relid, nsp, child, tup, given);
	switch (get_rel_relkind(child))
	{
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			return fix_index(p, nsp, child, given);
		case RELKIND_SEQUENCE:
			return fix_sequence(nsp, child);
		default:
			return false;
	}
}

/*
 * Judge the children of a table; only those not in before, when given.
 */
static bool
fix_children(StewardPolicy *p, Oid relid, List *given, List *before)
{
	ListCell   *lc;
	bool		renamed = false;
	List	   *children = table_children(relid);

	foreach(lc, children)
	{
		Oid			child = lfirst_oid(lc);

		if (before != NIL && list_member_oid(before, child))
			continue;
		renamed |= fix_child(p, relid, child, given);
	}
	return renamed;
}

/*
 * Check a newly created or renamed relation's own name.
 */
static void
check_relation_name(StewardPolicy *p, Oid relid, const char *name)
{
	switch (get_rel_relkind(relid))
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
			check_table_name(p, name);
			break;
		case RELKIND_VIEW:
			check_snake(p, "view", name);
			break;
		case RELKIND_MATVIEW:
			check_snake(p, "materialized view", name);
			break;
		case RELKIND_SEQUENCE:
			{
				char	   *standard = steward_sequence_standard_name(relid);

				if (standard && !steward_name_acceptable(name, standard))
					violation(p, "sequence", name,
							  "Sequences of serial and identity columns are named sq_<table>_<column>.",
							  standard);
				else
					check_snake(p, "sequence", name);
				break;
			}
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			{
				char	   *standard = steward_index_standard_name(relid);

				if (!steward_index_name_acceptable(name, standard))
					violation(p, "index", name,
							  "Index names are ix_<table>_<columns> (uq_<table>_<columns> for unique indexes).",
							  standard);
				break;
			}
		default:
			break;
	}
}

/*
 * This command's note, created (in TopTransactionContext) when create is
 * true; NULL outside a command or when nothing was noted.
 */
static CommandNote *
command_note(bool create)
{
	void	  **slot = steward_ddl_note(note_slot);

	if (slot == NULL)
		return NULL;
	if (*slot == NULL && create)
		*slot = MemoryContextAllocZero(TopTransactionContext, sizeof(CommandNote));
	return *slot;
}

/*
 * The names noted at this command's ddl_command_start, or those still in
 * the tree when none were noted.
 */
static List *
take_given_names(Node *tree)
{
	CommandNote *note = command_note(false);

	if (note != NULL && note->has_given)
		return note->given;
	return given_names(tree);
}

/*
 * The children relid had before this command (an ALTER TABLE), noted at
 * its ddl_command_start; NIL when nothing was noted for it.
 */
static List *
take_snapshot(Oid relid)
{
	CommandNote *note = command_note(false);

	if (note == NULL || note->alter_relid != relid)
		return NIL;
	return note->children ? note->children : list_make1_oid(InvalidOid);
}

/*
 * A RENAME of a column, constraint or relation of a managed table: judge
 * the new name the user gave.
 */
static void
judge_rename(RenameStmt *r, DdlObject *o)
{
	Oid			relid = o->classid == RelationRelationId ? o->objid :
		(o->classid == ConstraintRelationId ? constraint_relid(o->objid) : InvalidOid);
	StewardPolicy *p;

	if (!OidIsValid(relid) || !steward_relation_managed(relid, &p))
		return;
	if (r->renameType == OBJECT_COLUMN)
		check_snake(p, "column", r->newname);
	else if (r->renameType == OBJECT_TABCONSTRAINT || r->renameType == OBJECT_DOMCONSTRAINT)
	{
		char	   *standard = steward_constraint_standard_name(o->objid);

		if (standard && !steward_name_acceptable(r->newname, standard))
			violation(p, "constraint", r->newname,
					  "Constraint names are pk_<table>, uq_<table>_<columns>, fk_<table>_<columns>_<referenced table>, ck_<table>_<columns> or ex_<table>_<columns>.",
					  standard);
	}
	else if (o->classid == RelationRelationId && o->objsubid == 0)
		check_relation_name(p, relid, r->newname);
}

/*
 * CREATE TABLE, CREATE TABLE AS, CREATE VIEW: judge the relation's name
 * and columns, then its generated and given children.  Returns true when
 * it renamed a child.
 */
static bool
judge_created(StewardPolicy *p, Oid relid, List *given)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == RELKIND_INDEX || relkind == RELKIND_SEQUENCE)
		return false;			/* judged with their table */
	check_relation_name(p, relid, get_rel_name(relid));
	check_columns(p, relid);
	if (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE)
		return fix_children(p, relid, given, NIL);
	return false;
}

/*
 * ALTER TABLE: judge the columns it adds, and the children it added since
 * ddl_command_start noted the table's children.  Returns true when it
 * renamed a child.
 */
static bool
judge_altered(StewardPolicy *p, AlterTableStmt *stmt, Oid relid, List *given)
{
	char		relkind = get_rel_relkind(relid);
	List	   *before;
	ListCell   *cc;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		return false;
	foreach(cc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(cc);

		if (cmd->subtype == AT_AddColumn && cmd->def && IsA(cmd->def, ColumnDef))
			check_snake(p, "column", ((ColumnDef *) cmd->def)->colname);
	}
	before = take_snapshot(relid);
	return before != NIL && fix_children(p, relid, given, before);
}

/*
 * One relation the command created or altered in a managed schema: judge
 * it by the kind of command.  Returns true when it renamed something.
 */
static bool
judge_relation(StewardPolicy *p, Node *tree, Oid relid, List *given)
{
	switch (nodeTag(tree))
	{
		case T_CreateStmt:
		case T_CreateTableAsStmt:
		case T_ViewStmt:
			return judge_created(p, relid, given);
		case T_CreateSeqStmt:
			check_snake(p, "sequence", get_rel_name(relid));
			return false;
		case T_IndexStmt:
			if (((IndexStmt *) tree)->idxname == NULL)
				return fix_child(p, index_relid(relid), relid, NIL);
			if (!((IndexStmt *) tree)->concurrent)
				check_relation_name(p, relid, get_rel_name(relid));
			return false;
		case T_AlterTableStmt:
			return judge_altered(p, (AlterTableStmt *) tree, relid, given);
		default:
			return false;
	}
}

/*
 * Does this command bring existing tables into a schema (ALTER TABLE ...
 * SET SCHEMA, ALTER SCHEMA ... RENAME) or create tables as elements of
 * CREATE SCHEMA?  Those tables get a created table's treatment.
 */
static bool
brings_tables(Node *tree)
{
	return IsA(tree, CreateSchemaStmt) ||
		(IsA(tree, AlterObjectSchemaStmt) &&
		 ((AlterObjectSchemaStmt *) tree)->objectType == OBJECT_TABLE) ||
		(IsA(tree, RenameStmt) && ((RenameStmt *) tree)->renameType == OBJECT_SCHEMA);
}

/*
 * The tables (plain and partitioned, no partitions) a command created or
 * brought into a schema: those it reported, or for a renamed schema every
 * table in it.  Each once, in a stable order.
 */
List *
steward_command_tables(EventTriggerData *trig, List *objs)
{
	Node	   *tree = trig->parsetree;
	List	   *tables = NIL;
	ListCell   *lc;

	if (IsA(tree, RenameStmt) && ((RenameStmt *) tree)->renameType == OBJECT_SCHEMA)
	{
		Oid			types[1] = {OIDOID};
		Datum		values[1];
		uint64		i;

		values[0] = ObjectIdGetDatum(get_namespace_oid(((RenameStmt *) tree)->newname, false));
		steward_exec_cached("SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = $1 "
							"  AND relkind IN ('r', 'p') AND NOT relispartition ORDER BY oid",
							1, types, values, NULL, SPI_OK_SELECT);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			tables = lappend_oid(tables, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																		SPI_tuptable->tupdesc, 1,
																		&isnull)));
		}
		/* renaming the schema locked none of them: judge them locked */
		foreach(lc, tables)
			LockRelationOid(lfirst_oid(lc), AccessShareLock);
		return tables;
	}
	foreach(lc, objs)
	{
		DdlObject  *o = lfirst(lc);
		char		relkind;

		if (o->classid != RelationRelationId || o->objsubid != 0 ||
			list_member_oid(tables, o->objid))
			continue;
		relkind = get_rel_relkind(o->objid);
		if (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE)
			tables = lappend_oid(tables, o->objid);
	}
	return tables;
}

/*
 * Tables that arrive in a managed schema, or are created by CREATE SCHEMA's
 * elements: judged as created tables -- their names and columns per the
 * mode, their constraints, indexes and sequences renamed to the standard
 * unless the user named them in this command.  Returns true when it renamed.
 */
static bool
judge_brought_tables(EventTriggerData *trig, List *objs)
{
	List	   *given = IsA(trig->parsetree, CreateSchemaStmt) ?
		take_given_names(trig->parsetree) : NIL;
	List	   *tables = steward_command_tables(trig, objs);
	ListCell   *lc;
	bool		renamed = false;
	StewardPolicy *p;

	foreach(lc, tables)
	{
		if (steward_relation_managed(lfirst_oid(lc), &p))
			renamed |= judge_created(p, lfirst_oid(lc), given);
	}
	return renamed;
}

/*
 * The ddl_command_end listener: check and fix what the command created or
 * renamed.  Returns true when it renamed objects (the dispatcher re-reads
 * identities for the listeners after it).
 */
bool
steward_conventions_ddl_end(EventTriggerData *trig, List *objs)
{
	Node	   *tree = trig->parsetree;
	List	   *given;
	List	   *judged = NIL;
	ListCell   *lc;
	bool		renamed = false;
	StewardPolicy *p;

	if (!steward_conventions || creating_extension)
		return false;
	switch (nodeTag(tree))
	{
		case T_CreateStmt:
		case T_CreateTableAsStmt:
		case T_ViewStmt:
		case T_CreateSeqStmt:
		case T_IndexStmt:
		case T_AlterTableStmt:
		case T_RenameStmt:
			break;
		case T_CreateSchemaStmt:
		case T_AlterObjectSchemaStmt:
			return brings_tables(tree) && judge_brought_tables(trig, objs);
		default:
			return false;
	}
	if (brings_tables(tree))
		return judge_brought_tables(trig, objs);
	given = take_given_names(tree);
	foreach(lc, objs)
	{
		DdlObject  *o = lfirst(lc);

		if (IsA(tree, RenameStmt))
		{
			judge_rename((RenameStmt *) tree, o);
			continue;
		}
		if (o->classid != RelationRelationId || o->objsubid != 0)
			continue;
		/* the same relation can be reported twice (CREATE TABLE with an FK) */
		if (list_member_oid(judged, o->objid))
			continue;
		judged = lappend_oid(judged, o->objid);
		if (steward_relation_managed(o->objid, &p))
			renamed |= judge_relation(p, tree, o->objid, given);
	}
	return renamed;
}

/*
 * Column names an index element's raw expression references, in order.
 */
static bool
raw_column_refs(Node *node, List **names)
{
	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		Node	   *last = llast(((ColumnRef *) node)->fields);

		if (IsA(last, String) && !name_in(*names, strVal(last)))
			*names = lappend(*names, strVal(last));
		return false;
	}
	return raw_expression_tree_walker(node, raw_column_refs, (void *) names);
}

/*
 * ddl_command_start, CREATE TABLE or ALTER TABLE: note the names the user
 * wrote, because PostgreSQL moves a CREATE TABLE's table constraints out
 * of the parse tree while it executes the statement, and ddl_command_end
 * must still tell given names from generated ones.
 */
static void
note_given_names(Node *tree)
{
	List	   *names = given_names(tree);
	CommandNote *note = command_note(true);
	MemoryContext oldcxt;
	ListCell   *nc;

	if (note == NULL)
		return;
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	note->has_given = true;
	note->given = NIL;
	foreach(nc, names)
		note->given = lappend(note->given, pstrdup(lfirst(nc)));
	MemoryContextSwitchTo(oldcxt);
}

/*
 * ddl_command_start, CREATE INDEX CONCURRENTLY with an explicit name:
 * judge the name now, from the statement's columns, because once the
 * command has started it commits on its own and cannot be rolled back.
 */
static void
check_concurrent_index(IndexStmt *stmt)
{
	Oid			relid = steward_ddl_relation_oid(stmt->relation);
	List	   *cols = NIL;
	ListCell   *lc;
	char	   *standard;
	StewardPolicy *p;

	if (!OidIsValid(relid) || !steward_relation_managed(relid, &p))
		return;
	foreach(lc, stmt->indexParams)
	{
		IndexElem  *e = lfirst(lc);
		List	   *refs = NIL;

		if (e->name)
			cols = lappend(cols, e->name);
		else
		{
			raw_column_refs(e->expr, &refs);
			cols = refs ? list_concat(cols, refs) : lappend(cols, "expr");
		}
	}
	standard = steward_compose_name(stmt->unique ? "uq" : "ix", get_rel_name(relid), cols, NULL);
	if (!steward_index_name_acceptable(stmt->idxname, standard))
		violation(p, "index", stmt->idxname,
				  "Index names are ix_<table>_<columns> (uq_<table>_<columns> for unique indexes); CREATE INDEX CONCURRENTLY is checked before it starts.",
				  standard);
}

/*
 * ddl_command_start, ALTER TABLE of a managed table: note the table's
 * children, so that ddl_command_end judges only those the ALTER adds and
 * leaves the ones that were there before alone.
 */
static void
note_alter_snapshot(AlterTableStmt *stmt)
{
	Oid			relid = steward_ddl_relation_oid(stmt->relation);
	CommandNote *note;
	MemoryContext oldcxt;
	StewardPolicy *p;

	if (!OidIsValid(relid) || !steward_relation_managed(relid, &p) ||
		(note = command_note(true)) == NULL)
		return;
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	note->alter_relid = relid;
	note->children = table_children(relid);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * The ddl_command_start listener: refuse CREATE INDEX CONCURRENTLY with a
 * bad explicit name before it starts, and note a table's children before
 * ALTER TABLE.  Renames nothing.
 */
bool
steward_conventions_ddl_start(EventTriggerData *trig, List *objs)
{
	Node	   *tree = trig->parsetree;

	if (!steward_conventions || creating_extension ||
		!(IsA(tree, IndexStmt) || IsA(tree, AlterTableStmt) || IsA(tree, CreateStmt) ||
		  IsA(tree, CreateSchemaStmt)))
		return false;
	if (IsA(tree, CreateStmt) || IsA(tree, AlterTableStmt) || IsA(tree, CreateSchemaStmt))
		note_given_names(tree);
	if (IsA(tree, IndexStmt) && ((IndexStmt *) tree)->concurrent && ((IndexStmt *) tree)->idxname)
		check_concurrent_index((IndexStmt *) tree);
	else if (IsA(tree, AlterTableStmt) && ((AlterTableStmt *) tree)->objtype == OBJECT_TABLE)
		note_alter_snapshot((AlterTableStmt *) tree);
	return false;
}
