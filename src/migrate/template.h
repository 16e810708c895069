/*-------------------------------------------------------------------------
 *
 * template.h
 *		Expansion of {{schema}} and {{tables.name}} in migration scripts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_TEMPLATE_H
#define STEWARD_TEMPLATE_H

#include "common/common.h"

extern char *steward_expand_templates(const char *script, const char *schema);

#endif							/* STEWARD_TEMPLATE_H */
