/*-------------------------------------------------------------------------
 *
 * version.h
 *		Natural ordering and validation of migration version strings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_VERSION_H
#define STEWARD_VERSION_H

#include "common/common.h"

#define STEWARD_VERSION_MAXLEN 100

extern bytea *steward_version_sort_key(const char *version);
extern int	steward_version_compare(const char *a, const char *b);
extern void steward_check_version(const char *version, const char *what);

#endif							/* STEWARD_VERSION_H */
