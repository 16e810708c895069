/*-------------------------------------------------------------------------
 *
 * db.c
 *		The connection: options as psql's, the server's features, queries.
 *
 * -h -p -U -d and the PG* environment variables mean what they mean to
 * psql; -d may also be a conninfo string or a URI.  After connecting the
 * program checks that the database has the pg_steward extension and
 * which of the newer server functions it offers (looked up in pg_proc).
 *
 *-------------------------------------------------------------------------
 */
#include "pg_steward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Read a password from the terminal without echo (NULL if none). */
static char *
prompt_password(void)
{
	FILE	   *tty = fopen("/dev/tty", "r+");
	struct termios t,
				saved;
	char		buf[1024];
	char	   *r;

	if (tty == NULL)
		return NULL;
	fputs("Password: ", tty);
	fflush(tty);
	tcgetattr(fileno(tty), &saved);
	t = saved;
	t.c_lflag &= ~ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &t);
	r = fgets(buf, sizeof(buf), tty);
	tcsetattr(fileno(tty), TCSAFLUSH, &saved);
	fputc('\n', tty);
	fclose(tty);
	if (r == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

/* The first line of a libpq message, without its trailing newline. */
static char *
first_line(const char *msg)
{
	char	   *s = xstrdup(msg ? msg : "");
	size_t		n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	/* newlines and tabs (libpq indents its second lines) become one blank */
	{
		char	   *r = s,
				   *w = s;

		for (; *r; r++)
		{
			if (*r == '\n' || *r == '\t')
			{
				if (w > s && w[-1] != ' ')
					*w++ = ' ';
			}
			else
				*w++ = *r;
		}
		*w = '\0';
	}
	return s;
}

static void
check_server(Server *srv)
{
	PGresult   *res;

	res = db_query(srv,
				   "SELECT e.extversion, "
				   "       EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = e.extnamespace AND p.proname = 'register_set'), "
				   "       EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = e.extnamespace AND p.proname = 'record_step'), "
				   "       EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = e.extnamespace AND p.proname = 'capture'), "
				   "       EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = e.extnamespace AND p.proname = 'begin_step') "
				   "  FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_steward'",
				   0, NULL);
	if (PQntuples(res) == 0)
		error_exit(EXIT_CONNECT, "database \"%s\" has no pg_steward extension (CREATE EXTENSION pg_steward, as a superuser)",
				   PQdb(srv->conn));
	srv->ext_version = xstrdup(PQgetvalue(res, 0, 0));
	srv->has_register_set = PQgetvalue(res, 0, 1)[0] == 't';
	srv->has_record_step = PQgetvalue(res, 0, 2)[0] == 't';
	srv->has_capture = PQgetvalue(res, 0, 3)[0] == 't';
	srv->has_begin_step = PQgetvalue(res, 0, 4)[0] == 't';
	PQclear(res);
}

void
db_connect(Server *srv, const ConnOptions *opts)
{
	const char *keys[8];
	const char *vals[8];
	char	   *password = NULL;
	int			n;

	memset(srv, 0, sizeof(*srv));
	if (opts->password == 2)
		password = prompt_password();
	for (;;)
	{
		n = 0;
#define OPT(k, v) do { if (v) { keys[n] = (k); vals[n] = (v); n++; } } while (0)
		OPT("host", opts->host);
		OPT("port", opts->port);
		OPT("user", opts->user);
		OPT("password", password);
		OPT("dbname", opts->dbname);
		OPT("fallback_application_name", PROGRAM_NAME);
		OPT("client_encoding", "UTF8");
#undef OPT
		keys[n] = vals[n] = NULL;
		srv->conn = PQconnectdbParams(keys, vals, 1);
		if (PQstatus(srv->conn) == CONNECTION_OK)
			break;
		if (PQconnectionNeedsPassword(srv->conn) && password == NULL && opts->password == 0 &&
			isatty(fileno(stdin)))
		{
			PQfinish(srv->conn);
			password = prompt_password();
			if (password != NULL)
				continue;
			error_exit(EXIT_CONNECT, "connection failed: a password is needed");
		}
		error_exit(EXIT_CONNECT, "connection failed: %s", first_line(PQerrorMessage(srv->conn)));
	}
	free(password);
	srv->version_num = PQserverVersion(srv->conn);
	PQsetNoticeProcessor(srv->conn, NULL, NULL);
	db_command(srv, "SET client_min_messages = warning");
	check_server(srv);
}

void
db_disconnect(Server *srv)
{
	if (srv->conn)
		PQfinish(srv->conn);
	srv->conn = NULL;
}

/*
 * One line for a failed result: the message, its detail after a colon,
 * and "(SQLSTATE xxxxx)" for errors the server raised.
 */
char *
db_error_line(const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

	if (msg == NULL)
		return first_line(PQresultErrorMessage(res));
	if (detail != NULL)
		return first_line(xasprintf("%s: %s", msg, detail));
	return first_line(msg);
}

/*
 * Print a failed result as one error line (prefixed by context when
 * given), its hint on a second, and exit.
 */
void
db_fail(int status, const PGresult *res, const char *context)
{
	const char *h = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	char	   *line = db_error_line(res);

	fflush(stdout);
	if (context)
		fprintf(stderr, "%s: error: %s: %s\n", PROGRAM_NAME, context, line);
	else
		fprintf(stderr, "%s: error: %s\n", PROGRAM_NAME, line);
	if (h)
		hint("%s", h);
	exit(status);
}

/* Run a query; NULL-free result; on failure, the result (caller checks). */
PGresult *
db_try(Server *srv, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = PQexecParams(srv->conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (res == NULL)
		error_exit(EXIT_CONNECT, "lost the connection: %s", first_line(PQerrorMessage(srv->conn)));
	if (PQstatus(srv->conn) == CONNECTION_BAD)
		error_exit(EXIT_CONNECT, "lost the connection: %s", first_line(PQerrorMessage(srv->conn)));
	return res;
}

/* Run a query that must succeed (exit EXIT_FAILED with its error otherwise). */
PGresult *
db_query(Server *srv, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = db_try(srv, sql, nparams, params);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		db_fail(EXIT_FAILED, res, NULL);
	return res;
}

void
db_command(Server *srv, const char *sql)
{
	PQclear(db_query(srv, sql, 0, NULL));
}

/* Value of a column by name (NULL for SQL NULL). */
const char *
db_value(const PGresult *res, int row, const char *column)
{
	int			c = PQfnumber(res, column);

	if (c < 0 || PQgetisnull(res, row, c))
		return NULL;
	return PQgetvalue(res, row, c);
}
