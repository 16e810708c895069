/*-------------------------------------------------------------------------
 *
 * sqlcheck.h
 *		Refuse migration scripts PostgreSQL cannot run in a transaction.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_SQLCHECK_H
#define STEWARD_SQLCHECK_H

#include "common/common.h"

/* The first line that marks a script as a no-transaction step */
#define STEWARD_NO_TRANSACTION_MARK "-- steward:no-transaction"

extern const char *steward_script_problem(const char *sql, bool transactional);
extern bool steward_script_no_transaction(const char *sql);

#endif							/* STEWARD_SQLCHECK_H */
