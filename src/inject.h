/*-------------------------------------------------------------------------
 *
 * inject.h
 *		Injected id/created/updated/href columns and triggers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_INJECT_H
#define STEWARD_INJECT_H

#include "postgres.h"

#include "commands/event_trigger.h"
#include "nodes/pg_list.h"

extern void steward_inject_ddl_end(EventTriggerData *trig, List *objs);

#endif							/* STEWARD_INJECT_H */
