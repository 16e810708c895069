/*-------------------------------------------------------------------------
 *
 * shmem.c
 *		Shared memory of the query metrics: size and layout,
 *		per-backend slots, retiring a slot when its backend exits, and
 *		saving the totals across a clean restart.
 *
 * Sizes are fixed at server start by steward.max_tables,
 * steward.trace_size and steward.max_query_length.  The totals are
 * written to pg_stat/pg_steward.stat by the postmaster at a clean
 * shutdown (steward.save) and read back, then removed, at the next start;
 * after a crash there is no file and the counters start from zero.
 *
 *-------------------------------------------------------------------------
 */
#include "metrics_int.h"

#include <limits.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#define STEWARD_STAT_FILE		"pg_stat/pg_steward.stat"
#define STEWARD_STAT_MAGIC		0x53545731	/* "STW1" */

const char *const steward_command_names[STEWARD_NCMDS] = {
	"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "UTILITY"
};

StewardMetricsShared *steward_metrics = NULL;

static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;
static bool slot_claimed = false;

static Size
slot_size(void)
{
	return MAXALIGN(offsetof(StewardSlot, tables) +
					sizeof(StewardTableCounters) * steward_max_tables);
}

static Size
trace_entry_size(void)
{
	return MAXALIGN(offsetof(StewardTraceEntry, query) + steward_max_query_length + 1);
}

/*
 * Bytes of the whole shared area.
 */
static Size
metrics_size(void)
{
	Size		size = MAXALIGN(sizeof(StewardMetricsShared));

	size = add_size(size, MAXALIGN(mul_size(sizeof(StewardTableCounters), steward_max_tables)));
	size = add_size(size, mul_size(slot_size(), MaxBackends));
	size = add_size(size, mul_size(trace_entry_size(), steward_trace_size + STEWARD_SLOW_ENTRIES));
	return size;
}

StewardTableCounters *
steward_retired_tables(void)
{
	return (StewardTableCounters *) ((char *) steward_metrics +
									 MAXALIGN(sizeof(StewardMetricsShared)));
}

StewardSlot *
steward_slot(int i)
{
	char	   *base = (char *) steward_retired_tables() +
		MAXALIGN(sizeof(StewardTableCounters) * steward_metrics->max_tables);

	return (StewardSlot *) (base + steward_metrics->slot_size * i);
}

StewardTraceEntry *
steward_trace_entry(int i)
{
	char	   *base = (char *) steward_slot(steward_metrics->nslots);

	return (StewardTraceEntry *) (base + steward_metrics->trace_entry_size * i);
}

StewardTraceEntry *
steward_slow_entry(int i)
{
	return steward_trace_entry(steward_metrics->trace_size + i);
}

/*
 * Log2 latency bucket of a duration: bucket 0 is below 1us, bucket k holds
 * [2^(k-1), 2^k) us, the last one everything above.
 */
int
steward_hist_bucket(double ms)
{
	double		us = ms * 1000.0;
	int			b = 0;

	while (us >= 1.0 && b < STEWARD_HIST_BUCKETS - 1)
	{
		us /= 2.0;
		b++;
	}
	return b;
}

/*
 * Merging counters into a set of totals.
 *
 * Three places keep counters as short arrays searched linearly by key: a
 * backend's slot (hooks.c), the retired totals (retire_slot below) and a
 * reader's aggregate (views.c, collect).  The functions below are the one
 * way of finding a key's entry among entries[0 .. *n - 1], appending it
 * when absent, and adding one set of counters to another, so that the
 * retired totals and the views cannot come to add up differently.  Each
 * returns NULL or false when the key is absent and *n has reached max: what
 * is lost then, and whether it is counted as dropped, is the caller's
 * rule, as the rules differ (see retire_keys, retire_errors, retire_tables).
 */

/*
 * The entry for (dbid, userid, cmd), appended with zero counters when
 * absent; NULL when absent and there is no room.
 */
StewardQueryCounters *
steward_query_entry(StewardQueryCounters *keys, int *n, int max,
					Oid dbid, Oid userid, int cmd)
{
	StewardQueryCounters *k;
	int			i;

	for (i = 0; i < *n; i++)
		if (keys[i].dbid == dbid && keys[i].userid == userid && keys[i].cmd == cmd)
			return &keys[i];
	if (*n >= max)
		return NULL;
	k = &keys[(*n)++];
	memset(k, 0, sizeof(*k));
	k->dbid = dbid;
	k->userid = userid;
	k->cmd = cmd;
	return k;
}

/*
 * The entry for (dbid, sqlstate), appended with a zero count when absent;
 * NULL when absent and there is no room.  A new entry's last_at is -infinity
 * so that the first message merged or recorded into it always wins.
 */
StewardErrorCounters *
steward_error_entry(StewardErrorCounters *errors, int *n, int max,
					Oid dbid, int sqlstate)
{
	StewardErrorCounters *e;
	int			i;

	for (i = 0; i < *n; i++)
		if (errors[i].dbid == dbid && errors[i].sqlstate == sqlstate)
			return &errors[i];
	if (*n >= max)
		return NULL;
	e = &errors[(*n)++];
	e->dbid = dbid;
	e->sqlstate = sqlstate;
	e->count = 0;
	e->last_at = DT_NOBEGIN;
	e->last_message[0] = '\0';
	return e;
}

/*
 * Add one key's counters to those of its entry among keys[0 .. *n - 1];
 * false when the key has no entry and there is no room for one.  A key
 * whose counters are all zero still gets an entry.
 */
bool
steward_add_query(StewardQueryCounters *keys, int *n, int max,
				  const StewardQueryCounters *from)
{
	StewardQueryCounters *into;
	int			i;

	into = steward_query_entry(keys, n, max, from->dbid, from->userid, from->cmd);
	if (into == NULL)
		return false;
	if (from->calls + from->errors == 0)
		return true;
	if (into->calls == 0 || from->min_ms < into->min_ms)
		into->min_ms = from->min_ms;
	if (from->max_ms > into->max_ms)
		into->max_ms = from->max_ms;
	into->calls += from->calls;
	into->errors += from->errors;
	into->rows += from->rows;
	into->total_ms += from->total_ms;
	into->sumsq_ms += from->sumsq_ms;
	for (i = 0; i < STEWARD_HIST_BUCKETS; i++)
		into->hist[i] += from->hist[i];
	return true;
}

/*
 * Add one error entry to its entry among errors[0 .. *n - 1]; false when
 * there is no room.  The latest message wins; on equal times, the one
 * merged last.
 */
bool
steward_add_error(StewardErrorCounters *errors, int *n, int max,
				  const StewardErrorCounters *from)
{
	StewardErrorCounters *into;

	into = steward_error_entry(errors, n, max, from->dbid, from->sqlstate);
	if (into == NULL)
		return false;
	into->count += from->count;
	if (from->last_at >= into->last_at)
	{
		into->last_at = from->last_at;
		memcpy(into->last_message, from->last_message, STEWARD_MESSAGE_LEN);
	}
	return true;
}

/*
 * Add one table entry to its entry among tables[0 .. *n - 1]; false when
 * there is no room.  (A backend's own slot finds its tables through a hash
 * in hooks.c instead: it adds one per statement, not one per merge.)
 */
bool
steward_add_table(StewardTableCounters *tables, int *n, int max,
				  const StewardTableCounters *from)
{
	StewardTableCounters *into = NULL;
	int			i;

	for (i = 0; i < *n && into == NULL; i++)
		if (tables[i].dbid == from->dbid && tables[i].relid == from->relid &&
			tables[i].cmd == from->cmd)
			into = &tables[i];
	if (into == NULL)
	{
		if (*n >= max)
			return false;
		into = &tables[(*n)++];
		memset(into, 0, sizeof(*into));
		into->dbid = from->dbid;
		into->relid = from->relid;
		into->cmd = from->cmd;
	}
	into->calls += from->calls;
	into->rows += from->rows;
	into->total_ms += from->total_ms;
	return true;
}

/*
 * Retiring a slot.
 *
 * A backend's counters live in its own slot only while it runs: when it
 * exits, when a new backend takes over a slot left behind, and when the
 * postmaster saves the totals, the slot is folded into the retired totals
 * (metrics lock held exclusively) and emptied.  The retired totals have a
 * fixed capacity; each kind of counter has its own rule for what does not
 * fit, below.
 */

/*
 * Keys that find no room in the retired totals count their statements
 * (calls and errors) in rkeys_dropped, as metrics_info's keys_dropped.
 */
static void
retire_keys(StewardMetricsShared *m, const StewardSlot *slot)
{
	int			i;

	for (i = 0; i < slot->nkeys; i++)
	{
		const StewardQueryCounters *k = &slot->keys[i];

		if (!steward_add_query(m->retired_keys, &m->rkeys, STEWARD_RETIRED_KEYS, k))
			m->rkeys_dropped += k->calls + k->errors;
	}
}

/*
 * Errors that find no room are lost without a count: the capacity is far
 * above the distinct (database, SQLSTATE) pairs a cluster sees.
 */
static void
retire_errors(StewardMetricsShared *m, const StewardSlot *slot)
{
	int			i;

	for (i = 0; i < slot->nerrors; i++)
		(void) steward_add_error(m->retired_errors, &m->rerrors,
								 STEWARD_RETIRED_ERRORS, &slot->errors[i]);
}

/*
 * Tables that find no room count one each in rtables_dropped, as a
 * backend's slot counts the tables it had no room for.
 */
static void
retire_tables(StewardMetricsShared *m, const StewardSlot *slot)
{
	StewardTableCounters *rt = steward_retired_tables();
	int			i;

	for (i = 0; i < slot->ntables; i++)
		if (!steward_add_table(rt, &m->rtables, m->max_tables, &slot->tables[i]))
			m->rtables_dropped++;
}

/*
 * Empty a retired slot inside a write (odd changecount), so that a reader
 * copying it meanwhile retries instead of counting it twice.
 */
static void
empty_slot(StewardSlot *slot)
{
	pg_atomic_add_fetch_u32(&slot->changecount, 1);
	pg_write_barrier();
	slot->nkeys = slot->nerrors = slot->ntables = 0;
	slot->tables_dropped = slot->keys_dropped = 0;
	slot->pid = 0;
	pg_write_barrier();
	pg_atomic_add_fetch_u32(&slot->changecount, 1);
}

/*
 * Fold a slot's counters into the retired totals (metrics lock held
 * exclusively) and empty it.  The keys, errors and tables of a slot of
 * an older generation are ones a reset has already forgotten, so they are
 * skipped; its two dropped counts are not, and are carried over.
 */
static void
retire_slot(StewardSlot *slot)
{
	StewardMetricsShared *m = steward_metrics;

	if (slot->generation != pg_atomic_read_u32(&m->generation))
		slot->nkeys = slot->nerrors = slot->ntables = 0;	/* reset since */
	retire_keys(m, slot);
	retire_errors(m, slot);
	retire_tables(m, slot);
	m->rtables_dropped += slot->tables_dropped;
	m->rkeys_dropped += slot->keys_dropped;
	empty_slot(slot);
}

/*
 * before_shmem_exit callback of a backend that recorded metrics.
 */
static void
slot_exit(int code, Datum arg)
{
	StewardSlot *slot;

	if (steward_metrics == NULL || steward_my_backend_index() < 0)
		return;
	slot = steward_slot(steward_my_backend_index());
	LWLockAcquire(steward_metrics->lock, LW_EXCLUSIVE);
	retire_slot(slot);
	LWLockRelease(steward_metrics->lock);
}

/*
 * This backend's slot; on first use, take it over (folding in whatever a
 * previous owner left) and arrange for it to be retired at exit.
 */
StewardSlot *
steward_my_slot(void)
{
	StewardSlot *slot;
	int			index = steward_my_backend_index();

	if (steward_metrics == NULL || index < 0 || index >= steward_metrics->nslots)
		return NULL;
	slot = steward_slot(index);
	if (!slot_claimed)
	{
		LWLockAcquire(steward_metrics->lock, LW_EXCLUSIVE);
		if (slot->nkeys || slot->nerrors || slot->ntables)
			retire_slot(slot);
		slot->pid = MyProcPid;
		slot->generation = pg_atomic_read_u32(&steward_metrics->generation);
		LWLockRelease(steward_metrics->lock);
		before_shmem_exit(slot_exit, (Datum) 0);
		slot_claimed = true;
	}
	return slot;
}

/*
 * Error out, with the line to add, unless the metrics are in shared memory.
 */
void
steward_metrics_require(void)
{
	steward_require_preload("query metrics");
	if (steward_metrics == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_steward query metrics are not initialised"),
				 errhint("Add shared_preload_libraries = 'pg_steward' to postgresql.conf and restart the server.")));
}

/*
 * Write the totals at postmaster shutdown (all backends have retired).
 */
static void
metrics_save(int code, Datum arg)
{
	StewardMetricsShared *m = steward_metrics;
	FILE	   *f;
	uint32		magic = STEWARD_STAT_MAGIC;
	int			i;

	if (code != 0 || !steward_metrics_save || m == NULL)
		return;

	/*
	 * Only a clean shutdown keeps the counters: after an immediate shutdown
	 * the postmaster also exits with 0, but the control file still says the
	 * cluster was running, and the next start will recover as from a crash.
	 */
	{
		bool		crc_ok;
		ControlFileData *cf = get_controlfile(DataDir, &crc_ok);

		if (!crc_ok || cf->state != DB_SHUTDOWNED)
			return;
	}
	for (i = 0; i < m->nslots; i++)
		if ((pg_atomic_read_u32(&steward_slot(i)->changecount) & 1) == 0)
			retire_slot(steward_slot(i));
	f = AllocateFile(STEWARD_STAT_FILE ".tmp", PG_BINARY_W);
	if (f == NULL)
		goto error;
	if (fwrite(&magic, sizeof(magic), 1, f) != 1 ||
		fwrite(&m->since, sizeof(m->since), 1, f) != 1 ||
		fwrite(&m->rkeys, sizeof(int), 1, f) != 1 ||
		fwrite(m->retired_keys, sizeof(StewardQueryCounters), m->rkeys, f) != (size_t) m->rkeys ||
		fwrite(&m->rerrors, sizeof(int), 1, f) != 1 ||
		fwrite(m->retired_errors, sizeof(StewardErrorCounters), m->rerrors, f) != (size_t) m->rerrors ||
		fwrite(&m->rtables, sizeof(int), 1, f) != 1 ||
		fwrite(steward_retired_tables(), sizeof(StewardTableCounters), m->rtables, f) != (size_t) m->rtables ||
		fwrite(&m->rtables_dropped, sizeof(int64), 1, f) != 1)
		goto error;
	if (FreeFile(f))
	{
		f = NULL;
		goto error;
	}
	(void) durable_rename(STEWARD_STAT_FILE ".tmp", STEWARD_STAT_FILE, LOG);
	return;
error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write file \"%s\": %m", STEWARD_STAT_FILE ".tmp"),
			 errhint("pg_steward's query metrics start from zero at the next start.")));
	if (f)
		FreeFile(f);
	unlink(STEWARD_STAT_FILE ".tmp");
}

/*
 * Read the totals a clean shutdown saved, then remove the file so that a
 * crash later starts from zero.
 */
static void
metrics_load(void)
{
	StewardMetricsShared *m = steward_metrics;
	FILE	   *f = AllocateFile(STEWARD_STAT_FILE, PG_BINARY_R);
	uint32		magic = 0;
	int			nkeys = 0,
				nerrors = 0,
				ntables = 0;

	if (f == NULL)
		return;
	if (fread(&magic, sizeof(magic), 1, f) != 1 || magic != STEWARD_STAT_MAGIC ||
		fread(&m->since, sizeof(m->since), 1, f) != 1 ||
		fread(&nkeys, sizeof(int), 1, f) != 1 || nkeys < 0 || nkeys > STEWARD_RETIRED_KEYS ||
		fread(m->retired_keys, sizeof(StewardQueryCounters), nkeys, f) != (size_t) nkeys ||
		fread(&nerrors, sizeof(int), 1, f) != 1 || nerrors < 0 || nerrors > STEWARD_RETIRED_ERRORS ||
		fread(m->retired_errors, sizeof(StewardErrorCounters), nerrors, f) != (size_t) nerrors ||
		fread(&ntables, sizeof(int), 1, f) != 1 || ntables < 0 ||
		ntables > m->max_tables ||
		fread(steward_retired_tables(), sizeof(StewardTableCounters), ntables, f) != (size_t) ntables ||
		fread(&m->rtables_dropped, sizeof(int64), 1, f) != 1)
	{
		ereport(LOG,
				(errmsg("ignoring unreadable pg_steward metrics file \"%s\"", STEWARD_STAT_FILE),
				 errhint("The query metrics start from zero.")));
		nkeys = nerrors = ntables = 0;
		m->since = GetCurrentTimestamp();
		m->rtables_dropped = 0;
	}
	m->rkeys = nkeys;
	m->rerrors = nerrors;
	m->rtables = ntables;
	FreeFile(f);
	unlink(STEWARD_STAT_FILE);
}

static void
metrics_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(metrics_size());
	RequestNamedLWLockTranche("pg_steward", 1);
}

/*
 * Create (postmaster) or attach to the shared area.
 */
static void
metrics_shmem_startup(void)
{
	bool		found;
	Size		size = metrics_size();
	int			i;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	steward_metrics = ShmemInitStruct("pg_steward metrics", size, &found);
	if (!found)
	{
		StewardMetricsShared *m = steward_metrics;

		memset(m, 0, size);
		m->lock = &(GetNamedLWLockTranche("pg_steward"))->lock;
		m->since = GetCurrentTimestamp();
		m->nslots = MaxBackends;
		m->max_tables = steward_max_tables;
		m->trace_size = steward_trace_size;
		m->query_len = steward_max_query_length;
		m->slot_size = slot_size();
		m->trace_entry_size = trace_entry_size();
		m->total_size = size;
		pg_atomic_init_u64(&m->trace_next, 0);
		pg_atomic_init_u32(&m->generation, 1);
		for (i = 0; i < m->nslots; i++)
			pg_atomic_init_u32(&steward_slot(i)->changecount, 0);
		for (i = 0; i < m->trace_size + STEWARD_SLOW_ENTRIES; i++)
			pg_atomic_init_u32(&steward_trace_entry(i)->changecount, 0);
		metrics_load();
	}
	LWLockRelease(AddinShmemInitLock);
	if (!IsUnderPostmaster)
		on_shmem_exit(metrics_save, (Datum) 0);
}

/*
 * Install the shared-memory request and startup hooks (only when
 * preloaded: the sizes are fixed at server start).
 */
void
steward_metrics_shmem_init(void)
{
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = metrics_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = metrics_shmem_startup;
}
