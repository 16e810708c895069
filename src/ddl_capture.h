/*-------------------------------------------------------------------------
 *
 * ddl_capture.h
 *		Writing DDL commands into steward.ddl_log.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_DDL_CAPTURE_H
#define STEWARD_DDL_CAPTURE_H

#include "postgres.h"

#include "commands/event_trigger.h"
#include "nodes/pg_list.h"

extern bool steward_ddl_capture;

extern void steward_ddl_capture_init(void);
extern void steward_capture_objects(EventTriggerData *trig, List *objs);

#endif							/* STEWARD_DDL_CAPTURE_H */
