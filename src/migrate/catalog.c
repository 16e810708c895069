/*-------------------------------------------------------------------------
 *
 * catalog.c
 *		Reads and writes of steward's migration catalogs on behalf of the
 *		caller.
 *
 * The catalogs belong to the extension owner and nobody else may write
 * them.  The runner functions are SECURITY INVOKER, because migration SQL
 * must run with the caller's privileges; each catalog statement here runs
 * as the owner through steward_catalog_exec() (common/catalog_access.c).
 * All functions expect SPI to be connected.
 *
 *-------------------------------------------------------------------------
 */
#include "migrate_int.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

static char *
getstr(HeapTuple tup, TupleDesc desc, int col)
{
	return SPI_getvalue(tup, desc, col);
}

static bool
getbool(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

/*
 * Load a module's row only (schema and highest rank), no versions: what
 * register needs, so registering n migrations stays O(n) overall.
 * Unknown module is an error.
 */
ModuleState *
steward_load_module_header(const char *module)
{
	ModuleState *st = palloc0(sizeof(ModuleState));
	const char *args[1] = {module};

	st->module = pstrdup(module);
	if (steward_catalog_exec("SELECT schema_name::text, "
							 "  (SELECT coalesce(max(rank), 0) FROM steward.migrations WHERE module = $1) "
							 "FROM steward.modules WHERE module = $1",
							 1, args, SPI_OK_SELECT) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("migration module \"%s\" does not exist", module),
				 errhint("Create it first: SELECT steward.define_module('%s', 'schema_name');",
						 module)));
	st->schema = getstr(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	st->max_rank = atoi(getstr(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	return st;
}

/*
 * Load everything known of a module: its schema, and every registered or
 * applied version in natural order.  Unknown module is an error.
 */
ModuleState *
steward_load_module(const char *module)
{
	ModuleState *st = steward_load_module_header(module);
	const char *args[1] = {module};
	uint64		i;

	steward_catalog_exec("SELECT coalesce(s.version, m.version), s.version IS NOT NULL, "
						 "       s.description, s.up_sql, s.down_sql, s.checksum, s.requires, "
						 "       m.version IS NOT NULL, m.baseline, m.checksum, m.down_sql, m.description, "
						 "       coalesce(s.kind, m.kind) = 'repeatable', coalesce(s.transactional, true) "
						 "FROM (SELECT * FROM steward.migration_scripts WHERE module = $1) s "
						 "FULL JOIN (SELECT * FROM steward.migrations WHERE module = $1) m "
						 "  ON m.version = s.version "
						 "ORDER BY coalesce(s.kind, m.kind) = 'repeatable', "
						 "  steward.version_key(coalesce(s.version, m.version))",
						 1, args, SPI_OK_SELECT);
	st->nsteps = (int) SPI_processed;
	st->steps = palloc0(sizeof(MigStep *) * Max(st->nsteps, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MigStep    *s = palloc0(sizeof(MigStep));
		bool		isnull;
		Datum		req;

		s->version = getstr(tup, desc, 1);
		s->registered = getbool(tup, desc, 2);
		s->description = getstr(tup, desc, 3);
		s->up_sql = getstr(tup, desc, 4);
		s->down_sql = getstr(tup, desc, 5);
		s->checksum = getstr(tup, desc, 6);
		req = SPI_getbinval(tup, desc, 7, &isnull);
		s->requires_null = isnull;
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			n,
						j;

			deconstruct_array(DatumGetArrayTypeP(req), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &enulls, &n);
			for (j = 0; j < n; j++)
				if (!enulls[j])
					s->requires = lappend(s->requires, TextDatumGetCString(elems[j]));
		}
		s->applied = getbool(tup, desc, 8);
		s->baseline = getbool(tup, desc, 9);
		s->applied_checksum = getstr(tup, desc, 10);
		s->applied_down_sql = getstr(tup, desc, 11);
		s->applied_description = getstr(tup, desc, 12);
		s->repeatable = getbool(tup, desc, 13);
		s->transactional = getbool(tup, desc, 14);
		st->steps[i] = s;
	}
	return st;
}

/*
 * Create or update a module row.  Moving a module with applied migrations
 * to another schema is refused: its objects live in the old one.
 */
void
steward_define_module_row(const char *module, const char *schema, const char *description)
{
	const char *args[3] = {module, schema, description};

	if (steward_catalog_exec("SELECT 1 FROM steward.modules mo WHERE mo.module = $1 "
							 "AND mo.schema_name <> $2::name "
							 "AND EXISTS (SELECT 1 FROM steward.migrations m WHERE m.module = $1)",
							 2, args, SPI_OK_SELECT) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("module \"%s\" has applied migrations in another schema", module),
				 errhint("Downgrade it to base first, or define a new module for schema \"%s\".",
						 schema)));
	steward_catalog_exec("INSERT INTO steward.modules AS mo (module, schema_name, description) "
						 "VALUES ($1, $2::name, $3) "
						 "ON CONFLICT (module) DO UPDATE SET schema_name = excluded.schema_name, "
						 "  description = coalesce(excluded.description, mo.description)",
						 3, args, SPI_OK_INSERT);
}

/*
 * Insert or replace registered scripts, all in one statement (register_set
 * stores a whole directory: a statement per script was most of its cost).
 * Sets each def's did: 'a'dded, 'r'eplaced, or 'u'nchanged when the row
 * already held exactly this script (then it is not written, and keeps its
 * registered_at).  def->checksum must be set.  A requires array travels
 * as its text form (arrays of arrays must be rectangular).
 */
void
steward_store_scripts(const char *module, List *defs)
{
	StewardCatalogAccess ca;
	int			n = list_length(defs);
	Oid			types[9] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, BOOLARRAYOID};
	Datum		values[9];
	Datum	   *cols[8];
	bool	   *colnulls[8];
	int			dims[1] = {n};
	int			lbs[1] = {1};
	ListCell   *lc;
	uint64		j = 0;
	uint64		returned;
	int			i = 0;
	int			c;

	if (n == 0)
		return;
	for (c = 0; c < 8; c++)
	{
		cols[c] = palloc(sizeof(Datum) * n);
		colnulls[c] = palloc0(sizeof(bool) * n);
	}
	foreach(lc, defs)
	{
		ScriptDef  *def = lfirst(lc);
		const char *text[6] = {def->version, def->up_sql, def->down_sql, def->description,
		def->checksum, def->repeatable ? "repeatable" : "versioned"};
		int			t;

		for (t = 0; t < 6; t++)
		{
			int			col = t < 5 ? t : 6;

			colnulls[col][i] = text[t] == NULL;
			cols[col][i] = text[t] ? CStringGetTextDatum(text[t]) : (Datum) 0;
		}
		colnulls[5][i] = def->requires_null;
		cols[5][i] = def->requires_null ? (Datum) 0 :
			CStringGetTextDatum(OidOutputFunctionCall(F_ARRAY_OUT, def->requires));
		cols[7][i] = BoolGetDatum(def->transactional);
		def->did = 'u';
		i++;
	}
	values[0] = CStringGetTextDatum(module);
	for (c = 0; c < 8; c++)
		values[c + 1] = PointerGetDatum(construct_md_array(cols[c], colnulls[c], 1, dims, lbs,
														   c == 7 ? BOOLOID : TEXTOID,
														   c == 7 ? 1 : -1, c == 7,
														   c == 7 ? TYPALIGN_CHAR : TYPALIGN_INT));
	steward_catalog_enter(&ca);
	steward_exec_cached("INSERT INTO steward.migration_scripts AS s "
						"(module, version, up_sql, down_sql, description, checksum, requires, "
						" kind, transactional) "
						"SELECT $1, r.version, r.up_sql, r.down_sql, r.description, r.checksum, "
						"  r.requires::text[], r.kind, r.transactional "
						"FROM unnest($2, $3, $4, $5, $6, $7, $8, $9) WITH ORDINALITY "
						"  AS r(version, up_sql, down_sql, description, checksum, requires, kind, "
						"       transactional, ord) "
						"ORDER BY r.ord "
						"ON CONFLICT (module, version) DO UPDATE SET up_sql = excluded.up_sql, "
						"  down_sql = excluded.down_sql, description = excluded.description, "
						"  checksum = excluded.checksum, requires = excluded.requires, "
						"  kind = excluded.kind, transactional = excluded.transactional, "
						"  registered_at = CASE WHEN s.checksum = excluded.checksum "
						"    THEN s.registered_at ELSE now() END "
						"WHERE (s.up_sql, s.down_sql, s.description, s.requires, s.kind, s.transactional) "
						"  IS DISTINCT FROM (excluded.up_sql, excluded.down_sql, excluded.description, "
						"  excluded.requires, excluded.kind, excluded.transactional) "
						"RETURNING s.version, s.xmax = 0",
						9, types, values, NULL, SPI_OK_INSERT_RETURNING);
	/* rows come back in the order they were inserted; skipped ones do not */
	returned = SPI_processed;
	foreach(lc, defs)
	{
		ScriptDef  *def = lfirst(lc);

		if (j < returned &&
			strcmp(getstr(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 1), def->version) == 0)
			def->did = getbool(SPI_tuptable->vals[j++], SPI_tuptable->tupdesc, 2) ? 'a' : 'r';
	}
	steward_catalog_leave(&ca);
}

/*
 * Insert or replace one registered script; returns what
 * steward_store_scripts did with it.
 */
char
steward_store_script(const char *module, ScriptDef *def)
{
	steward_store_scripts(module, list_make1(def));
	return def->did;
}

/*
 * Remove a registered script (unregister, register_set).
 */
void
steward_delete_script(const char *module, const char *version)
{
	const char *args[2] = {module, version};

	steward_catalog_exec("DELETE FROM steward.migration_scripts WHERE module = $1 AND version = $2",
						 2, args, SPI_OK_DELETE);
}

/*
 * Make a registered script the one that was applied (a repeatable script
 * whose changed version is unregistered).
 */
void
steward_restore_applied_script(const char *module, const char *version)
{
	const char *args[2] = {module, version};

	steward_catalog_exec("UPDATE steward.migration_scripts s SET up_sql = m.up_sql, "
						 "  down_sql = m.down_sql, description = m.description, checksum = m.checksum "
						 "FROM steward.migrations m "
						 "WHERE s.module = $1 AND s.version = $2 AND m.module = $1 AND m.version = $2 "
						 "  AND m.up_sql IS NOT NULL",
						 2, args, SPI_OK_UPDATE);
}

/*
 * Record an applied (or, with baseline, adopted) migration.  A repeatable
 * script applied again replaces the row of its last application.
 */
void
steward_record_applied(ModuleState *st, MigStep *step, double ms, bool baseline, const char *by)
{
	char		msbuf[64];
	char		rank[16];
	const char *args[11];

	snprintf(msbuf, sizeof(msbuf), "%.3f", ms);
	snprintf(rank, sizeof(rank), "%d", ++st->max_rank);
	args[0] = st->module;
	args[1] = step->version;
	args[2] = step->description;
	args[3] = step->checksum;
	args[4] = step->up_sql;
	args[5] = step->down_sql;
	args[6] = by;
	args[7] = baseline || isnan(ms) ? NULL : msbuf;
	args[8] = rank;
	args[9] = baseline ? "true" : "false";
	args[10] = step->repeatable ? "repeatable" : "versioned";
	if (step->repeatable && step->applied)
		steward_record_reverted(st, step);
	steward_catalog_exec("INSERT INTO steward.migrations (module, version, description, checksum, "
						 "  up_sql, down_sql, applied_by, duration_ms, rank, baseline, kind) "
						 "VALUES ($1, $2, $3, $4, $5, $6, $7::name, $8::float8, $9::int, $10::bool, $11)",
						 11, args, SPI_OK_INSERT);
	step->applied = true;
	step->baseline = baseline;
	step->applied_checksum = step->checksum;
	step->applied_down_sql = step->down_sql;
}

/*
 * Remove an applied migration's row (after its down_sql ran, or by stamp).
 */
void
steward_record_reverted(ModuleState *st, MigStep *step)
{
	const char *args[2] = {st->module, step->version};

	steward_catalog_exec("DELETE FROM steward.migrations WHERE module = $1 AND version = $2",
						 2, args, SPI_OK_DELETE);
	step->applied = false;
}

/*
 * Append an event to steward.migration_events; detail is JSON text or NULL.
 */
void
steward_record_event(const char *module, const char *version, const char *event,
					 const char *by, const char *detail)
{
	const char *args[5] = {module, version, event, by, detail};

	steward_catalog_exec("INSERT INTO steward.migration_events (module, version, event, by_user, detail) "
						 "VALUES ($1, $2, $3, $4::name, $5::jsonb)",
						 5, args, SPI_OK_INSERT);
}

/*
 * Make an applied migration's recorded script and checksum those given.
 */
void
steward_record_repair(const char *module, const char *version, const char *up_sql,
					  const char *checksum)
{
	const char *args[4] = {module, version, up_sql, checksum};

	steward_catalog_exec("UPDATE steward.migrations SET up_sql = $3, checksum = $4 "
						 "WHERE module = $1 AND version = $2",
						 4, args, SPI_OK_UPDATE);
}

/*
 * Checksum recorded for an applied module:version; *applied tells whether
 * it is applied at all (a stamped-at-base row has no checksum).
 */
char *
steward_applied_checksum(const char *module, const char *version, bool *applied)
{
	const char *args[2] = {module, version};

	*applied = steward_catalog_exec("SELECT checksum FROM steward.migrations "
									"WHERE module = $1 AND version = $2",
									2, args, SPI_OK_SELECT) > 0;
	return *applied ? getstr(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
}

/*
 * Highest steward.ddl_log id now: DDL up to here is covered by a stamp.
 */
int64
steward_ddl_log_high_water(void)
{
	steward_catalog_exec("SELECT coalesce(max(id), 0) FROM steward.ddl_log", 0, NULL, SPI_OK_SELECT);
	return strtoi64(getstr(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), NULL, 10);
}

/*
 * Is module:version applied now?
 */
bool
steward_version_applied(const char *module, const char *version)
{
	const char *args[2] = {module, version};

	return steward_catalog_exec("SELECT 1 FROM steward.migrations WHERE module = $1 AND version = $2",
								2, args, SPI_OK_SELECT) > 0;
}

/*
 * Describe the session holding the advisory lock (key1, key2) of this
 * database, for the lock timeout error.
 */
char *
steward_lock_holder(uint32 key1, uint32 key2)
{
	char		k1[16];
	char		k2[16];
	const char *args[2] = {k1, k2};

	snprintf(k1, sizeof(k1), "%u", key1);
	snprintf(k2, sizeof(k2), "%u", key2);
	if (steward_catalog_exec("SELECT format('pid %s (application_name \"%s\") since %s', a.pid, "
							 "  coalesce(a.application_name, ''), "
							 "  coalesce(a.xact_start, a.backend_start)) "
							 "FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
							 "WHERE l.locktype = 'advisory' AND l.granted "
							 "  AND l.database = (SELECT oid FROM pg_catalog.pg_database "
							 "                    WHERE datname = pg_catalog.current_database()) "
							 "  AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 2 "
							 "LIMIT 1", 2, args, SPI_OK_SELECT) == 1)
		return getstr(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return pstrdup("a session that has since released it");
}

/*
 * Did a transaction that this one's snapshot cannot see change the module?
 * Every change of a module's applied migrations (apply, revert, baseline,
 * repair) records an event under the module's lock, so the writer of the
 * newest event, read with a fresh snapshot, is the last to change them.
 * When the transaction snapshot (REPEATABLE READ, SERIALIZABLE) does not
 * see that writer, the state the runner would load is out of date and it
 * would run again what the other session applied.  Called with the
 * module's lock held, so nobody changes the module meanwhile.
 */
bool
steward_module_changed_unseen(const char *module)
{
	static const char *const sql =
		"SELECT e.xmin FROM steward.migration_events e WHERE e.module = $1 "
		"ORDER BY e.id DESC LIMIT 1";
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	StewardCatalogAccess ca;
	int			rc;
	bool		isnull;
	TransactionId xmin;

	values[0] = CStringGetTextDatum(module);
	steward_catalog_enter(&ca);
	rc = SPI_execute_snapshot(steward_cached_plan(sql, 1, types), values, NULL,
							  GetLatestSnapshot(), InvalidSnapshot, true, false, 1);
	steward_catalog_leave(&ca);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											   1, &isnull));
	return !isnull && TransactionIdIsNormal(xmin) &&
		!TransactionIdIsCurrentTransactionId(xmin) &&
		XidInMVCCSnapshot(xmin, GetTransactionSnapshot());
}
