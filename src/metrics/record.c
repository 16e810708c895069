/*-------------------------------------------------------------------------
 *
 * record.c
 *		Write a statement that ended into this backend's slot and into the
 *		rings of recent and slow statements.
 *
 * Recording runs at ExecutorEnd and at the end of a utility statement,
 * but also inside error handling (a statement that fails is recorded as
 * the error passes our hooks), from emit_log_hook and from the memory
 * context callback of a query that an abort ends.  So nothing here may
 * allocate, raise an error or wait for anything but the slot's own lock:
 * whatever can fail (finding a table's position in the slot, allocating
 * the text buffer) is done beforehand, at the statement's start or at
 * the first statement of the session.  A slot write is one LWLock section
 * of plain stores; it cannot be left half done.
 *
 * A failure's message is only known in emit_log_hook, after the error has
 * passed our hooks: the ring entries of failures recorded without it are
 * remembered and get it there (steward_patch_messages).
 *
 *-------------------------------------------------------------------------
 */
#include "metrics_int.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include "catalog/pg_class.h"
#include "libpq/libpq-be.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* this backend holds its slot's lock */
static bool writing = false;

/* Backend-local cache of the slot's key per command, and its generation. */
static uint32 cache_generation = 0;
static int	key_cache[STEWARD_NCMDS] = {-1, -1, -1, -1, -1, -1};

/*
 * Where each (database, table, command) this backend has seen lives in its
 * slot's tables (pos), or -1 when the slot had no room.  Positions never
 * change while the backend lives: statements keep them from start to end.
 */
typedef struct TableKey
{
	Oid			dbid;
	Oid			relid;
	int			cmd;
} TableKey;

typedef struct TableIndexEntry
{
	TableKey	key;
	int			pos;			/* -2: not placed yet */
	uint64		stamp;			/* last statement that listed it */
} TableIndexEntry;

static HTAB *table_index = NULL;
static uint64 statement_stamp = 0;

#define TABLE_CACHE 64
typedef struct TableCacheEntry
{
	Oid			relid;
	int			cmd;
	TableIndexEntry *entry;
} TableCacheEntry;

static TableCacheEntry table_cache[TABLE_CACHE];

/* Ring entries of failures that wait for their message. */
#define MAX_AWAITING 8
typedef struct Awaiting
{
	StewardTraceEntry *entry;
	uint64		seq;
	int			sqlstate;
} Awaiting;

static Awaiting awaiting[MAX_AWAITING];
static int	nawaiting = 0;

/* What every ring entry of this backend repeats, found once. */
static bool identity_known = false;
static bool my_has_addr = false;
static inet_struct my_addr;
static char *text_buffer = NULL;	/* query_len + 1 */

/*
 * Find, once per backend, what its ring entries repeat (the client
 * address) and allocate the buffer a statement's text is prepared in, so
 * that recording itself never allocates.  Called at a statement's start,
 * and by emit_log_hook for a session whose first statement failed before
 * it started: so it cannot raise an error, and returns false when memory
 * is short (nothing is recorded then).
 */
bool
steward_prepare_recording(void)
{
	struct sockaddr_storage *sa;

	if (identity_known)
		return true;
	if (text_buffer == NULL)
		text_buffer = MemoryContextAllocExtended(TopMemoryContext,
												 steward_metrics->query_len + 1,
												 MCXT_ALLOC_NO_OOM);
	if (text_buffer == NULL)
		return false;
	memset(&my_addr, 0, sizeof(my_addr));
	sa = MyProcPort ? &MyProcPort->raddr.addr : NULL;
	if (sa && sa->ss_family == AF_INET)
	{
		my_addr.family = PGSQL_AF_INET;
		my_addr.bits = 32;
		memcpy(my_addr.ipaddr, &((struct sockaddr_in *) sa)->sin_addr, 4);
		my_has_addr = true;
	}
	else if (sa && sa->ss_family == AF_INET6)
	{
		my_addr.family = PGSQL_AF_INET6;
		my_addr.bits = 128;
		memcpy(my_addr.ipaddr, &((struct sockaddr_in6 *) sa)->sin6_addr, 16);
		my_has_addr = true;
	}
	identity_known = true;
	return true;
}

/*
 * Take this backend's slot for writing: its own LWLock, exclusively.
 * After a reset by someone else (the generation moved) the counters are
 * zeroed first; table entries keep their places, with zero counters.
 * NULL when there is no slot, or when this backend already writes it.
 */
StewardSlot *
steward_begin_write(void)
{
	StewardSlot *slot;
	uint32		gen;
	int			i;

	if (writing || !identity_known || (slot = steward_my_slot()) == NULL)
		return NULL;
	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	writing = true;
	gen = pg_atomic_read_u32(&steward_metrics->generation);
	if (slot->generation != gen)
	{
		slot->nkeys = slot->nerrors = 0;
		slot->tables_dropped = slot->keys_dropped = 0;
		for (i = 0; i < slot->ntables; i++)
		{
			slot->tables[i].calls = slot->tables[i].rows = 0;
			slot->tables[i].total_ms = 0;
		}
		slot->generation = gen;
	}
	if (cache_generation != gen)
	{
		for (i = 0; i < STEWARD_NCMDS; i++)
			key_cache[i] = -1;
		cache_generation = gen;
	}
	return slot;
}

void
steward_end_write(StewardSlot *slot)
{
	writing = false;
	LWLockRelease(slot->lock);
}

/* Whether this backend is inside a slot write (for emit_log_hook). */
bool
steward_writing(void)
{
	return writing;
}

/*
 * The slot's entry for (this database, userid, cmd), or NULL when the
 * slot's entries are used up (the statement is counted as dropped).
 */
static StewardQueryCounters *
key_for(StewardSlot *slot, Oid userid, int cmd)
{
	int			i = key_cache[cmd];
	StewardQueryCounters *k;

	if (i >= 0 && i < slot->nkeys && slot->keys[i].userid == userid &&
		slot->keys[i].dbid == MyDatabaseId && slot->keys[i].cmd == cmd)
		return &slot->keys[i];
	k = steward_query_entry(slot->keys, &slot->nkeys, STEWARD_SLOT_KEYS,
							MyDatabaseId, userid, cmd);
	if (k == NULL)
	{
		slot->keys_dropped++;
		return NULL;
	}
	key_cache[cmd] = k - slot->keys;
	return k;
}

/*
 * The backend-local index entry of (this database, relid, cmd), created
 * unplaced when new (this may allocate: called at a statement's start).
 * A small direct-mapped cache in front of the hash serves the tables a
 * backend keeps using without hashing.
 */
static TableIndexEntry *
table_entry(Oid relid, int cmd)
{
	TableCacheEntry *c = &table_cache[(relid * 7 + cmd) % TABLE_CACHE];
	TableKey	key;
	TableIndexEntry *e;
	bool		found;

	if (c->relid == relid && c->cmd == cmd && c->entry != NULL)
		return c->entry;
	if (table_index == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(TableKey);
		ctl.entrysize = sizeof(TableIndexEntry);
		ctl.hcxt = TopMemoryContext;
		table_index = hash_create("pg_steward table index", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.relid = relid;
	key.cmd = cmd;
	e = hash_search(table_index, &key, HASH_ENTER, &found);
	if (!found)
	{
		e->pos = -2;
		e->stamp = 0;
	}
	c->relid = relid;
	c->cmd = cmd;
	c->entry = e;
	return e;
}

/*
 * Give a table seen for the first time a place in the slot (one write),
 * or -1 when the slot's tables are full.
 */
static void
place_table(TableIndexEntry *e)
{
	StewardSlot *slot = steward_begin_write();
	StewardTableCounters *t;

	if (slot == NULL || slot->ntables >= steward_metrics->max_tables)
		e->pos = -1;
	else
	{
		e->pos = slot->ntables;
		t = &slot->tables[e->pos];
		memset(t, 0, sizeof(*t));
		t->dbid = e->key.dbid;
		t->relid = e->key.relid;
		t->cmd = e->key.cmd;
		slot->ntables++;
	}
	if (slot)
		steward_end_write(slot);
}

/*
 * At a statement's start: the slot positions of every table its range
 * table reads or writes (each once; views are resolved to their base
 * tables by the planner), into r->tables (room for one per range table
 * entry).  New tables are placed in the slot now, so that recording needs
 * no lookup.
 */
void
steward_resolve_tables(StewardRunning *r, List *rtable)
{
	ListCell   *lc;

	r->ntables = r->tdropped = 0;
	statement_stamp++;
	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		TableIndexEntry *e;

		if (rte->rtekind != RTE_RELATION || rte->relkind == RELKIND_VIEW)
			continue;
		e = table_entry(rte->relid, r->cmd);
		if (e->stamp == statement_stamp)
			continue;
		e->stamp = statement_stamp;
		if (e->pos == -2)
			place_table(e);
		if (e->pos >= 0)
			r->tables[r->ntables++] = e->pos;
		else
			r->tdropped++;
	}
}

/*
 * Add a statement to the slot: its key's counters and latency bucket,
 * and its tables.
 */
static void
add_counters(StewardSlot *slot, const StewardRunning *r, double ms, bool failed)
{
	StewardQueryCounters *k = key_for(slot, GetSessionUserId(), r->cmd);
	int			i;

	if (k)
	{
		if (k->calls == 0 || ms < k->min_ms)
			k->min_ms = ms;
		if (ms > k->max_ms)
			k->max_ms = ms;
		k->calls++;
		k->errors += failed;
		k->rows += r->rows;
		k->total_ms += ms;
		k->sumsq_ms += ms * ms;
		k->hist[steward_hist_bucket(ms)]++;
	}
	for (i = 0; i < r->ntables; i++)
	{
		StewardTableCounters *t = &slot->tables[r->tables[i]];

		t->calls++;
		t->rows += r->rows;
		t->total_ms += ms;
	}
	slot->tables_dropped += r->tdropped;
}

/*
 * Keep an error message (or none) in STEWARD_MESSAGE_LEN bytes, cut on a
 * character boundary.
 */
static inline void
copy_message(char *dst, const char *message)
{
	int			n;

	if (message == NULL)
	{
		dst[0] = '\0';			/* every statement that succeeds */
		return;
	}
	n = strlen(message);
	if (n >= STEWARD_MESSAGE_LEN)
		n = pg_mbcliplen(message, n, STEWARD_MESSAGE_LEN - 1);
	if (n > 0)
		memcpy(dst, message, n);
	dst[n] = '\0';
}

/*
 * Claim a ring entry for writing (its changecount from even to odd);
 * false when another backend is writing it (the ring wrapped around
 * meanwhile): the caller then leaves it, it never waits.
 */
static bool
claim_entry(StewardTraceEntry *e, uint32 *count)
{
	*count = pg_atomic_read_u32(&e->changecount);
	return (*count & 1) == 0 &&
		pg_atomic_compare_exchange_u32(&e->changecount, count, *count + 1);
}

static void
release_entry(StewardTraceEntry *e, uint32 count)
{
	pg_write_barrier();
	pg_atomic_write_u32(&e->changecount, count + 2);
}

/*
 * Write one ring entry (position pos of its ring) for a statement whose
 * text is prepared in text_buffer (textlen bytes).
 */
static void
put_entry(StewardTraceEntry *e, uint64 pos, const StewardRunning *r, double ms,
		  TimestampTz at, int sqlstate, const char *message, int textlen)
{
	uint32		count;

	if (!claim_entry(e, &count))
	{
		pg_atomic_fetch_add_u64(&steward_metrics->traces_lost, 1);
		return;
	}
	e->seq = pos + 1;
	e->at = at;
	e->pid = MyProcPid;
	e->dbid = MyDatabaseId;
	e->userid = GetSessionUserId();
	e->cmd = r->cmd;
	e->duration_ms = ms;
	e->rows = (int64) r->rows;
	e->sqlstate = sqlstate;
	e->queryid = r->queryid;
	e->has_addr = my_has_addr;
	e->client_addr = my_addr;
	strlcpy(e->application_name, application_name ? application_name : "", NAMEDATALEN);
	copy_message(e->message, message);
	memcpy(e->query, text_buffer, textlen + 1);
	release_entry(e, count);
	if (sqlstate != 0 && message == NULL && nawaiting < MAX_AWAITING)
	{
		awaiting[nawaiting].entry = e;
		awaiting[nawaiting].seq = pos + 1;
		awaiting[nawaiting].sqlstate = sqlstate;
		nawaiting++;
	}
}

/*
 * Put a statement into the ring of recent statements and, when it took at
 * least steward.slow_query_ms (failed or not), into the ring of slow ones.
 */
static void
trace(const StewardRunning *r, double ms, int sqlstate, const char *message)
{
	StewardMetricsShared *m = steward_metrics;
	bool		slow = steward_slow_query_ms >= 0 && ms >= steward_slow_query_ms;
	int			len;
	TimestampTz at;
	uint64		pos;

	if (m->trace_size == 0 && !slow)
		return;
	len = steward_statement_text(text_buffer, m->query_len, r->text, r->location, r->len,
								 r->queryid);
	at = GetCurrentTimestamp();
	if (m->trace_size > 0)
	{
		pos = pg_atomic_fetch_add_u64(&m->trace_next, 1);
		put_entry(steward_trace_entry((int) (pos % m->trace_size)), pos, r, ms, at,
				  sqlstate, message, len);
	}
	if (slow)
	{
		pos = pg_atomic_fetch_add_u64(&m->slow_next, 1);
		put_entry(steward_slow_entry((int) (pos % STEWARD_SLOW_ENTRIES)), pos, r, ms, at,
				  sqlstate, message, len);
	}
}

/*
 * Record a statement that ended: succeeded (sqlstate 0) or failed, with
 * its message when known.  A statement whose command is not known (it
 * failed in parse analysis or planning) goes only into the rings.
 */
void
steward_record(StewardRunning *r, int sqlstate, const char *message)
{
	double		ms = r->elapsed_ms;
	StewardSlot *slot;

	r->recorded = true;
	if (!identity_known)
		return;
	if (r->cmd != STEWARD_CMD_NONE && (slot = steward_begin_write()) != NULL)
	{
		add_counters(slot, r, ms, sqlstate != 0);
		steward_end_write(slot);
	}
	trace(r, ms, sqlstate, message);
}

/*
 * Count a failure reported to the client by (database, SQLSTATE), with
 * its message and the session user it belongs to.
 */
void
steward_record_error(int sqlstate, const char *message)
{
	StewardSlot *slot = steward_begin_write();
	StewardErrorCounters *e;

	if (slot == NULL)
		return;
	e = steward_error_entry(slot->errors, &slot->nerrors, STEWARD_SLOT_ERRORS,
							MyDatabaseId, sqlstate);
	if (e != NULL)
	{
		e->count++;
		e->last_at = GetCurrentTimestamp();
		e->last_userid = GetSessionUserId();
		copy_message(e->last_message, message);
	}
	steward_end_write(slot);
}

/*
 * Give the ring entries of failures recorded since the last call their
 * message (those of the same SQLSTATE, whose entry was not overwritten).
 */
void
steward_patch_messages(int sqlstate, const char *message)
{
	int			i;

	for (i = 0; i < nawaiting; i++)
	{
		StewardTraceEntry *e = awaiting[i].entry;
		uint32		count;

		if (awaiting[i].sqlstate != sqlstate || !claim_entry(e, &count))
			continue;
		if (e->seq == awaiting[i].seq)
			copy_message(e->message, message);
		release_entry(e, count);
	}
	nawaiting = 0;
}

/* Whether failures recorded since the last call wait for a message. */
bool
steward_messages_awaited(void)
{
	return nawaiting > 0;
}

/* Forget the failures waiting for a message (a new statement starts). */
void
steward_forget_messages(void)
{
	nawaiting = 0;
}

/*
 * Log2 latency bucket of a duration: bucket 0 is below 1us, bucket k holds
 * [2^(k-1), 2^k) us, the last one everything above.
 */
int
steward_hist_bucket(double ms)
{
	double		us = ms * 1000.0;

	if (!(us >= 1.0))
		return 0;
	if (us >= (double) (UINT64CONST(1) << (STEWARD_HIST_BUCKETS - 2)))
		return STEWARD_HIST_BUCKETS - 1;
	return pg_leftmost_one_pos64((uint64) us) + 1;
}
