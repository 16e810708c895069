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
#include <math.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#define STEWARD_STAT_FILE		"pg_stat/pg_steward.stat"

const char *const steward_command_names[STEWARD_NCMDS] = {
	"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "UTILITY"
};

StewardMetricsShared *steward_metrics = NULL;

/* where the rings start (computed once per process) */
static char *trace_base = NULL;

static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;
static bool slot_claimed = false;
static StewardSlot *my_slot = NULL; /* NULL once retired */

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
	return (StewardTraceEntry *) (trace_base + steward_metrics->trace_entry_size * i);
}

StewardTraceEntry *
steward_slow_entry(int i)
{
	return steward_trace_entry(steward_metrics->trace_size + i);
}

/*
 * The upper bound of latency bucket b, in ms (the last bucket has none:
 * callers show it as infinity).
 */
double
steward_bucket_le_ms(int b)
{
	return ldexp(1.0, b) / 1000.0;
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
	e->last_userid = InvalidOid;
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
 * there is no room.  The latest message (and the session user it belongs
 * to) wins; on equal times, the one merged last.
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
		into->last_userid = from->last_userid;
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
 * backend's slot counts the tables it had no room for.  Entries without
 * calls (zeroed by a reset) are left out.
 */
static void
retire_tables(StewardMetricsShared *m, const StewardSlot *slot)
{
	StewardTableCounters *rt = steward_retired_tables();
	int			i;

	for (i = 0; i < slot->ntables; i++)
		if (slot->tables[i].calls > 0 &&
			!steward_add_table(rt, &m->rtables, m->max_tables, &slot->tables[i]))
			m->rtables_dropped++;
}

/*
 * Empty a retired slot.  Only the metrics lock, held exclusively, guards
 * this: readers copy slots while holding it shared, and the slot's owner
 * is the one retiring it, or gone.
 */
static void
empty_slot(StewardSlot *slot)
{
	slot->nkeys = slot->nerrors = slot->ntables = 0;
	slot->tables_dropped = slot->keys_dropped = 0;
	slot->pid = 0;
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
 * before_shmem_exit callback of a backend that recorded metrics: record
 * the statements still open, then fold the slot into the retired totals.
 * Registered at the first statement, so it runs before the exit aborts
 * the open transaction (whose cursors it has just recorded).
 */
static void
slot_exit(int code, Datum arg)
{
	StewardSlot *slot = my_slot;

	if (slot == NULL)
		return;
	steward_record_leftovers();
	LWLockAcquire(steward_metrics->lock, LW_EXCLUSIVE);
	retire_slot(slot);
	LWLockRelease(steward_metrics->lock);
	my_slot = NULL;
}

/*
 * This backend's slot; on first use, take it over (folding in whatever a
 * previous owner left) and arrange for it to be retired at exit.  NULL
 * when there is none, or once it has been retired.
 */
StewardSlot *
steward_my_slot(void)
{
	StewardSlot *slot;
	int			index;

	if (my_slot != NULL || slot_claimed)
		return my_slot;
	index = steward_my_backend_index();
	if (steward_metrics == NULL || index < 0 || index >= steward_metrics->nslots)
		return NULL;
	slot = steward_slot(index);
	LWLockAcquire(steward_metrics->lock, LW_EXCLUSIVE);
	if (slot->nkeys || slot->nerrors || slot->ntables)
		retire_slot(slot);
	slot->pid = MyProcPid;
	slot->generation = pg_atomic_read_u32(&steward_metrics->generation);
	LWLockRelease(steward_metrics->lock);
	before_shmem_exit(slot_exit, (Datum) 0);
	slot_claimed = true;
	my_slot = slot;
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
 * The save file (pg_stat/pg_steward.stat).
 *
 * A header says who wrote it and how it is laid out: the PostgreSQL major
 * (the counters' types come from its headers), pg_steward's file format,
 * the size of each struct and every constant or setting that shapes the
 * arrays, the length of what follows and its CRC-32C.  A file whose
 * header does not match this server exactly, or whose contents do not
 * match the CRC, is ignored with a LOG line: the metrics then start from
 * zero instead of from garbage.  After the header: the totals (every
 * counter of the shared area) and the three arrays of retired counters.
 */
#define STEWARD_STAT_MAGIC		0x53545732	/* "STW2" */
#define STEWARD_STAT_FORMAT		2

typedef struct StewardStatHeader
{
	uint32		magic;
	uint32		format;
	uint32		pg_major;
	uint32		header_size;
	uint32		totals_size;
	uint32		query_counters_size;
	uint32		error_counters_size;
	uint32		table_counters_size;
	uint32		hist_buckets;
	uint32		message_len;
	uint32		retired_keys;
	uint32		retired_errors;
	uint32		max_tables;
	uint32		payload_size;
	pg_crc32c	payload_crc;
} StewardStatHeader;

typedef struct StewardStatTotals
{
	TimestampTz since;
	int32		rkeys;
	int32		rerrors;
	int32		rtables;
	int64		rtables_dropped;
	int64		rkeys_dropped;
	uint64		statements_traced;
	uint64		traces_lost;
} StewardStatTotals;

/* The header this server writes, and accepts (payload length and CRC apart). */
static void
stat_header(StewardStatHeader *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = STEWARD_STAT_MAGIC;
	h->format = STEWARD_STAT_FORMAT;
	h->pg_major = STEWARD_BUILT_FOR_PG;
	h->header_size = sizeof(StewardStatHeader);
	h->totals_size = sizeof(StewardStatTotals);
	h->query_counters_size = sizeof(StewardQueryCounters);
	h->error_counters_size = sizeof(StewardErrorCounters);
	h->table_counters_size = sizeof(StewardTableCounters);
	h->hist_buckets = STEWARD_HIST_BUCKETS;
	h->message_len = STEWARD_MESSAGE_LEN;
	h->retired_keys = STEWARD_RETIRED_KEYS;
	h->retired_errors = STEWARD_RETIRED_ERRORS;
	h->max_tables = steward_metrics->max_tables;
}

/*
 * The first field in which a file's header differs from this server's,
 * with both values; NULL when they agree.
 */
static const char *
stat_header_mismatch(const StewardStatHeader *got, uint32 *g, uint32 *w)
{
	static const char *const names[] = {
		"magic number", "file format", "PostgreSQL major version", "header size",
		"totals size", "query counters size", "error counters size",
		"table counters size", "histogram buckets", "message length",
		"retired keys", "retired errors", "steward.max_tables"
	};
	StewardStatHeader want;
	const uint32 *a = (const uint32 *) got;
	const uint32 *b = (const uint32 *) &want;
	int			i;

	stat_header(&want);
	for (i = 0; i < (int) lengthof(names); i++)
		if (a[i] != b[i])
		{
			*g = a[i];
			*w = b[i];
			return names[i];
		}
	return NULL;
}

/* The counters of the shared area, as the file keeps them. */
static void
stat_totals(StewardStatTotals *t)
{
	StewardMetricsShared *m = steward_metrics;

	memset(t, 0, sizeof(*t));
	t->since = m->since;
	t->rkeys = m->rkeys;
	t->rerrors = m->rerrors;
	t->rtables = m->rtables;
	t->rtables_dropped = m->rtables_dropped;
	t->rkeys_dropped = m->rkeys_dropped;
	t->statements_traced = pg_atomic_read_u64(&m->trace_next);
	t->traces_lost = pg_atomic_read_u64(&m->traces_lost);
}

/*
 * Write the header, the totals and the retired arrays to f; false on a
 * write error.
 */
static bool
write_stat_file(FILE *f)
{
	StewardMetricsShared *m = steward_metrics;
	StewardStatHeader h;
	StewardStatTotals t;
	const void *parts[4];
	size_t		sizes[4];
	int			i;

	stat_header(&h);
	stat_totals(&t);
	parts[0] = &t;
	sizes[0] = sizeof(t);
	parts[1] = m->retired_keys;
	sizes[1] = sizeof(StewardQueryCounters) * m->rkeys;
	parts[2] = m->retired_errors;
	sizes[2] = sizeof(StewardErrorCounters) * m->rerrors;
	parts[3] = steward_retired_tables();
	sizes[3] = sizeof(StewardTableCounters) * m->rtables;
	INIT_CRC32C(h.payload_crc);
	for (i = 0; i < 4; i++)
	{
		COMP_CRC32C(h.payload_crc, parts[i], sizes[i]);
		h.payload_size += sizes[i];
	}
	FIN_CRC32C(h.payload_crc);
	if (fwrite(&h, sizeof(h), 1, f) != 1)
		return false;
	for (i = 0; i < 4; i++)
		if (sizes[i] > 0 && fwrite(parts[i], sizes[i], 1, f) != 1)
			return false;
	return true;
}

/*
 * Write the totals at postmaster shutdown (all backends have retired;
 * what a slot still holds is folded in first).
 */
static void
metrics_save(int code, Datum arg)
{
	StewardMetricsShared *m = steward_metrics;
	FILE	   *f;
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
		retire_slot(steward_slot(i));
	f = AllocateFile(STEWARD_STAT_FILE ".tmp", PG_BINARY_W);
	if (f == NULL || !write_stat_file(f) || FreeFile(f) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", STEWARD_STAT_FILE ".tmp"),
				 errhint("pg_steward's query metrics start from zero at the next start.")));
		unlink(STEWARD_STAT_FILE ".tmp");
		return;
	}
	(void) durable_rename(STEWARD_STAT_FILE ".tmp", STEWARD_STAT_FILE, LOG);
}

/*
 * Read the totals and retired arrays of a file whose header matched into
 * shared memory, checking counts and the CRC; false when they are wrong.
 */
static bool
read_stat_payload(FILE *f, const StewardStatHeader *h)
{
	StewardMetricsShared *m = steward_metrics;
	StewardStatTotals t;
	pg_crc32c	crc;

	if (fread(&t, sizeof(t), 1, f) != 1 ||
		t.rkeys < 0 || t.rkeys > STEWARD_RETIRED_KEYS ||
		t.rerrors < 0 || t.rerrors > STEWARD_RETIRED_ERRORS ||
		t.rtables < 0 || t.rtables > m->max_tables ||
		h->payload_size != sizeof(t) + sizeof(StewardQueryCounters) * t.rkeys +
		sizeof(StewardErrorCounters) * t.rerrors + sizeof(StewardTableCounters) * t.rtables ||
		fread(m->retired_keys, sizeof(StewardQueryCounters), t.rkeys, f) != (size_t) t.rkeys ||
		fread(m->retired_errors, sizeof(StewardErrorCounters), t.rerrors, f) != (size_t) t.rerrors ||
		fread(steward_retired_tables(), sizeof(StewardTableCounters), t.rtables, f) != (size_t) t.rtables ||
		fgetc(f) != EOF)
		return false;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &t, sizeof(t));
	COMP_CRC32C(crc, m->retired_keys, sizeof(StewardQueryCounters) * t.rkeys);
	COMP_CRC32C(crc, m->retired_errors, sizeof(StewardErrorCounters) * t.rerrors);
	COMP_CRC32C(crc, steward_retired_tables(), sizeof(StewardTableCounters) * t.rtables);
	FIN_CRC32C(crc);
	if (!EQ_CRC32C(crc, h->payload_crc))
		return false;
	m->since = t.since;
	m->rkeys = t.rkeys;
	m->rerrors = t.rerrors;
	m->rtables = t.rtables;
	m->rtables_dropped = t.rtables_dropped;
	m->rkeys_dropped = t.rkeys_dropped;
	pg_atomic_write_u64(&m->trace_next, t.statements_traced);
	pg_atomic_write_u64(&m->traces_lost, t.traces_lost);
	return true;
}

/*
 * Read the totals a clean shutdown saved, then remove the file so that a
 * crash later starts from zero.  A file of another layout, PostgreSQL
 * major or steward.max_tables, or a damaged one, is ignored (LOG).
 */
static void
metrics_load(void)
{
	FILE	   *f = AllocateFile(STEWARD_STAT_FILE, PG_BINARY_R);
	StewardStatHeader h;
	const char *field = NULL;
	uint32		got,
				want;
	size_t		n;

	if (f == NULL)
		return;
	n = fread(&h, 1, sizeof(h), f);
	if (n != sizeof(h))
	{
		field = "header size";
		got = (uint32) n;
		want = sizeof(h);
	}
	else
		field = stat_header_mismatch(&h, &got, &want);
	if (field != NULL)
		ereport(LOG,
				(errmsg("ignoring pg_steward metrics file \"%s\" written by another server layout",
						STEWARD_STAT_FILE),
				 errdetail("Its %s is %u, this server's is %u.", field, got, want),
				 errhint("The query metrics start from zero.")));
	else if (!read_stat_payload(f, &h))
	{
		ereport(LOG,
				(errmsg("ignoring damaged pg_steward metrics file \"%s\"", STEWARD_STAT_FILE),
				 errdetail("Its contents do not match its length or checksum."),
				 errhint("The query metrics start from zero.")));
		steward_metrics->rkeys = steward_metrics->rerrors = steward_metrics->rtables = 0;
	}
	FreeFile(f);
	unlink(STEWARD_STAT_FILE);
}

/*
 * Ask for the shared area and the locks: one metrics lock, and one lock
 * per slot (MaxBackends is known by now).
 */
static void
metrics_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(metrics_size());
	RequestNamedLWLockTranche("pg_steward", 1);
	RequestNamedLWLockTranche("pg_steward_slot", MaxBackends);
}

/*
 * Lay out a new shared area (postmaster): sizes, locks, counters, and
 * the totals of the save file.
 */
static void
metrics_shmem_create(Size size)
{
	StewardMetricsShared *m = steward_metrics;
	LWLockPadded *slot_locks = GetNamedLWLockTranche("pg_steward_slot");
	int			i;

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
	pg_atomic_init_u64(&m->slow_next, 0);
	pg_atomic_init_u64(&m->traces_lost, 0);
	pg_atomic_init_u32(&m->generation, 1);
	for (i = 0; i < m->nslots; i++)
		steward_slot(i)->lock = &slot_locks[i].lock;
	trace_base = (char *) steward_slot(m->nslots);
	for (i = 0; i < m->trace_size + STEWARD_SLOW_ENTRIES; i++)
		pg_atomic_init_u32(&steward_trace_entry(i)->changecount, 0);
	metrics_load();
}

/*
 * Create (postmaster) or attach to the shared area.
 */
static void
metrics_shmem_startup(void)
{
	bool		found;
	Size		size = metrics_size();

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	steward_metrics = ShmemInitStruct("pg_steward metrics", size, &found);
	if (!found)
		metrics_shmem_create(size);
	trace_base = (char *) steward_slot(steward_metrics->nslots);
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
