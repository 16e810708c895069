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
} StewardPolicy;

extern bool steward_conventions;

extern StewardPolicy *steward_policy_for(Oid nspoid);
extern bool steward_relation_managed(Oid relid, StewardPolicy **policy);

/* conventions.c: listeners (see common.h for the order) */
extern bool steward_conventions_ddl_start(EventTriggerData *trig, List *objs);
extern bool steward_conventions_ddl_end(EventTriggerData *trig, List *objs);

/* inject.c: listener */
extern bool steward_inject_ddl_end(EventTriggerData *trig, List *objs);

#endif							/* STEWARD_CONVENTIONS_INT_H */
