/*-------------------------------------------------------------------------
 *
 * drift_int.h
 *		Private to src/drift/: what its files share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_DRIFT_INT_H
#define STEWARD_DRIFT_INT_H

#include "common/common.h"
#include "drift/drift.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"

/* capture.c */
extern void steward_capture_init(void);
extern bool steward_capture_objects(EventTriggerData *trig, List *objs);

/* guard.c */
extern bool steward_allow_ddl;
extern void steward_guard_init(void);

/* publication.c */
extern bool steward_publication_objects(EventTriggerData *trig, List *objs);
extern bool steward_guard_start(EventTriggerData *trig, List *objs);
extern bool steward_guard_objects(EventTriggerData *trig, List *objs);

/* rewrite_guard.c, rewrite_rules.c: the rewrite guard inside migrations */

/* What a statement would do to one table, and the safe way to do it. */
typedef struct RewriteRisk
{
	const char *action;			/* "rewrite" or "scan" */
	char	   *cause;			/* a sentence: what in the statement does it */
	char	   *hint;			/* the safe pattern, as SQL */
} RewriteRisk;

/* The table a statement names, as the statement resolved it. */
typedef struct GuardTable
{
	Oid			relid;
	const char *relname;
	const char *qname;			/* schema-qualified and quoted */
	const char *query;			/* the statement's query string */
} GuardTable;

extern void steward_rewrite_guard_init(void);
extern RewriteRisk *steward_rewrite_risk(const char *action, char *cause, char *hint);
extern RewriteRisk *steward_judge_alter_cmds(Relation rel, List *cmds, const GuardTable *t);
extern RewriteRisk *steward_judge_attach(Relation parent, Relation attachrel, Relation defaultrel,
										 PartitionCmd *cmd, const char *query, int64 *bytes,
										 Oid *scanned);
extern int64 steward_table_bytes(Relation rel);

/* fingerprint.c */
/* deparse.c: the deparsed parts of an object, JSON helpers */
extern Jsonb *steward_deparse_parts(Oid classid, Oid objid);
extern HeapTuple steward_catalog_row(Oid classid, Oid objid);
extern List *steward_catalog_rows(Oid catalogid, Oid indexid, AttrNumber keycol, Oid key,
								  TupleDesc *desc);
extern List *steward_oid_array_list(Datum array);
extern void steward_json_key(StringInfo buf, const char *key);
extern void steward_json_member(StringInfo buf, const char *key, const char *value);

extern void steward_fingerprint_begin(void);
extern bool steward_fingerprint_on_end(EventTriggerData *trig, List *objs);
extern bool steward_fingerprint_on_drop(EventTriggerData *trig, List *objs);
extern void steward_fingerprint_refresh(const char *module, const char *version);
extern void steward_fingerprint_stamped(const char *schema, const char *module,
										const char *version);
extern void steward_fingerprint_outside_done(const char *module, const char *version);

/* catalog.c: writes of steward.fingerprints */
extern void steward_relink_fingerprints(const char *dbid);
extern void steward_store_fingerprints(const char *module, const char *version,
									   List *rels, List *cons, List *trgs, List *procs,
									   List *types, List *dropped_idents, const char *dbid);
extern void steward_store_step_fingerprints(const char *module, const char *version,
											const char *dbid);
extern void steward_snapshot_fingerprints(const char *schema, const char *module,
										  const char *version, const char *dbid);

#endif							/* STEWARD_DRIFT_INT_H */
