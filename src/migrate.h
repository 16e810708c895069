/*-------------------------------------------------------------------------
 *
 * migrate.h
 *		Migration runner: settings shared with the other units.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_MIGRATE_H
#define STEWARD_MIGRATE_H

extern int	steward_migration_lock_timeout;
extern int	steward_ddl_lock_timeout;

#endif							/* STEWARD_MIGRATE_H */
