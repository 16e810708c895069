/*-------------------------------------------------------------------------
 *
 * prometheus.c
 *		steward.prometheus(): the metrics in Prometheus text exposition
 *		format (version 0.0.4), from one collection of the counters, so
 *		that every family of one scrape agrees with the others.
 *
 * Families: steward_statements_total, steward_statement_errors_total,
 * steward_statement_rows_total and steward_statement_seconds_total per
 * database, session user and command; the histogram
 * steward_statement_duration_seconds per database and command (users
 * summed), every series with the same complete set of buckets, cumulative,
 * ending in le="+Inf" equal to _count; steward_table_statements_total per
 * table of the current database; steward_errors_total per SQLSTATE.
 * Series of dropped databases and roles (no name any more) are left out of
 * the per-user families; the histogram counts them.  Nothing a user typed
 * (query text, error messages, client addresses) is ever emitted, so the
 * exposition needs no privacy rule of its own.  Within a family, series
 * are sorted.
 *
 *-------------------------------------------------------------------------
 */
#include "metrics_int.h"

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(steward_prometheus);

/* One family's sample lines, sorted before they are written. */
typedef struct Lines
{
	char	  **line;
	int			n;
	int			max;
} Lines;

static void
lines_add(Lines *l, char *line)
{
	if (l->n >= l->max)
	{
		l->max = Max(16, l->max * 2);
		l->line = l->line ? repalloc(l->line, sizeof(char *) * l->max) :
			palloc(sizeof(char *) * l->max);
	}
	l->line[l->n++] = line;
}

static int
compare_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Write a family: HELP, TYPE, then its lines (sorted when asked). */
static void
write_family(StringInfo out, const char *name, const char *type, const char *help,
			 Lines *l, bool sort)
{
	int			i;

	appendStringInfo(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	if (sort && l->n > 1)
		qsort(l->line, l->n, sizeof(char *), compare_lines);
	for (i = 0; i < l->n; i++)
		appendStringInfo(out, "%s\n", l->line[i]);
}

/* A label value: backslash, double quote and newline escaped. */
static char *
label(const char *v)
{
	StringInfoData s;

	initStringInfo(&s);
	for (; *v; v++)
	{
		if (*v == '\\' || *v == '"')
			appendStringInfoChar(&s, '\\');
		if (*v == '\n')
			appendStringInfoString(&s, "\\n");
		else
			appendStringInfoChar(&s, *v);
	}
	return s.data;
}

/*
 * The per-user families: one line each per (database, user, command)
 * whose database and user still have names.
 */
static void
user_families(StringInfo out, Collected *c)
{
	Lines		calls = {0},
				errors = {0},
				rows = {0},
				seconds = {0};
	int			i;

	for (i = 0; i < c->nkeys; i++)
	{
		StewardQueryCounters *k = &c->keys[i];
		char	   *db = get_database_name(k->dbid);
		char	   *user = GetUserNameFromId(k->userid, true);
		char	   *l;

		if (k->calls == 0 || db == NULL || user == NULL)
			continue;
		l = psprintf("{datname=\"%s\",username=\"%s\",command=\"%s\"}",
					 label(db), label(user), steward_command_names[k->cmd]);
		lines_add(&calls, psprintf("steward_statements_total%s " INT64_FORMAT, l, k->calls));
		lines_add(&errors, psprintf("steward_statement_errors_total%s " INT64_FORMAT, l, k->errors));
		lines_add(&rows, psprintf("steward_statement_rows_total%s " INT64_FORMAT, l, k->rows));
		lines_add(&seconds, psprintf("steward_statement_seconds_total%s %s", l,
									 float8out_internal(k->total_ms / 1000.0)));
	}
	write_family(out, "steward_statements_total", "counter",
				 "Statements that ended, failed ones included.", &calls, true);
	write_family(out, "steward_statement_errors_total", "counter",
				 "Statements that failed (cancelled ones included).", &errors, true);
	write_family(out, "steward_statement_rows_total", "counter",
				 "Rows processed by statements.", &rows, true);
	write_family(out, "steward_statement_seconds_total", "counter",
				 "Execution time of statements, failed ones included.", &seconds, true);
}

/* One histogram series: every bucket, cumulative, +Inf, _sum, _count. */
static char *
histogram_series(const char *db, const StewardQueryCounters *h)
{
	StringInfoData s;
	char	   *l = psprintf("datname=\"%s\",command=\"%s\"", label(db),
							 steward_command_names[h->cmd]);
	int64		cum = 0;
	int			b;

	initStringInfo(&s);
	for (b = 0; b < STEWARD_HIST_BUCKETS; b++)
	{
		cum += h->hist[b];
		if (b < STEWARD_HIST_BUCKETS - 1)
			appendStringInfo(&s, "steward_statement_duration_seconds_bucket{%s,le=\"%s\"} " INT64_FORMAT "\n",
							 l, float8out_internal(steward_bucket_le_ms(b) / 1000.0), cum);
		else
			appendStringInfo(&s, "steward_statement_duration_seconds_bucket{%s,le=\"+Inf\"} " INT64_FORMAT "\n",
							 l, cum);
	}
	appendStringInfo(&s, "steward_statement_duration_seconds_sum{%s} %s\n", l,
					 float8out_internal(h->total_ms / 1000.0));
	appendStringInfo(&s, "steward_statement_duration_seconds_count{%s} " INT64_FORMAT, l, cum);
	return s.data;
}

/*
 * The latency histogram: one series per (database, command) with calls,
 * sorted by database name and command.
 */
static void
histogram_family(StringInfo out, Collected *c)
{
	Lines		series = {0};
	int			nsums,
				i;
	StewardQueryCounters *sums = steward_histograms(c, &nsums);

	for (i = 0; i < nsums; i++)
	{
		char	   *db = get_database_name(sums[i].dbid);

		if (db != NULL)
			lines_add(&series, histogram_series(db, &sums[i]));
	}
	write_family(out, "steward_statement_duration_seconds", "histogram",
				 "Statement execution time, failed and cancelled statements included.",
				 &series, true);
}

/* Statements per table (of the current database) and command. */
static void
table_family(StringInfo out, Collected *c)
{
	Lines		l = {0};
	int			i;

	for (i = 0; i < c->ntables; i++)
	{
		StewardTableCounters *t = &c->tables[i];
		char	   *db = get_database_name(t->dbid);
		bool		here = t->dbid == MyDatabaseId;
		Oid			nsp = here ? get_rel_namespace(t->relid) : InvalidOid;
		char	   *schema = OidIsValid(nsp) ? get_namespace_name(nsp) : NULL;
		char	   *table = here ? get_rel_name(t->relid) : NULL;

		if (db == NULL)
			continue;
		lines_add(&l, psprintf("steward_table_statements_total{datname=\"%s\",schema=\"%s\",table=\"%s\",command=\"%s\"} " INT64_FORMAT,
							   label(db), label(schema ? schema : ""),
							   label(table ? table : psprintf("%u", t->relid)),
							   steward_command_names[t->cmd], t->calls));
	}
	write_family(out, "steward_table_statements_total", "counter",
				 "Statements per table and command.", &l, true);
}

/* Failed statements per database and SQLSTATE. */
static void
error_family(StringInfo out, Collected *c)
{
	Lines		l = {0};
	int			i;

	for (i = 0; i < c->nerrors; i++)
	{
		char	   *db = get_database_name(c->errors[i].dbid);

		if (db != NULL)
			lines_add(&l, psprintf("steward_errors_total{datname=\"%s\",sqlstate=\"%s\"} " INT64_FORMAT,
								   label(db), unpack_sql_state(c->errors[i].sqlstate),
								   c->errors[i].count));
	}
	write_family(out, "steward_errors_total", "counter",
				 "Failed statements per SQLSTATE.", &l, true);
}

/*
 * steward.prometheus(): the exposition, from one collection.
 */
Datum
steward_prometheus(PG_FUNCTION_ARGS)
{
	StringInfoData out;
	Collected  *c;

	steward_metrics_require();
	c = steward_collect();
	initStringInfo(&out);
	user_families(&out, c);
	histogram_family(&out, c);
	table_family(&out, c);
	error_family(&out, c);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}
