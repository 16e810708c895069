/*-------------------------------------------------------------------------
 *
 * views.c
 *		Read the query metrics: the functions behind steward.query_metrics,
 *		table_metrics, latency_histogram, error_metrics, slow_queries,
 *		recent_queries and metrics_info, and steward.reset_metrics().
 *
 * A reader copies, under the metrics lock held shared, the retired totals
 * and every live slot (each under the slot's own lock, held only for the
 * copy), releases the locks, and only then merges and aggregates (see
 * collect).  Query text, error messages and client addresses follow one
 * rule everywhere: shown to superusers, members of pg_read_all_stats and
 * roles with the privileges of the statement's session user (as
 * pg_stat_activity decides); others see "<insufficient privilege>".
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
#include "utils/hsearch.h"
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

#define INSUFFICIENT_PRIVILEGE "<insufficient privilege>"

/* A live slot's used counters, copied under its lock. */
typedef struct SlotCopy
{
	int			nkeys;
	int			nerrors;
	int			ntables;
	int64		tables_dropped;
	int64		keys_dropped;
	StewardQueryCounters *keys;
	StewardErrorCounters *errors;
	StewardTableCounters *tables;
} SlotCopy;

/* What is copied under the locks, to be merged after releasing them. */
typedef struct Copied
{
	StewardQueryCounters *rkeys;
	int			nrkeys;
	StewardErrorCounters *rerrors;
	int			nrerrors;
	StewardTableCounters *rtables;
	int			nrtables;
	int64		rtables_dropped;
	int64		rkeys_dropped;
	List	   *slots;			/* SlotCopy of each live slot */
} Copied;

/*
 * Copy the used part of one slot (its keys, errors and tables, not the
 * whole arrays) under the slot's lock, held shared only for the copy: its
 * owner may be waiting to write.  NULL when the slot holds nothing current.
 * The copy is allocated before the lock is taken, with room for what the
 * slot held a moment before; tables the owner added meanwhile are left to
 * the next reader.
 */
static SlotCopy *
copy_slot(StewardSlot *slot, uint32 gen)
{
	SlotCopy   *c;
	int			ntables = slot->ntables;	/* unlocked peek, to size the copy */
	char	   *p;

	if (slot->pid == 0 || slot->generation != gen ||
		(slot->nkeys == 0 && slot->nerrors == 0 && ntables == 0))
		return NULL;
	p = palloc(MAXALIGN(sizeof(SlotCopy)) + sizeof(StewardQueryCounters) * STEWARD_SLOT_KEYS +
			   sizeof(StewardErrorCounters) * STEWARD_SLOT_ERRORS +
			   sizeof(StewardTableCounters) * ntables);
	c = (SlotCopy *) p;
	c->keys = (StewardQueryCounters *) (p + MAXALIGN(sizeof(SlotCopy)));
	c->errors = (StewardErrorCounters *) (c->keys + STEWARD_SLOT_KEYS);
	c->tables = (StewardTableCounters *) (c->errors + STEWARD_SLOT_ERRORS);
	LWLockAcquire(slot->lock, LW_SHARED);
	c->nkeys = slot->generation == gen ? slot->nkeys : 0;
	c->nerrors = slot->generation == gen ? slot->nerrors : 0;
	c->ntables = slot->generation == gen ? Min(slot->ntables, ntables) : 0;
	c->tables_dropped = slot->generation == gen ? slot->tables_dropped : 0;
	c->keys_dropped = slot->generation == gen ? slot->keys_dropped : 0;
	memcpy(c->keys, slot->keys, sizeof(StewardQueryCounters) * c->nkeys);
	memcpy(c->errors, slot->errors, sizeof(StewardErrorCounters) * c->nerrors);
	memcpy(c->tables, slot->tables, sizeof(StewardTableCounters) * c->ntables);
	LWLockRelease(slot->lock);
	return c;
}

/*
 * Copy the retired totals and every live slot, under the metrics lock held
 * shared: a backend that exits meanwhile (folding its slot into the totals
 * under the lock held exclusively) is then counted exactly once.  Only
 * copies are made under the lock; merging waits until it is released.
 */
static void
copy_all(Copied *c)
{
	StewardMetricsShared *m = steward_metrics;
	uint32		gen;
	int			i;

	c->rkeys = palloc(sizeof(StewardQueryCounters) * STEWARD_RETIRED_KEYS);
	c->rerrors = palloc(sizeof(StewardErrorCounters) * STEWARD_RETIRED_ERRORS);
	c->rtables = palloc(sizeof(StewardTableCounters) * m->max_tables);
	c->slots = NIL;
	LWLockAcquire(m->lock, LW_SHARED);
	gen = pg_atomic_read_u32(&m->generation);
	c->nrkeys = m->rkeys;
	c->nrerrors = m->rerrors;
	c->nrtables = m->rtables;
	memcpy(c->rkeys, m->retired_keys, sizeof(StewardQueryCounters) * m->rkeys);
	memcpy(c->rerrors, m->retired_errors, sizeof(StewardErrorCounters) * m->rerrors);
	memcpy(c->rtables, steward_retired_tables(), sizeof(StewardTableCounters) * m->rtables);
	c->rtables_dropped = m->rtables_dropped;
	c->rkeys_dropped = m->rkeys_dropped;
	for (i = 0; i < m->nslots; i++)
	{
		SlotCopy   *copy = copy_slot(steward_slot(i), gen);

		if (copy)
			c->slots = lappend(c->slots, copy);
	}
	LWLockRelease(m->lock);
}

/*
 * Hash tables that find an aggregate's entry for a key in constant time
 * (merging is linear in what was copied, however many backends there are).
 */
typedef struct MergeKey
{
	Oid			dbid;
	Oid			id;				/* userid, or relid */
	int			cmd;
} MergeKey;

typedef struct MergeEntry
{
	MergeKey	key;
	int			index;
} MergeEntry;

static HTAB *
merge_index(const char *name)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(MergeKey);
	ctl.entrysize = sizeof(MergeEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * The aggregate's entry for a key (new ones are appended at next, an
 * index into the aggregate's array); *created tells whether it is new.
 */
static int
merge_slot(HTAB *index, Oid dbid, Oid id, int cmd, int next, bool *created)
{
	MergeKey	key;
	MergeEntry *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.dbid = dbid;
	key.id = id;
	key.cmd = cmd;
	e = hash_search(index, &key, HASH_ENTER, &found);
	if (!found)
		e->index = next;
	*created = !found;
	return e->index;
}

/*
 * Add one key's counters to the aggregate (there is room for every key
 * there can be).
 */
static void
merge_key(Collected *c, HTAB *index, const StewardQueryCounters *k)
{
	bool		created;
	int			i = merge_slot(index, k->dbid, k->userid, k->cmd, c->nkeys, &created);
	int			n = created ? 0 : 1;

	(void) steward_add_query(c->keys + i, &n, 1, k);
	if (created)
		c->nkeys++;
}

/*
 * Add one table's counters to the aggregate; false when it is new and the
 * aggregate's tables are full.
 */
static bool
merge_table(Collected *c, HTAB *index, const StewardTableCounters *t)
{
	bool		created;
	int			i;
	int			n;

	if (c->ntables >= c->maxtables)
	{
		MergeKey	key;

		memset(&key, 0, sizeof(key));
		key.dbid = t->dbid;
		key.id = t->relid;
		key.cmd = t->cmd;
		if (hash_search(index, &key, HASH_FIND, NULL) == NULL)
			return false;
	}
	i = merge_slot(index, t->dbid, t->relid, t->cmd, c->ntables, &created);
	n = created ? 0 : 1;
	(void) steward_add_table(c->tables + i, &n, 1, t);
	if (created)
		c->ntables++;
	return true;
}

/*
 * Merge the copies: the retired totals first, then each live slot.  Once
 * the aggregate's tables are full, every further table of a live slot
 * counts as dropped.  Tables without calls (a reset zeroed them) are left
 * out.
 */
static void
merge_all(Collected *c, const Copied *cp)
{
	HTAB	   *keys = merge_index("pg_steward merge keys");
	HTAB	   *tables = merge_index("pg_steward merge tables");
	ListCell   *lc;
	int			i;

	for (i = 0; i < cp->nrkeys; i++)
		merge_key(c, keys, &cp->rkeys[i]);
	for (i = 0; i < cp->nrerrors; i++)
		(void) steward_add_error(c->errors, &c->nerrors, c->maxerrors, &cp->rerrors[i]);
	for (i = 0; i < cp->nrtables; i++)
		(void) merge_table(c, tables, &cp->rtables[i]);
	c->tables_dropped = cp->rtables_dropped;
	c->keys_dropped = cp->rkeys_dropped;
	foreach(lc, cp->slots)
	{
		SlotCopy   *s = lfirst(lc);

		c->backends++;
		for (i = 0; i < s->nkeys; i++)
			merge_key(c, keys, &s->keys[i]);
		for (i = 0; i < s->nerrors; i++)
			(void) steward_add_error(c->errors, &c->nerrors, c->maxerrors, &s->errors[i]);
		for (i = 0; i < s->ntables; i++)
			if (s->tables[i].calls > 0 && !merge_table(c, tables, &s->tables[i]))
				c->tables_dropped++;
		c->tables_dropped += s->tables_dropped;
		c->keys_dropped += s->keys_dropped;
	}
	hash_destroy(keys);
	hash_destroy(tables);
}

/*
 * Sum the retired totals and every live slot.  The arrays have room for
 * every key and error there can be (the retired totals plus every slot
 * full); tables have room for twice steward.max_tables.
 */
Collected *
steward_collect(void)
{
	StewardMetricsShared *m = steward_metrics;
	Collected  *c = palloc0(sizeof(Collected));
	Copied		cp;

	c->maxkeys = STEWARD_RETIRED_KEYS + m->nslots * STEWARD_SLOT_KEYS;
	c->maxerrors = STEWARD_RETIRED_ERRORS + m->nslots * STEWARD_SLOT_ERRORS;
	c->maxtables = m->max_tables * 2;
	c->keys = palloc(sizeof(StewardQueryCounters) * c->maxkeys);
	c->errors = palloc(sizeof(StewardErrorCounters) * c->maxerrors);
	c->tables = palloc(sizeof(StewardTableCounters) * (Size) c->maxtables);
	copy_all(&cp);
	merge_all(c, &cp);
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
	return steward_collect();
}

/*
 * Whether the current user may see the text, message and address of
 * statements of session user owner: see_all (superuser or
 * pg_read_all_stats), or the privileges of that role.
 */
bool
steward_can_see(Oid owner, bool see_all)
{
	return see_all || (OidIsValid(owner) && has_privs_of_role(GetUserId(), owner));
}

/* Whether the current user sees every statement's text. */
bool
steward_sees_all(void)
{
	return superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
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
			return Min(steward_bucket_le_ms(b), k->max_ms);
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
 * steward.query_metrics(): one row per database, session user and command.
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

		if (k->calls == 0)
			continue;
		v[0] = name_or_null(get_database_name(k->dbid), &n[0]);
		v[1] = name_or_null(GetUserNameFromId(k->userid, true), &n[1]);
		v[2] = CStringGetTextDatum(steward_command_names[k->cmd]);
		v[3] = Int64GetDatum(k->calls);
		v[4] = Int64GetDatum(k->errors);
		v[5] = Int64GetDatum(k->rows);
		v[6] = Float8GetDatum(k->total_ms);
		v[7] = Float8GetDatum(k->min_ms);
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
 * The histogram of every (database, command) with calls, users summed, in
 * the order of the aggregate's keys; *n is set to their number.
 */
StewardQueryCounters *
steward_histograms(Collected *c, int *n)
{
	StewardQueryCounters *sums = palloc(sizeof(StewardQueryCounters) * Max(c->nkeys, 1));
	int			i,
				j,
				b;

	*n = 0;
	for (i = 0; i < c->nkeys; i++)
	{
		StewardQueryCounters *k = &c->keys[i];

		if (k->calls == 0)
			continue;
		for (j = 0; j < *n; j++)
			if (sums[j].dbid == k->dbid && sums[j].cmd == k->cmd)
				break;
		if (j == *n)
		{
			memset(&sums[j], 0, sizeof(StewardQueryCounters));
			sums[j].dbid = k->dbid;
			sums[j].cmd = k->cmd;
			(*n)++;
		}
		sums[j].calls += k->calls;
		sums[j].total_ms += k->total_ms;
		for (b = 0; b < STEWARD_HIST_BUCKETS; b++)
			sums[j].hist[b] += k->hist[b];
	}
	return sums;
}

/*
 * steward.latency_histogram(): non-empty log2 buckets per database and
 * command (users summed); le_ms is the bucket's upper bound.
 */
Datum
steward_latency_histogram(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Collected  *c = collect_rows(fcinfo);
	int			nsums,
				i,
				b;
	StewardQueryCounters *sums = steward_histograms(c, &nsums);

	for (i = 0; i < nsums; i++)
		for (b = 0; b < STEWARD_HIST_BUCKETS; b++)
		{
			Datum		v[4];
			bool		n[4] = {0};

			if (sums[i].hist[b] == 0)
				continue;
			v[0] = name_or_null(get_database_name(sums[i].dbid), &n[0]);
			v[1] = CStringGetTextDatum(steward_command_names[sums[i].cmd]);
			if (b == STEWARD_HIST_BUCKETS - 1)
				v[2] = Float8GetDatum(get_float8_infinity());
			else
				v[2] = Float8GetDatum(steward_bucket_le_ms(b));
			v[3] = Int64GetDatum(sums[i].hist[b]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
		}
	return (Datum) 0;
}

/*
 * steward.error_metrics(): failures per database and SQLSTATE; the last
 * message follows the privacy rule of its session user.
 */
Datum
steward_error_metrics(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Collected  *c;
	bool		see_all = steward_sees_all();
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
		v[4] = CStringGetTextDatum(steward_can_see(e->last_userid, see_all) ?
								   e->last_message : INSUFFICIENT_PRIVILEGE);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}

/*
 * Copy a ring entry as it is now, without waiting: false when a writer is
 * filling it (twice in a row), or it is empty.
 */
static bool
copy_trace_entry(StewardTraceEntry *e, StewardTraceEntry *copy, Size size)
{
	int			tries;

	for (tries = 0; tries < 2; tries++)
	{
		uint32		before = pg_atomic_read_u32(&e->changecount);

		pg_read_barrier();
		if (before & 1)
			continue;
		memcpy(copy, e, size);
		pg_read_barrier();
		if (pg_atomic_read_u32(&e->changecount) == before)
			return copy->seq != 0;
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
 * One row of steward.trace_fn(); the query text, message and client
 * address only when the current user may see the statement's.
 */
static void
put_trace_row(ReturnSetInfo *rsinfo, const StewardTraceEntry *e, bool see_all)
{
	Datum		v[13];
	bool		n[13] = {0};
	bool		visible = steward_can_see(e->userid, see_all);

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
	v[9] = CStringGetTextDatum(visible ? e->query : INSUFFICIENT_PRIVILEGE);
	v[10] = name_or_null(e->sqlstate ? unpack_sql_state(e->sqlstate) : NULL, &n[10]);
	v[11] = Int64GetDatum((int64) e->queryid);
	n[11] = e->queryid == 0;
	v[12] = name_or_null(e->sqlstate == 0 ? NULL : visible ? (char *) e->message :
						 INSUFFICIENT_PRIVILEGE, &n[12]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
}

/*
 * steward.trace_fn(slow boolean): the ring of recent (or slow) statements,
 * text, message and address hidden from those not allowed to see them.
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
	see_all = steward_sees_all();
	count = slow ? STEWARD_SLOW_ENTRIES : m->trace_size;
	copy = palloc(m->trace_entry_size);
	for (i = 0; i < count; i++)
	{
		StewardTraceEntry *e = slow ? steward_slow_entry(i) : steward_trace_entry(i);

		if (copy_trace_entry(e, copy, m->trace_entry_size))
			put_trace_row(rsinfo, copy, see_all);
	}
	return (Datum) 0;
}

/*
 * steward.metrics_info(): one row about the metrics themselves (also the
 * view steward.metrics_info).
 */
Datum
steward_metrics_info(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Collected  *c;
	Datum		v[11];
	bool		n[11] = {0};
	StewardMetricsShared *m;

	steward_metrics_require();
	m = steward_metrics;
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	c = steward_collect();
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
	v[10] = Int64GetDatum((int64) pg_atomic_read_u64(&m->traces_lost));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, n)));
}

/*
 * steward.reset_metrics(): forget everything.  Backends zero their own
 * slots when they next write (the generation moved); readers ignore slots
 * of older generations meanwhile.  A ring entry being written now is left
 * to its writer.  Refused on a hot standby, where no steward function
 * changes anything (DESIGN.md section 7).
 */
Datum
steward_reset_metrics(PG_FUNCTION_ARGS)
{
	StewardMetricsShared *m;
	int			i;

	steward_require_primary("steward.reset_metrics()");
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
		uint32		count = pg_atomic_read_u32(&e->changecount);

		if ((count & 1) == 0 &&
			pg_atomic_compare_exchange_u32(&e->changecount, &count, count + 1))
		{
			e->seq = 0;
			pg_write_barrier();
			pg_atomic_write_u32(&e->changecount, count + 2);
		}
	}
	LWLockRelease(m->lock);
	PG_RETURN_VOID();
}
