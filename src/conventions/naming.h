/*-------------------------------------------------------------------------
 *
 * naming.h
 *		Standard names of tables, indexes, constraints and sequences.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_NAMING_H
#define STEWARD_NAMING_H

#include "common/common.h"

#include "nodes/pg_list.h"

extern bool steward_is_snake(const char *name);
extern char *steward_snake_case(const char *name);
extern char *steward_fit_name(const char *full);
extern char *steward_compose_name(const char *kind, const char *table, List *cols,
								  const char *ref);
extern char *steward_suggest_table_name(const char *name, const char *prefix, bool plural);
extern char *steward_constraint_standard_name(Oid conoid);
extern char *steward_index_standard_name(Oid indexoid);
extern char *steward_sequence_standard_name(Oid seqoid);
extern bool steward_name_acceptable(const char *name, const char *standard);
extern bool steward_index_name_acceptable(const char *name, const char *standard);

#endif							/* STEWARD_NAMING_H */
