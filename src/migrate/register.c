/*-------------------------------------------------------------------------
 *
 * register.c
 *		Registration of migration scripts: the SQL-callable functions
 *		register, register_set and unregister.
 *
 * A script is checked before it is stored: its version, its requires,
 * its syntax and the statements it may hold (sqlcheck.c), which depend on
 * whether it is a no-transaction step.  A repeatable script is identified
 * by its description and stored under the version R__<description>.
 * Everything runs in the caller's transaction under the module's lock, so
 * register_set is atomic: one bad script and nothing is registered.
 *
 *-------------------------------------------------------------------------
 */
#include "migrate_int.h"

#include "catalog/pg_type.h"
#include "checksum.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "sqlcheck.h"
#include "template.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "version.h"

PG_FUNCTION_INFO_V1(steward_register);
PG_FUNCTION_INFO_V1(steward_register_set);
PG_FUNCTION_INFO_V1(steward_unregister);

/*
 * Check the requires array of register: each element "module:version".
 */
static void
check_requires(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("requires must be a one-dimensional array"),
				 errhint("Pass ARRAY['module:version', ...].")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		char	   *req;
		char	   *colon;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("requires must not contain NULL"),
					 errhint("Pass ARRAY['module:version', ...].")));
		req = TextDatumGetCString(elems[i]);
		colon = strrchr(req, ':');
		if (colon == NULL || colon == req)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid requirement \"%s\"", req),
					 errhint("Write requirements as module:version, e.g. 'core:3'.")));
		steward_check_version(colon + 1, "required version");
	}
}

/*
 * Check a script for syntax and for statements that cannot run in its kind
 * of step; errors name module and step.
 */
void
steward_check_script(const char *module, const char *version, const char *schema,
					 const char *sql, const char *which, bool transactional)
{
	char	   *expanded = steward_expand_templates(sql, schema);
	const char *bad = NULL;
	MemoryContext oldcxt = CurrentMemoryContext;

	PG_TRY();
	{
		bad = steward_script_problem(expanded, transactional);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg("%s of %s of module \"%s\" is not valid SQL", which,
						steward_step_name(version), module),
				 errdetail("%s", edata->message),
				 errhint("Fix the script and register it again.")));
	}
	PG_END_TRY();
	if (bad != NULL && transactional)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s of %s of module \"%s\" contains %s, which cannot run inside a transaction",
						which, steward_step_name(version), module, bad),
				 errdetail("Migrations run inside the caller's transaction so that they are atomic."),
				 steward_script_problem(expanded, false) != NULL ?
				 errhint("Remove the statement from the script: no kind of migration step can run it.") :
				 errhint("Make it a no-transaction step of its own (transactional => false, or the first line %s): CALL steward.deploy or the pg_steward program runs its statements one by one outside a transaction block.",
						 STEWARD_NO_TRANSACTION_MARK)));
	if (bad != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s of no-transaction %s of module \"%s\" contains %s",
						which, steward_step_name(version), module, bad),
				 errdetail("A no-transaction step runs each statement as a top-level statement in a transaction of its own; it cannot control transactions or talk to a client."),
				 errhint("Remove the statement from the script.")));
}

/*
 * The key a script is stored under: its version, or for a repeatable
 * script R__<description>.  Checks that the two kinds cannot be mistaken
 * for each other.
 */
static void
key_script(const char *module, ScriptDef *def)
{
	if (!def->repeatable)
	{
		steward_check_version(def->version, "migration version");
		if (steward_is_repeatable_key(def->version))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid migration version \"%s\"", def->version),
					 errdetail("Versions starting with %s name repeatable scripts.",
							   STEWARD_REPEATABLE_PREFIX),
					 errhint("Register it with kind => 'repeatable' and its description, or choose another version.")));
		return;
	}
	if (def->description == NULL || def->description[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a repeatable script of module \"%s\" needs a description", module),
				 errdetail("A repeatable script is identified by its description."),
				 errhint("Pass description => 'views' (the pg_steward program takes it from R__views.sql).")));
	if (def->version != NULL &&
		strcmp(def->version, psprintf("%s%s", STEWARD_REPEATABLE_PREFIX, def->description)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("repeatable script \"%s\" of module \"%s\" cannot have version \"%s\"",
						def->description, module, def->version),
				 errhint("Pass version => NULL: a repeatable script is identified by its description.")));
	def->version = psprintf("%s%s", STEWARD_REPEATABLE_PREFIX, def->description);
	steward_check_version(def->version, "repeatable script description");
}

/*
 * Check a keyed script (requires, syntax, the statements its kind of step
 * may hold) and set its checksum and effective transactional flag.
 */
static void
check_script_def(const char *module, const char *schema, ScriptDef *def)
{
	if (!def->requires_null)
		check_requires(DatumGetArrayTypeP(def->requires));
	def->transactional = def->transactional &&
		!steward_script_no_transaction(def->up_sql) &&
		!steward_script_no_transaction(def->down_sql);
	steward_check_script(module, def->version, schema, def->up_sql, "up_sql", def->transactional);
	if (def->down_sql != NULL)
		steward_check_script(module, def->version, schema, def->down_sql, "down_sql",
							 def->transactional);
	def->checksum = steward_script_checksum(def->up_sql, strlen(def->up_sql));
}

/*
 * An applied versioned script may not change (checksum); a changed
 * repeatable script simply becomes pending.
 */
static void
refuse_changed_applied(ModuleState *st, ScriptDef *def, bool applied,
					   const char *applied_checksum)
{
	if (applied && !def->repeatable && applied_checksum != NULL &&
		strcmp(applied_checksum, def->checksum) != 0)
	{
		MigStep		s = {0};

		s.version = def->version;
		s.checksum = def->checksum;
		s.applied_checksum = (char *) applied_checksum;
		steward_mismatch_error(st, &s);
	}
}

/*
 * register's work, shared with migrate: lock, check and store one script.
 * Returns what steward_store_script did ('a', 'r' or 'u').
 */
char
steward_register_script(const char *module, ScriptDef *def)
{
	ModuleState *st;
	char	   *applied_checksum;
	bool		applied;

	key_script(module, def);
	steward_lock_module(module);
	st = steward_load_module_header(module);
	check_script_def(module, st->schema, def);
	applied_checksum = steward_applied_checksum(module, def->version, &applied);
	refuse_changed_applied(st, def, applied, applied_checksum);
	return steward_store_script(module, def);
}

/*
 * A kind argument: 'versioned' or 'repeatable'.
 */
static bool
kind_is_repeatable(const char *kind)
{
	if (kind == NULL || strcmp(kind, "versioned") == 0)
		return false;
	if (strcmp(kind, "repeatable") == 0)
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid migration kind \"%s\"", kind),
			 errhint("Give kind => 'versioned' (the default) or 'repeatable'.")));
	return false;				/* not reached */
}

/*
 * steward.register(module, version, up_sql, down_sql, description,
 *					requires, kind, transactional)
 */
Datum
steward_register(PG_FUNCTION_ARGS)
{
	char	   *module = steward_text_arg(fcinfo, 0, "module", false);
	ScriptDef	def = {0};

	steward_require_writable("steward.register()");
	def.version = steward_text_arg(fcinfo, 1, "version", true);
	def.up_sql = steward_text_arg(fcinfo, 2, "up_sql", false);
	def.down_sql = steward_text_arg(fcinfo, 3, "down_sql", true);
	def.description = steward_text_arg(fcinfo, 4, "description", true);
	def.requires_null = PG_ARGISNULL(5);
	def.requires = def.requires_null ? (Datum) 0 : PG_GETARG_DATUM(5);
	def.repeatable = kind_is_repeatable(steward_text_arg(fcinfo, 6, "kind", true));
	def.transactional = PG_ARGISNULL(7) || PG_GETARG_BOOL(7);
	SPI_connect();
	(void) steward_register_script(module, &def);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---------- register_set ---------- */

static const char *const script_keys[] = {"version", "up_sql", "down_sql", "description",
"requires", "kind", "transactional"};

/*
 * Refuse a scripts argument that is not an array of objects with only the
 * known keys: a misspelt key would otherwise be silently ignored.
 */
static void
check_script_set(Jsonb *scripts)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	if (!JB_ROOT_IS_ARRAY(scripts) || JB_ROOT_IS_SCALAR(scripts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scripts must be a JSON array"),
				 errhint("Pass [{\"version\": \"1\", \"up_sql\": \"...\"}, ...].")));
	it = JsonbIteratorInit(&scripts->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		size_t		i;

		if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT)
			depth++;
		else if (tok == WJB_END_ARRAY || tok == WJB_END_OBJECT)
			depth--;
		if (tok == WJB_ELEM && depth == 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("each element of scripts must be a JSON object"),
					 errhint("Pass [{\"version\": \"1\", \"up_sql\": \"...\"}, ...].")));
		if (tok != WJB_KEY || depth != 2)
			continue;
		for (i = 0; i < lengthof(script_keys); i++)
			if (strlen(script_keys[i]) == (size_t) v.val.string.len &&
				strncmp(script_keys[i], v.val.string.val, v.val.string.len) == 0)
				break;
		if (i == lengthof(script_keys))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%.*s\" in scripts", v.val.string.len, v.val.string.val),
					 errhint("A script has the keys version, up_sql, down_sql, description, requires, kind and transactional.")));
	}
}

/*
 * The scripts of a register_set call, as ScriptDefs (in SPI's procedure
 * context).  JSON null and absent keys are SQL NULLs.
 */
static List *
read_script_set(Jsonb *scripts)
{
	Oid			types[1] = {JSONBOID};
	Datum		values[1] = {JsonbPGetDatum(scripts)};
	List	   *defs = NIL;
	uint64		i;

	if (SPI_execute_with_args("SELECT version, up_sql, down_sql, description, requires, "
							  "       coalesce(kind, 'versioned'), coalesce(transactional, true) "
							  "FROM pg_catalog.jsonb_to_recordset($1) AS s(version text, up_sql text, "
							  "  down_sql text, description text, requires text[], kind text, "
							  "  transactional boolean)",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the scripts of register_set");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		ScriptDef  *def = palloc0(sizeof(ScriptDef));
		bool		isnull;

		def->version = SPI_getvalue(tup, desc, 1);
		def->up_sql = SPI_getvalue(tup, desc, 2);
		def->down_sql = SPI_getvalue(tup, desc, 3);
		def->description = SPI_getvalue(tup, desc, 4);
		def->requires = SPI_getbinval(tup, desc, 5, &def->requires_null);
		if (!def->requires_null)
			def->requires = PointerGetDatum(DatumGetArrayTypePCopy(def->requires));
		def->repeatable = kind_is_repeatable(SPI_getvalue(tup, desc, 6));
		def->transactional = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
		if (def->up_sql == NULL || def->up_sql[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("script %d of scripts has no up_sql", (int) i + 1),
					 errhint("Give each script its \"up_sql\".")));
		defs = lappend(defs, def);
	}
	return defs;
}

/* qsort/bsearch order of ScriptDef and MigStep pointers: by key */
static int
def_key_cmp(const void *a, const void *b)
{
	return strcmp((*(ScriptDef *const *) a)->version, (*(ScriptDef *const *) b)->version);
}

static int
step_key_cmp(const void *a, const void *b)
{
	return strcmp((*(MigStep *const *) a)->version, (*(MigStep *const *) b)->version);
}

/*
 * The keyed scripts of the set sorted by key, refusing a key given twice.
 * Sorting keeps a directory of thousands of files from n² comparisons.
 */
static ScriptDef **
sort_refusing_duplicates(const char *module, List *defs)
{
	int			n = list_length(defs);
	ScriptDef **sorted = palloc(sizeof(ScriptDef *) * Max(n, 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, defs)
		sorted[i++] = lfirst(lc);
	qsort(sorted, n, sizeof(ScriptDef *), def_key_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(sorted[i - 1]->version, sorted[i]->version) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("scripts holds %s of module \"%s\" twice",
							steward_step_name(sorted[i]->version), module),
					 errhint("Give each script its own version (each repeatable script its own description).")));
	return sorted;
}

/*
 * The step of a key in steps sorted by step_key_cmp, or NULL.
 */
static MigStep *
lookup_step(MigStep **sorted, int n, const char *version)
{
	MigStep		key = {0};
	MigStep    *keyp = &key;
	MigStep   **found;

	key.version = (char *) version;
	found = bsearch(&keyp, sorted, n, sizeof(MigStep *), step_key_cmp);
	return found ? *found : NULL;
}

/*
 * Is the script registered for step s exactly def, so that storing it
 * would change nothing (what steward_store_scripts' ON CONFLICT ... WHERE
 * would find)?  Such a script is reported unchanged without a write.
 */
static bool
script_unchanged(MigStep *s, ScriptDef *def)
{
	List	   *reqs = NIL;

	if (s == NULL || !s->registered || s->repeatable != def->repeatable ||
		s->transactional != def->transactional || s->requires_null != def->requires_null ||
		strcmp(s->up_sql, def->up_sql) != 0 ||
		(s->down_sql == NULL) != (def->down_sql == NULL) ||
		(s->down_sql != NULL && strcmp(s->down_sql, def->down_sql) != 0) ||
		(s->description == NULL) != (def->description == NULL) ||
		(s->description != NULL && strcmp(s->description, def->description) != 0))
		return false;
	if (!def->requires_null)
	{
		Datum	   *elems;
		int			n,
					i;

		deconstruct_array(DatumGetArrayTypeP(def->requires), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, NULL, &n);
		for (i = 0; i < n; i++)
			reqs = lappend(reqs, TextDatumGetCString(elems[i]));
		if (list_length(reqs) != list_length(s->requires))
			return false;
		for (i = 0; i < n; i++)
			if (strcmp(list_nth(reqs, i), list_nth(s->requires, i)) != 0)
				return false;
	}
	return true;
}

/*
 * Remove the pending scripts that the set does not hold, adding a row for
 * each to the result.  Applied scripts stay (status shows them as applied
 * or, once their script is gone, missing).  st is the module as it was
 * before the set was stored.
 */
static void
remove_missing_scripts(ModuleState *st, ScriptDef **sorted, int ndefs, Tuplestorestate *ts,
					   TupleDesc td)
{
	int			i;

	for (i = 0; i < st->nsteps; i++)
	{
		MigStep    *s = st->steps[i];
		ScriptDef	key = {0};
		ScriptDef  *keyp = &key;
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (!s->registered || s->applied)
			continue;
		key.version = s->version;
		if (bsearch(&keyp, sorted, ndefs, sizeof(ScriptDef *), def_key_cmp) != NULL)
			continue;
		steward_delete_script(st->module, s->version);
		values[0] = CStringGetTextDatum(s->version);
		values[1] = CStringGetTextDatum("removed");
		tuplestore_putvalues(ts, td, values, nulls);
	}
}

/*
 * steward.register_set(module, scripts jsonb, remove_missing) RETURNS
 * TABLE(version, action): a whole directory in one atomic call, one row
 * per script: added, replaced, unchanged or removed.
 */
Datum
steward_register_set(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *module = steward_text_arg(fcinfo, 0, "module", false);
	Jsonb	   *scripts;
	bool		remove_missing = PG_ARGISNULL(2) || PG_GETARG_BOOL(2);
	ModuleState *st;
	MigStep   **steps;
	List	   *defs;
	List	   *to_store = NIL;
	List	   *to_add = NIL;
	ScriptDef **sorted;
	ListCell   *lc;

	steward_require_writable("steward.register_set()");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("scripts must not be NULL"),
				 errhint("Pass '[]' to register no script (and, with remove_missing, remove every pending one).")));
	scripts = PG_GETARG_JSONB_P(1);
	check_script_set(scripts);
	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	steward_lock_module(module);
	st = steward_load_module(module);
	steps = palloc(sizeof(MigStep *) * Max(st->nsteps, 1));
	memcpy(steps, st->steps, sizeof(MigStep *) * st->nsteps);
	qsort(steps, st->nsteps, sizeof(MigStep *), step_key_cmp);
	defs = read_script_set(scripts);
	foreach(lc, defs)
		key_script(module, lfirst(lc));
	sorted = sort_refusing_duplicates(module, defs);

	/* check every script, then store in one statement those that changed */
	foreach(lc, defs)
	{
		ScriptDef  *def = lfirst(lc);
		MigStep    *s = lookup_step(steps, st->nsteps, def->version);

		check_script_def(module, st->schema, def);
		refuse_changed_applied(st, def, s != NULL && s->applied, s ? s->applied_checksum : NULL);
		if (script_unchanged(s, def))
			def->did = 'u';
		else if (s == NULL || !s->registered)
			to_add = lappend(to_add, def);
		else
			to_store = lappend(to_store, def);
	}
	steward_store_scripts(module, to_add, true);
	steward_store_scripts(module, to_store, false);

	foreach(lc, defs)
	{
		ScriptDef  *def = lfirst(lc);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(def->version);
		values[1] = CStringGetTextDatum(def->did == 'a' ? "added" :
										def->did == 'r' ? "replaced" : "unchanged");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (remove_missing)
		remove_missing_scripts(st, sorted, list_length(defs), rsinfo->setResult, rsinfo->setDesc);
	SPI_finish();
	return (Datum) 0;
}

/*
 * steward.unregister(module, version): remove one pending script.  A
 * repeatable script changed since it was applied goes back to the script
 * it was applied with.
 */
Datum
steward_unregister(PG_FUNCTION_ARGS)
{
	char	   *module = steward_text_arg(fcinfo, 0, "module", false);
	char	   *version = steward_text_arg(fcinfo, 1, "version", false);
	ModuleState *st;
	MigStep    *s;

	steward_require_writable("steward.unregister()");
	SPI_connect();
	steward_lock_module(module);
	st = steward_load_module(module);
	s = steward_find_step(st, version);
	if (s == NULL || !s->registered)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s of module \"%s\" is not registered", steward_step_name(version), module),
				 errhint("steward.status('%s') lists the registered scripts; a repeatable script is named R__<description>.",
						 module)));
	if (s->repeatable && steward_step_pending(s) && s->applied)
		steward_restore_applied_script(module, version);
	else if (s->applied)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot unregister %s of module \"%s\": it is applied",
						steward_step_name(version), module),
				 errdetail("Only a pending script can be unregistered."),
				 errhint("Revert it first with steward.downgrade('%s', ...), or leave it registered.", module)));
	else
		steward_delete_script(module, version);
	SPI_finish();
	PG_RETURN_VOID();
}
