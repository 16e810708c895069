/*-------------------------------------------------------------------------
 *
 * fingerprint_rows.c
 *		steward.fingerprint_rows(rels, cons, trgs, procs, types): the
 *		fingerprint of each given object, in C.
 *
 * A fingerprint is an object's definition as a JSON document (its
 * deparsed parts from deparse.c, plus what the catalogs say of its
 * columns, sequence, policy roles or enum labels) and the SHA-256 of that
 * document's text.  Every migration run stores the fingerprints of what
 * it touched, and steward.check() computes them again for everything, so
 * both go through this one function.
 *
 * It was one SQL query of seven UNION ALL branches in PL/pgSQL.  A
 * migration run is usually a fresh connection (the pg_steward program),
 * and planning that query cost more than running it: for a run of a
 * hundred CREATE TABLEs the refresh was a quarter of the backend's work.
 * Here each object is looked up in the catalog caches; nothing is planned.
 *
 * The rules of the query are kept: objects in steward's own schema, TOAST
 * and temporary schemas, objects without an identity and members of an
 * extension (or on a table that is one) are left out; a relation stands
 * for its columns; indexes, constraints, triggers, policies and rules
 * carry the table they belong to.  Objects are read as the catalogs are
 * now, each under the lock deparse.c takes, so a concurrent drop makes an
 * object vanish rather than fail the call.  The function runs with
 * steward's pinned search_path and output settings (the SQL declaration
 * sets them), so names and constants come out the same in every session.
 *
 *-------------------------------------------------------------------------
 */
#include "drift_int.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_index.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_range.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "rewrite/rewriteSupport.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(steward_fingerprint_rows);

/* Where the rows go. */
typedef struct FingerprintOut
{
	Tuplestorestate *ts;
	TupleDesc	desc;
} FingerprintOut;

/*
 * parts->key as a JsonbValue; false when the key is absent.
 */
static bool
part_value(Jsonb *parts, const char *key, JsonbValue *v)
{
	return getKeyJsonValueFromContainer(&parts->root, key, strlen(key), v) != NULL;
}

/*
 * The text of a JsonbValue as ->> gives it: a string's contents, NULL for
 * JSON null, any other value's JSON text.
 */
static char *
value_text(JsonbValue *v)
{
	if (v->type == jbvNull)
		return NULL;
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, -1);
}

/* parts->>key */
static char *
part_text(Jsonb *parts, const char *key)
{
	JsonbValue	v;

	return part_value(parts, key, &v) ? value_text(&v) : NULL;
}

/* parts->key as JSON text, NULL when absent */
static char *
part_json(Jsonb *parts, const char *key)
{
	JsonbValue	v;
	Jsonb	   *j;

	if (!part_value(parts, key, &v))
		return NULL;
	j = JsonbValueToJsonb(&v);
	return JsonbToCString(NULL, &j->root, VARSIZE(j));
}

/*
 * Append "key": <raw JSON> (JSON null when json is NULL) or, with strip,
 * nothing for NULL or JSON null: jsonb_strip_nulls' rule for the
 * documents that use it.
 */
static void
member_json(StringInfo buf, const char *key, const char *json, bool strip)
{
	if (strip && (json == NULL || strcmp(json, "null") == 0))
		return;
	steward_json_key(buf, key);
	appendStringInfoString(buf, json != NULL ? json : "null");
}

/* "key": "text", or with strip nothing for NULL */
static void
member_text(StringInfo buf, const char *key, const char *text, bool strip)
{
	if (text == NULL && strip)
		return;
	steward_json_member(buf, key, text);
}

/* A "char" column as text, NULL for the empty char (nullif(x, '')) */
static char *
flag_text(char c)
{
	return c == '\0' ? NULL : psprintf("%c", c);
}

/* format_type(oid, typmod), or format_type(oid, NULL) when typmod_given is false */
static char *
type_text(Oid typid, int32 typmod, bool typmod_given)
{
	return format_type_extended(typid, typmod,
								FORMAT_TYPE_ALLOW_INVALID |
								(typmod_given ? FORMAT_TYPE_TYPEMOD_GIVEN : 0));
}

/*
 * Emit one object's row unless the query's rules leave it out (see the
 * file header); def is the JSON text of its definition.
 */
static void
emit(FingerprintOut *out, Oid classid, Oid objid, Oid table_oid, const char *nspname,
	 const char *def)
{
	ObjectAddress addr = {classid, objid, 0};
	char	   *identity;
	char	   *type;
	Jsonb	   *doc;
	char	   *doctext;
	char	   *utf8;
	pg_cryptohash_ctx *ctx;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	int			i;

	if (nspname == NULL || strcmp(nspname, "steward") == 0 || strcmp(nspname, "pg_toast") == 0 ||
		strncmp(nspname, "pg_temp_", 8) == 0 || strncmp(nspname, "pg_toast_temp_", 14) == 0)
		return;
	identity = getObjectIdentity(&addr, true);
	if (identity == NULL)
		return;
	if (OidIsValid(getExtensionOfObject(classid, objid)) ||
		(OidIsValid(table_oid) && !(classid == RelationRelationId && table_oid == objid) &&
		 OidIsValid(getExtensionOfObject(RelationRelationId, table_oid))))
		return;
	type = getObjectTypeDescription(&addr, true);
	doc = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(def)));
	doctext = JsonbToCString(NULL, &doc->root, VARSIZE(doc));
	utf8 = pg_server_to_any(doctext, strlen(doctext), PG_UTF8);

	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) utf8, strlen(utf8)) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute a SHA-256 hash");
	pg_cryptohash_free(ctx);
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(nspname));
	values[1] = CStringGetTextDatum(type);
	values[2] = CStringGetTextDatum(identity);
	values[3] = CStringGetTextDatum(hex);
	values[4] = JsonbPGetDatum(doc);
	values[5] = ObjectIdGetDatum(objid);
	values[6] = ObjectIdGetDatum(table_oid);
	nulls[6] = !OidIsValid(table_oid);
	tuplestore_putvalues(out->ts, out->desc, values, nulls);
}

/*
 * "columns": the visible columns of a relation in order, each with its
 * name, type, not-null flag, default (from the deparsed parts), identity,
 * generation and collation when it is not its type's.
 */
static void
relation_columns(StringInfo buf, Oid relid, int natts, Jsonb *parts)
{
	JsonbValue	defaults;
	bool		have_defaults = part_value(parts, "defaults", &defaults) &&
		defaults.type == jbvBinary;
	bool		first = true;
	int			attnum;

	steward_json_key(buf, "columns");
	appendStringInfoChar(buf, '[');
	for (attnum = 1; attnum <= natts; attnum++)
	{
		HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));
		Form_pg_attribute att;
		char	   *deflt = NULL;
		Oid			typcoll;

		if (!HeapTupleIsValid(tup))
			continue;
		att = (Form_pg_attribute) GETSTRUCT(tup);
		if (att->attisdropped || !SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(att->atttypid)))
		{
			ReleaseSysCache(tup);
			continue;
		}
		if (have_defaults)
		{
			char	   *key = psprintf("%d", attnum);
			JsonbValue	v;

			if (getKeyJsonValueFromContainer(defaults.val.binary.data, key, strlen(key), &v) != NULL)
				deflt = value_text(&v);
		}
		typcoll = get_typcollation(att->atttypid);
		if (!first)
			appendStringInfoString(buf, ", ");
		first = false;
		appendStringInfoChar(buf, '{');
		member_text(buf, "name", NameStr(att->attname), true);
		member_text(buf, "type", type_text(att->atttypid, att->atttypmod, true), true);
		member_json(buf, "not_null", att->attnotnull ? "true" : "false", true);
		member_text(buf, "default", deflt, true);
		member_text(buf, "identity", flag_text(att->attidentity), true);
		member_text(buf, "generated", flag_text(att->attgenerated), true);
		member_text(buf, "collation", att->attcollation != typcoll ?
					get_collation_name(att->attcollation) : NULL, true);
		appendStringInfoChar(buf, '}');
		ReleaseSysCache(tup);
	}
	appendStringInfoChar(buf, ']');
}

/*
 * A relation's definition: an index's text, a sequence's parameters, or
 * for the other kinds its query, columns, persistence, row security and
 * partitioning.
 */
static void
fingerprint_relation(FingerprintOut *out, Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class rel;
	char		relkind;
	Oid			table_oid = relid;
	Jsonb	   *parts;
	StringInfoData def;
	char	   *nspname;

	if (!HeapTupleIsValid(tup))
		return;
	rel = (Form_pg_class) GETSTRUCT(tup);
	relkind = rel->relkind;
	nspname = get_namespace_name(rel->relnamespace);
	ReleaseSysCache(tup);
	if (strchr("rpvmSiIfc", relkind) == NULL || relkind == '\0')
		return;
	parts = steward_deparse_parts(RelationRelationId, relid);
	if (parts == NULL)
		return;
	/* read again: the deparser waited for DDL in progress on it */
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return;
	rel = (Form_pg_class) GETSTRUCT(tup);
	initStringInfo(&def);
	appendStringInfoChar(&def, '{');
	if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
	{
		HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(relid));

		if (HeapTupleIsValid(itup))
		{
			table_oid = ((Form_pg_index) GETSTRUCT(itup))->indrelid;
			ReleaseSysCache(itup);
		}
		member_text(&def, "definition", part_text(parts, "index"), false);
	}
	else if (relkind == RELKIND_SEQUENCE)
	{
		HeapTuple	stup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(relid));
		Form_pg_sequence seq;

		if (!HeapTupleIsValid(stup))
		{
			ReleaseSysCache(tup);
			return;
		}
		seq = (Form_pg_sequence) GETSTRUCT(stup);
		member_text(&def, "type", type_text(seq->seqtypid, -1, false), false);
		member_json(&def, "start", psprintf(INT64_FORMAT, seq->seqstart), false);
		member_json(&def, "increment", psprintf(INT64_FORMAT, seq->seqincrement), false);
		member_json(&def, "min", psprintf(INT64_FORMAT, seq->seqmin), false);
		member_json(&def, "max", psprintf(INT64_FORMAT, seq->seqmax), false);
		member_json(&def, "cache", psprintf(INT64_FORMAT, seq->seqcache), false);
		member_json(&def, "cycle", seq->seqcycle ? "true" : "false", false);
		ReleaseSysCache(stup);
	}
	else
	{
		char	   *parent = NULL;

		if (rel->relispartition)
		{
			Oid			parentoid = get_partition_parent(relid, true);

			if (OidIsValid(parentoid))
				parent = OidOutputFunctionCall(F_REGCLASSOUT, ObjectIdGetDatum(parentoid));
		}
		member_text(&def, "query", part_text(parts, "query"), true);
		relation_columns(&def, relid, rel->relnatts, parts);
		member_json(&def, "unlogged", rel->relpersistence == RELPERSISTENCE_UNLOGGED ? "true" : NULL,
					true);
		member_text(&def, "row_security", !rel->relrowsecurity ? NULL :
					rel->relforcerowsecurity ? "force" : "on", true);
		member_text(&def, "partition_key", part_text(parts, "partition_key"), true);
		member_text(&def, "partition_of", parent, true);
		member_text(&def, "partition_bound", part_text(parts, "partition_bound"), true);
	}
	ReleaseSysCache(tup);
	appendStringInfoChar(&def, '}');
	emit(out, RelationRelationId, relid, table_oid, nspname, def.data);
}

/*
 * An object whose definition is the "definition" its deparser gives
 * (constraint, trigger, rule, function), on table_oid when it has one.
 */
static void
fingerprint_definition(FingerprintOut *out, Oid classid, Oid objid, Oid table_oid,
					   const char *nspname)
{
	Jsonb	   *parts = steward_deparse_parts(classid, objid);
	StringInfoData def;

	if (parts == NULL)
		return;
	initStringInfo(&def);
	appendStringInfoChar(&def, '{');
	member_text(&def, "definition", part_text(parts, "definition"), false);
	appendStringInfoChar(&def, '}');
	emit(out, classid, objid, table_oid, nspname, def.data);
}

/*
 * A table constraint that is not a partition's copy of its parent's nor
 * (from 18 on) a NOT NULL constraint, which the column's fingerprint
 * carries.
 */
static void
fingerprint_constraint(FingerprintOut *out, Oid conoid)
{
	HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	Form_pg_constraint con;
	Oid			relid;
	char	   *nspname;

	if (!HeapTupleIsValid(tup))
		return;
	con = (Form_pg_constraint) GETSTRUCT(tup);
	relid = con->conrelid;
	nspname = get_namespace_name(con->connamespace);
	if (!OidIsValid(relid) || OidIsValid(con->conparentid) || con->contype == 'n')
	{
		ReleaseSysCache(tup);
		return;
	}
	ReleaseSysCache(tup);
	fingerprint_definition(out, ConstraintRelationId, conoid, relid, nspname);
}

/* A user trigger, in its table's schema. */
static void
fingerprint_trigger(FingerprintOut *out, Oid trgoid)
{
	HeapTuple	tup = steward_catalog_row(TriggerRelationId, trgoid);
	Form_pg_trigger trg;

	if (tup == NULL)
		return;
	trg = (Form_pg_trigger) GETSTRUCT(tup);
	if (trg->tgisinternal || !OidIsValid(get_rel_namespace(trg->tgrelid)))
		return;
	fingerprint_definition(out, TriggerRelationId, trgoid, trg->tgrelid,
						   get_namespace_name(get_rel_namespace(trg->tgrelid)));
}

/* A function, procedure or window function. */
static void
fingerprint_function(FingerprintOut *out, Oid procoid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(procoid));
	Form_pg_proc proc;
	char	   *nspname;

	if (!HeapTupleIsValid(tup))
		return;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	if (proc->prokind != PROKIND_FUNCTION && proc->prokind != PROKIND_PROCEDURE &&
		proc->prokind != PROKIND_WINDOW)
	{
		ReleaseSysCache(tup);
		return;
	}
	nspname = get_namespace_name(proc->pronamespace);
	ReleaseSysCache(tup);
	fingerprint_definition(out, ProcedureRelationId, procoid, InvalidOid, nspname);
}

/*
 * The policies of a table: command, permissive, roles (in the order
 * pg_policy lists them) and the deparsed USING and WITH CHECK.
 */
static void
fingerprint_policies(FingerprintOut *out, Oid relid)
{
	TupleDesc	desc;
	List	   *rows = steward_catalog_rows(PolicyRelationId, PolicyPolrelidPolnameIndexId,
											Anum_pg_policy_polrelid, relid, &desc);
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	ListCell   *lc;

	foreach(lc, rows)
	{
		HeapTuple	tup = lfirst(lc);
		Form_pg_policy pol = (Form_pg_policy) GETSTRUCT(tup);
		bool		isnull;
		Datum		roles = heap_getattr(tup, Anum_pg_policy_polroles, desc, &isnull);
		Jsonb	   *parts = steward_deparse_parts(PolicyRelationId, pol->oid);
		StringInfoData def;

		if (parts == NULL || nspname == NULL)
			continue;
		initStringInfo(&def);
		appendStringInfoChar(&def, '{');
		member_text(&def, "command", flag_text(pol->polcmd), false);
		member_json(&def, "permissive", pol->polpermissive ? "true" : "false", false);
		steward_json_key(&def, "roles");
		if (isnull)
			appendStringInfoString(&def, "null");
		else
		{
			List	   *oids = steward_oid_array_list(roles);
			ListCell   *rc;

			/* jsonb_agg of no rows is NULL */
			appendStringInfoString(&def, oids == NIL ? "null" : "[");
			foreach(rc, oids)
			{
				Oid			role = lfirst_oid(rc);
				char	   *name = role == ACL_ID_PUBLIC ? "public" : GetUserNameFromId(role, true);

				if (foreach_current_index(rc) > 0)
					appendStringInfoString(&def, ", ");
				escape_json(&def, name != NULL ? name : psprintf("unknown (OID=%u)", role));
			}
			if (oids != NIL)
				appendStringInfoChar(&def, ']');
		}
		member_json(&def, "using", part_json(parts, "using"), false);
		member_json(&def, "check", part_json(parts, "check"), false);
		appendStringInfoChar(&def, '}');
		emit(out, PolicyRelationId, pol->oid, relid, nspname, def.data);
	}
}

/* The rules of a relation, but not a view's _RETURN rule. */
static void
fingerprint_rules(FingerprintOut *out, Oid relid)
{
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	ListCell   *lc;

	if (nspname == NULL)
		return;
	foreach(lc, steward_catalog_rows(RewriteRelationId, RewriteRelRulenameIndexId,
									 Anum_pg_rewrite_ev_class, relid, NULL))
	{
		Form_pg_rewrite rw = (Form_pg_rewrite) GETSTRUCT((HeapTuple) lfirst(lc));

		if (strcmp(NameStr(rw->rulename), ViewSelectRuleName) != 0)
			fingerprint_definition(out, RewriteRelationId, rw->oid, relid, nspname);
	}
}

/* qsort order of enum labels */
static int
enum_order(const ListCell *a, const ListCell *b)
{
	float4		x = ((Form_pg_enum) GETSTRUCT((HeapTuple) lfirst(a)))->enumsortorder;
	float4		y = ((Form_pg_enum) GETSTRUCT((HeapTuple) lfirst(b)))->enumsortorder;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * An enum, domain or range type: its kind, labels, base type, NOT NULL,
 * default, checks and range subtype, whichever apply.
 */
static void
fingerprint_type(FingerprintOut *out, Oid typoid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typoid));
	Form_pg_type typ;
	char		kind;
	bool		domain;
	char	   *base;
	bool		notnull;
	char	   *deflt = NULL;
	char	   *nspname;
	char	   *subtype = NULL;
	bool		isnull;
	Datum		bin;
	Jsonb	   *parts;
	StringInfoData def;

	if (!HeapTupleIsValid(tup))
		return;
	typ = (Form_pg_type) GETSTRUCT(tup);
	kind = typ->typtype;
	if (kind != TYPTYPE_ENUM && kind != TYPTYPE_DOMAIN && kind != TYPTYPE_RANGE)
	{
		ReleaseSysCache(tup);
		return;
	}
	domain = kind == TYPTYPE_DOMAIN;
	base = domain ? type_text(typ->typbasetype, typ->typtypmod, true) : NULL;
	notnull = typ->typnotnull;
	nspname = get_namespace_name(typ->typnamespace);
	bin = SysCacheGetAttr(TYPEOID, tup, Anum_pg_type_typdefaultbin, &isnull);
	if (!isnull)
		deflt = TextDatumGetCString(DirectFunctionCall2(pg_get_expr, bin, ObjectIdGetDatum(InvalidOid)));
	ReleaseSysCache(tup);

	parts = steward_deparse_parts(TypeRelationId, typoid);
	if (parts == NULL)
		return;
	initStringInfo(&def);
	appendStringInfoChar(&def, '{');
	member_text(&def, "kind", flag_text(kind), true);
	if (kind == TYPTYPE_ENUM)
	{
		CatCList   *list = SearchSysCacheList1(ENUMTYPOIDNAME, ObjectIdGetDatum(typoid));
		List	   *labels = NIL;
		ListCell   *lc;
		int			i;

		for (i = 0; i < list->n_members; i++)
			labels = lappend(labels, &list->members[i]->tuple);
		list_sort(labels, enum_order);
		if (labels != NIL)
		{
			steward_json_key(&def, "labels");
			appendStringInfoChar(&def, '[');
			foreach(lc, labels)
			{
				if (foreach_current_index(lc) > 0)
					appendStringInfoString(&def, ", ");
				escape_json(&def, NameStr(((Form_pg_enum) GETSTRUCT((HeapTuple) lfirst(lc)))->enumlabel));
			}
			appendStringInfoChar(&def, ']');
		}
		ReleaseSysCacheList(list);
	}
	member_text(&def, "base", base, true);
	member_json(&def, "not_null", domain ? (notnull ? "true" : "false") : NULL, true);
	member_text(&def, "default", deflt, true);
	member_json(&def, "checks", part_json(parts, "checks"), true);
	if (kind == TYPTYPE_RANGE)
	{
		HeapTuple	rtup = SearchSysCache1(RANGETYPE, ObjectIdGetDatum(typoid));

		if (HeapTupleIsValid(rtup))
		{
			subtype = type_text(((Form_pg_range) GETSTRUCT(rtup))->rngsubtype, -1, false);
			ReleaseSysCache(rtup);
		}
	}
	member_text(&def, "subtype", subtype, true);
	appendStringInfoChar(&def, '}');
	emit(out, TypeRelationId, typoid, InvalidOid, nspname, def.data);
}

/*
 * The distinct OIDs of an oid[] argument, in order (an OID given twice is
 * one object, as = ANY found it once).
 */
static List *
oid_arg(FunctionCallInfo fcinfo, int n)
{
	List	   *oids;

	if (PG_ARGISNULL(n))
		return NIL;
	oids = steward_oid_array_list(PG_GETARG_DATUM(n));
	list_sort(oids, list_oid_cmp);
	list_deduplicate_oid(oids);
	return oids;
}

/*
 * steward.fingerprint_rows(rels oid[], cons oid[], trgs oid[], procs oid[],
 * types oid[]) RETURNS TABLE (schema_name, object_type, object_identity,
 * hash, definition, objid, table_oid): the relations (with their policies
 * and rules), constraints, triggers, functions and types given.
 */
Datum
steward_fingerprint_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FingerprintOut out;
	List	   *rels = oid_arg(fcinfo, 0);
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	out.ts = rsinfo->setResult;
	out.desc = rsinfo->setDesc;
	foreach(lc, rels)
		fingerprint_relation(&out, lfirst_oid(lc));
	foreach(lc, oid_arg(fcinfo, 1))
		fingerprint_constraint(&out, lfirst_oid(lc));
	foreach(lc, oid_arg(fcinfo, 2))
		fingerprint_trigger(&out, lfirst_oid(lc));
	foreach(lc, rels)
	{
		fingerprint_policies(&out, lfirst_oid(lc));
		fingerprint_rules(&out, lfirst_oid(lc));
	}
	foreach(lc, oid_arg(fcinfo, 3))
		fingerprint_function(&out, lfirst_oid(lc));
	foreach(lc, oid_arg(fcinfo, 4))
		fingerprint_type(&out, lfirst_oid(lc));
	return (Datum) 0;
}
