/*-------------------------------------------------------------------------
 *
 * main.c
 *		pg_steward: options, commands, help.
 *
 *	pg_steward [OPTION]... COMMAND [ARGUMENT]...
 *
 * Options may come before or after the command.  Each command checks what
 * it needs (a directory, a module) before connecting, reads the directory
 * before connecting, and exits with one of the statuses of pg_steward.h.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Options
{
	ConnOptions conn;
	const char *dir;
	const char *module;
	const char *schema;
	const char *reason;
	const char *style;
	const char *description;
	bool		json;
	bool		sql;
	bool		down;
	bool		help;
} Options;

typedef struct Command Command;
typedef int (*CommandFn) (const Command *cmd, Options *o, Server *srv, RunOptions *ro,
						  int argc, char **argv);

/* What a command needs, checked before anything else happens. */
#define NEEDS_MODULE	0x01
#define NEEDS_DIR		0x02	/* --dir required */
#define USES_DIR		0x04	/* --dir read when given */
#define NEEDS_SERVER	0x08
#define LOCKS_MODULE	0x10	/* holds the module's lock (lock_module) */

struct Command
{
	const char *name;
	int			min_args;
	int			max_args;
	int			needs;
	CommandFn	fn;
	const char *usage;
	const char *help;
};

static const Command *find_command(const char *name);

/* ---------- small helpers ---------- */

static void
print_json_rows(const PGresult *res)
{
	StrBuf		sb;
	int			r,
				c;

	sb_init(&sb);
	sb_putn(&sb, "[", 1);
	for (r = 0; r < PQntuples(res); r++)
	{
		sb_puts(&sb, r ? ",\n {" : "{");
		for (c = 0; c < PQnfields(res); c++)
		{
			Oid			type = PQftype(res, c);

			if (c)
				sb_puts(&sb, ", ");
			sb_json_string(&sb, PQfname(res, c));
			sb_puts(&sb, ": ");
			if (PQgetisnull(res, r, c))
				sb_puts(&sb, "null");
			else if (type == 20 || type == 21 || type == 23 || type == 701 || type == 1700)
				sb_puts(&sb, PQgetvalue(res, r, c));	/* int8, int2, int4,
														 * float8, numeric */
			else if (type == 16)
				sb_puts(&sb, PQgetvalue(res, r, c)[0] == 't' ? "true" : "false");
			else if (type == 3802 || type == 114)
				sb_puts(&sb, PQgetvalue(res, r, c));	/* jsonb, json */
			else
				sb_json_string(&sb, PQgetvalue(res, r, c));
		}
		sb_puts(&sb, "}");
	}
	sb_puts(&sb, "]");
	puts(sb.data);
	sb_free(&sb);
}

/* Print a result as an aligned table (or JSON rows). */
static void
print_result(const PGresult *res, bool json)
{
	Table		t;
	const char **headers;
	const char **row;
	int			r,
				c;

	if (json)
	{
		print_json_rows(res);
		return;
	}
	headers = xmalloc(sizeof(char *) * PQnfields(res));
	row = xmalloc(sizeof(char *) * PQnfields(res));
	for (c = 0; c < PQnfields(res); c++)
		headers[c] = PQfname(res, c);
	table_init(&t, PQnfields(res), headers);
	for (r = 0; r < PQntuples(res); r++)
	{
		for (c = 0; c < PQnfields(res); c++)
			row[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
		table_add(&t, row);
	}
	table_print(&t);
	table_free(&t);
	free(headers);
	free(row);
}

/* Print {"module": ..., "<key>": <value>} */
static void
print_json_pair(const char *module, const char *key, const char *value)
{
	StrBuf		sb;

	sb_init(&sb);
	sb_puts(&sb, "{\"module\": ");
	sb_json_string(&sb, module);
	sb_printf(&sb, ", \"%s\": ", key);
	sb_json_string(&sb, value);
	sb_puts(&sb, "}");
	puts(sb.data);
	sb_free(&sb);
}

/* ---------- commands ---------- */

static int
cmd_status(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	SyncResult	sync;
	const char *params[1] = {ro->module};
	PGresult   *res;
	Table		t;
	const char *headers[] = {"version", "description", "state", "applied_at", "file"};
	StrBuf		json;
	int			r;

	db_command(srv, "BEGIN");
	sync_dir(srv, ro, &sync, true);
	res = db_query(srv, "SELECT version, description, state, applied_at FROM steward.status($1)", 1, params);
	db_command(srv, "ROLLBACK");
	table_init(&t, ro->dir ? 5 : 4, headers);
	sb_init(&json);
	for (r = 0; r < PQntuples(res); r++)
	{
		const char *version = PQgetvalue(res, r, 0);
		const Script *s = dir_find(ro->dir, version);
		const char *state = PQgetvalue(res, r, 2);
		const char *file = s ? s->up_file : (ro->dir && strcmp(state, "pending") == 0 ? "(no file)" : NULL);
		const char *row[5] = {version, PQgetisnull(res, r, 1) ? NULL : PQgetvalue(res, r, 1),
		state, PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3), file};

		table_add(&t, row);
		sb_puts(&json, r ? ",\n {\"version\": " : "{\"version\": ");
		sb_json_string(&json, version);
		sb_puts(&json, ", \"description\": ");
		sb_json_string(&json, row[1]);
		sb_puts(&json, ", \"state\": ");
		sb_json_string(&json, state);
		sb_puts(&json, ", \"applied_at\": ");
		sb_json_string(&json, row[3]);
		sb_puts(&json, ", \"file\": ");
		sb_json_string(&json, s ? s->up_file : NULL);
		sb_puts(&json, "}");
	}
	if (ro->json)
	{
		StrBuf		out;

		sb_init(&out);
		sb_puts(&out, "{\"module\": ");
		sb_json_string(&out, ro->module);
		sb_printf(&out, ", \"migrations\": [%s], \"sync_error\": ", json.data);
		sb_json_string(&out, sync.error);
		sb_puts(&out, "}");
		puts(out.data);
	}
	else
		table_print(&t);
	table_free(&t);
	PQclear(res);
	if (sync.error)
	{
		fprintf(stderr, "%s: error: %s does not register: %s\n", PROGRAM_NAME, ro->dir->path, sync.error);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int
cmd_upgrade(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	const char *target = argc > 0 ? argv[0] : "head";

	if (ro->sql_only)
		return run_plan(srv, ro, target);
	return run_upgrade(srv, ro, target);
}

static int
cmd_downgrade(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	return run_downgrade(srv, ro, argc > 0 ? argv[0] : "-1");
}

static int
cmd_plan(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	return run_plan(srv, ro, argc > 0 ? argv[0] : "head");
}

static int
cmd_dry_run(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	return run_dry_run(srv, ro, argc > 0 ? argv[0] : "head");
}

static int
cmd_current(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	const char *params[1] = {ro->module};
	PGresult   *res = db_query(srv, "SELECT steward.current($1)", 1, params);
	const char *v = PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);

	if (ro->json)
	{
		StrBuf		sb;

		sb_init(&sb);
		sb_puts(&sb, "{\"module\": ");
		sb_json_string(&sb, ro->module);
		sb_puts(&sb, ", \"current\": ");
		sb_json_string(&sb, v);
		sb_puts(&sb, "}");
		puts(sb.data);
	}
	else if (v)
		puts(v);
	PQclear(res);
	return EXIT_OK;
}

static int
cmd_history(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	const char *params[1] = {ro->module};
	PGresult   *res = db_query(srv,
							   "SELECT id, version, event, at, by_user, application_name, detail "
							   "  FROM steward.history WHERE module = $1 ORDER BY id", 1, params);

	print_result(res, ro->json);
	PQclear(res);
	return EXIT_OK;
}

static int
cmd_validate(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	SyncResult	sync;
	const char *params[1] = {ro->module};
	PGresult   *res;
	int			problems;

	db_command(srv, "BEGIN");
	sync_dir(srv, ro, &sync, true);
	res = db_query(srv, "SELECT version, problem FROM steward.validate($1)", 1, params);
	db_command(srv, "ROLLBACK");
	problems = PQntuples(res) + (sync.error ? 1 : 0);
	if (ro->json)
	{
		StrBuf		sb;
		int			r;

		sb_init(&sb);
		sb_puts(&sb, "{\"module\": ");
		sb_json_string(&sb, ro->module);
		sb_puts(&sb, ", \"problems\": [");
		if (sync.error)
		{
			sb_puts(&sb, "{\"version\": null, \"problem\": ");
			sb_json_string(&sb, sync.error);
			sb_puts(&sb, "}");
		}
		for (r = 0; r < PQntuples(res); r++)
		{
			sb_puts(&sb, r || sync.error ? ", {\"version\": " : "{\"version\": ");
			sb_json_string(&sb, PQgetvalue(res, r, 0));
			sb_puts(&sb, ", \"problem\": ");
			sb_json_string(&sb, PQgetvalue(res, r, 1));
			sb_puts(&sb, "}");
		}
		sb_printf(&sb, "], \"valid\": %s}", problems ? "false" : "true");
		puts(sb.data);
	}
	else
	{
		int			r;

		if (sync.error)
			printf("%s: %s\n", ro->dir->path, sync.error);
		for (r = 0; r < PQntuples(res); r++)
			printf("%s: %s\n", PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
		if (problems == 0)
			printf("%s is valid\n", ro->module);
	}
	PQclear(res);
	return problems ? EXIT_FOUND : EXIT_OK;
}

static int
cmd_check(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	const char *params[1] = {ro->module};
	PGresult   *res = db_query(srv,
							   "SELECT object_type, object_identity, change, detail FROM steward.check($1)",
							   1, params);
	int			n = PQntuples(res);

	if (ro->json || n > 0)
		print_result(res, ro->json);
	else
		printf("no drift in module %s\n", ro->module);
	PQclear(res);
	return n > 0 ? EXIT_FOUND : EXIT_OK;
}

static int
cmd_stamp(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	SyncResult	sync;
	const char *params[2] = {ro->module, argv[0]};
	PGresult   *res;

	sync_dir(srv, ro, &sync, false);
	res = db_try(srv, "SELECT steward.stamp($1, $2)", 2, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		db_fail(EXIT_FAILED, res, NULL);
	PQclear(res);
	if (ro->json)
		print_json_pair(ro->module, "stamped", argv[0]);
	else
		printf("stamped %s at %s\n", ro->module, argv[0]);
	return EXIT_OK;
}

static int
cmd_repair(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	const Script *s = dir_find(ro->dir, argv[0]);
	const char *params[5] = {ro->module, argv[0], o->reason, NULL, NULL};
	PGresult   *res;

	if (ro->dir && s == NULL)
		error_exit(EXIT_INPUT, "%s has no file for version %s", ro->dir->path, argv[0]);
	if (s)
	{
		params[3] = s->up_sql;
		params[4] = s->down_sql;
	}
	res = db_try(srv, "SELECT steward.repair($1, $2, $3, up_sql => $4, down_sql => $5)", 5, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		db_fail(EXIT_FAILED, res, NULL);
	PQclear(res);
	if (ro->json)
		print_json_pair(ro->module, "repaired", argv[0]);
	else
		printf("repaired %s %s%s%s\n", ro->module, argv[0], s ? ": accepted " : "", s ? s->up_file : "");
	return EXIT_OK;
}

/*
 * The style --style asks for (flyway when not given), refused when it is
 * not the style of a directory that has one.
 */
static DirStyle
chosen_style(const Options *o, const MigrationDir *md)
{
	DirStyle	style = STYLE_FLYWAY;

	if (o->style == NULL)
		return style;
	if (strcmp(o->style, "flyway") == 0)
		style = STYLE_FLYWAY;
	else if (strcmp(o->style, "numbered") == 0)
		style = STYLE_NUMBERED;
	else
		error_exit(EXIT_USAGE, "--style must be flyway or numbered, not \"%s\"", o->style);
	if (md->style != STYLE_NONE && md->style != style)
		error_exit(EXIT_USAGE, "%s uses the %s style, not %s", md->path,
				   style_name(md->style), o->style);
	return style;
}

/* Print {"file": up, "down_file": down} (down may be NULL). */
static void
print_json_files(const char *up, const char *down)
{
	StrBuf		sb;

	sb_init(&sb);
	sb_puts(&sb, "{\"file\": ");
	sb_json_string(&sb, up);
	sb_puts(&sb, ", \"down_file\": ");
	sb_json_string(&sb, down);
	sb_puts(&sb, "}");
	puts(sb.data);
}

static int
cmd_new(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	DirStyle	style = chosen_style(o, ro->dir);
	char	   *down = NULL;
	char	   *up;

	up = dir_new_file(ro->dir, argv[0], style, o->down, &down);
	if (ro->json)
		print_json_files(up, down);
	else
	{
		puts(up);
		if (down)
			puts(down);
	}
	return EXIT_OK;
}

static int
cmd_split(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	FILE	   *fp = fopen(argv[0], "rb");
	StrBuf		sb;
	char		buf[65536];
	size_t		n;
	size_t		bad;
	Statement  *stmts;
	int			i,
				count;

	if (fp == NULL)
		error_exit(EXIT_INPUT, "%s: cannot read: %m", argv[0]);
	sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sb_putn(&sb, buf, n);
	fclose(fp);
	if (!utf8_valid(sb.data, sb.len, &bad))
		error_exit(EXIT_INPUT, "%s: not valid UTF-8 (offset %zu)", argv[0], bad);
	count = split_statements(sb.data, &stmts);
	for (i = 0; i < count; i++)
		printf("-- statement %d of %d, line %d\n%s;\n", i + 1, count, stmts[i].line, stmts[i].sql);
	return EXIT_OK;
}

/*
 * Write the captured migration's files; on a failure remove what was
 * written and exit (the caller's transaction is then rolled back with the
 * connection, so nothing is registered without its file).
 */
static void
write_captured(const char *up_path, const char *up_sql, const char *down_path,
			   const char *down_sql)
{
	if (!dir_create_file(up_path, up_sql))
		error_exit(EXIT_INPUT, "%s: cannot create: %s (nothing was captured)", up_path, strerror(errno));
	if (down_path && !dir_create_file(down_path, down_sql))
	{
		int			save_errno = errno;

		unlink(up_path);
		error_exit(EXIT_INPUT, "%s: cannot create: %s (nothing was captured)", down_path,
				   strerror(save_errno));
	}
}

/*
 * capture VERSION: register the directory, steward.capture() and write the
 * files of its migration, in one transaction committed only once the
 * files are written, so the server and the directory never disagree: the
 * up file holds up_sql exactly (its checksum is the registered one), the
 * down file down_sql when every statement has a known inverse.  The
 * server places VERSION: after the current version, before any pending
 * one (files of the directory not yet registered included).
 */
static int
cmd_capture(const Command *cmd, Options *o, Server *srv, RunOptions *ro, int argc, char **argv)
{
	const char *desc = o->description ? o->description : "captured";
	const char *params[3] = {ro->module, argv[0], desc};
	DirStyle	style = chosen_style(o, ro->dir);
	SyncResult	sync;
	PGresult   *res;
	char	   *up_path;
	char	   *down_path;

	if (dir_find(ro->dir, argv[0]))
		error_exit(EXIT_INPUT, "%s already has a file for version %s", ro->dir->path, argv[0]);
	if (!srv->has_capture)
		error_exit(EXIT_CONNECT, "this server (pg_steward %s) has no steward.capture()", srv->ext_version);
	db_command(srv, "BEGIN");
	sync_dir(srv, ro, &sync, true);
	if (sync.error)
		error_exit(EXIT_FAILED, "cannot register %s: %s", ro->dir->path, sync.error);
	/* capture() registers inverse_sql(up) as down_sql (immutable) */
	res = db_try(srv, "SELECT up, steward.inverse_sql(up) FROM steward.capture($1, $2, $3) AS up",
				 3, params);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		db_fail(EXIT_FAILED, res, NULL);
	up_path = dir_version_paths(ro->dir, argv[0], desc, style, !PQgetisnull(res, 0, 1), &down_path);
	write_captured(up_path, PQgetvalue(res, 0, 0), down_path, PQgetvalue(res, 0, 1));
	PQclear(res);
	res = db_try(srv, "COMMIT", 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		unlink(up_path);
		if (down_path)
			unlink(down_path);
		db_fail(EXIT_FAILED, res, "commit");
	}
	PQclear(res);
	if (ro->json)
		print_json_files(up_path, down_path);
	else
	{
		puts(up_path);
		if (down_path)
			puts(down_path);
	}
	return EXIT_OK;
}

/* ---------- the command table and help ---------- */

static const Command commands[] = {
	{"status", 0, 0, NEEDS_MODULE | USES_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_status, "status",
		"Every version with its state: applied, pending, changed, missing, baseline.\n"
		"With --dir the directory is registered in a transaction that is rolled back,\n"
	"so new files show as pending and the file of each version is listed."},
	{"upgrade", 0, 1, NEEDS_MODULE | USES_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_upgrade, "upgrade [TARGET] [--sql]",
		"Register the directory (one transaction), then apply the pending migrations up to\n"
		"TARGET (head, a version, +N; default head), each in a transaction of its own, a\n"
		"no-transaction step statement by statement. One line per step with its duration.\n"
		"Any number of upgrades may run at once: each migration is applied once.\n"
	"--sql prints the plan as a psql script instead (see plan)."},
	{"downgrade", 0, 1, NEEDS_MODULE | USES_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_downgrade, "downgrade [TARGET]",
		"Revert applied migrations down to TARGET (-N, base, a version; default -1), newest\n"
	"first, each in a transaction of its own, with their down scripts (U... or .down.sql)."},
	{"current", 0, 0, NEEDS_MODULE | NEEDS_SERVER, cmd_current, "current",
	"Print the highest applied version (nothing when none is applied)."},
	{"history", 0, 0, NEEDS_MODULE | NEEDS_SERVER, cmd_history, "history",
	"Every apply, revert, baseline and repair event of the module, oldest first."},
	{"validate", 0, 0, NEEDS_MODULE | USES_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_validate, "validate",
		"List every problem: changed or missing applied scripts, gaps, unmet requirements,\n"
	"and (with --dir) files the server would refuse. Exit status 1 when there is one."},
	{"check", 0, 0, NEEDS_MODULE | NEEDS_SERVER, cmd_check, "check",
		"Drift: objects of the module's schema changed outside migrations.\n"
	"Exit status 1 when drift is found."},
	{"plan", 0, 1, NEEDS_MODULE | USES_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_plan, "plan [TARGET]",
		"Print what upgrade (or downgrade, for base, -N or a lower version) to TARGET would\n"
		"do, as a script psql can run: each step's SQL, templates expanded, as comments for\n"
	"review, then its registration and the steward call that runs it. Changes nothing."},
	{"dry-run", 0, 1, NEEDS_MODULE | USES_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_dry_run, "dry-run [TARGET]",
		"Register the directory and run the plan to TARGET in a transaction that is rolled\n"
	"back: ok and a duration per step, or the first error. Exit status 1 on an error."},
	{"stamp", 1, 1, NEEDS_MODULE | USES_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_stamp, "stamp VERSION",
		"Make the database be at VERSION without running anything (adopt an existing\n"
	"database); base forgets every applied version. With --dir, registers it first."},
	{"repair", 1, 1, NEEDS_MODULE | USES_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_repair, "repair VERSION --reason TEXT",
		"Accept the changed script of an applied VERSION (with --dir: its file), recording\n"
	"the reason in the history."},
	{"new", 1, 1, NEEDS_DIR, cmd_new, "new DESCRIPTION [--down] [--style flyway|numbered]",
		"Create the next migration file in the directory's style (--style for an empty\n"
	"directory, default flyway) and print its path; --down also creates its down script."},
	{"split", 1, 1, 0, cmd_split, "split FILE",
		"Print the statements of FILE one by one, as a no-transaction step's statements are\n"
	"sent to the server."},
	{"capture", 1, 1, NEEDS_MODULE | NEEDS_DIR | NEEDS_SERVER | LOCKS_MODULE, cmd_capture,
		"capture VERSION [--description TEXT] [--style flyway|numbered]",
		"Turn the DDL run outside migrations since the module's last migration into\n"
		"migration VERSION, registered and applied (steward.capture on the server), and\n"
		"write it in the directory's style (--style for an empty directory, default\n"
		"flyway): V<VERSION>__<description>.sql or <VERSION>_<description>.sql, and\n"
		"U...sql or .down.sql when every statement has a known inverse. The directory is\n"
		"registered first; VERSION goes after the current version and before any pending\n"
		"one. Nothing is registered unless the files are written. Exit status 5 when\n"
	"there is nothing to capture or the server refuses VERSION."},
	{NULL, 0, 0, 0, NULL, NULL, NULL}
};

static const Command *
find_command(const char *name)
{
	const Command *c;

	for (c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void
usage(FILE *out)
{
	const Command *c;

	fprintf(out,
			"%s migrates a PostgreSQL database from a directory of SQL files with the\n"
			"pg_steward extension.\n\n"
			"Usage:\n  %s [OPTION]... COMMAND [ARGUMENT]...\n\nCommands:\n",
			PROGRAM_NAME, PROGRAM_NAME);
	for (c = commands; c->name; c++)
		fprintf(out, "  %-50s\n", c->usage);
	fprintf(out,
			"\nMigration options:\n"
			"  -D, --dir=DIR            the migration directory\n"
			"  -m, --module=NAME        the module (required by every command but new and split)\n"
			"  -s, --schema=NAME        the module's schema when it is defined (default public)\n"
			"      --json               print a JSON document instead of text\n"
			"\nConnection options (as psql's; PGHOST, PGPORT, PGUSER, PGDATABASE, ... apply):\n"
			"  -h, --host=HOST          database server host or socket directory\n"
			"  -p, --port=PORT          database server port\n"
			"  -U, --username=USER      database user name\n"
			"  -d, --dbname=DBNAME      database name, or a conninfo string or URI\n"
			"  -w, --no-password        never prompt for a password\n"
			"  -W, --password           prompt for a password\n"
			"\nOther:\n"
			"  -?, --help               this help; COMMAND --help for a command's\n"
			"  -V, --version            print the version\n"
			"\nExit status: 0 done; 1 check found drift, validate a problem, dry-run an error;\n"
			"2 bad command line; 3 the directory cannot be used; 4 no connection, no extension,\n"
			"or the server lacks a needed function; 5 the server refused or a migration failed.\n");
}

static void
command_help(const Command *c)
{
	printf("Usage:\n  %s [OPTION]... %s\n\n%s\n", PROGRAM_NAME, c->usage, c->help);
	printf("\n%s%s%sSee %s --help for the connection options and exit statuses.\n",
		   c->needs & NEEDS_MODULE ? "Needs --module NAME.\n" : "",
		   c->needs & NEEDS_DIR ? "Needs --dir DIR.\n" : "",
		   c->needs & USES_DIR ? "Reads --dir DIR when given.\n" : "",
		   PROGRAM_NAME);
}

int
main(int argc, char **argv)
{
	static struct option long_options[] = {
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"username", required_argument, NULL, 'U'},
		{"dbname", required_argument, NULL, 'd'},
		{"no-password", no_argument, NULL, 'w'},
		{"password", no_argument, NULL, 'W'},
		{"dir", required_argument, NULL, 'D'},
		{"module", required_argument, NULL, 'm'},
		{"schema", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 1},
		{"sql", no_argument, NULL, 2},
		{"reason", required_argument, NULL, 3},
		{"style", required_argument, NULL, 4},
		{"down", no_argument, NULL, 5},
		{"description", required_argument, NULL, 6},
		{"help", no_argument, NULL, 7},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	Options		o;
	RunOptions	ro;
	MigrationDir md;
	Server		srv;
	const Command *cmd;
	int			c;
	int			nargs;
	char	  **args;
	int			status;

	memset(&o, 0, sizeof(o));
	memset(&srv, 0, sizeof(srv));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h:p:U:d:wWD:m:s:?V", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'h':
				o.conn.host = optarg;
				break;
			case 'p':
				o.conn.port = optarg;
				break;
			case 'U':
				o.conn.user = optarg;
				break;
			case 'd':
				o.conn.dbname = optarg;
				break;
			case 'w':
				o.conn.password = 1;
				break;
			case 'W':
				o.conn.password = 2;
				break;
			case 'D':
				o.dir = optarg;
				break;
			case 'm':
				o.module = optarg;
				break;
			case 's':
				o.schema = optarg;
				break;
			case 1:
				o.json = true;
				break;
			case 2:
				o.sql = true;
				break;
			case 3:
				o.reason = optarg;
				break;
			case 4:
				o.style = optarg;
				break;
			case 5:
				o.down = true;
				break;
			case 6:
				o.description = optarg;
				break;
			case 'V':
				printf("%s %s\n", PROGRAM_NAME, PROGRAM_VERSION);
				return EXIT_OK;
			case 7:
				o.help = true;
				break;
			case '?':
				if (strcmp(argv[optind - 1], "-?") != 0)
				{
					fprintf(stderr, "%s: error: unknown or incomplete option %s\n", PROGRAM_NAME,
							argv[optind - 1]);
					fprintf(stderr, "Try \"%s --help\" for more information.\n", PROGRAM_NAME);
					return EXIT_USAGE;
				}
				o.help = true;
				break;
			default:
				fprintf(stderr, "%s: error: unknown option %s\n", PROGRAM_NAME, argv[optind - 1]);
				return EXIT_USAGE;
		}
	}
	nargs = argc - optind;
	args = argv + optind;
	if (nargs == 0)
	{
		if (o.help)
		{
			usage(stdout);
			return EXIT_OK;
		}
		fprintf(stderr, "%s: error: no command given\n", PROGRAM_NAME);
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(args[0]);
	if (cmd == NULL)
		error_exit(EXIT_USAGE, "unknown command \"%s\" (%s --help lists the commands)", args[0], PROGRAM_NAME);
	if (o.help)
	{
		command_help(cmd);
		return EXIT_OK;
	}
	nargs--;
	args++;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		error_exit(EXIT_USAGE, "usage: %s %s", PROGRAM_NAME, cmd->usage);
	if ((cmd->needs & NEEDS_MODULE) && (o.module == NULL || o.module[0] == '\0'))
		error_exit(EXIT_USAGE, "%s needs --module NAME", cmd->name);
	if ((cmd->needs & NEEDS_DIR) && o.dir == NULL)
		error_exit(EXIT_USAGE, "%s needs --dir DIR", cmd->name);
	if (strcmp(cmd->name, "repair") == 0 && (o.reason == NULL || o.reason[0] == '\0'))
		error_exit(EXIT_USAGE, "repair needs --reason TEXT");
	if (o.sql && strcmp(cmd->name, "upgrade") != 0)
		error_exit(EXIT_USAGE, "--sql goes with upgrade only");

	memset(&ro, 0, sizeof(ro));
	ro.module = o.module;
	ro.schema = o.schema;
	ro.json = o.json;
	ro.sql_only = o.sql;
	if (o.dir && (cmd->needs & (NEEDS_DIR | USES_DIR)))
	{
		dir_read(&md, o.dir);
		ro.dir = &md;
	}
	if (cmd->needs & NEEDS_SERVER)
	{
		db_connect(&srv, &o.conn);
		if (cmd->needs & LOCKS_MODULE)
			lock_module(&srv, ro.module);
	}
	status = cmd->fn(cmd, &o, &srv, &ro, nargs, args);
	fflush(stdout);
	db_disconnect(&srv);
	return status;
}
