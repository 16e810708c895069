/*-------------------------------------------------------------------------
 *
 * fingerprint.h
 *		Incremental schema fingerprints taken after each migration.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_FINGERPRINT_H
#define STEWARD_FINGERPRINT_H

#include "postgres.h"

#include "nodes/pg_list.h"

extern void steward_fingerprint_begin(void);
extern void steward_fingerprint_note(List *objs, bool dropped);
extern void steward_fingerprint_refresh(const char *module, const char *version);
extern char *steward_fingerprint_dbid(void);

#endif							/* STEWARD_FINGERPRINT_H */
