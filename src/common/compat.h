/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every difference between the PostgreSQL majors pg_steward supports
 *		(15 to 18), and nowhere else: macros and small inline functions
 *		named for what they do, so the rest of the tree reads as one
 *		version.  No other file may test PG_VERSION_NUM.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_COMPAT_H
#define STEWARD_COMPAT_H

#include "postgres.h"

#endif							/* STEWARD_COMPAT_H */
