/*-------------------------------------------------------------------------
 *
 * naming.c
 *		Standard names, computed from the catalogs, so that enforcement at
 *		DDL time and steward.lint() for existing objects agree exactly:
 *
 *		  pk_<table>                       primary key (and its index)
 *		  uq_<table>_<cols>                unique constraint or unique index
 *		  fk_<table>_<cols>_<reftable>     foreign key
 *		  ck_<table>_<cols>                check (columns it references, or an
 *		                                   8-hex digest of its expression)
 *		  ex_<table>_<cols>                exclusion constraint
 *		  ix_<table>_<cols>                index (expression columns: the
 *		                                   columns they reference, or "expr")
 *		  sq_<table>_<col>                 sequence of a serial/identity column
 *
 * A name longer than 63 bytes is cut to 54 bytes and ends in "_" and the
 * first 8 hex digits of the SHA-256 of the full name, so it stays unique
 * and stable.  An explicit name is acceptable when it is the standard name
 * or the standard name followed by "_" and a suffix (to tell apart two
 * indexes on the same columns).
 *
 *-------------------------------------------------------------------------
 */
#include "naming.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "inflect.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(steward_standard_name);
PG_FUNCTION_INFO_V1(steward_name_suggestion);
PG_FUNCTION_INFO_V1(steward_snake_case_sql);
PG_FUNCTION_INFO_V1(steward_suggest_table_name_sql);
PG_FUNCTION_INFO_V1(steward_is_plural_sql);

#define STEWARD_NAME_MAX (NAMEDATALEN - 1)

/*
 * Lower snake_case: ^[a-z][a-z0-9_]*$
 */
bool
steward_is_snake(const char *name)
{
	const char *p;

	if (name[0] < 'a' || name[0] > 'z')
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/*
 * Lower-case a name and turn word boundaries into underscores:
 * "OrderItems" -> "order_items", "order-items" -> "order_items"; other
 * characters are dropped.  May start with a digit (name components).
 */
static char *
snake_component(const char *name)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	for (p = name; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c >= 'A' && c <= 'Z')
		{
			if (buf.len > 0 && buf.data[buf.len - 1] != '_' &&
				((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9') ||
				 (p[1] >= 'a' && p[1] <= 'z' && p[-1] >= 'A' && p[-1] <= 'Z')))
				appendStringInfoChar(&buf, '_');
			appendStringInfoChar(&buf, (char) (c - 'A' + 'a'));
		}
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			appendStringInfoChar(&buf, (char) c);
		else if (buf.len > 0 && buf.data[buf.len - 1] != '_')
			appendStringInfoChar(&buf, '_');
	}
	while (buf.len > 0 && buf.data[buf.len - 1] == '_')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

/*
 * The snake_case spelling of a name, starting with a letter ("t_" is put
 * in front of one that would not).
 */
char *
steward_snake_case(const char *name)
{
	char	   *s = snake_component(name);

	if (s[0] < 'a' || s[0] > 'z')
		return psprintf("t_%s", s);
	return s;
}

/*
 * Fit a name into 63 bytes: cut at 54 (on a character boundary) and add
 * "_" and 8 hex digits of the SHA-256 of the full name.
 */
char *
steward_fit_name(const char *full)
{
	int			len = strlen(full);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *ctx;
	int			cut;

	if (len <= STEWARD_NAME_MAX)
		return pstrdup(full);
	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) full, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	cut = pg_mbcliplen(full, len, STEWARD_NAME_MAX - 9);
	return psprintf("%.*s_%02x%02x%02x%02x", cut, full, digest[0], digest[1], digest[2],
					digest[3]);
}

/*
 * kind_table[_col...][_ref], each part in snake_case, fitted into 63 bytes.
 */
char *
steward_compose_name(const char *kind, const char *table, List *cols, const char *ref)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s_%s", kind, snake_component(table));
	foreach(lc, cols)
		appendStringInfo(&buf, "_%s", snake_component(lfirst(lc)));
	if (ref)
		appendStringInfo(&buf, "_%s", snake_component(ref));
	return steward_fit_name(buf.data);
}

/*
 * The accepted spelling of a table name: snake_case, with the prefix,
 * last word plural when the policy wants plural tables.
 */
char *
steward_suggest_table_name(const char *name, const char *prefix, bool plural)
{
	char	   *s = steward_snake_case(name);

	if (prefix && prefix[0] && strncmp(s, prefix, strlen(prefix)) != 0)
		s = psprintf("%s%s", prefix, s);
	if (plural && !steward_is_plural(s))
		s = steward_pluralize(s);
	return steward_fit_name(s);
}

/*
 * Is an explicit name acceptable for an object whose standard name is
 * standard?  Equal, or standard + "_" + a snake_case suffix.
 */
bool
steward_name_acceptable(const char *name, const char *standard)
{
	size_t		slen = strlen(standard);

	if (strcmp(name, standard) == 0)
		return true;
	return strncmp(name, standard, slen) == 0 && name[slen] == '_' && name[slen + 1] != '\0' &&
		steward_is_snake(name);
}

/*
 * Is an explicit index name acceptable?  A unique index whose standard
 * name is uq_... may also be named ix_... (SQLAlchemy and Alembic do).
 */
bool
steward_index_name_acceptable(const char *name, const char *standard)
{
	return steward_name_acceptable(name, standard) ||
		(strncmp(standard, "uq_", 3) == 0 &&
		 steward_name_acceptable(name, psprintf("ix_%s", standard + 3)));
}

/*
 * Names of the attributes in an int2[] of attribute numbers of relid.
 */
static List *
attnames(Oid relid, ArrayType *attnums)
{
	List	   *cols = NIL;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	deconstruct_array(attnums, INT2OID, sizeof(int16), true, TYPALIGN_SHORT,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
		if (!nulls[i] && DatumGetInt16(elems[i]) > 0)
			cols = lappend(cols, get_attname(relid, DatumGetInt16(elems[i]), false));
	return cols;
}

/* Collect the column names an expression references, in order. */
typedef struct VarNames
{
	Oid			relid;
	List	   *names;
} VarNames;

static bool
collect_var_names(Node *node, VarNames *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varattno > 0)
	{
		char	   *n = get_attname(ctx->relid, ((Var *) node)->varattno, false);
		ListCell   *lc;

		foreach(lc, ctx->names)
		{
			if (strcmp(lfirst(lc), n) == 0)
				return false;
		}
		ctx->names = lappend(ctx->names, n);
		return false;
	}
	return expression_tree_walker(node, collect_var_names, (void *) ctx);
}

/*
 * 8 hex digits of the SHA-256 of a constraint's definition, for a check
 * that references no column.
 */
static char *
constraint_digest(Oid conoid)
{
	char	   *def = TextDatumGetCString(DirectFunctionCall1(pg_get_constraintdef,
															  ObjectIdGetDatum(conoid)));
	char	   *fitted = steward_fit_name(psprintf("%s%0*d", def, NAMEDATALEN, 0));
	size_t		len = strlen(fitted);

	return pstrdup(fitted + len - 8);
}

/*
 * Standard name of a table constraint (NULL for kinds without one).
 */
char *
steward_constraint_standard_name(Oid conoid)
{
	HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	Form_pg_constraint con;
	const char *kind;
	List	   *cols = NIL;
	char	   *table;
	char	   *ref = NULL;
	bool		isnull;
	Datum		d;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for constraint %u", conoid);
	con = (Form_pg_constraint) GETSTRUCT(tup);
	if (!OidIsValid(con->conrelid))
	{
		ReleaseSysCache(tup);
		return NULL;
	}
	switch (con->contype)
	{
		case CONSTRAINT_PRIMARY:
			kind = "pk";
			break;
		case CONSTRAINT_UNIQUE:
			kind = "uq";
			break;
		case CONSTRAINT_FOREIGN:
			kind = "fk";
			break;
		case CONSTRAINT_CHECK:
			kind = "ck";
			break;
		case CONSTRAINT_EXCLUSION:
			kind = "ex";
			break;
		default:
			ReleaseSysCache(tup);
			return NULL;
	}
	table = get_rel_name(con->conrelid);
	if (con->contype != CONSTRAINT_PRIMARY)
	{
		d = SysCacheGetAttr(CONSTROID, tup, Anum_pg_constraint_conkey, &isnull);
		if (!isnull)
			cols = attnames(con->conrelid, DatumGetArrayTypeP(d));
		if (con->contype == CONSTRAINT_FOREIGN)
			ref = get_rel_name(con->confrelid);
		if (con->contype == CONSTRAINT_CHECK && cols == NIL)
			cols = list_make1(constraint_digest(conoid));
	}
	ReleaseSysCache(tup);
	return steward_compose_name(kind, table, cols, ref);
}

/*
 * Standard name of an index: its constraint's, or ix_/uq_ and its columns.
 */
char *
steward_index_standard_name(Oid indexoid)
{
	Oid			conoid = get_index_constraint(indexoid);
	HeapTuple	tup;
	Form_pg_index idx;
	List	   *cols = NIL;
	List	   *exprs = NIL;
	ListCell   *next_expr;
	bool		isnull;
	Datum		d;
	int			i;
	char	   *result;

	if (OidIsValid(conoid))
		return steward_constraint_standard_name(conoid);
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	idx = (Form_pg_index) GETSTRUCT(tup);
	d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indexprs, &isnull);
	if (!isnull)
		exprs = (List *) stringToNode(TextDatumGetCString(d));
	next_expr = list_head(exprs);
	for (i = 0; i < idx->indnkeyatts; i++)
	{
		AttrNumber	attnum = idx->indkey.values[i];

		if (attnum > 0)
			cols = lappend(cols, get_attname(idx->indrelid, attnum, false));
		else if (next_expr != NULL)
		{
			VarNames	ctx = {idx->indrelid, NIL};

			collect_var_names(lfirst(next_expr), &ctx);
			next_expr = lnext(exprs, next_expr);
			cols = ctx.names ? list_concat(cols, ctx.names) : lappend(cols, "expr");
		}
	}
	result = steward_compose_name(idx->indisunique ? "uq" : "ix",
								  get_rel_name(idx->indrelid), cols, NULL);
	ReleaseSysCache(tup);
	return result;
}

/*
 * Standard name of a sequence owned by a serial or identity column, or
 * NULL for a free-standing sequence.
 */
char *
steward_sequence_standard_name(Oid seqoid)
{
	Oid			tableid;
	int32		colid;

	if (!sequenceIsOwned(seqoid, DEPENDENCY_AUTO, &tableid, &colid) &&
		!sequenceIsOwned(seqoid, DEPENDENCY_INTERNAL, &tableid, &colid))
		return NULL;
	return steward_compose_name("sq", get_rel_name(tableid),
								list_make1(get_attname(tableid, colid, false)), NULL);
}

/*
 * steward.standard_name(kind text, tbl regclass, cols text[], ref regclass)
 */
Datum
steward_standard_name(PG_FUNCTION_ARGS)
{
	char	   *kind;
	char	   *table;
	List	   *cols = NIL;
	char	   *ref = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("kind and tbl must not be NULL"),
				 errhint("Call steward.standard_name('ix', 'my_table', ARRAY['col']).")));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(kind, "pk") != 0 && strcmp(kind, "uq") != 0 && strcmp(kind, "fk") != 0 &&
		strcmp(kind, "ck") != 0 && strcmp(kind, "ex") != 0 && strcmp(kind, "ix") != 0 &&
		strcmp(kind, "sq") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown name kind \"%s\"", kind),
				 errhint("Use one of pk, uq, fk, ck, ex, ix, sq.")));
	table = get_rel_name(PG_GETARG_OID(1));
	if (table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", PG_GETARG_OID(1)),
				 errhint("Pass an existing table.")));
	if (!PG_ARGISNULL(2) && strcmp(kind, "pk") != 0)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n,
					i;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (i = 0; i < n; i++)
			if (!nulls[i])
				cols = lappend(cols, TextDatumGetCString(elems[i]));
	}
	if (strcmp(kind, "fk") == 0)
	{
		if (PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a foreign key name needs the referenced table"),
					 errhint("Pass ref => 'referenced_table'.")));
		ref = get_rel_name(PG_GETARG_OID(3));
	}
	PG_RETURN_TEXT_P(cstring_to_text(steward_compose_name(kind, table, cols, ref)));
}

/*
 * steward.name_suggestion(classid regclass, objid oid): the standard name
 * of an existing constraint, index or owned sequence when its current name
 * is not acceptable; NULL when it is (or the object has no standard name).
 * The same judgement DDL enforcement makes.
 */
Datum
steward_name_suggestion(PG_FUNCTION_ARGS)
{
	Oid			classid = PG_GETARG_OID(0);
	Oid			objid = PG_GETARG_OID(1);
	char	   *name = NULL;
	char	   *standard = NULL;

	if (classid == ConstraintRelationId)
	{
		HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(objid));

		if (!HeapTupleIsValid(tup))
			PG_RETURN_NULL();
		name = pstrdup(NameStr(((Form_pg_constraint) GETSTRUCT(tup))->conname));
		ReleaseSysCache(tup);
		standard = steward_constraint_standard_name(objid);
	}
	else if (classid == RelationRelationId)
	{
		char		relkind = get_rel_relkind(objid);

		name = get_rel_name(objid);
		if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
		{
			if (OidIsValid(get_index_constraint(objid)))
				PG_RETURN_NULL();	/* judged as its constraint */
			standard = steward_index_standard_name(objid);
			if (steward_index_name_acceptable(name, standard))
				PG_RETURN_NULL();
		}
		else if (relkind == RELKIND_SEQUENCE)
			standard = steward_sequence_standard_name(objid);
	}
	if (name == NULL || standard == NULL || steward_name_acceptable(name, standard))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(standard));
}

Datum
steward_snake_case_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(steward_snake_case(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

Datum
steward_suggest_table_name_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(steward_suggest_table_name(text_to_cstring(PG_GETARG_TEXT_PP(0)),
																text_to_cstring(PG_GETARG_TEXT_PP(1)),
																PG_GETARG_BOOL(2))));
}

Datum
steward_is_plural_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(steward_is_plural(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}
