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
#include "utils/timestamp.h"

static void steward_write_held_records(void);

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
	steward_write_held_records();
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

	steward_write_held_records();
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
 * Rows for a statement that reads them as unnest($1, ..., $ncols): each
 * row an array of ncols C strings (NULL for SQL NULL), each column
 * becoming one text[] parameter.  One statement writes a whole directory
 * or run where a statement per row was most of the cost.
 */
static void
text_columns(List *rows, int ncols, Oid *types, Datum *values)
{
	int			n = list_length(rows);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Datum	   *col = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *colnulls = palloc(sizeof(bool) * Max(n, 1));
	int			c;

	for (c = 0; c < ncols; c++)
	{
		ListCell   *lc;
		int			i = 0;

		foreach(lc, rows)
		{
			const char *v = ((const char **) lfirst(lc))[c];

			colnulls[i] = v == NULL;
			col[i++] = v ? CStringGetTextDatum(v) : (Datum) 0;
		}
		types[c] = TEXTARRAYOID;
		values[c] = PointerGetDatum(construct_md_array(col, colnulls, 1, dims, lbs, TEXTOID,
													   -1, false, TYPALIGN_INT));
	}
}

/* The rows of steward_store_scripts' INSERTs, from its nine text[] columns. */
#define SCRIPT_ROWS \
	"(module, version, up_sql, down_sql, description, checksum, requires, kind, transactional) " \
	"SELECT r.module, r.version, r.up_sql, r.down_sql, r.description, r.checksum, " \
	"  r.requires::text[], r.kind, r.transactional::boolean " \
	"FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9) WITH ORDINALITY " \
	"  AS r(module, version, up_sql, down_sql, description, checksum, requires, kind, " \
	"       transactional, ord) " \
	"ORDER BY r.ord"

/*
 * Insert or replace registered scripts, all in one statement.  Sets each
 * def's did: 'a'dded, 'r'eplaced, or 'u'nchanged when the row already held
 * exactly this script (then it is not written, and keeps its
 * registered_at).  def->checksum must be set.  fresh: the caller knows
 * that none of them is registered.
 */
void
steward_store_scripts(const char *module, List *defs, bool fresh)
{
	StewardCatalogAccess ca;
	Oid			types[10];
	Datum		values[10];
	List	   *rows = NIL;
	ListCell   *lc;
	uint64		j = 0;

	if (defs == NIL)
		return;
	foreach(lc, defs)
	{
		ScriptDef  *def = lfirst(lc);
		const char **row = palloc(sizeof(char *) * 10);

		row[0] = module;
		row[1] = def->version;
		row[2] = def->up_sql;
		row[3] = def->down_sql;
		row[4] = def->description;
		row[5] = def->checksum;
		row[6] = def->requires_null ? NULL : OidOutputFunctionCall(F_ARRAY_OUT, def->requires);
		row[7] = def->repeatable ? "repeatable" : "versioned";
		row[8] = def->transactional ? "true" : "false";
		rows = lappend(rows, row);
		def->did = 'u';
	}
	text_columns(rows, 9, types, values);
	steward_catalog_enter(&ca);
	if (fresh)
	{
		/* none of them is registered (the module lock is held): no upsert */
		steward_exec_cached("INSERT INTO steward.migration_scripts " SCRIPT_ROWS,
							9, types, values, NULL, SPI_OK_INSERT);
		foreach(lc, defs)
			((ScriptDef *) lfirst(lc))->did = 'a';
		steward_catalog_leave(&ca);
		return;
	}
	steward_exec_cached("INSERT INTO steward.migration_scripts AS s " SCRIPT_ROWS " "
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
	foreach(lc, defs)
	{
		ScriptDef  *def = lfirst(lc);

		if (j < SPI_processed &&
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
	steward_store_scripts(module, list_make1(def), false);
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
 * History rows held back during a run (steward_hold_records): a run of a
 * hundred one-statement migrations spent a fifth of its time on two
 * INSERTs per step.  The rows are written together, in step order, when
 * the run's last step has run, in the same transaction; each event keeps
 * the time its step ended.  Only execute_plan holds rows, so nothing else
 * (stamp, repair, deploy's commits between steps) waits for a write.
 *
 * A row remembers the subtransaction level it was recorded at: a nested
 * call inside a migration (a dry run, a run of another module in a
 * PL/pgSQL block that catches its error) can be rolled back while the
 * outer run goes on, and then its rows must go too.
 *
 * Steward's own reads of steward.migrations inside the run (a nested run
 * loading its module, a requirement, register's check of an applied
 * script) first write the rows held so far (steward_write_held_records):
 * a second nested run of a module would otherwise apply its first run's
 * versions again.  Such a write can happen in a subtransaction that then
 * aborts, so a written row remembers the level that wrote it, and goes
 * back to being held when that write is rolled back.
 */
typedef struct HeldRow
{
	int			level;			/* GetCurrentTransactionNestLevel() */
	int			written;		/* level of the INSERT that wrote it; 0: held */
	const char **cols;
} HeldRow;

typedef struct HeldRecords
{
	MemoryContext cxt;			/* the run's: holds the rows */
	List	   *applied;		/* rows of steward.migrations, 11 strings */
	List	   *events;			/* rows of steward.migration_events, 7 */
} HeldRecords;

static HeldRecords *held = NULL;

/*
 * Held rows of a subtransaction that aborts are dropped; those of one that
 * commits belong to its parent from then on.  Likewise the writes: an
 * older row written by a subtransaction that aborts is held again.
 */
static List *
held_at_subxact_end(List *rows, bool abort)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	foreach(lc, rows)
	{
		HeldRow    *r = lfirst(lc);

		if (r->level >= level && abort)
		{
			rows = foreach_delete_current(rows, lc);
			continue;
		}
		if (r->level >= level)
			r->level = level - 1;
		if (r->written >= level)
			r->written = abort ? 0 : level - 1;
	}
	return rows;
}

static void
held_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (held == NULL || (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;
	held->applied = held_at_subxact_end(held->applied, event == SUBXACT_EVENT_ABORT_SUB);
	held->events = held_at_subxact_end(held->events, event == SUBXACT_EVENT_ABORT_SUB);
}

/* The end of the transaction ends any hold (its run has ended anyway). */
static void
held_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		held = NULL;
}

/*
 * Start holding history rows; false when a run already holds them (a
 * nested run leaves the writing to the outer one).
 */
bool
steward_hold_records(void)
{
	static bool callbacks = false;

	if (held != NULL)
		return false;
	if (!callbacks)
	{
		RegisterSubXactCallback(held_subxact_callback, NULL);
		RegisterXactCallback(held_xact_callback, NULL);
		callbacks = true;
	}
	held = MemoryContextAllocZero(CurrentMemoryContext, sizeof(HeldRecords));
	held->cxt = CurrentMemoryContext;
	return true;
}

/*
 * Add a row of n strings, copied into the held rows' context.
 */
static List *
hold_row(List *rows, const char **cols, int n)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(held->cxt);
	HeldRow    *r = palloc(sizeof(HeldRow));
	int			i;

	r->level = GetCurrentTransactionNestLevel();
	r->written = 0;
	r->cols = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
		r->cols[i] = cols[i] ? pstrdup(cols[i]) : NULL;
	rows = lappend(rows, r);
	MemoryContextSwitchTo(oldcxt);
	return rows;
}

/*
 * The columns of the rows not written yet, for text_columns; they are
 * marked written by the current (sub)transaction level.
 */
static List *
held_cols(List *rows)
{
	List	   *cols = NIL;
	ListCell   *lc;

	foreach(lc, rows)
	{
		HeldRow    *r = lfirst(lc);

		if (r->written != 0)
			continue;
		cols = lappend(cols, r->cols);
		r->written = GetCurrentTransactionNestLevel();
	}
	return cols;
}

/*
 * Write the rows held and not written yet.
 */
static void
write_held(HeldRecords *h)
{
	StewardCatalogAccess ca;
	Oid			types[11];
	Datum		values[11];
	List	   *applied = held_cols(h->applied);
	List	   *events = held_cols(h->events);

	if (applied != NIL)
	{
		text_columns(applied, 11, types, values);
		steward_catalog_enter(&ca);
		steward_exec_cached("INSERT INTO steward.migrations (module, version, description, checksum, "
							"  up_sql, down_sql, applied_by, duration_ms, rank, baseline, kind) "
							"SELECT r.module, r.version, r.description, r.checksum, r.up_sql, r.down_sql, "
							"  r.applied_by::name, r.duration_ms::float8, r.rank::int, r.baseline::bool, r.kind "
							"FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) WITH ORDINALITY "
							"  AS r(module, version, description, checksum, up_sql, down_sql, applied_by, "
							"       duration_ms, rank, baseline, kind, ord) "
							"ORDER BY r.ord",
							11, types, values, NULL, SPI_OK_INSERT);
		steward_catalog_leave(&ca);
	}
	if (events != NIL)
	{
		text_columns(events, 7, types, values);
		steward_catalog_enter(&ca);
		steward_exec_cached("INSERT INTO steward.migration_events (module, version, event, by_user, "
							"  detail, at, application_name) "
							"SELECT r.module, r.version, r.event, r.by_user::name, r.detail::jsonb, "
							"  r.at::timestamptz, r.application_name "
							"FROM unnest($1, $2, $3, $4, $5, $6, $7) WITH ORDINALITY "
							"  AS r(module, version, event, by_user, detail, at, application_name, ord) "
							"ORDER BY r.ord",
							7, types, values, NULL, SPI_OK_INSERT);
		steward_catalog_leave(&ca);
	}
}

/*
 * Stop holding; write the held rows unless the run failed (then its
 * transaction or subtransaction rolls back anyway).
 */
void
steward_release_records(bool write)
{
	HeldRecords *h = held;

	held = NULL;
	if (write && h != NULL)
		write_held(h);
}

/*
 * Before steward reads steward.migrations inside a run (a nested call),
 * write what the run holds, so that the read sees it.
 */
static void
steward_write_held_records(void)
{
	if (held != NULL)
		write_held(held);
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
	if (held != NULL)
		held->applied = hold_row(held->applied, args, 11);
	else
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
 * Remove an applied migration's row (after its down_sql ran, or by stamp);
 * a row still held is dropped from the held ones.
 */
void
steward_record_reverted(ModuleState *st, MigStep *step)
{
	const char *args[2] = {st->module, step->version};
	ListCell   *lc;

	foreach(lc, held != NULL ? held->applied : NIL)
	{
		HeldRow    *r = lfirst(lc);

		if (strcmp(r->cols[0], st->module) != 0 || strcmp(r->cols[1], step->version) != 0)
			continue;
		/* a row of an outer level must come back if this level aborts */
		if (r->written == 0 && r->level == GetCurrentTransactionNestLevel())
		{
			held->applied = foreach_delete_current(held->applied, lc);
			step->applied = false;
			return;
		}
		steward_write_held_records();
		break;
	}
	steward_catalog_exec("DELETE FROM steward.migrations WHERE module = $1 AND version = $2",
						 2, args, SPI_OK_DELETE);
	step->applied = false;
}

/*
 * Append to the migration event log.
 */
void
steward_record_event(const char *module, const char *version, const char *event,
					 const char *by, const char *detail)
{
	const char *args[7];

	args[0] = module;
	args[1] = version;
	args[2] = event;
	args[3] = by;
	args[4] = detail;
	args[5] = NULL;
	args[6] = NULL;
	if (held != NULL)
	{
		/* the time and application_name of the step, not of the write */
		args[5] = timestamptz_to_str(GetCurrentTimestamp());
		args[6] = application_name;
		held->events = hold_row(held->events, args, 7);
		return;
	}
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

	steward_write_held_records();
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

	steward_write_held_records();
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
