/*-------------------------------------------------------------------------
 *
 * ddl_events.h
 *		The event-trigger dispatcher shared by every DDL-driven feature.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_DDL_EVENTS_H
#define STEWARD_DDL_EVENTS_H

#include "postgres.h"

#include "commands/event_trigger.h"
#include "nodes/pg_list.h"

/* One object a DDL command created, altered or dropped. */
typedef struct DdlObject
{
	Oid			classid;
	Oid			objid;
	int32		objsubid;
	char	   *command_tag;
	char	   *object_type;
	char	   *schema_name;		/* NULL for objects outside schemas */
	char	   *object_identity;
	bool		in_extension;
} DdlObject;

/*
 * Depth of DDL that pg_steward itself issues from an event trigger; the
 * dispatcher ignores events while it is > 0, so such DDL never recurses.
 */
extern int	steward_ddl_nesting;

extern bool steward_skipped_schema(const char *schema_name);

#endif							/* STEWARD_DDL_EVENTS_H */
