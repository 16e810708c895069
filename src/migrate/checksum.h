/*-------------------------------------------------------------------------
 *
 * checksum.h
 *		Checksums of migration scripts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_CHECKSUM_H
#define STEWARD_CHECKSUM_H

#include "common/common.h"

extern char *steward_script_checksum(const char *script, size_t len);

#endif							/* STEWARD_CHECKSUM_H */
