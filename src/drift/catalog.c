/*-------------------------------------------------------------------------
 *
 * catalog.c
 *		Writes of steward.fingerprints, as the catalog owner.
 *
 * Fingerprints are drift's catalog: the runner's listener (fingerprint.c)
 * calls these after a migration run or a stamp.  Like every write of
 * steward's catalogs on a caller's behalf, each statement runs as the
 * catalog owner with a pinned search_path (common/catalog_access.c).
 *
 *-------------------------------------------------------------------------
 */
#include "common/common.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "drift_int.h"

/*
 * Rows stored in another database (restored from a dump) carry OIDs that
 * mean nothing here: point them at this database's objects of the same
 * identity, and drop the OIDs of those that no longer exist, so that the
 * OID-based refresh works after a restore.  Runs before migrations run,
 * while the objects still have the names the rows carry.
 */
void
steward_relink_fingerprints(const char *dbid)
{
	const char *args[1] = {dbid};

	/* dbid < $1 OR dbid > $1: two probes of ix_fingerprints_dbid */
	if (steward_catalog_exec("SELECT 1 FROM steward.fingerprints WHERE dbid < $1 OR dbid > $1 LIMIT 1",
							 1, args, SPI_OK_SELECT) == 0)
		return;
	steward_catalog_exec("UPDATE steward.fingerprints f SET objid = l.objid, table_oid = l.table_oid, dbid = $1 "
						 "FROM (SELECT DISTINCT schema_name FROM steward.fingerprints WHERE dbid <> $1) s, "
						 "  LATERAL steward.object_fingerprints(s.schema_name) l "
						 "WHERE f.dbid <> $1 AND f.schema_name = s.schema_name "
						 "  AND l.object_type = f.object_type AND l.object_identity = f.object_identity",
						 1, args, SPI_OK_UPDATE);
	steward_catalog_exec("UPDATE steward.fingerprints SET objid = NULL, table_oid = NULL, dbid = $1 "
						 "WHERE dbid <> $1", 1, args, SPI_OK_UPDATE);
}

/*
 * Replace the stored fingerprints of the given objects (oid[] Datums, all
 * of them in all; dropped: text[] of identities): forget them (by OID where the OIDs are
 * this database's, and by identity for dropped objects), then store their
 * live fingerprints, including the indexes, constraints and triggers of
 * the tables.
 */
static void
store_fingerprint_arrays(const char *module, const char *version, Datum all, Datum rels,
						 Datum cons, Datum trgs, Datum procs, Datum types, Datum dropped,
						 const char *dbid)
{
	StewardCatalogAccess ca;
	Oid			dtypes[4] = {OIDARRAYOID, OIDARRAYOID, TEXTARRAYOID, TEXTOID};
	Oid			itypes[8] = {OIDARRAYOID, OIDARRAYOID, OIDARRAYOID, OIDARRAYOID, OIDARRAYOID,
	TEXTOID, TEXTOID, TEXTOID};
	Datum		ivalues[8] = {rels, cons, trgs, procs, types, CStringGetTextDatum(dbid),
	CStringGetTextDatum(module), CStringGetTextDatum(version)};
	Datum		dvalues[4] = {all, rels, dropped, ivalues[5]};

	steward_catalog_enter(&ca);
	steward_exec_cached("DELETE FROM steward.fingerprints "
						"WHERE (dbid = $4 AND (objid = ANY ($1) OR table_oid = ANY ($2))) "
						"   OR object_identity = ANY ($3)",
						4, dtypes, dvalues, NULL, SPI_OK_DELETE);
	steward_exec_cached("WITH r AS ("
						"  SELECT unnest($1) AS oid "
						"  UNION SELECT rw.ev_class FROM pg_catalog.pg_depend d "
						"    JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid "
						"   WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
						"     AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
						"     AND d.refobjid = ANY ($1)) "
						"INSERT INTO steward.fingerprints AS f (schema_name, object_type, "
						"  object_identity, hash, definition, objid, table_oid, dbid, module, version) "
						"SELECT r.schema_name, r.object_type, r.object_identity, r.hash, r.definition, "
						"  r.objid, r.table_oid, $6, $7, $8 "
						"FROM steward.fingerprint_rows("
						"  ARRAY(SELECT oid FROM r UNION "
						"        SELECT x.indexrelid FROM pg_catalog.pg_index x WHERE x.indrelid = ANY ($1)), "
						"  ARRAY(SELECT unnest($2) UNION "
						"        SELECT k.oid FROM pg_catalog.pg_constraint k "
						"         WHERE k.conrelid = ANY ($1) OR k.confrelid = ANY ($1)), "
						"  ARRAY(SELECT unnest($3) UNION "
						"        SELECT g.oid FROM pg_catalog.pg_trigger g WHERE g.tgrelid = ANY ($1)), "
						"  $4, $5) r "
						"ON CONFLICT (schema_name, object_type, object_identity) DO UPDATE SET "
						"  hash = excluded.hash, definition = excluded.definition, objid = excluded.objid, "
						"  table_oid = excluded.table_oid, dbid = excluded.dbid, module = excluded.module, "
						"  version = excluded.version, taken_at = now()",
						8, itypes, ivalues, NULL, SPI_OK_INSERT);
	steward_catalog_leave(&ca);
}

/*
 * The objects migration steps touched (lists of OIDs, identities of the
 * dropped ones), as the event triggers noted them.
 */
void
steward_store_fingerprints(const char *module, const char *version, List *rels, List *cons,
						   List *trgs, List *procs, List *types, List *dropped_idents,
						   const char *dbid)
{
	List	   *all = list_concat_copy(rels, cons);

	all = list_concat(all, trgs);
	all = list_concat(all, procs);
	all = list_concat(all, types);
	store_fingerprint_arrays(module, version, steward_list_to_array(all, OIDOID),
							 steward_list_to_array(rels, OIDOID), steward_list_to_array(cons, OIDOID),
							 steward_list_to_array(trgs, OIDOID), steward_list_to_array(procs, OIDOID),
							 steward_list_to_array(types, OIDOID),
							 steward_list_to_array(dropped_idents, TEXTOID), dbid);
}

/*
 * A no-transaction step's objects, from steward.ddl_log: the rows its
 * statements logged as module and version since the step's last event
 * (apply or revert), whichever session ran them.  Tables stand for their
 * columns, constraints, triggers, policies and rules (identities "x on
 * table"); types and functions resolve by identity; dropped objects are
 * forgotten by identity.
 */
void
steward_store_step_fingerprints(const char *module, const char *version, const char *dbid)
{
	const char *args[2] = {module, version};
	Datum		arrays[5];
	bool		isnull;
	int			i;

	steward_catalog_exec("WITH l AS ("
						 "  SELECT d.object_type AS t, d.object_identity AS i, d.command_tag AS tag "
						 "    FROM steward.ddl_log d "
						 "   WHERE d.module = $1 AND d.version = $2 AND d.object_identity IS NOT NULL "
						 "     AND d.at > coalesce((SELECT max(e.at) FROM steward.migration_events e "
						 "                          WHERE e.module = $1 AND e.version = $2), '-infinity')), "
						 "o AS ("
						 "  SELECT CASE WHEN t IN ('table', 'index', 'view', 'materialized view', 'sequence', "
						 "                         'foreign table', 'composite type') THEN pg_catalog.to_regclass(i) "
						 "              WHEN t LIKE '% column' THEN pg_catalog.to_regclass(pg_catalog.regexp_replace(i, '\\.[^.]+$', '')) "
						 "              WHEN i LIKE '% on %' THEN pg_catalog.to_regclass(pg_catalog.regexp_replace(i, '^.* on ', '')) "
						 "         END::pg_catalog.oid AS rel, "
						 "         CASE WHEN t IN ('type', 'domain') THEN pg_catalog.to_regtype(i) END::pg_catalog.oid AS typ, "
						 "         CASE WHEN t IN ('function', 'procedure') THEN pg_catalog.to_regprocedure(i) END::pg_catalog.oid AS proc, "
						 "         CASE WHEN tag LIKE 'DROP%' THEN i END AS dropped "
						 "    FROM l) "
						 "SELECT ARRAY(SELECT DISTINCT x FROM (SELECT rel FROM o UNION ALL SELECT typ FROM o "
						 "                                     UNION ALL SELECT proc FROM o) a(x) WHERE x IS NOT NULL), "
						 "  ARRAY(SELECT DISTINCT rel FROM o WHERE rel IS NOT NULL), "
						 "  ARRAY(SELECT DISTINCT proc FROM o WHERE proc IS NOT NULL), "
						 "  ARRAY(SELECT DISTINCT typ FROM o WHERE typ IS NOT NULL), "
						 "  ARRAY(SELECT DISTINCT dropped FROM o WHERE dropped IS NOT NULL)",
						 2, args, SPI_OK_SELECT);
	for (i = 0; i < 5; i++)
		arrays[i] = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
													i + 1, &isnull), false, -1);
	store_fingerprint_arrays(module, version, arrays[0], arrays[1],
							 steward_list_to_array(NIL, OIDOID), steward_list_to_array(NIL, OIDOID),
							 arrays[2], arrays[3], arrays[4], dbid);
}

/*
 * Replace every stored fingerprint of a schema by its live state (stamp:
 * "the schema is as at this version").
 */
void
steward_snapshot_fingerprints(const char *schema, const char *module, const char *version,
							  const char *dbid)
{
	const char *args[4] = {schema, dbid, module, version};

	steward_catalog_exec("DELETE FROM steward.fingerprints WHERE schema_name = $1::name",
						 1, args, SPI_OK_DELETE);
	steward_catalog_exec("INSERT INTO steward.fingerprints (schema_name, object_type, object_identity, "
						 "  hash, definition, objid, table_oid, dbid, module, version) "
						 "SELECT r.schema_name, r.object_type, r.object_identity, r.hash, r.definition, "
						 "  r.objid, r.table_oid, $2, $3, $4 "
						 "FROM steward.object_fingerprints($1::name) r",
						 4, args, SPI_OK_INSERT);
}
