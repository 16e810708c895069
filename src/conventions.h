/*-------------------------------------------------------------------------
 *
 * conventions.h
 *		Naming conventions of managed schemas, enforced on DDL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_CONVENTIONS_H
#define STEWARD_CONVENTIONS_H

#include "postgres.h"

#include "commands/event_trigger.h"
#include "nodes/pg_list.h"

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

extern void steward_conventions_init(void);
extern StewardPolicy *steward_policy_for(Oid nspoid);
extern bool steward_relation_managed(Oid relid, StewardPolicy **policy);
extern void steward_conventions_ddl_start(EventTriggerData *trig);
extern bool steward_conventions_ddl_end(EventTriggerData *trig, List *objs);

#endif							/* STEWARD_CONVENTIONS_H */
