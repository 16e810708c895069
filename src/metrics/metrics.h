/*-------------------------------------------------------------------------
 *
 * metrics.h
 *		The public header of src/metrics/: query metrics in shared memory,
 *		read through views and Prometheus text.
 *
 * Metrics are reached through hooks and SQL functions only; no other
 * concern calls into them, so the public face is the initialiser alone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_METRICS_H
#define STEWARD_METRICS_H

#include "postgres.h"

/* Register the settings; when preloaded, shared memory and the hooks. */
extern void steward_metrics_init(void);

#endif							/* STEWARD_METRICS_H */
