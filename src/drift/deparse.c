/*-------------------------------------------------------------------------
 *
 * deparse.c
 *		steward.deparse_object(classid, objid): the deparsed parts of one
 *		object's fingerprint, safe against another session's DDL.
 *
 * PostgreSQL's pg_get_viewdef, pg_get_ruledef, pg_get_indexdef and the
 * other deparsers open the relation they deparse against.  When another
 * session drops it, fingerprinting (and so steward.check()) either waits
 * for that session's lock and then fails with "could not open relation
 * with OID ...", or fails at once when the drop committed after the
 * caller's snapshot was taken but before the deparser got there.
 *
 * Here each object is first looked up in the catalogs as they are now; the
 * relation it belongs to (for functions, types and domain constraints: the
 * object or its type) is locked in ACCESS SHARE mode, as reading it would,
 * which waits for DDL in progress on it; then the object is looked up
 * again.  Gone by then, the answer is NULL and the caller leaves the object
 * out, as if it had never been there.  Still there, the deparsers run under
 * that lock and under the latest snapshot (the rule a view is read from is
 * then the one the catalog caches see), so they cannot meet a vanished
 * relation.  The lock is released at once, as the deparsers release their
 * own: fingerprinting keeps no lock on the user's objects.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(steward_deparse_object);

/* What must be locked before an object is deparsed. */
typedef struct DeparseLock
{
	Oid			classid;		/* RelationRelationId: a relation lock */
	Oid			objid;
} DeparseLock;

/*
 * Call one of PostgreSQL's deparsers directly.  Unlike DirectFunctionCall,
 * a NULL result (the deparsers' answer for a missing object) is returned
 * as NULL instead of raising an error.
 */
static char *
call_deparser(PGFunction fn, int nargs, Datum arg0, Datum arg1)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, nargs, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = arg0;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg1;
	fcinfo->args[1].isnull = false;
	result = (*fn) (fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return text_to_cstring(DatumGetTextPP(result));
}

/*
 * Start the member "key" of a JSON object being built in buf, with the
 * comma when it is not the first member; the caller appends the value.
 */
void
steward_json_key(StringInfo buf, const char *key)
{
	if (buf->data[buf->len - 1] != '{')
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
}

/*
 * Append "key": value to a JSON object being built in buf; value NULL is
 * JSON null.
 */
void
steward_json_member(StringInfo buf, const char *key, const char *value)
{
	steward_json_key(buf, key);
	if (value != NULL)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * The object's catalog row as the catalogs are now (a copy), or NULL when
 * it does not exist.  *desc, when given, gets a copy of the catalog's
 * tuple descriptor for reading its variable-length columns.
 */
static HeapTuple
fetch_object(Oid classid, Oid objid, TupleDesc *desc)
{
	Relation	catalog = table_open(classid, AccessShareLock);
	HeapTuple	tup;

	tup = get_catalog_object_by_oid(catalog, get_object_attnum_oid(classid), objid);
	if (desc != NULL)
		*desc = CreateTupleDescCopy(RelationGetDescr(catalog));
	table_close(catalog, AccessShareLock);
	return tup;
}

/*
 * What to lock before deparsing the object whose row is tup: the relation
 * it belongs to, whose drop drops it too; for functions and types the
 * object itself, and for domain constraints their type (those are what
 * DROP locks).
 */
static DeparseLock
lock_target(Oid classid, Oid objid, HeapTuple tup)
{
	DeparseLock l = {RelationRelationId, objid};

	switch (classid)
	{
		case ConstraintRelationId:
			l.objid = ((Form_pg_constraint) GETSTRUCT(tup))->conrelid;
			if (!OidIsValid(l.objid))
			{
				l.classid = TypeRelationId;
				l.objid = ((Form_pg_constraint) GETSTRUCT(tup))->contypid;
			}
			break;
		case TriggerRelationId:
			l.objid = ((Form_pg_trigger) GETSTRUCT(tup))->tgrelid;
			break;
		case RewriteRelationId:
			l.objid = ((Form_pg_rewrite) GETSTRUCT(tup))->ev_class;
			break;
		case PolicyRelationId:
			l.objid = ((Form_pg_policy) GETSTRUCT(tup))->polrelid;
			break;
		case ProcedureRelationId:
		case TypeRelationId:
			l.classid = classid;
			break;
		default:
			break;
	}
	return l;
}

/*
 * Take (and below, release) the ACCESS SHARE lock of lock_target(): on a
 * relation as reading it would, on a function or type as DROP locks them.
 */
static void
deparse_lock(DeparseLock l)
{
	if (l.classid == RelationRelationId)
		LockRelationOid(l.objid, AccessShareLock);
	else
		LockDatabaseObject(l.classid, l.objid, 0, AccessShareLock);
}

static void
deparse_unlock(DeparseLock l)
{
	if (l.classid == RelationRelationId)
		UnlockRelationOid(l.objid, AccessShareLock);
	else
		UnlockDatabaseObject(l.classid, l.objid, 0, AccessShareLock);
}

/*
 * "defaults": {"attnum": expression, ...} of a relation, read from
 * pg_attrdef as it is now; null when no column has a default.  Keyed by
 * column number, which a concurrent rename does not change.
 */
static void
relation_defaults(StringInfo buf, Oid relid)
{
	Relation	attrdef = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	StringInfoData defaults;

	initStringInfo(&defaults);
	ScanKeyInit(&key, Anum_pg_attrdef_adrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(attrdef, AttrDefaultIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		bin = heap_getattr(tup, Anum_pg_attrdef_adbin,
									   RelationGetDescr(attrdef), &isnull);
		char		attnum[16];

		if (isnull)
			continue;
		snprintf(attnum, sizeof(attnum), "%d", ((Form_pg_attrdef) GETSTRUCT(tup))->adnum);
		if (defaults.len == 0)
			appendStringInfoChar(&defaults, '{');
		steward_json_member(&defaults, attnum,
							call_deparser(pg_get_expr, 2, bin, ObjectIdGetDatum(relid)));
	}
	systable_endscan(scan);
	table_close(attrdef, AccessShareLock);
	if (defaults.len > 0)
		appendStringInfoChar(&defaults, '}');
	steward_json_key(buf, "defaults");
	appendStringInfoString(buf, defaults.len > 0 ? defaults.data : "null");
}

/*
 * A relation's parts: "index" (its CREATE INDEX) for an index, "query" for
 * a view or materialized view, "partition_key" and "partition_bound" when
 * partitioned or a partition, and "defaults".  The columns themselves are
 * read by steward.fingerprint_rows() from pg_attribute.
 */
static void
relation_parts(StringInfo buf, Oid relid, HeapTuple tup, TupleDesc desc)
{
	char		relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
	Datum		rel = ObjectIdGetDatum(relid);
	bool		isnull;
	Datum		bound = heap_getattr(tup, Anum_pg_class_relpartbound, desc, &isnull);

	if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
	{
		steward_json_member(buf, "index", call_deparser(pg_get_indexdef, 1, rel, 0));
		return;
	}
	if (relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW)
		steward_json_member(buf, "query", call_deparser(pg_get_viewdef, 1, rel, 0));
	if (relkind == RELKIND_PARTITIONED_TABLE)
		steward_json_member(buf, "partition_key", call_deparser(pg_get_partkeydef, 1, rel, 0));
	if (!isnull)
		steward_json_member(buf, "partition_bound", call_deparser(pg_get_expr, 2, bound, rel));
	relation_defaults(buf, relid);
}

/*
 * "using" and "check" of a row security policy, deparsed against its
 * table.
 */
static void
policy_parts(StringInfo buf, HeapTuple tup, TupleDesc desc)
{
	Datum		rel = ObjectIdGetDatum(((Form_pg_policy) GETSTRUCT(tup))->polrelid);
	bool		isnull;
	Datum		qual = heap_getattr(tup, Anum_pg_policy_polqual, desc, &isnull);

	steward_json_member(buf, "using", isnull ? NULL : call_deparser(pg_get_expr, 2, qual, rel));
	qual = heap_getattr(tup, Anum_pg_policy_polwithcheck, desc, &isnull);
	steward_json_member(buf, "check", isnull ? NULL : call_deparser(pg_get_expr, 2, qual, rel));
}

/* One check of a domain: its name and its "name: CHECK (...)" text. */
typedef struct DomainCheck
{
	char	   *name;
	char	   *text;
} DomainCheck;

/* list_sort comparator: domain checks by name, as ORDER BY conname sorts. */
static int
compare_checks(const ListCell *a, const ListCell *b)
{
	return strcmp(((DomainCheck *) lfirst(a))->name, ((DomainCheck *) lfirst(b))->name);
}

/*
 * "checks": ["name: CHECK (...)", ...] of a domain, by name; null when it
 * has none.  NOT NULL, a constraint of domains from PostgreSQL 17 on, is
 * left out: the type's fingerprint has not_null.
 */
static void
type_parts(StringInfo buf, Oid typid)
{
	List	   *checks = NIL;
	ListCell   *lc;

	foreach(lc, steward_catalog_rows(ConstraintRelationId, ConstraintTypidIndexId,
									 Anum_pg_constraint_contypid, typid, NULL))
	{
		Form_pg_constraint k = (Form_pg_constraint) GETSTRUCT((HeapTuple) lfirst(lc));
		DomainCheck *c;
		char	   *def;

		if (k->contype == 'n')
			continue;
		def = call_deparser(pg_get_constraintdef, 1, ObjectIdGetDatum(k->oid), 0);
		c = palloc(sizeof(DomainCheck));
		c->name = pstrdup(NameStr(k->conname));
		c->text = psprintf("%s: %s", c->name, def ? def : "");
		checks = lappend(checks, c);
	}
	list_sort(checks, compare_checks);
	steward_json_key(buf, "checks");
	appendStringInfoString(buf, checks == NIL ? "null" : "[");
	foreach(lc, checks)
	{
		if (lc != list_head(checks))
			appendStringInfoString(buf, ", ");
		escape_json(buf, ((DomainCheck *) lfirst(lc))->text);
	}
	if (checks != NIL)
		appendStringInfoChar(buf, ']');
}

/*
 * The parts of one object that exists and is locked, as a JSON object.
 */
static void
object_parts(StringInfo buf, Oid classid, Oid objid, HeapTuple tup, TupleDesc desc)
{
	Datum		obj = ObjectIdGetDatum(objid);

	appendStringInfoChar(buf, '{');
	switch (classid)
	{
		case RelationRelationId:
			relation_parts(buf, objid, tup, desc);
			break;
		case ConstraintRelationId:
			steward_json_member(buf, "definition", call_deparser(pg_get_constraintdef, 1, obj, 0));
			break;
		case TriggerRelationId:
			steward_json_member(buf, "definition", call_deparser(pg_get_triggerdef, 1, obj, 0));
			break;
		case RewriteRelationId:
			steward_json_member(buf, "definition", call_deparser(pg_get_ruledef, 1, obj, 0));
			break;
		case ProcedureRelationId:
			steward_json_member(buf, "definition", call_deparser(pg_get_functiondef, 1, obj, 0));
			break;
		case PolicyRelationId:
			policy_parts(buf, tup, desc);
			break;
		case TypeRelationId:
			type_parts(buf, objid);
			break;
	}
	appendStringInfoChar(buf, '}');
}

/*
 * The deparsed parts of a relation, constraint, trigger, rule, policy,
 * function or type for its fingerprint, or NULL when the object does not
 * exist once DDL in progress on it has finished (see the file header).
 */
Jsonb *
steward_deparse_parts(Oid classid, Oid objid)
{
	HeapTuple	tup;
	TupleDesc	desc;
	DeparseLock l;
	StringInfoData buf;

	tup = fetch_object(classid, objid, NULL);
	if (tup == NULL)
		return NULL;
	l = lock_target(classid, objid, tup);
	deparse_lock(l);
	tup = fetch_object(classid, objid, &desc);
	if (tup == NULL)
	{
		deparse_unlock(l);
		return NULL;
	}
	initStringInfo(&buf);
	PushActiveSnapshot(GetLatestSnapshot());
	object_parts(&buf, classid, objid, tup, desc);
	PopActiveSnapshot();
	deparse_unlock(l);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * The rows of a catalog whose index indexid has key in its first column
 * keycol, as copies, read as the catalogs are now; *desc, when given, gets
 * a copy of the catalog's tuple descriptor.  The callers deparse or
 * fingerprint each row after the scan has ended.
 */
List *
steward_catalog_rows(Oid catalogid, Oid indexid, AttrNumber keycol, Oid key, TupleDesc *desc)
{
	Relation	catalog = table_open(catalogid, AccessShareLock);
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *rows = NIL;

	ScanKeyInit(&skey, keycol, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(key));
	scan = systable_beginscan(catalog, indexid, true, NULL, 1, &skey);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		rows = lappend(rows, heap_copytuple(tup));
	systable_endscan(scan);
	if (desc != NULL)
		*desc = CreateTupleDescCopy(RelationGetDescr(catalog));
	table_close(catalog, AccessShareLock);
	return rows;
}

/* The elements of an oid[] Datum, without its NULLs, as a list. */
List *
steward_oid_array_list(Datum array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	List	   *oids = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), OIDOID, sizeof(Oid), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
		if (!nulls[i])
			oids = lappend_oid(oids, DatumGetObjectId(elems[i]));
	return oids;
}

/*
 * An object's catalog row as the catalogs are now (a copy), or NULL.
 */
HeapTuple
steward_catalog_row(Oid classid, Oid objid)
{
	return fetch_object(classid, objid, NULL);
}

/*
 * steward.deparse_object(classid regclass, objid oid) RETURNS jsonb:
 * steward_deparse_parts for SQL.
 */
Datum
steward_deparse_object(PG_FUNCTION_ARGS)
{
	Oid			classid = PG_GETARG_OID(0);
	Oid			objid = PG_GETARG_OID(1);
	Jsonb	   *parts;

	if (classid != RelationRelationId && classid != ConstraintRelationId &&
		classid != TriggerRelationId && classid != RewriteRelationId &&
		classid != PolicyRelationId && classid != ProcedureRelationId &&
		classid != TypeRelationId)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot deparse objects of catalog %u", classid),
				 errhint("Pass pg_class, pg_constraint, pg_trigger, pg_rewrite, pg_policy, pg_proc or pg_type.")));
	parts = steward_deparse_parts(classid, objid);
	if (parts == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(parts);
}
