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
#include "storage/backendid.h"
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
 * Add one key's counters to another's.
 */
void
steward_merge_query(StewardQueryCounters *into, const StewardQueryCounters *from)
{
	int			i;

	if (from->calls + from->errors == 0)
		return;
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
}

/*
 * Fold a slot's counters into the retired totals (metrics lock held
 * exclusively) and empty it.  Entries beyond the retired capacity are
 * counted as dropped (tables) or lost (rare: keys, errors).
 */
static void
retire_slot(StewardSlot *slot)
{
	StewardMetricsShared *m = steward_metrics;
	StewardTableCounters *rt = steward_retired_tables();
	int			i,
				j;

	if (slot->generation != pg_atomic_read_u32(&m->generation))
		slot->nkeys = slot->nerrors = slot->ntables = 0;	/* reset since */
	for (i = 0; i < slot->nkeys; i++)
	{
		StewardQueryCounters *k = &slot->keys[i];

		for (j = 0; j < m->rkeys; j++)
			if (m->retired_keys[j].dbid == k->dbid && m->retired_keys[j].userid == k->userid &&
				m->retired_keys[j].cmd == k->cmd)
				break;
		if (j == m->rkeys)
		{
			if (m->rkeys == STEWARD_RETIRED_KEYS)
			{
				m->rkeys_dropped += k->calls + k->errors;
				continue;
			}
			memset(&m->retired_keys[j], 0, sizeof(StewardQueryCounters));
			m->retired_keys[j].dbid = k->dbid;
			m->retired_keys[j].userid = k->userid;
			m->retired_keys[j].cmd = k->cmd;
			m->rkeys++;
		}
		steward_merge_query(&m->retired_keys[j], k);
	}
	for (i = 0; i < slot->nerrors; i++)
	{
		StewardErrorCounters *e = &slot->errors[i];

		for (j = 0; j < m->rerrors; j++)
			if (m->retired_errors[j].dbid == e->dbid && m->retired_errors[j].sqlstate == e->sqlstate)
				break;
		if (j == m->rerrors)
		{
			if (m->rerrors == STEWARD_RETIRED_ERRORS)
				continue;
			m->retired_errors[j] = *e;
			m->retired_errors[j].count = 0;
			m->rerrors++;
		}
		m->retired_errors[j].count += e->count;
		if (e->last_at >= m->retired_errors[j].last_at)
		{
			m->retired_errors[j].last_at = e->last_at;
			memcpy(m->retired_errors[j].last_message, e->last_message, STEWARD_MESSAGE_LEN);
		}
	}
	for (i = 0; i < slot->ntables; i++)
	{
		StewardTableCounters *t = &slot->tables[i];

		for (j = 0; j < m->rtables; j++)
			if (rt[j].dbid == t->dbid && rt[j].relid == t->relid && rt[j].cmd == t->cmd)
				break;
		if (j == m->rtables)
		{
			if (m->rtables == m->max_tables)
			{
				m->rtables_dropped++;
				continue;
			}
			rt[j] = *t;
			rt[j].calls = rt[j].rows = 0;
			rt[j].total_ms = 0;
			m->rtables++;
		}
		rt[j].calls += t->calls;
		rt[j].rows += t->rows;
		rt[j].total_ms += t->total_ms;
	}
	m->rtables_dropped += slot->tables_dropped;
	m->rkeys_dropped += slot->keys_dropped;

	pg_atomic_add_fetch_u32(&slot->changecount, 1);
	pg_write_barrier();
	slot->nkeys = slot->nerrors = slot->ntables = 0;
	slot->tables_dropped = slot->keys_dropped = 0;
	slot->pid = 0;
	pg_write_barrier();
	pg_atomic_add_fetch_u32(&slot->changecount, 1);
}

/*
 * before_shmem_exit callback of a backend that recorded metrics.
 */
static void
slot_exit(int code, Datum arg)
{
	StewardSlot *slot;

	if (steward_metrics == NULL || MyBackendId == InvalidBackendId)
		return;
	slot = steward_slot(MyBackendId - 1);
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

	if (steward_metrics == NULL || MyBackendId == InvalidBackendId ||
		MyBackendId > steward_metrics->nslots)
		return NULL;
	slot = steward_slot(MyBackendId - 1);
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
