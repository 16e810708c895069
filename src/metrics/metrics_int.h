/*-------------------------------------------------------------------------
 *
 * metrics_int.h
 *		Private to src/metrics/: the shared-memory layout used by shmem.c
 *		(allocation, slots, persistence), record.c (writing a finished
 *		statement), hooks.c (following statements), normalize.c (query
 *		text), views.c and prometheus.c (reading); settings in metrics.c.
 *
 * Every backend owns one slot, indexed by its backend number, and is the
 * only writer of it.  A writer holds the slot's own LWLock (not one shared
 * by all backends) only while it adds counters: nothing between acquiring
 * and releasing it can fail, allocate or wait for anything else.  A reader
 * takes the metrics lock shared, copies each slot under the slot's lock,
 * releases both and only then merges.  When a backend exits its counters
 * are folded into the "retired" totals under the metrics lock.  The rings
 * of recent and slow statements are shared: a writer claims a position
 * with one atomic fetch-and-add and an entry with a compare-and-swap of
 * its changecount; readers skip an entry being written, they never wait.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_METRICS_INT_H
#define STEWARD_METRICS_INT_H

#include "common/common.h"
#include "metrics/metrics.h"

#include "datatype/timestamp.h"
#include "executor/execdesc.h"
#include "lib/ilist.h"
#include "port/atomics.h"
#include "portability/instr_time.h"
#include "storage/lwlock.h"
#include "utils/inet.h"
#include "utils/palloc.h"

#define STEWARD_CMD_NONE		(-1)	/* failed before its command was known */
#define STEWARD_CMD_SELECT		0
#define STEWARD_CMD_INSERT		1
#define STEWARD_CMD_UPDATE		2
#define STEWARD_CMD_DELETE		3
#define STEWARD_CMD_MERGE		4
#define STEWARD_CMD_UTILITY		5
#define STEWARD_NCMDS			6

#define STEWARD_HIST_BUCKETS	32	/* log2 of us: < 1us .. >= 2^30 us */
#define STEWARD_SLOT_KEYS		64	/* (database, user, command) per backend */
#define STEWARD_SLOT_ERRORS		16	/* (database, sqlstate) per backend */
#define STEWARD_RETIRED_KEYS	512
#define STEWARD_RETIRED_ERRORS	256
#define STEWARD_SLOW_ENTRIES	100
#define STEWARD_MESSAGE_LEN		256 /* bytes of an error message kept */

extern const char *const steward_command_names[STEWARD_NCMDS];

/*
 * Counters of one (database, session user, command).  calls counts every
 * statement that ended, failed ones included; errors those that failed.
 */
typedef struct StewardQueryCounters
{
	Oid			dbid;
	Oid			userid;
	int			cmd;
	int64		calls;
	int64		errors;
	int64		rows;
	double		total_ms;
	double		min_ms;
	double		max_ms;
	double		sumsq_ms;
	int64		hist[STEWARD_HIST_BUCKETS];
} StewardQueryCounters;

typedef struct StewardTableCounters
{
	Oid			dbid;
	Oid			relid;
	int			cmd;
	int64		calls;
	int64		rows;
	double		total_ms;
} StewardTableCounters;

/* Failures of one (database, SQLSTATE); the message is last_userid's. */
typedef struct StewardErrorCounters
{
	Oid			dbid;
	int			sqlstate;		/* MAKE_SQLSTATE code */
	int64		count;
	TimestampTz last_at;
	Oid			last_userid;	/* session user of the last failure */
	char		last_message[STEWARD_MESSAGE_LEN];
} StewardErrorCounters;

/*
 * One backend's counters.  Followed by max_tables StewardTableCounters.
 * Table entries are never removed while the backend lives (statements
 * running keep their positions); a reset zeroes their counters.
 */
typedef struct StewardSlot
{
	LWLock	   *lock;			/* held by the owner while it writes */
	uint32		generation;		/* metrics generation the counters belong to */
	int			pid;
	int			nkeys;
	int			nerrors;
	int			ntables;
	int64		tables_dropped;
	int64		keys_dropped;	/* statements not counted: no free key */
	StewardQueryCounters keys[STEWARD_SLOT_KEYS];
	StewardErrorCounters errors[STEWARD_SLOT_ERRORS];
	StewardTableCounters tables[FLEXIBLE_ARRAY_MEMBER];
} StewardSlot;

/* One statement in the ring of recent or slow statements. */
typedef struct StewardTraceEntry
{
	pg_atomic_uint32 changecount;	/* odd while one writer fills it */
	uint64		seq;			/* claimed position + 1; 0 = empty */
	TimestampTz at;
	int			pid;
	Oid			dbid;
	Oid			userid;			/* session user */
	int			cmd;
	double		duration_ms;
	int64		rows;
	int			sqlstate;		/* 0 = success */
	uint64		queryid;		/* 0 = none */
	bool		has_addr;
	inet_struct client_addr;
	char		application_name[NAMEDATALEN];
	char		message[STEWARD_MESSAGE_LEN];
	char		query[FLEXIBLE_ARRAY_MEMBER];	/* max_query_length + 1 */
} StewardTraceEntry;

/* The shared area. */
typedef struct StewardMetricsShared
{
	LWLock	   *lock;			/* retired totals, reset, readers' copies */
	pg_atomic_uint32 generation;	/* bumped by reset; older slots are stale */
	TimestampTz since;
	pg_atomic_uint64 trace_next;
	pg_atomic_uint64 slow_next;
	pg_atomic_uint64 traces_lost;	/* ring entries busy with another writer */
	int			nslots;
	int			max_tables;
	int			trace_size;
	int			query_len;
	Size		slot_size;
	Size		trace_entry_size;
	Size		total_size;
	/* retired totals (backends that exited), under lock */
	int			rkeys;
	int			rerrors;
	int			rtables;
	int64		rtables_dropped;
	int64		rkeys_dropped;
	StewardQueryCounters retired_keys[STEWARD_RETIRED_KEYS];
	StewardErrorCounters retired_errors[STEWARD_RETIRED_ERRORS];

	/*
	 * then: retired tables[max_tables], slots[nslots], trace[trace_size],
	 * slow[SLOW]
	 */
} StewardMetricsShared;

/*
 * A statement this backend follows from its start to its end (backend
 * local).  An executor statement's is taken from a free list at its start
 * and returned by the reset callback of its query's memory context, whose
 * deletion (ExecutorEnd, or the abort that ends the query without
 * ExecutorEnd) ends it; a utility statement's lives on the stack of the
 * ProcessUtility hook.  Everything recording needs is here: a statement
 * is recorded from this alone, also when its end is an abort.
 */
#define STEWARD_RUNNING_TABLES	8	/* table positions kept inline */

typedef struct StewardRunning
{
	dlist_node	node;			/* in the list of running statements */
	MemoryContextCallback cb;	/* on the query's memory context */
	QueryDesc  *qd;				/* NULL: a utility statement */
	int			cmd;
	bool		toplevel;
	bool		recorded;		/* counted already: only unlink it */
	int			depth;			/* calls of ours running it now */
	bool		open;			/* a stretch of execution is being timed */
	instr_time	since;			/* start of that stretch */
	double		elapsed_ms;		/* closed stretches */
	uint64		rows;
	uint64		queryid;
	const char *text;			/* source text (lives as long as the query) */
	int			location;
	int			len;
	int			ntables;
	int			tdropped;		/* tables without room in the slot */
	int		   *tables;			/* positions in the slot's tables */
	int			inline_tables[STEWARD_RUNNING_TABLES];
} StewardRunning;

extern StewardMetricsShared *steward_metrics;

/* GUCs */
extern bool steward_metrics_enabled;
extern bool steward_track_utility;
extern bool steward_track_nested;
extern bool steward_normalize_text;
extern int	steward_max_tables;
extern int	steward_slow_query_ms;
extern int	steward_trace_size;
extern int	steward_max_query_length;
extern bool steward_metrics_save;

/* shmem.c */
extern void steward_metrics_shmem_init(void);
extern StewardTableCounters *steward_retired_tables(void);
extern StewardSlot *steward_slot(int i);
extern StewardSlot *steward_my_slot(void);
extern StewardTraceEntry *steward_trace_entry(int i);
extern StewardTraceEntry *steward_slow_entry(int i);
extern void steward_metrics_require(void);
extern StewardQueryCounters *steward_query_entry(StewardQueryCounters *keys, int *n, int max,
												 Oid dbid, Oid userid, int cmd);
extern StewardErrorCounters *steward_error_entry(StewardErrorCounters *errors, int *n, int max,
												 Oid dbid, int sqlstate);
extern bool steward_add_query(StewardQueryCounters *keys, int *n, int max,
							  const StewardQueryCounters *from);
extern bool steward_add_error(StewardErrorCounters *errors, int *n, int max,
							  const StewardErrorCounters *from);
extern bool steward_add_table(StewardTableCounters *tables, int *n, int max,
							  const StewardTableCounters *from);
extern double steward_bucket_le_ms(int b);

/* record.c */
extern bool steward_prepare_recording(void);
extern StewardSlot *steward_begin_write(void);
extern void steward_end_write(StewardSlot *slot);
extern bool steward_writing(void);
extern void steward_resolve_tables(StewardRunning *r, List *rtable);
extern void steward_record(StewardRunning *r, int sqlstate, const char *message);
extern void steward_record_error(int sqlstate, const char *message);
extern void steward_patch_messages(int sqlstate, const char *message);
extern bool steward_messages_awaited(void);
extern void steward_forget_messages(void);
extern int	steward_hist_bucket(double ms);

/*
 * Aggregated metrics, collected once per call of a reader (views.c).  The
 * arrays have room for every key and error there can be (the retired
 * totals plus every slot full); tables have room for twice max_tables.
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

/* views.c */
extern Collected *steward_collect(void);
extern bool steward_sees_all(void);
extern bool steward_can_see(Oid owner, bool see_all);
extern StewardQueryCounters *steward_histograms(Collected *c, int *n);

/* hooks.c */
extern void steward_metrics_hooks_init(void);
extern void steward_record_leftovers(void);

/* normalize.c */
struct JumbleState;
extern void steward_normalize_init(void);
extern int	steward_statement_text(char *dst, int cap, const char *text, int location,
								   int len, uint64 queryid);
extern void steward_stash_jumble(const char *text, int location, int len, uint64 queryid,
								 const struct JumbleState *jstate);
extern void steward_stash_utility_id(const char *text, int location, int len, uint64 queryid);
extern uint64 steward_utility_id(const char *text, int location, int len);

#endif							/* STEWARD_METRICS_INT_H */
