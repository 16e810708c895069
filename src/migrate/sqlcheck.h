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

extern const char *steward_nontransactional_statement(const char *sql);

#endif							/* STEWARD_SQLCHECK_H */
