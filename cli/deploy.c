/*-------------------------------------------------------------------------
 *
 * deploy.c
 *		Register a directory with the server and run its migrations.
 *
 * Sync: the whole directory is registered in one transaction, with
 * steward.register_set() when the server has it (it also removes pending
 * scripts whose file is gone), else one steward.register() per file, sent
 * in one pipeline.  Either way nothing is half-registered.
 *
 * Upgrade: the server's plan (steward.plan) says which versions are
 * pending, in order; a run of consecutive transactional ones (at most
 * UPGRADE_BATCH) is applied by one steward.upgrade(module, '<last of the
 * run>') call in autocommit mode, which returns a row per version applied:
 * the module's state is loaded once per run, not per version, so a
 * directory of 1,000 files is linear.  When the run fails, its versions
 * are applied one call each, so a failure keeps the migrations before it.
 * Any number of programs may run at once: the server's module lock lets
 * one apply each version and the others find it applied ("skipped").
 *
 * A no-transaction step (first line -- steward:no-transaction) is what
 * steward.upgrade() cannot run: CREATE INDEX CONCURRENTLY and its kind
 * must be top-level statements.  The program runs it itself: it takes the
 * module's lock as a session lock, checks the step is still pending, sends
 * the step's statements one by one (split.c), then records the step
 * through record_external_step(), and releases the lock.  Before the
 * statements, steward.begin_step() marks the session as running that
 * migration (its DDL is logged as the migration's, the rewrite guard
 * judges it, the fingerprints are refreshed when it is recorded) and says
 * what an interrupted earlier run left: the invalid index to drop first,
 * the statements it applied, which are skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

/*
 * The module lock's keys, as the server takes it (src/migrate/modlock.c):
 * pg_advisory_xact_lock(1937012580, hash of the module name), which is
 * hashtext() of the name.  A session lock on the same keys conflicts with
 * it, and the server's own transaction lock in this session is re-entrant
 * (lock_module).
 */

/*
 * Take the module's lock for this session, waiting for it outside any
 * transaction: the program holds it for the whole command.  A runner that
 * waited inside a transaction (in steward.upgrade or register) while
 * another one runs CREATE INDEX CONCURRENTLY would deadlock with it: the
 * build waits for every transaction that holds a snapshot.  So the program
 * polls pg_try_advisory_lock, each try a transaction of its own.
 */
void
lock_module(Server *srv, const char *module)
{
	const char *params[1] = {module};
	double		t0 = now_ms();
	bool		said = false;
	useconds_t	pause = 10000;

	for (;;)
	{
		PGresult   *res = db_query(srv, "SELECT pg_catalog.pg_try_advisory_lock(1937012580, pg_catalog.hashtext($1))",
								   1, params);
		bool		got = PQgetvalue(res, 0, 0)[0] == 't';

		PQclear(res);
		if (got)
			return;
		if (!said && now_ms() - t0 > 2000.0)
		{
			res = db_query(srv, "SELECT coalesce(string_agg(l.pid::text, ', '), '?') FROM pg_catalog.pg_locks l "
						   "WHERE l.locktype = 'advisory' AND l.classid = 1937012580 AND l.granted "
						   "AND l.objid = pg_catalog.hashtext($1)::oid", 1, params);
			fprintf(stderr, "%s: waiting for module \"%s\", which pid %s is migrating\n", PROGRAM_NAME,
					module, PQgetvalue(res, 0, 0));
			PQclear(res);
			said = true;
		}
		usleep(pause);
		if (pause < 200000)
			pause *= 2;
	}
}

/* Seconds a no-transaction statement runs before progress lines start. */
#define PROGRESS_AFTER_S 2

typedef struct PlanRow
{
	char	   *version;
	bool		up;
	char	   *sql;
} PlanRow;

typedef struct Report
{
	const RunOptions *ro;
	StrBuf		json;			/* the steps, for --json */
	int			nsteps;
	int			done;			/* applied or reverted */
	int			skipped;
	int			vwidth;			/* width of the version column */
	double		t0;
} Report;

/* ---------- reporting ---------- */

static void
report_init(Report *r, const RunOptions *ro, PlanRow *rows, int n)
{
	int			i;

	memset(r, 0, sizeof(*r));
	r->ro = ro;
	sb_init(&r->json);
	r->t0 = now_ms();
	r->vwidth = 1;
	for (i = 0; i < n; i++)
		if (rows[i].version && utf8_width(rows[i].version) > r->vwidth)
			r->vwidth = utf8_width(rows[i].version);
}

static const char *
file_of(const RunOptions *ro, const char *version, bool up)
{
	const Script *s = dir_find(ro->dir, version);

	if (s == NULL)
		return NULL;
	return up ? s->up_file : s->down_file;
}

/* One step done: a line "applied  3  add prices  (12.3 ms)", or JSON. */
static void
report_step(Report *r, const char *action, const char *version, const char *description,
			double ms, bool transactional, bool up)
{
	if (strcmp(action, "skipped") == 0)
		r->skipped++;
	else
		r->done++;
	if (r->ro->json)
	{
		sb_puts(&r->json, r->nsteps++ ? ", {\"version\": " : "{\"version\": ");
		sb_json_string(&r->json, version);
		sb_puts(&r->json, ", \"description\": ");
		sb_json_string(&r->json, description);
		sb_printf(&r->json, ", \"action\": \"%s\", \"duration_ms\": %.3f, \"transactional\": %s, \"file\": ",
				  action, ms, transactional ? "true" : "false");
		sb_json_string(&r->json, file_of(r->ro, version, up));
		sb_puts(&r->json, "}");
		return;
	}
	printf("%-8s %-*s  %s  (%.1f ms%s)\n", action, r->vwidth, version ? version : "",
		   description ? description : "", ms, transactional ? "" : ", no transaction");
	fflush(stdout);
}

/*
 * The closing report: a summary line, or the JSON document.  error (one
 * line) is set when the run stopped on a failure.
 */
static void
report_end(Report *r, Server *srv, const char *verb, const char *error, const SyncResult *sync)
{
	PGresult   *res;
	const char *params[1] = {r->ro->module};
	const char *current;

	res = db_try(srv, "SELECT steward.current($1)", 1, params);
	current = PQresultStatus(res) == PGRES_TUPLES_OK && !PQgetisnull(res, 0, 0) ?
		PQgetvalue(res, 0, 0) : NULL;
	if (r->ro->json)
	{
		StrBuf		out;

		sb_init(&out);
		sb_puts(&out, "{\"module\": ");
		sb_json_string(&out, r->ro->module);
		if (sync)
			sb_printf(&out, ", \"sync\": {\"added\": %d, \"updated\": %d, \"removed\": %d, \"unchanged\": %d}",
					  sync->added, sync->updated, sync->removed, sync->unchanged);
		sb_printf(&out, ", \"steps\": [%s], \"%s\": %d, \"skipped\": %d, \"duration_ms\": %.3f, \"current\": ",
				  r->json.data, verb, r->done, r->skipped, now_ms() - r->t0);
		sb_json_string(&out, current);
		sb_puts(&out, ", \"error\": ");
		sb_json_string(&out, error);
		sb_puts(&out, "}");
		puts(out.data);
		sb_free(&out);
	}
	else if (error == NULL)
		printf("%s is at %s: %d %s, %d skipped (%.1f ms)\n", r->ro->module,
			   current ? current : "base", r->done, verb, r->skipped, now_ms() - r->t0);
	PQclear(res);
	fflush(stdout);
}

/* Stop the run on a failed step: the error line (and hint), then exit. */
static void
fail_step(Report *r, Server *srv, const char *verb, const char *version, const char *file,
		  const PGresult *res, const char *message)
{
	char	   *line = res ? db_error_line(res) : xstrdup(message);
	const char *h = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char	   *full = file ? xasprintf("%s (%s)", line, file) : line;

	(void) version;
	report_end(r, srv, verb, full, NULL);
	fflush(stdout);
	fprintf(stderr, "%s: error: %s\n", PROGRAM_NAME, full);
	if (h)
		hint("%s", h);
	exit(EXIT_FAILED);
}

/* ---------- sync ---------- */

/* Is the module known to the server?  Sets *schema when it can read it. */
static bool
module_exists(Server *srv, const char *module, char **schema)
{
	const char *params[1] = {module};
	PGresult   *res;
	bool		exists;

	*schema = NULL;
	res = db_query(srv, "SELECT pg_catalog.has_table_privilege('steward.modules', 'SELECT')", 0, NULL);
	exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (exists)
	{
		res = db_query(srv, "SELECT schema_name FROM steward.modules WHERE module = $1", 1, params);
		exists = PQntuples(res) > 0;
		if (exists)
			*schema = xstrdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		return exists;
	}
	/* without read access: a module with scripts shows in status() */
	res = db_query(srv, "SELECT 1 FROM steward.status($1) LIMIT 1", 1, params);
	exists = PQntuples(res) > 0;
	PQclear(res);
	return exists;
}

/*
 * Define the module when it is new (schema --schema, else public), or
 * move it when --schema names another schema (the server refuses to move
 * one with applied migrations).  Returns an error line, or NULL.
 */
static char *
ensure_module(Server *srv, const RunOptions *ro, PGresult **failed)
{
	char	   *schema;
	bool		exists = module_exists(srv, ro->module, &schema);
	const char *params[2];
	PGresult   *res;

	if (exists && (ro->schema == NULL || (schema && strcmp(schema, ro->schema) == 0)))
		return NULL;
	params[0] = ro->module;
	params[1] = ro->schema ? ro->schema : "public";
	res = db_try(srv, "SELECT steward.define_module($1, $2)", 2, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		*failed = res;
		return db_error_line(res);
	}
	PQclear(res);
	return NULL;
}

/*
 * The file of the script that a register_set error names ("migration 2 of
 * module", "repeatable script "views" of module"), or NULL.
 */
static const char *
file_named_in(const MigrationDir *md, const char *msg)
{
	int			i;

	for (i = 0; msg != NULL && i < md->nscripts; i++)
	{
		const Script *s = &md->scripts[i];
		char	   *needle = s->version ? xasprintf("migration %s of module \"", s->version) :
			xasprintf("repeatable script \"%s\" of module \"", s->description);
		bool		found = strstr(msg, needle) != NULL;

		free(needle);
		if (found)
			return s->up_file;
	}
	return NULL;
}

/* register_set: one call for the whole directory. */
static char *
sync_register_set(Server *srv, const RunOptions *ro, SyncResult *sr, PGresult **failed)
{
	char	   *json = dir_scripts_json(ro->dir);
	const char *params[2] = {ro->module, json};
	PGresult   *res;
	int			i;

	res = db_try(srv, "SELECT * FROM steward.register_set(module => $1, scripts => $2::jsonb, remove_missing => true)",
				 2, params);
	free(json);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		const char *file = file_named_in(ro->dir, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));

		*failed = res;
		return file ? xasprintf("%s: %s", file, db_error_line(res)) : db_error_line(res);
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *action = db_value(res, i, "action");

		if (action == NULL)
			continue;
		if (strcmp(action, "added") == 0 || strcmp(action, "registered") == 0)
			sr->added++;
		else if (strcmp(action, "updated") == 0 || strcmp(action, "replaced") == 0)
			sr->updated++;
		else if (strcmp(action, "removed") == 0 || strcmp(action, "unregistered") == 0)
			sr->removed++;
		else
			sr->unchanged++;
	}
	PQclear(res);
	return NULL;
}

/*
 * Without register_set: steward.register() per file, all sent in one
 * pipeline inside the caller's transaction.  The first error names its
 * file; the transaction is then aborted and the caller rolls it back.
 */
static char *
sync_register_each(Server *srv, const RunOptions *ro, SyncResult *sr, PGresult **failed)
{
	const MigrationDir *md = ro->dir;
	PGconn	   *conn = srv->conn;
	const char *sql = "SELECT steward.register($1, $2, $3, $4, $5, $6::text[])";
	char	   *error = NULL;
	const char *params[1] = {ro->module};
	PGresult   *res;
	int			i,
				sent = 0,
				got = 0;

	for (i = 0; i < md->nscripts; i++)
	{
		const Script *s = &md->scripts[i];

		if (s->kind == KIND_REPEATABLE)
			error_exit(EXIT_CONNECT, "%s/%s: repeatable scripts need steward.register_set(), which this server (pg_steward %s) does not have",
					   md->path, s->up_file, srv->ext_version);
		if (!s->transactional)
			error_exit(EXIT_CONNECT, "%s/%s: no-transaction steps need steward.register_set(), which this server (pg_steward %s) does not have",
					   md->path, s->up_file, srv->ext_version);
	}

	/* what is registered now, to count new scripts */
	res = db_query(srv, "SELECT version FROM steward.status($1) WHERE state <> 'missing'", 1, params);
	sr->added = md->nscripts;
	for (i = 0; i < PQntuples(res); i++)
		if (dir_find(md, PQgetvalue(res, i, 0)))
		{
			sr->added--;
			sr->unchanged++;
		}
	PQclear(res);

	if (!PQenterPipelineMode(conn))
		error_exit(EXIT_CONNECT, "cannot enter pipeline mode: %s", PQerrorMessage(conn));
	for (i = 0; i < md->nscripts; i++)
	{
		const Script *s = &md->scripts[i];
		const char *p[6];
		StrBuf		req;
		int			j;

		sb_init(&req);
		if (s->nrequires > 0)
		{
			sb_putn(&req, "{", 1);
			for (j = 0; j < s->nrequires; j++)
			{
				if (j)
					sb_putn(&req, ",", 1);
				sb_json_string(&req, s->requires[j]);	/* array literal quoting */
			}
			sb_putn(&req, "}", 1);
		}
		p[0] = ro->module;
		p[1] = s->version;
		p[2] = s->up_sql;
		p[3] = s->down_sql;
		p[4] = s->description;
		p[5] = s->nrequires > 0 ? req.data : NULL;
		if (!PQsendQueryParams(conn, sql, 6, NULL, p, NULL, NULL, 0))
			error_exit(EXIT_CONNECT, "lost the connection: %s", PQerrorMessage(conn));
		sb_free(&req);
		sent++;
	}
	if (!PQpipelineSync(conn))
		error_exit(EXIT_CONNECT, "lost the connection: %s", PQerrorMessage(conn));
	while (got <= sent)
	{
		res = PQgetResult(conn);
		if (res == NULL)
		{
			got++;				/* end of one query's results */
			continue;
		}
		switch (PQresultStatus(res))
		{
			case PGRES_PIPELINE_SYNC:
				got = sent + 1;
				break;
			case PGRES_FATAL_ERROR:
				if (error == NULL)
				{
					error = xasprintf("%s: %s", md->scripts[got].up_file, db_error_line(res));
					*failed = res;
					res = NULL;
				}
				break;
			default:
				break;
		}
		if (res)
			PQclear(res);
		if (PQstatus(conn) == CONNECTION_BAD)
			error_exit(EXIT_CONNECT, "lost the connection: %s", PQerrorMessage(conn));
	}
	if (!PQexitPipelineMode(conn))
		error_exit(EXIT_CONNECT, "cannot leave pipeline mode: %s", PQerrorMessage(conn));
	if (error)
		return error;

	/* pending scripts whose file is gone: only register_set can remove them */
	res = db_query(srv, "SELECT version FROM steward.status($1) WHERE state = 'pending'", 1, params);
	for (i = 0; i < PQntuples(res); i++)
		if (!dir_find(md, PQgetvalue(res, i, 0)))
		{
			error = xasprintf("version %s of module \"%s\" is registered and pending, but %s has no file for it; this server (pg_steward %s) cannot unregister it (needs steward.register_set)",
							  PQgetvalue(res, i, 0), ro->module, md->path, srv->ext_version);
			break;
		}
	PQclear(res);
	return error;
}

/* The line that says what registering the directory did. */
static void
print_synced(const RunOptions *ro, const SyncResult *sr)
{
	if (!ro->json)
		printf("synced %s (%s style, %d scripts): %d added, %d updated, %d removed\n",
			   ro->dir->path, style_name(ro->dir->style), ro->dir->nscripts,
			   sr->added, sr->updated, sr->removed);
}

/*
 * Register the directory.  preview: inside the caller's open transaction,
 * under a savepoint rolled back on failure (res->error says why); the
 * caller rolls the transaction back in the end.  Otherwise in a
 * transaction of its own, committed (unless keep_open: the caller goes on
 * in it and commits), and a failure ends the program.
 */
static void
sync_dir_in(Server *srv, const RunOptions *ro, SyncResult *sr, bool preview, bool keep_open)
{
	PGresult   *failed = NULL;
	char	   *error;

	memset(sr, 0, sizeof(*sr));
	if (ro->dir == NULL)
		return;
	db_command(srv, preview ? "SAVEPOINT pg_steward_sync" : "BEGIN");
	error = ensure_module(srv, ro, &failed);
	if (error == NULL)
		error = srv->has_register_set ? sync_register_set(srv, ro, sr, &failed) :
			sync_register_each(srv, ro, sr, &failed);
	if (error != NULL)
	{
		db_command(srv, preview ? "ROLLBACK TO SAVEPOINT pg_steward_sync" : "ROLLBACK");
		if (preview)
		{
			sr->error = error;
			if (failed)
				PQclear(failed);
			return;
		}
		fflush(stdout);
		fprintf(stderr, "%s: error: cannot register %s: %s\n", PROGRAM_NAME, ro->dir->path, error);
		if (failed && PQresultErrorField(failed, PG_DIAG_MESSAGE_HINT))
			hint("%s", PQresultErrorField(failed, PG_DIAG_MESSAGE_HINT));
		exit(EXIT_FAILED);
	}
	if (preview)
		db_command(srv, "RELEASE SAVEPOINT pg_steward_sync");
	else if (!keep_open)
	{
		db_command(srv, "COMMIT");
		print_synced(ro, sr);
	}
}

void
sync_dir(Server *srv, const RunOptions *ro, SyncResult *sr, bool preview)
{
	sync_dir_in(srv, ro, sr, preview, false);
}

/* ---------- the plan ---------- */

static PlanRow *
fetch_plan(Server *srv, const RunOptions *ro, const char *target, int *n, PGresult **failed)
{
	const char *params[2] = {ro->module, target};
	PGresult   *res = db_try(srv, "SELECT version, direction, sql FROM steward.plan($1, $2) ORDER BY step",
							 2, params);
	PlanRow    *rows;
	int			i;

	*failed = NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		*failed = res;
		*n = 0;
		return NULL;
	}
	*n = PQntuples(res);
	rows = xmalloc(sizeof(PlanRow) * (*n + 1));
	for (i = 0; i < *n; i++)
	{
		rows[i].version = PQgetisnull(res, i, 0) ? NULL : xstrdup(PQgetvalue(res, i, 0));
		rows[i].up = strcmp(PQgetvalue(res, i, 1), "up") == 0;
		rows[i].sql = xstrdup(PQgetvalue(res, i, 2));
	}
	PQclear(res);
	return rows;
}

/* Is this step one to run outside a transaction? */
static bool
step_no_transaction(const RunOptions *ro, const PlanRow *p)
{
	const Script *s = dir_find(ro->dir, p->version);

	if (s != NULL && !s->transactional)
		return true;
	return script_no_transaction(p->sql);
}

/* Applied versions, in version order (status() sorts them). */
static char **
applied_versions(Server *srv, const char *module, int *n)
{
	const char *params[1] = {module};
	PGresult   *res = db_query(srv, "SELECT version FROM steward.status($1) WHERE state <> 'pending'",
							   1, params);
	char	  **v = xmalloc(sizeof(char *) * (PQntuples(res) + 1));
	int			i;

	*n = PQntuples(res);
	for (i = 0; i < *n; i++)
		v[i] = xstrdup(PQgetvalue(res, i, 0));
	PQclear(res);
	return v;
}

/* The downgrade target that reverts exactly version: the applied one below. */
static const char *
target_below(char **applied, int napplied, const char *version)
{
	const char *below = "base";
	int			i;

	for (i = 0; i < napplied; i++)
		if (version_compare(applied[i], version) < 0)
			below = applied[i];
	return below;
}

/* ---------- no-transaction steps ---------- */

/*
 * record_external_step: the one place where a step the program ran itself
 * is recorded.  It needs from the server
 *
 *	steward.record_step(module text, version text, direction text,
 *						duration_ms double precision) RETURNS boolean
 *
 * which takes the module lock and, for 'up', records the registered
 * (non-transactional) script of version as applied -- the migrations row
 * with its checksum and SQL, an apply event, refreshed fingerprints --
 * or, for 'down', as reverted; false when it already was.  Until the
 * server has it, a no-transaction step stops the run with an error that
 * says so (README, "No-transaction steps").
 */
bool
record_external_step(Server *srv, const char *module, const char *version, bool up,
					 double duration_ms, char **error)
{
	char		ms[64];
	const char *params[4] = {module, version, up ? "up" : "down", ms};
	PGresult   *res;
	bool		recorded;

	*error = NULL;
	if (!srv->has_record_step)
	{
		*error = xasprintf("this server (pg_steward %s) cannot record a step run outside a transaction (needs steward.record_step)",
						   srv->ext_version);
		return false;
	}
	snprintf(ms, sizeof(ms), "%.3f", duration_ms);
	res = db_try(srv, "SELECT steward.record_step(module => $1, version => $2, direction => $3, duration_ms => $4::float8)",
				 4, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		*error = db_error_line(res);
		PQclear(res);
		return false;
	}
	recorded = !PQgetisnull(res, 0, 0) && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return recorded;
}

/* A second connection for progress reports, opened when first needed. */
static PGconn *
progress_conn(Server *srv)
{
	static PGconn *conn = NULL;
	PQconninfoOption *opts;
	PQconninfoOption *o;
	const char *keys[40];
	const char *vals[40];
	int			n = 0;

	if (conn != NULL)
		return PQstatus(conn) == CONNECTION_OK ? conn : NULL;
	opts = PQconninfo(srv->conn);
	for (o = opts; o && o->keyword && n < 38; o++)
		if (o->val && o->val[0])
		{
			keys[n] = o->keyword;
			vals[n] = o->val;
			n++;
		}
	keys[n] = vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 0);
	PQconninfoFree(opts);
	return PQstatus(conn) == CONNECTION_OK ? conn : NULL;
}

/* What the backend running a long statement is doing, as far as known. */
static char *
progress_phase(Server *srv)
{
	PGconn	   *conn = progress_conn(srv);
	char		pid[16];
	const char *params[1] = {pid};
	PGresult   *res;
	char	   *phase = NULL;

	if (conn == NULL)
		return NULL;
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(srv->conn));
	res = PQexecParams(conn,
					   "SELECT coalesce((SELECT p.phase || CASE WHEN p.blocks_total > 0 THEN format(' %s%%', round(100.0 * p.blocks_done / p.blocks_total)) "
					   "                                        WHEN p.tuples_total > 0 THEN format(' %s%%', round(100.0 * p.tuples_done / p.tuples_total)) ELSE '' END "
					   "                   FROM pg_catalog.pg_stat_progress_create_index p WHERE p.pid = $1::int), "
					   "                 (SELECT 'waiting for ' || a.wait_event_type || ' ' || a.wait_event "
					   "                    FROM pg_catalog.pg_stat_activity a WHERE a.pid = $1::int AND a.wait_event_type IN ('Lock', 'IO')))",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		phase = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return phase;
}

/* The first line of a statement, cut to 60 characters, for progress lines. */
static char *
statement_head(const char *sql)
{
	size_t		n = strcspn(sql, "\n");
	char	   *s;

	if (n > 60)
		n = 60;
	s = xmalloc(n + 4);
	memcpy(s, sql, n);
	strcpy(s + n, n < strcspn(sql, "\n") || sql[n] ? "..." : "");
	return s;
}

/*
 * Send one statement as a top-level statement and wait for it, printing a
 * progress line to stderr every few seconds while it runs (rewritten in
 * place on a terminal).  Returns its result.
 */
static PGresult *
run_top_level(Server *srv, const char *label, const char *sql, int num, int total)
{
	PGconn	   *conn = srv->conn;
	double		t0 = now_ms();
	double		last = t0;
	bool		tty = isatty(fileno(stderr));
	bool		shown = false;
	PGresult   *res = NULL;
	PGresult   *r;

	if (!PQsendQuery(conn, sql))
		error_exit(EXIT_CONNECT, "lost the connection: %s", PQerrorMessage(conn));
	for (;;)
	{
		if (!PQconsumeInput(conn))
			error_exit(EXIT_CONNECT, "lost the connection: %s", PQerrorMessage(conn));
		if (!PQisBusy(conn))
			break;
		{
			fd_set		fds;
			struct timeval tv = {1, 0};
			int			sock = PQsocket(conn);

			FD_ZERO(&fds);
			FD_SET(sock, &fds);
			if (select(sock + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
				error_exit(EXIT_CONNECT, "select() failed: %s", strerror(errno));
		}
		if (now_ms() - t0 >= PROGRESS_AFTER_S * 1000.0 &&
			(!shown || now_ms() - last >= (tty ? 1000.0 : 10000.0)))
		{
			char	   *phase = progress_phase(srv);

			last = now_ms();
			fprintf(stderr, "%s%s: %.0f s, statement %d of %d: %s%s%s%s", tty ? "\r\033[K" : "",
					label, (last - t0) / 1000.0, num, total, statement_head(sql),
					phase ? " (" : "", phase ? phase : "", phase ? ")" : "");
			if (!tty)
				fputc('\n', stderr);
			fflush(stderr);
			shown = true;
			free(phase);
		}
	}
	if (shown && tty)
		fputs("\r\033[K", stderr);
	while ((r = PQgetResult(conn)) != NULL)
	{
		if (res == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR)
		{
			if (res)
				PQclear(res);
			res = r;
		}
		else
			PQclear(r);
	}
	return res;
}

/* Invalid indexes of the database, as a set of OIDs in one text. */
static char *
invalid_indexes(Server *srv)
{
	PGresult   *res = db_query(srv, "SELECT coalesce(string_agg(indexrelid::text, ','), '') FROM pg_catalog.pg_index WHERE NOT indisvalid", 0, NULL);
	char	   *s = xstrdup(PQgetvalue(res, 0, 0));

	PQclear(res);
	return s;
}

/*
 * A failed CREATE INDEX CONCURRENTLY leaves an invalid index: drop the
 * ones that were not invalid before (the module lock keeps other
 * runners of the module out meanwhile).
 */
static void
drop_new_invalid_indexes(Server *srv, const char *before)
{
	const char *params[1] = {before};
	PGresult   *res = db_query(srv,
							   "SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %s', indexrelid::regclass) "
							   "  FROM pg_catalog.pg_index WHERE NOT indisvalid "
							   "   AND indexrelid::text <> ALL (string_to_array($1, ','))",
							   1, params);
	int			i;

	for (i = 0; i < PQntuples(res); i++)
	{
		PGresult   *r = db_try(srv, PQgetvalue(res, i, 0), 0, NULL);

		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			warning("could not drop the invalid index the failed statement left: %s", db_error_line(r));
		else
			warning("dropped the invalid index the failed statement left (%s)",
					PQgetvalue(res, i, 0) + strlen("DROP INDEX CONCURRENTLY IF EXISTS "));
		PQclear(r);
	}
	PQclear(res);
}

/*
 * A statement as steward.begin_step reports the ones an interrupted run
 * applied: without the blanks and "--" comment lines before it and the
 * blanks and semicolons after it.
 */
static char *
statement_key(const char *sql)
{
	size_t		len = strlen(sql);
	size_t		start = 0;
	char	   *key;

	for (;;)
	{
		while (start < len && isspace((unsigned char) sql[start]))
			start++;
		if (start + 1 < len && sql[start] == '-' && sql[start + 1] == '-')
		{
			while (start < len && sql[start] != '\n')
				start++;
			continue;
		}
		break;
	}
	while (len > start && (isspace((unsigned char) sql[len - 1]) || sql[len - 1] == ';'))
		len--;
	key = xmalloc(len - start + 1);
	memcpy(key, sql + start, len - start);
	key[len - start] = '\0';
	return key;
}

/*
 * steward.begin_step: from here until record_step the session runs the
 * step as that migration (DDL logged as its, the rewrite guard judges it).
 * Waits (polling, outside any transaction) while a deploy worker that an
 * interrupted CALL steward.deploy left still runs.  Runs the statements
 * that drop what an interrupted earlier run left; returns the result,
 * whose 'done' rows are the statements that run applied.
 */
static PGresult *
begin_step(Server *srv, Report *rep, const char *verb, const PlanRow *p, const char *file)
{
	const RunOptions *ro = rep->ro;
	const char *params[3] = {ro->module, p->version, p->up ? "up" : "down"};
	bool		said = false;
	PGresult   *res;
	int			i;

	for (;;)
	{
		const char *state;

		res = db_try(srv, "SELECT action, statement FROM steward.begin_step($1, $2, $3)", 3, params);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			break;
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state == NULL || strcmp(state, "55006") != 0)
			fail_step(rep, srv, verb, p->version, file, res, NULL);
		if (!said)
			fprintf(stderr, "%s: waiting for a background worker of an interrupted steward.deploy of module \"%s\"\n",
					PROGRAM_NAME, ro->module);
		said = true;
		PQclear(res);
		usleep(200000);
	}
	for (i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), "drop") == 0)
		{
			PGresult   *r = db_try(srv, PQgetvalue(res, i, 1), 0, NULL);

			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				fail_step(rep, srv, verb, p->version, file, r, NULL);
			warning("version %s: dropped the invalid index an interrupted run left (%s)", p->version,
					PQgetvalue(res, i, 1) + strlen("DROP INDEX CONCURRENTLY IF EXISTS "));
			PQclear(r);
		}
	return res;
}

/* Did an interrupted run apply this statement (begin_step's 'done' rows)? */
static bool
statement_done(PGresult *begun, const char *sql)
{
	char	   *key = statement_key(sql);
	bool		done = false;
	int			i;

	for (i = 0; i < PQntuples(begun) && !done; i++)
		done = strcmp(PQgetvalue(begun, i, 0), "done") == 0 && strcmp(PQgetvalue(begun, i, 1), key) == 0;
	free(key);
	return done;
}

/*
 * The statements of a no-transaction step, one by one as top-level
 * statements; those an interrupted run applied (begun's 'done' rows) are
 * skipped.  On a failure: drop the invalid index it left, report, exit.
 */
static void
run_step_statements(Server *srv, Report *rep, const char *verb, const PlanRow *p,
					const char *file, PGresult *begun)
{
	Statement  *stmts;
	int			n = split_statements(p->sql, &stmts);
	char	   *label = xasprintf("%s %s", p->up ? "applying" : "reverting", p->version);
	int			i;

	for (i = 0; i < n; i++)
	{
		char	   *before;
		PGresult   *res;

		if (begun && statement_done(begun, stmts[i].sql))
		{
			warning("version %s, statement %d of %d was applied by an interrupted run: skipped",
					p->version, i + 1, n);
			continue;
		}
		before = invalid_indexes(srv);
		res = run_top_level(srv, label, stmts[i].sql, i + 1, n);
		if (PQresultStatus(res) == PGRES_FATAL_ERROR)
		{
			char	   *msg = xasprintf("version %s, statement %d of %d (line %d) failed%s: %s",
										p->version, i + 1, n, stmts[i].line,
										i > 0 ? " after the statements before it were applied" : "",
										db_error_line(res));

			drop_new_invalid_indexes(srv, before);
			fail_step(rep, srv, verb, p->version, file, NULL, msg);
		}
		PQclear(res);
		free(before);
	}
	free(label);
}

/*
 * Run a no-transaction step (up or down) under the module's session lock.
 * Returns true when it ran, false when another runner had done it; on a
 * failure reports and exits.
 */
static bool
run_external(Server *srv, Report *rep, const char *verb, const PlanRow *p, double *ms)
{
	const RunOptions *ro = rep->ro;
	const char *params[2] = {ro->module, p->version};
	const char *file = file_of(ro, p->version, p->up);
	PGresult   *res;
	PGresult   *begun;
	bool		done;
	char	   *error = NULL;
	double		t0;

	if (!srv->has_record_step)
	{
		record_external_step(srv, ro->module, p->version, p->up, 0, &error);
		fail_step(rep, srv, verb, p->version, file, NULL,
				  xasprintf("version %s runs outside a transaction, and %s", p->version, error));
	}
	/* the module's session lock is held (lock_module) */
	res = db_query(srv, "SELECT state FROM steward.status($1) WHERE version = $2", 2, params);
	done = PQntuples(res) > 0 && (strcmp(PQgetvalue(res, 0, 0), "pending") != 0) == p->up;
	PQclear(res);
	if (done)
	{
		*ms = 0;
		return false;
	}

	begun = srv->has_begin_step ? begin_step(srv, rep, verb, p, file) : NULL;
	PQclear(db_query(srv, "SELECT pg_catalog.set_config('lock_timeout', pg_catalog.current_setting('steward.ddl_lock_timeout'), false)", 0, NULL));
	t0 = now_ms();
	run_step_statements(srv, rep, verb, p, file, begun);
	*ms = now_ms() - t0;
	if (begun)
		PQclear(begun);
	PQclear(db_query(srv, "RESET lock_timeout", 0, NULL));
	if (!record_external_step(srv, ro->module, p->version, p->up, *ms, &error) && error)
		fail_step(rep, srv, verb, p->version, file, NULL,
				  xasprintf("version %s ran, but recording it failed: %s", p->version, error));
	return true;
}

/* ---------- upgrade and downgrade ---------- */

/* Transactional versions applied by one steward.upgrade() call at most. */
#define UPGRADE_BATCH 200

/* Is the plan row a versioned file (or, without a directory, a version)? */
static bool
versioned_file(const RunOptions *ro, const PlanRow *p)
{
	return p->version != NULL && (ro->dir == NULL || dir_find(ro->dir, p->version) != NULL);
}

/*
 * Apply the transactional versions rows[first..last] with one
 * steward.upgrade(module, rows[last]) call (one transaction: one load of
 * the module's state on the server, one commit), a line per version from
 * the rows it returns; the versions it did not return another runner
 * applied (skipped).  When a batch of several fails, nothing of it stays:
 * returns false, and the caller applies them one call each, so that the
 * versions before the failing one stay applied and the error names its
 * file.  A single version that fails stops the run.
 */
static bool
upgrade_batch(Server *srv, Report *rep, PlanRow *rows, int first, int last)
{
	const RunOptions *ro = rep->ro;
	const char *params[2] = {ro->module, rows[last].version};
	PGresult   *res = db_try(srv, "SELECT version, description, duration_ms FROM steward.upgrade($1, $2)",
							 2, params);
	int			i,
				r;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (first < last)
		{
			PQclear(res);
			return false;
		}
		fail_step(rep, srv, "applied", rows[last].version, file_of(ro, rows[last].version, true), res, NULL);
	}
	for (i = first; i <= last; i++)
	{
		const Script *s = dir_find(ro->dir, rows[i].version);

		for (r = 0; r < PQntuples(res); r++)
			if (strcmp(PQgetvalue(res, r, 0), rows[i].version) == 0)
				break;
		if (r < PQntuples(res))
			report_step(rep, "applied", rows[i].version, db_value(res, r, "description"),
						atof(PQgetvalue(res, r, 2)), true, true);
		else
			report_step(rep, "skipped", rows[i].version, s ? s->description : NULL, 0, true, true);
	}
	PQclear(res);
	return true;
}


/*
 * May the directory's pending steps all go in one call: at most a batch of
 * scripts, none of them a no-transaction step?  (A pending step that only
 * the server knows and cannot run that way makes steward.upgrade() refuse,
 * and the run starts over on the general path.)
 */
static bool
dir_fits_one_call(const RunOptions *ro)
{
	int			i;

	if (ro->dir->nscripts > UPGRADE_BATCH)
		return false;
	for (i = 0; i < ro->dir->nscripts; i++)
		if (!ro->dir->scripts[i].transactional)
			return false;
	return true;
}

/*
 * The usual run in one transaction: register the directory and, when its
 * steps may all go in one call, apply them with steward.upgrade(module,
 * 'head') and commit once (one commit, one load of the module's state, no
 * plan to fetch, instead of a transaction to register and one per batch).
 * Returns true when it did the whole run.  When the directory holds a
 * no-transaction step, the registration is committed and the plan (*rows,
 * *n) goes to the general path; when the call fails, everything is rolled
 * back and *rows is NULL: the general path starts over, and its batches
 * and single versions name the failing file.
 */
static bool
upgrade_at_once(Server *srv, const RunOptions *ro, SyncResult *sync, PlanRow **rows, int *n)
{
	const char *params[1] = {ro->module};
	PGresult   *failed;
	PGresult   *res;
	PlanRow    *done;
	Report		rep;
	double		t0 = now_ms();
	int			r;

	sync_dir_in(srv, ro, sync, false, true);
	if (!dir_fits_one_call(ro))
	{
		db_command(srv, "COMMIT");
		print_synced(ro, sync);
		*rows = fetch_plan(srv, ro, "head", n, &failed);
		if (*rows == NULL)
			PQclear(failed);
		return false;
	}
	res = db_try(srv, "SELECT version, description, duration_ms FROM steward.upgrade($1, 'head')",
				 1, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		PQclear(res);
		db_command(srv, "ROLLBACK");
		*rows = NULL;
		return false;
	}
	db_command(srv, "COMMIT");
	print_synced(ro, sync);
	done = xmalloc(sizeof(PlanRow) * (PQntuples(res) + 1));
	for (r = 0; r < PQntuples(res); r++)
	{
		done[r].version = PQgetvalue(res, r, 0);
		done[r].up = true;
		done[r].sql = NULL;
	}
	report_init(&rep, ro, done, PQntuples(res));
	rep.t0 = t0;
	for (r = 0; r < PQntuples(res); r++)
		report_step(&rep, "applied", db_value(res, r, "version"), db_value(res, r, "description"),
					atof(PQgetvalue(res, r, 2)), true, true);
	PQclear(res);
	free(done);
	report_end(&rep, srv, "applied", NULL, sync);
	return true;
}

int
run_upgrade(Server *srv, const RunOptions *ro, const char *target)
{
	SyncResult	sync;
	PlanRow    *rows = NULL;
	PGresult   *failed = NULL;
	Report		rep;
	int			n,
				i;

	if (ro->dir != NULL && strcmp(target, "head") == 0)
	{
		if (upgrade_at_once(srv, ro, &sync, &rows, &n))
			return EXIT_OK;
	}
	if (rows == NULL)
	{
		sync_dir(srv, ro, &sync, false);
		rows = fetch_plan(srv, ro, target, &n, &failed);
	}
	report_init(&rep, ro, rows, n);
	if (rows == NULL)
		fail_step(&rep, srv, "applied", NULL, NULL, failed, NULL);
	for (i = 0; i < n; i++)
		if (!rows[i].up)
			fail_step(&rep, srv, "applied", NULL, NULL, NULL,
					  xasprintf("target \"%s\" of module \"%s\" is below the current version; use downgrade", target, ro->module));

	for (i = 0; i < n;)
	{
		PlanRow    *p = &rows[i];
		const Script *s = dir_find(ro->dir, p->version);
		double		ms;
		int			last;

		if (!versioned_file(ro, p))
		{
			i++;
			continue;			/* not a versioned file: the final call runs
								 * it */
		}
		if (step_no_transaction(ro, p))
		{
			bool		ran = run_external(srv, &rep, "applied", p, &ms);

			report_step(&rep, ran ? "applied" : "skipped", p->version, s ? s->description : NULL,
						ms, false, true);
			i++;
			continue;
		}
		/* a run of transactional versions: one call, per-version on failure */
		for (last = i; last + 1 < n && last + 1 - i < UPGRADE_BATCH &&
			 versioned_file(ro, &rows[last + 1]) && !step_no_transaction(ro, &rows[last + 1]); last++)
			;
		if (!upgrade_batch(srv, &rep, rows, i, last))
			for (; i <= last; i++)
				(void) upgrade_batch(srv, &rep, rows, i, i);
		i = last + 1;
	}

	/* what is left (repeatable scripts, when the server has them) */
	if (strcmp(target, "head") == 0)
	{
		const char *params[1] = {ro->module};
		double		t0 = now_ms();
		PGresult   *res = db_try(srv, "SELECT version, description FROM steward.upgrade($1, 'head')",
								 1, params);

		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fail_step(&rep, srv, "applied", NULL, NULL, res, NULL);
		for (i = 0; i < PQntuples(res); i++)
			report_step(&rep, "applied", db_value(res, i, "version"), db_value(res, i, "description"),
						(now_ms() - t0) / PQntuples(res), true, true);
		PQclear(res);
	}
	report_end(&rep, srv, "applied", NULL, ro->dir ? &sync : NULL);
	return EXIT_OK;
}

int
run_downgrade(Server *srv, const RunOptions *ro, const char *target)
{
	SyncResult	sync;
	PlanRow    *rows;
	PGresult   *failed;
	Report		rep;
	char	  **applied;
	int			napplied;
	int			n,
				i;

	sync_dir(srv, ro, &sync, false);
	rows = fetch_plan(srv, ro, target, &n, &failed);
	report_init(&rep, ro, rows, n);
	if (rows == NULL)
		fail_step(&rep, srv, "reverted", NULL, NULL, failed, NULL);
	for (i = 0; i < n; i++)
		if (rows[i].up)
			fail_step(&rep, srv, "reverted", NULL, NULL, NULL,
					  xasprintf("target \"%s\" of module \"%s\" is above the current version; use upgrade", target, ro->module));
	applied = applied_versions(srv, ro->module, &napplied);

	for (i = 0; i < n; i++)
	{
		PlanRow    *p = &rows[i];
		const Script *s = dir_find(ro->dir, p->version);
		double		ms;

		if (step_no_transaction(ro, p))
		{
			bool		ran = run_external(srv, &rep, "reverted", p, &ms);

			report_step(&rep, ran ? "reverted" : "skipped", p->version, s ? s->description : NULL,
						ms, false, false);
		}
		else
		{
			const char *params[2] = {ro->module, target_below(applied, napplied, p->version)};
			double		t0 = now_ms();
			PGresult   *res = db_try(srv, "SELECT version, description FROM steward.downgrade($1, $2)",
									 2, params);
			int			r;

			if (PQresultStatus(res) != PGRES_TUPLES_OK)
				fail_step(&rep, srv, "reverted", p->version, file_of(ro, p->version, false), res, NULL);
			ms = now_ms() - t0;
			if (PQntuples(res) == 0)
				report_step(&rep, "skipped", p->version, s ? s->description : NULL, ms, true, false);
			for (r = 0; r < PQntuples(res); r++)
				report_step(&rep, "reverted", PQgetvalue(res, r, 0),
							db_value(res, r, "description"), ms / PQntuples(res), true, false);
			PQclear(res);
		}
	}
	report_end(&rep, srv, "reverted", NULL, ro->dir ? &sync : NULL);
	return EXIT_OK;
}

/* ---------- plan (the script for psql) and dry-run ---------- */

/* s as a standard SQL string literal (standard_conforming_strings on). */
static void
sb_literal(StrBuf *sb, const char *s)
{
	if (s == NULL)
	{
		sb_puts(sb, "NULL");
		return;
	}
	sb_putn(sb, "'", 1);
	for (; *s; s++)
	{
		if (*s == '\'')
			sb_putn(sb, "'", 1);
		sb_putn(sb, s, 1);
	}
	sb_putn(sb, "'", 1);
}

/* The SQL as comment lines, "--   ...". */
static void
sb_commented(StrBuf *sb, const char *sql)
{
	const char *p = sql;

	while (*p)
	{
		size_t		n = strcspn(p, "\n");

		sb_puts(sb, n ? "--   " : "--");
		sb_putn(sb, p, n);
		sb_putn(sb, "\n", 1);
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* The registration of one script, as the plan script does it. */
static void
sb_register(StrBuf *sb, Server *srv, const RunOptions *ro, const Script *s)
{
	if (srv->has_register_set)
	{
		MigrationDir one = *ro->dir;
		char	   *json;

		one.scripts = (Script *) s;
		one.nscripts = 1;
		json = dir_scripts_json(&one);
		sb_puts(sb, "SELECT * FROM steward.register_set(");
		sb_literal(sb, ro->module);
		sb_puts(sb, ", ");
		sb_literal(sb, json);
		sb_puts(sb, "::jsonb, remove_missing => false);\n");
		free(json);
		return;
	}
	sb_puts(sb, "SELECT steward.register(");
	sb_literal(sb, ro->module);
	sb_puts(sb, ", ");
	sb_literal(sb, s->version);
	sb_puts(sb, ",\n  ");
	sb_literal(sb, s->up_sql);
	sb_puts(sb, ",\n  ");
	sb_literal(sb, s->down_sql);
	sb_puts(sb, ", ");
	sb_literal(sb, s->description);
	if (s->nrequires > 0)
	{
		int			j;

		sb_puts(sb, ", ARRAY[");
		for (j = 0; j < s->nrequires; j++)
		{
			if (j)
				sb_puts(sb, ", ");
			sb_literal(sb, s->requires[j]);
		}
		sb_puts(sb, "]");
	}
	sb_puts(sb, ");\n");
}

/*
 * The plan as a script psql can run: per step, the SQL that will run
 * (templates expanded) as comments for review, then what the program
 * would do -- register the step's script and call steward.upgrade (or
 * downgrade) in a transaction of its own; a no-transaction step's
 * statements as top-level statements followed by its recording.
 */
/*
 * A no-transaction step in the plan script: its statements at top level
 * under the module's session lock, between begin_step and record_step,
 * run only while the step is still to be run (psql's \if), so that the
 * script can run again.
 */
static void
sb_outside_step(StrBuf *sb, Server *srv, const RunOptions *ro, const PlanRow *p,
				Statement *stmts, int m)
{
	int			k;

	sb_puts(sb, "SELECT pg_catalog.pg_advisory_lock(1937012580, pg_catalog.hashtext(");
	sb_literal(sb, ro->module);
	sb_puts(sb, "));\n");
	if (srv->has_begin_step)
	{
		sb_puts(sb, "SELECT coalesce((SELECT state ");
		sb_puts(sb, p->up ? "= 'pending'" : "<> 'pending'");
		sb_puts(sb, " FROM steward.status(");
		sb_literal(sb, ro->module);
		sb_puts(sb, ") WHERE version = ");
		sb_literal(sb, p->version);
		sb_puts(sb, "), false) AS steward_run_step \\gset\n\\if :steward_run_step\n");
		sb_puts(sb, "SELECT action, statement FROM steward.begin_step(");
		sb_literal(sb, ro->module);
		sb_puts(sb, ", ");
		sb_literal(sb, p->version);
		sb_printf(sb, ", '%s');\n", p->up ? "up" : "down");
	}
	for (k = 0; k < m; k++)
		sb_printf(sb, "%s;\n", stmts[k].sql);
	sb_puts(sb, "SELECT steward.record_step(");
	sb_literal(sb, ro->module);
	sb_puts(sb, ", ");
	sb_literal(sb, p->version);
	sb_printf(sb, ", '%s', NULL);\n", p->up ? "up" : "down");
	if (srv->has_begin_step)
		sb_puts(sb, "\\endif\n");
	sb_puts(sb, "SELECT pg_catalog.pg_advisory_unlock(1937012580, pg_catalog.hashtext(");
	sb_literal(sb, ro->module);
	sb_puts(sb, "));\n");
}

int
run_plan(Server *srv, const RunOptions *ro, const char *target)
{
	SyncResult	sync;
	PlanRow    *rows;
	PGresult   *failed;
	StrBuf		sb;
	char	  **applied;
	int			napplied;
	int			n,
				i;
	bool		module_new;
	char	   *schema;

	db_command(srv, "BEGIN");
	module_new = ro->dir && !module_exists(srv, ro->module, &schema);
	sync_dir(srv, ro, &sync, true);
	if (sync.error)
		error_exit(EXIT_FAILED, "cannot register %s: %s", ro->dir->path, sync.error);
	rows = fetch_plan(srv, ro, target, &n, &failed);
	if (rows == NULL)
		db_fail(EXIT_FAILED, failed, NULL);
	applied = applied_versions(srv, ro->module, &napplied);
	db_command(srv, "ROLLBACK");

	sb_init(&sb);
	sb_printf(&sb, "-- pg_steward plan: module \"%s\" of database \"%s\", target %s: %d step%s\n",
			  ro->module, PQdb(srv->conn), target, n, n == 1 ? "" : "s");
	sb_puts(&sb, "-- Each step shows the SQL that will run (templates expanded) as comments, then\n"
			"-- registers its script and runs it through steward, in a transaction of its own.\n"
			"-- Run it with: psql -X -v ON_ERROR_STOP=1 -f THIS_FILE\n"
			"\\set ON_ERROR_STOP on\n"
			"SET standard_conforming_strings = on;\n");
	if (module_new && n > 0)
	{
		sb_puts(&sb, "SELECT steward.define_module(");
		sb_literal(&sb, ro->module);
		sb_puts(&sb, ", ");
		sb_literal(&sb, ro->schema ? ro->schema : "public");
		sb_puts(&sb, ");\n");
	}
	for (i = 0; i < n; i++)
	{
		PlanRow    *p = &rows[i];
		const Script *s = dir_find(ro->dir, p->version);
		bool		notx = step_no_transaction(ro, p);
		const char *file = s ? (p->up ? s->up_file : s->down_file) : NULL;

		sb_printf(&sb, "\n-- step %d: %s version %s", i + 1, p->up ? "apply" : "revert",
				  p->version ? p->version : "(repeatable)");
		if (s)
			sb_printf(&sb, ", %s", s->description);
		if (file)
			sb_printf(&sb, " (%s)", file);
		sb_puts(&sb, notx ? ", outside a transaction\n" : "\n");
		sb_commented(&sb, p->sql);
		if (notx)
		{
			Statement  *stmts;
			int			m = split_statements(p->sql, &stmts);

			if (s && p->up)
				sb_register(&sb, srv, ro, s);
			sb_outside_step(&sb, srv, ro, p, stmts, m);
			continue;
		}
		sb_puts(&sb, "BEGIN;\n");
		if (s && p->up)
			sb_register(&sb, srv, ro, s);
		sb_printf(&sb, "SELECT version, description FROM steward.%s(", p->up ? "upgrade" : "downgrade");
		sb_literal(&sb, ro->module);
		sb_puts(&sb, ", ");
		sb_literal(&sb, p->up ? p->version : target_below(applied, napplied, p->version));
		sb_puts(&sb, ");\nCOMMIT;\n");
	}
	fputs(sb.data, stdout);
	sb_free(&sb);
	return EXIT_OK;
}

int
run_dry_run(Server *srv, const RunOptions *ro, const char *target)
{
	SyncResult	sync;
	const char *params[2] = {ro->module, target};
	PGresult   *res;
	StrBuf		json;
	int			i;
	int			status = EXIT_OK;

	db_command(srv, "BEGIN");
	sync_dir(srv, ro, &sync, true);
	if (sync.error)
		error_exit(EXIT_FAILED, "cannot register %s: %s", ro->dir->path, sync.error);
	res = db_try(srv, "SELECT step, version, direction, outcome, error, duration_ms FROM steward.dry_run($1, $2)",
				 2, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		db_fail(EXIT_FAILED, res, NULL);
	db_command(srv, "ROLLBACK");

	sb_init(&json);
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *version = db_value(res, i, "version");
		const char *outcome = db_value(res, i, "outcome");
		const char *err = db_value(res, i, "error");
		const char *ms = db_value(res, i, "duration_ms");
		const Script *s = dir_find(ro->dir, version);

		if (strcmp(outcome, "ok") != 0)
			status = EXIT_FOUND;
		if (ro->json)
		{
			sb_puts(&json, i ? ", {\"version\": " : "{\"version\": ");
			sb_json_string(&json, version);
			sb_printf(&json, ", \"direction\": \"%s\", \"outcome\": ", db_value(res, i, "direction"));
			sb_json_string(&json, outcome);
			sb_puts(&json, ", \"error\": ");
			sb_json_string(&json, err);
			sb_printf(&json, ", \"duration_ms\": %s, \"file\": ", ms ? ms : "null");
			sb_json_string(&json, s ? s->up_file : NULL);
			sb_puts(&json, "}");
		}
		else if (err)
			printf("%-6s %s %s: %s\n", outcome, db_value(res, i, "direction"), version, err);
		else
			printf("%-6s %s %s  %s  (%.1f ms)\n", outcome, db_value(res, i, "direction"), version,
				   s ? s->description : "", ms ? atof(ms) : 0.0);
	}
	if (ro->json)
	{
		StrBuf		out;

		sb_init(&out);
		sb_puts(&out, "{\"module\": ");
		sb_json_string(&out, ro->module);
		sb_puts(&out, ", \"target\": ");
		sb_json_string(&out, target);
		sb_printf(&out, ", \"steps\": [%s], \"ok\": %s}", json.data, status == EXIT_OK ? "true" : "false");
		puts(out.data);
		sb_free(&out);
	}
	else if (PQntuples(res) == 0)
		printf("nothing to do: %s is at target %s\n", ro->module, target);
	else
		printf("dry run of %s to %s: %s; nothing was changed\n", ro->module, target,
			   status == EXIT_OK ? "every step ran" : "a step failed");
	PQclear(res);
	sb_free(&json);
	return status;
}
