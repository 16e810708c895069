/*-------------------------------------------------------------------------
 *
 * pg_steward.h
 *		The pg_steward program: shared declarations.
 *
 * The program reads a migration directory (dir.c), registers it with the
 * server and runs its migrations one transaction each (deploy.c), over a
 * libpq connection (db.c), and prints what it did as text or JSON (out.c).
 * split.c cuts a no-transaction script into its statements.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_STEWARD_CLI_H
#define PG_STEWARD_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "libpq-fe.h"

#define PROGRAM_NAME "pg_steward"
#define PROGRAM_VERSION "0.1"

/* Exit statuses (README: "Exit status") */
#define EXIT_OK			0		/* everything asked for was done */
#define EXIT_FOUND		1		/* check found drift, validate or dry-run a
								 * problem */
#define EXIT_USAGE		2		/* bad command line */
#define EXIT_INPUT		3		/* the migration directory cannot be used */
#define EXIT_CONNECT	4		/* no connection, no extension, server lacks a
								 * feature */
#define EXIT_FAILED		5		/* the server refused or a migration failed */

/* ---------- out.c: messages, JSON, tables, buffers ---------- */

typedef struct StrBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} StrBuf;

extern void sb_init(StrBuf *sb);
extern void sb_putn(StrBuf *sb, const char *s, size_t n);
extern void sb_puts(StrBuf *sb, const char *s);
extern void sb_printf(StrBuf *sb, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void sb_json_string(StrBuf *sb, const char *s);
extern void sb_free(StrBuf *sb);

extern void *xmalloc(size_t n);
extern void *xrealloc(void *p, size_t n);
extern char *xstrdup(const char *s);
extern char *xasprintf(const char *fmt,...) __attribute__((format(printf, 1, 2)));

extern void error_exit(int status, const char *fmt,...) __attribute__((format(printf, 2, 3), noreturn));
extern void warning(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void hint(const char *fmt,...) __attribute__((format(printf, 1, 2)));

extern bool utf8_valid(const char *s, size_t len, size_t *bad_offset);
extern int	utf8_width(const char *s);
extern double now_ms(void);

/* A table printed with aligned columns, psql-like. */
typedef struct Table
{
	int			ncols;
	const char **headers;
	int			nrows;
	int			caprows;
	char	  **cells;			/* nrows * ncols, NULL = empty */
} Table;

extern void table_init(Table *t, int ncols, const char **headers);
extern void table_add(Table *t, const char *const *row);
extern void table_print(Table *t);
extern void table_free(Table *t);

/* ---------- dir.c: the migration directory ---------- */

typedef enum DirStyle
{
	STYLE_NONE,					/* empty directory */
	STYLE_FLYWAY,				/* V1__x.sql, U1__x.sql, R__x.sql */
	STYLE_NUMBERED				/* 1_x.sql, 1_x.down.sql (or 1_x.up.sql) */
} DirStyle;

typedef enum ScriptKind
{
	KIND_VERSIONED,
	KIND_REPEATABLE
} ScriptKind;

typedef struct Script
{
	ScriptKind	kind;
	char	   *version;		/* NULL for a repeatable script */
	char	   *description;
	char	   *up_file;		/* file name within the directory */
	char	   *down_file;		/* NULL when there is none */
	char	   *up_sql;
	char	   *down_sql;		/* NULL when there is none */
	char	  **requires;		/* "module:version", from -- steward:requires */
	int			nrequires;
	bool		transactional;	/* false: -- steward:no-transaction */
} Script;

typedef struct MigrationDir
{
	char	   *path;
	DirStyle	style;
	Script	   *scripts;		/* versioned in version order, then
								 * repeatables */
	int			nscripts;
	int			pad_width;		/* digits of the zero-padded versions, 0 if
								 * none */
} MigrationDir;

extern void dir_read(MigrationDir *md, const char *path);
extern const Script *dir_find(const MigrationDir *md, const char *version);
extern const char *style_name(DirStyle style);
extern int	version_compare(const char *a, const char *b);
extern bool script_no_transaction(const char *sql);
extern char *dir_scripts_json(const MigrationDir *md);
extern char *dir_new_file(const MigrationDir *md, const char *description, DirStyle style,
						  bool with_down, char **down_path);
extern char *dir_version_paths(const MigrationDir *md, const char *version,
							   const char *description, DirStyle style, bool with_down,
							   char **down_path);
extern bool dir_create_file(const char *path, const char *content);

/* ---------- split.c: statements of a script ---------- */

typedef struct Statement
{
	char	   *sql;			/* the statement without its final ';' */
	int			line;			/* line of the script it starts on */
} Statement;

extern int	split_statements(const char *sql, Statement **out);

/* ---------- db.c: the connection ---------- */

typedef struct ConnOptions
{
	const char *host;
	const char *port;
	const char *user;
	const char *dbname;			/* a database name or a conninfo string / URI */
	int			password;		/* 0 ask when needed, 1 never (-w), 2 always
								 * (-W) */
} ConnOptions;

typedef struct Server
{
	PGconn	   *conn;
	int			version_num;
	char	   *ext_version;
	bool		has_register_set;	/* steward.register_set (h-deploy) */
	bool		has_record_step;	/* steward.record_step: see deploy.c */
	bool		has_capture;	/* steward.capture (drift) */
	bool		has_begin_step; /* steward.begin_step: see deploy.c */
} Server;

extern void db_connect(Server *srv, const ConnOptions *opts);
extern void db_disconnect(Server *srv);
extern PGresult *db_query(Server *srv, const char *sql, int nparams, const char *const *params);
extern PGresult *db_try(Server *srv, const char *sql, int nparams, const char *const *params);
extern void db_command(Server *srv, const char *sql);
extern char *db_error_line(const PGresult *res);
extern void db_fail(int status, const PGresult *res, const char *context) __attribute__((noreturn));
extern const char *db_value(const PGresult *res, int row, const char *column);

/* ---------- deploy.c: sync and runs ---------- */

typedef struct RunOptions
{
	const char *module;
	const char *schema;			/* NULL: keep the module's, else public */
	bool		json;
	bool		sql_only;		/* upgrade --sql, plan */
	MigrationDir *dir;			/* NULL when --dir was not given */
} RunOptions;

typedef struct SyncResult
{
	int			added;
	int			updated;
	int			removed;
	int			unchanged;
	char	   *error;			/* set when the sync failed (preview only) */
} SyncResult;

extern void lock_module(Server *srv, const char *module);
extern void sync_dir(Server *srv, const RunOptions *ro, SyncResult *res, bool preview);
extern int	run_upgrade(Server *srv, const RunOptions *ro, const char *target);
extern int	run_downgrade(Server *srv, const RunOptions *ro, const char *target);
extern int	run_plan(Server *srv, const RunOptions *ro, const char *target);
extern int	run_dry_run(Server *srv, const RunOptions *ro, const char *target);

/*
 * A no-transaction step runs outside steward.upgrade(): its statements are
 * sent one by one in autocommit mode, and the step is then recorded as
 * applied (or reverted) through the server.  record_external_step is that
 * one place; see deploy.c for what it needs from the server.
 */
extern bool record_external_step(Server *srv, const char *module, const char *version,
								 bool up, double duration_ms, char **error);

#endif							/* PG_STEWARD_CLI_H */
