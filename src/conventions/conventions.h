/*-------------------------------------------------------------------------
 *
 * conventions.h
 *		The public header of src/conventions/: naming conventions of
 *		managed schemas and the columns injected into their tables.
 *
 * Conventions react to DDL through listeners registered with the
 * dispatcher in common/; no other concern calls into them, so the public
 * face is the initialiser alone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_CONVENTIONS_H
#define STEWARD_CONVENTIONS_H

#include "postgres.h"

/* Register steward.conventions and the DDL listeners. */
extern void steward_conventions_init(void);

#endif							/* STEWARD_CONVENTIONS_H */
