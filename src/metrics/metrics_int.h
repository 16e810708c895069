/*-------------------------------------------------------------------------
 *
 * metrics_int.h
 *		Private to src/metrics/: the shared-memory layout used by shmem.c
 *		(allocation, slots, persistence), hooks.c (recording) and
 *		views.c (reading); settings in metrics.c.
 *
 * Every backend owns one slot, indexed by its BackendId, and is the only
 * writer of it: the hot path takes no lock shared by all backends.  A
 * slot's changecount is odd while its owner writes; readers copy a slot
 * and retry if the count moved (as PgBackendStatus does).  When a backend
 * exits its counters are folded into the "retired" totals under a lock.
 * The ring of recent statements is shared: a writer claims a position
 * with one atomic fetch-and-add, and each entry has its own changecount.
 * Slow statements take the metrics lock, but only when they are slow.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_METRICS_INT_H
#define STEWARD_METRICS_INT_H

#include "common/common.h"
#include "metrics/metrics.h"

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/inet.h"

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
#define STEWARD_MESSAGE_LEN		128

extern const char *const steward_command_names[STEWARD_NCMDS];

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

typedef struct StewardErrorCounters
{
	Oid			dbid;
	int			sqlstate;		/* MAKE_SQLSTATE code */
	int64		count;
	TimestampTz last_at;
	char		last_message[STEWARD_MESSAGE_LEN];
} StewardErrorCounters;

/* One backend's counters.  Followed by max_tables StewardTableCounters. */
typedef struct StewardSlot
{
	pg_atomic_uint32 changecount;
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
	pg_atomic_uint32 changecount;
	TimestampTz at;
	int			pid;
	Oid			dbid;
	Oid			userid;
	int			cmd;
	double		duration_ms;
	int64		rows;
	int			sqlstate;		/* 0 = success */
	bool		has_addr;
	inet_struct client_addr;
	char		application_name[NAMEDATALEN];
	char		query[FLEXIBLE_ARRAY_MEMBER];	/* max_query_length + 1 */
} StewardTraceEntry;

/* The shared area. */
typedef struct StewardMetricsShared
{
	LWLock	   *lock;			/* retired totals, slow ring, reset */
	pg_atomic_uint32 generation;	/* bumped by reset; older slots are stale */
	TimestampTz since;
	pg_atomic_uint64 trace_next;
	int			slow_next;
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

extern StewardMetricsShared *steward_metrics;

/* GUCs */
extern bool steward_metrics_enabled;
extern bool steward_track_utility;
extern bool steward_track_nested;
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
extern int	steward_hist_bucket(double ms);

/* hooks.c */
extern void steward_metrics_hooks_init(void);

#endif							/* STEWARD_METRICS_INT_H */
