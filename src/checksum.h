/*-------------------------------------------------------------------------
 *
 * checksum.h
 *		Checksums of migration scripts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_CHECKSUM_H
#define STEWARD_CHECKSUM_H

#include "postgres.h"

extern char *steward_script_checksum(const char *script, size_t len);

#endif							/* STEWARD_CHECKSUM_H */
