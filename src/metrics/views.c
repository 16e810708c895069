/*-------------------------------------------------------------------------
 *
 * views.c
 *		Read the query metrics: the functions behind steward.query_metrics,
 *		table_metrics, latency_histogram, error_metrics, slow_queries,
 *		recent_queries and metrics_info, and steward.reset_metrics().
 *
 * Readers copy each backend's slot and retry while its changecount shows
 * a write in progress (no lock), add the retired totals (under the
 * metrics lock, shared), and aggregate per key.  Query text and client
 * address are shown to superusers, members of pg_read_all_stats and the
 * statement's own user; others see "<insufficient privilege>".
 *
 *-------------------------------------------------------------------------
 */
#include "metrics_int.h"

#include <math.h>
#include <sys/socket.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(steward_query_metrics);
PG_FUNCTION_INFO_V1(steward_table_metrics);
PG_FUNCTION_INFO_V1(steward_latency_histogram);
PG_FUNCTION_INFO_V1(steward_error_metrics);
PG_FUNCTION_INFO_V1(steward_trace);
PG_FUNCTION_INFO_V1(steward_metrics_info);
PG_FUNCTION_INFO_V1(steward_reset_metrics);

/*
 * Copy a slot consistently; false when it holds nothing current.
 */
static bool
copy_slot(int i, StewardSlot *copy)
{
	StewardSlot *slot = steward_slot(i);
	uint32		gen = pg_atomic_read_u32(&steward_metrics->generation);
	int			tries;

	for (tries = 0; tries < 10000; tries++)
	{
		uint32		before = pg_atomic_read_u32(&slot->changecount);

		pg_read_barrier();
		if ((before & 1) == 0)
		{
			memcpy(copy, slot, steward_metrics->slot_size);
			pg_read_barrier();
			if (pg_atomic_read_u32(&slot->changecount) == before)
				return copy->generation == gen && (copy->nkeys || copy->nerrors || copy->ntables);
		}
		pg_spin_delay();		/* the lock is held: no interrupt checks here */
	}
	return false;
}

/*
 * Aggregated metrics, collected once per call.  The arrays have room for
 * every key and error there can be (the retired totals plus every slot
 * full); tables have room for twice steward.max_tables.
 */
typedef struct Collected
{
	StewardQueryCounters *keys;
	int			nkeys;
	int			maxkeys;
	StewardErrorCounters *errors;
	int			nerrors;
	int			maxerrors;
	StewardTableCounters *tables;
	int			ntables;
	int			maxtables;
	int64		tables_dropped;
	int64		keys_dropped;
	int			backends;
} Collected;

/*
 * Start the aggregate with the retired totals.  They fit: there are at
 * most STEWARD_RETIRED_KEYS / _ERRORS and max_tables of them.
 */
static void
collect_retired(Collected *c, StewardMetricsShared *m)
{
	StewardTableCounters *rt = steward_retired_tables();
	int			i;

	for (i = 0; i < m->rkeys; i++)
		(void) steward_add_query(c->keys, &c->nkeys, c->maxkeys, &m->retired_keys[i]);
	for (i = 0; i < m->rerrors; i++)
		(void) steward_add_error(c->errors, &c->nerrors, c->maxerrors, &m->retired_errors[i]);
	for (i = 0; i < m->rtables; i++)
		(void) steward_add_table(c->tables, &c->ntables, c->maxtables, &rt[i]);
	c->tables_dropped = m->rtables_dropped;
	c->keys_dropped = m->rkeys_dropped;
}

/*
 * Add a copy of one live slot.  Its keys and errors always fit.  Once the
 * aggregate's tables are full, every further table of a live slot counts as
 * dropped, even one that is already there.
 */
static void
collect_slot(Collected *c, const StewardSlot *copy)
{
	int			j;

	c->backends++;
	for (j = 0; j < copy->nkeys; j++)
		(void) steward_add_query(c->keys, &c->nkeys, c->maxkeys, &copy->keys[j]);
	for (j = 0; j < copy->nerrors; j++)
		(void) steward_add_error(c->errors, &c->nerrors, c->maxerrors, &copy->errors[j]);
	for (j = 0; j < copy->ntables; j++)
	{
		if (c->ntables >= c->maxtables)
		{
			c->tables_dropped++;
			continue;
		}
		(void) steward_add_table(c->tables, &c->ntables, c->maxtables, &copy->tables[j]);
	}
	c->tables_dropped += copy->tables_dropped;
	c->keys_dropped += copy->keys_dropped;
}

/*
 * Sum the retired totals and every live slot.
 */
static Collected *
collect(void)
{
	StewardMetricsShared *m = steward_metrics;
	Collected  *c = palloc0(sizeof(Collected));
	StewardSlot *copy = palloc(m->slot_size);
	int			i;

	c->maxkeys = STEWARD_RETIRED_KEYS + m->nslots * STEWARD_SLOT_KEYS;
	c->maxerrors = STEWARD_RETIRED_ERRORS + m->nslots * STEWARD_SLOT_ERRORS;
	c->maxtables = m->max_tables * 2;
	c->keys = palloc(sizeof(StewardQueryCounters) * c->maxkeys);
	c->errors = palloc(sizeof(StewardErrorCounters) * c->maxerrors);
	c->tables = palloc(sizeof(StewardTableCounters) * (Size) c->maxtables);

	LWLockAcquire(m->lock, LW_SHARED);
	collect_retired(c, m);

	/*
	 * Copy the live slots under the same (shared) lock: a backend retiring
	 * its slot meanwhile would otherwise be counted in neither place.
	 */
	for (i = 0; i < m->nslots; i++)
		if (copy_slot(i, copy))
			collect_slot(c, copy);
	LWLockRelease(m->lock);
	return c;
}

/*
 * The start of every set-returning function over the aggregate: error out
 * unless the metrics exist, set up the tuplestore, collect.
 */
static Collected *
collect_rows(FunctionCallInfo fcinfo)
{
	steward_metrics_require();
	InitMaterializedSRF(fcinfo, 0);
	return collect();
}

static double
bucket_le_ms(int b)
{
	return ldexp(1.0, b) / 1000.0;	/* upper bound of bucket b, in ms */
}

/*
 * The latency below which a fraction p of the calls fall, as the upper
 * bound of the log2 bucket holding that call.
 */
static double
percentile(const StewardQueryCounters *k, double p)
{
	int64		total = 0,
				seen = 0,
				target;
	int			b;

	for (b = 0; b < STEWARD_HIST_BUCKETS; b++)
		total += k->hist[b];
	if (total == 0)
		return 0;
	target = (int64) ceil(p * total);
	for (b = 0; b < STEWARD_HIST_BUCKETS; b++)
	{
		seen += k->hist[b];
		if (seen >= target)
			return Min(bucket_le_ms(b), k->max_ms);
	}
	return k->max_ms;
}

static Datum
name_or_null(char *s, bool *isnull)
{
	*isnull = s == NULL;
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/*
 * steward.query_metrics(): one row per database, user and command.
 */
Datum
steward_query_metrics(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Collected  *c;
	int			i;

	c = collect_rows(fcinfo);
	for (i = 0; i < c->nkeys; i++)
	{
		StewardQueryCounters *k = &c->keys[i];
		Datum		v[14];
		bool		n[14] = {0};
		double		mean = k->calls ? k->total_ms / k->calls : 0;
		double		var = k->calls ? k->sumsq_ms / k->calls - mean * mean : 0;

		v[0] = name_or_null(get_database_name(k->dbid), &n[0]);
		v[1] = name_or_null(GetUserNameFromId(k->userid, true), &n[1]);
		v[2] = CStringGetTextDatum(steward_command_names[k->cmd]);
		v[3] = Int64GetDatum(k->calls);
		v[4] = Int64GetDatum(k->errors);
		v[5] = Int64GetDatum(k->rows);
		v[6] = Float8GetDatum(k->total_ms);
		v[7] = Float8GetDatum(k->calls ? k->min_ms : 0);
		v[8] = Float8GetDatum(k->max_ms);
		v[9] = Float8GetDatum(mean);
		v[10] = Float8GetDatum(var > 0 ? sqrt(var) : 0);
		v[11] = Float8GetDatum(percentile(k, 0.50));
		v[12] = Float8GetDatum(percentile(k, 0.95));
		v[13] = Float8GetDatum(percentile(k, 0.99));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}

/*
 * steward.table_metrics(): one row per database, table and command; names
 * are resolved for the current database.
 */
Datum
steward_table_metrics(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Collected  *c;
	int			i;

	c = collect_rows(fcinfo);
	for (i = 0; i < c->ntables; i++)
	{
		StewardTableCounters *t = &c->tables[i];
		Datum		v[8];
		bool		n[8] = {0};
		bool		here = t->dbid == MyDatabaseId;
		Oid			nsp = here ? get_rel_namespace(t->relid) : InvalidOid;

		v[0] = name_or_null(get_database_name(t->dbid), &n[0]);
		v[1] = ObjectIdGetDatum(t->relid);
		v[2] = name_or_null(OidIsValid(nsp) ? get_namespace_name(nsp) : NULL, &n[2]);
		v[3] = name_or_null(here ? get_rel_name(t->relid) : NULL, &n[3]);
		v[4] = CStringGetTextDatum(steward_command_names[t->cmd]);
		v[5] = Int64GetDatum(t->calls);
		v[6] = Int64GetDatum(t->rows);
		v[7] = Float8GetDatum(t->total_ms);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}

/*
 * steward.latency_histogram(): non-empty log2 buckets per database and
 * command (users summed); le_ms is the bucket's upper bound.
 */
Datum
steward_latency_histogram(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Collected  *c;
	int			i,
				j,
				b;

	c = collect_rows(fcinfo);
	for (i = 0; i < c->nkeys; i++)
	{
		StewardQueryCounters sum = c->keys[i];

		if (sum.userid == InvalidOid)
			continue;			/* already folded into an earlier key */
		for (j = i + 1; j < c->nkeys; j++)
			if (c->keys[j].dbid == sum.dbid && c->keys[j].cmd == sum.cmd)
			{
				for (b = 0; b < STEWARD_HIST_BUCKETS; b++)
					sum.hist[b] += c->keys[j].hist[b];
				c->keys[j].userid = InvalidOid;
			}
		for (b = 0; b < STEWARD_HIST_BUCKETS; b++)
		{
			Datum		v[4];
			bool		n[4] = {0};

			if (sum.hist[b] == 0)
				continue;
			v[0] = name_or_null(get_database_name(sum.dbid), &n[0]);
			v[1] = CStringGetTextDatum(steward_command_names[sum.cmd]);
			if (b == STEWARD_HIST_BUCKETS - 1)
				v[2] = Float8GetDatum(get_float8_infinity());
			else
				v[2] = Float8GetDatum(bucket_le_ms(b));
			v[3] = Int64GetDatum(sum.hist[b]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
		}
	}
	return (Datum) 0;
}

/*
 * steward.error_metrics(): failures per database and SQLSTATE.
 */
Datum
steward_error_metrics(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Collected  *c;
	int			i;

	c = collect_rows(fcinfo);
	for (i = 0; i < c->nerrors; i++)
	{
		StewardErrorCounters *e = &c->errors[i];
		Datum		v[5];
		bool		n[5] = {0};

		v[0] = name_or_null(get_database_name(e->dbid), &n[0]);
		v[1] = CStringGetTextDatum(unpack_sql_state(e->sqlstate));
		v[2] = Int64GetDatum(e->count);
		v[3] = TimestampTzGetDatum(e->last_at);
		v[4] = CStringGetTextDatum(e->last_message);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}

/*
 * Copy a ring entry consistently; false when a writer kept it busy.
 */
static bool
copy_trace_entry(StewardTraceEntry *e, StewardTraceEntry *copy, Size size)
{
	int			tries;

	for (tries = 0; tries < 1000; tries++)
	{
		uint32		before = pg_atomic_read_u32(&e->changecount);

		pg_read_barrier();
		if (before & 1)
			continue;
		memcpy(copy, e, size);
		pg_read_barrier();
		if (pg_atomic_read_u32(&e->changecount) == before)
			return true;
	}
	return false;
}

/*
 * The client address of a ring entry as an inet datum (the entry keeps it
 * in the inet type's own layout).
 */
static Datum
client_addr_datum(const StewardTraceEntry *e)
{
	inet	   *addr = palloc0(sizeof(inet));

	SET_INET_VARSIZE(addr);
	memcpy(ip_addr(addr), e->client_addr.ipaddr, sizeof(e->client_addr.ipaddr));
	ip_family(addr) = e->client_addr.family;
	ip_bits(addr) = e->client_addr.bits;
	SET_INET_VARSIZE(addr);
	return InetPGetDatum(addr);
}

/*
 * One row of steward.trace(); the query text and client address only
 * when see_all or the statement was the current user's own.
 */
static void
put_trace_row(ReturnSetInfo *rsinfo, const StewardTraceEntry *e, bool see_all)
{
	Datum		v[11];
	bool		n[11] = {0};
	bool		visible = see_all || e->userid == GetUserId();

	v[0] = TimestampTzGetDatum(e->at);
	v[1] = Int32GetDatum(e->pid);
	v[2] = name_or_null(get_database_name(e->dbid), &n[2]);
	v[3] = name_or_null(GetUserNameFromId(e->userid, true), &n[3]);
	v[4] = CStringGetTextDatum(e->application_name);
	if (visible && e->has_addr)
		v[5] = client_addr_datum(e);
	else
		n[5] = true;
	v[6] = name_or_null(e->cmd >= 0 && e->cmd < STEWARD_NCMDS ?
						(char *) steward_command_names[e->cmd] : NULL, &n[6]);
	v[7] = Float8GetDatum(e->duration_ms);
	v[8] = Int64GetDatum(e->rows);
	v[9] = CStringGetTextDatum(visible ? e->query : "<insufficient privilege>");
	v[10] = name_or_null(e->sqlstate ? unpack_sql_state(e->sqlstate) : NULL, &n[10]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
}

/*
 * steward.trace(slow boolean): the ring of recent (or slow) statements,
 * oldest first, text and address hidden from those not allowed to see them.
 */
Datum
steward_trace(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		slow = PG_GETARG_BOOL(0);
	StewardMetricsShared *m;
	int			count,
				i;
	bool		see_all;
	StewardTraceEntry *copy;

	steward_metrics_require();
	m = steward_metrics;
	InitMaterializedSRF(fcinfo, 0);
	see_all = superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
	count = slow ? STEWARD_SLOW_ENTRIES : m->trace_size;
	copy = palloc(m->trace_entry_size);
	for (i = 0; i < count; i++)
	{
		StewardTraceEntry *e = slow ? steward_slow_entry(i) : steward_trace_entry(i);

		if (!copy_trace_entry(e, copy, m->trace_entry_size) || copy->at == 0)
			continue;
		put_trace_row(rsinfo, copy, see_all);
	}
	return (Datum) 0;
}

/*
 * steward.metrics_info(): one row about the metrics themselves.
 */
Datum
steward_metrics_info(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Collected  *c;
	Datum		v[10];
	bool		n[10] = {0};
	StewardMetricsShared *m;

	steward_metrics_require();
	m = steward_metrics;
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	c = collect();
	v[0] = TimestampTzGetDatum(m->since);
	v[1] = Int32GetDatum(c->ntables);
	v[2] = Int64GetDatum(c->tables_dropped);
	v[3] = Int64GetDatum((int64) m->total_size);
	v[4] = Int32GetDatum(c->backends);
	v[5] = Int32GetDatum(m->max_tables);
	v[6] = Int32GetDatum(m->trace_size);
	v[7] = Int32GetDatum(m->query_len);
	v[8] = Int64GetDatum((int64) pg_atomic_read_u64(&m->trace_next));
	v[9] = Int64GetDatum(c->keys_dropped);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, n)));
}

/*
 * steward.reset_metrics(): forget everything.  Backends empty their own
 * slots when they next write (the generation moved); readers ignore slots
 * of older generations meanwhile.
 */
Datum
steward_reset_metrics(PG_FUNCTION_ARGS)
{
	StewardMetricsShared *m;
	int			i;

	steward_metrics_require();
	m = steward_metrics;
	LWLockAcquire(m->lock, LW_EXCLUSIVE);
	pg_atomic_fetch_add_u32(&m->generation, 1);
	m->rkeys = m->rerrors = m->rtables = 0;
	m->rtables_dropped = m->rkeys_dropped = 0;
	m->since = GetCurrentTimestamp();
	for (i = 0; i < m->trace_size + STEWARD_SLOW_ENTRIES; i++)
	{
		StewardTraceEntry *e = steward_trace_entry(i);

		pg_atomic_fetch_add_u32(&e->changecount, 1);
		e->at = 0;
		pg_atomic_fetch_add_u32(&e->changecount, 1);
	}
	LWLockRelease(m->lock);
	PG_RETURN_VOID();
}
