/*-------------------------------------------------------------------------
 *
 * audit_int.h
 *		Private to src/audit/: what is known about an audited table
 *		(target.c, cached across statements) and the writer of
 *		steward.audit_log rows (writer.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_AUDIT_INT_H
#define STEWARD_AUDIT_INT_H

#include "common/common.h"
#include "audit/audit.h"

#include "access/heapam.h"
#include "row_json.h"
#include "commands/trigger.h"
#include "nodes/execnodes.h"

/*
 * What one audit trigger needs to know about its table, built on its first
 * statement and kept until the table, a type, a cast or a schema changes.
 * Lives in its own memory context (cxt), the struct included.
 */
typedef struct AuditTarget
{
	Oid			tgoid;			/* the trigger */
	Oid			relid;			/* the table it fires on */
	Oid			logas;			/* the table its rows are logged under: relid,
								 * or an audited ancestor of it */
	int			nancestors;		/* relid's partition ancestors, whose */
	Oid		   *ancestors;		/* changes may change logas */
	MemoryContext cxt;
	bool		valid;			/* false once invalidated */
	int			refcount;		/* statements using it right now */
	int			natts;
	RowJsonPlan *json;			/* renders the audited (not excluded) columns */
	bool		diff;			/* mode 'diff': only changed columns */
	bool	   *excluded;		/* per attribute */
	Datum	   *names;			/* per attribute: its name as text */
	int			npk;			/* primary key columns, for row_id */
	AttrNumber *pk;
	FmgrInfo   *pk_out;
	Datum		schema_name;	/* name datums of logas */
	Datum		table_name;
	bool		shard;			/* a Citus shard, logged as its table */
	bool		silent;			/* a copy of a shard that another node logs */
} AuditTarget;

extern AuditTarget *audit_target_acquire(TriggerData *td);
extern void audit_target_release(AuditTarget *target);
extern void audit_target_init(void);
extern void audit_writer_init(void);

/* partition.c: partitions, and TRUNCATE of a partition tree */
extern bool audit_trigger_args(Oid relid, List **args);
extern Oid	audit_log_relation(Relation rel, List **ancestors);
extern Datum audit_partition_note(Relation rel);
extern void audit_truncate_begin(Relation rel);
extern bool audit_truncate_covered(Relation rel);
extern void audit_partition_init(void);

/* Columns of steward.audit_log, in table order. */
enum
{
	AL_ID, AL_AT, AL_TXID, AL_RELID, AL_SCHEMA, AL_TABLE, AL_OP, AL_ROW_ID, AL_OLD, AL_NEW,
	AL_CHANGED, AL_DB_USER, AL_ROLE, AL_APPNAME, AL_CLIENT, AL_MODULE, AL_VERSION, AL_NATTS
};

/* Writes the log rows of one statement. */
typedef struct AuditWriter
{
	Relation	log;
	Oid			seqid;
	ResultRelInfo rri;			/* the log's indexes */
	bool		direct;			/* every index plain columns, checked at once */
	EState	   *estate;			/* otherwise: the executor's index insertion */
	TupleTableSlot *slot;
	BulkInsertState bistate;
	CommandId	cid;
	Datum		values[AL_NATTS];	/* the per-statement columns */
	bool		nulls[AL_NATTS];
	NameData	db_user;		/* copies: a nested statement may look up
								 * others */
	NameData	role;
} AuditWriter;

extern void audit_writer_open(AuditWriter *w, AuditTarget *target, const char *op, int64 rows);
extern void audit_writer_put(AuditWriter *w, Datum row_id, bool row_id_null, Datum old_row,
							 bool old_null, Datum new_row, bool new_null, Datum changed,
							 bool changed_null);
extern void audit_writer_close(AuditWriter *w);

#endif							/* STEWARD_AUDIT_INT_H */
