/*-------------------------------------------------------------------------
 *
 * audit.h
 *		The public header of src/audit/: the C audit trigger, its per-table
 *		cache, row encoder and log writer, and touch_updated.
 *
 * Audit is reached from SQL only (triggers that enable_audit and injection
 * attach) and from the DDL dispatcher, through the listener its init
 * registers (partitions get their parent's triggers); no other concern
 * calls into it, so its public face is its initialiser alone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_AUDIT_H
#define STEWARD_AUDIT_H

#include "postgres.h"

/*
 * Register the invalidation callbacks of the cache and the writer, and the
 * partitions' DDL listener.
 */
extern void steward_audit_init(void);

#endif							/* STEWARD_AUDIT_H */
