/*-------------------------------------------------------------------------
 *
 * conventions_int.h
 *		Private to src/conventions/: policies and the listeners that
 *		conventions.c and inject.c share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_CONVENTIONS_INT_H
#define STEWARD_CONVENTIONS_INT_H

#include "common/common.h"
#include "conventions/conventions.h"

#include "nodes/parsenodes.h"

/* One row of steward.schema_policies. */
typedef struct StewardPolicy
{
	char	   *schema;
	char	   *prefix;
	bool		plural;
	bool		inject;
	bool		audit;
	char		mode;			/* 'e'nforce, 'w'arn, 'o'ff */
	char	   *id_column;
	char	   *created_column;
	char	   *updated_column;
	char	   *href_template;	/* NULL: no href column */
	List	   *inject_exclude; /* LIKE patterns (char *) of table names */
} StewardPolicy;

extern bool steward_conventions;
extern bool steward_inject;

extern StewardPolicy *steward_policy_for(Oid nspoid);
extern bool steward_relation_managed(Oid relid, StewardPolicy **policy);
extern List *steward_command_tables(EventTriggerData *trig, List *objs);

/* conventions.c: listeners (see common.h for the order) */
extern bool steward_conventions_ddl_start(EventTriggerData *trig, List *objs);
extern bool steward_conventions_ddl_end(EventTriggerData *trig, List *objs);

/* inject.c: the ProcessUtility hook, listeners and opt-outs */
extern void steward_inject_init(void);
extern bool steward_inject_wanted(StewardPolicy *p, const char *table);
extern void steward_inject_into_create(CreateStmt *stmt, StewardPolicy *p);
extern bool steward_inject_ddl_end(EventTriggerData *trig, List *objs);

#endif							/* STEWARD_CONVENTIONS_INT_H */
