/*-------------------------------------------------------------------------
 *
 * inflect.h
 *		English plural and singular of the last word of a snake_case name.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_INFLECT_H
#define STEWARD_INFLECT_H

#include "common/common.h"

extern char *steward_pluralize(const char *name);
extern char *steward_singularize(const char *name);
extern bool steward_is_plural(const char *name);

#endif							/* STEWARD_INFLECT_H */
