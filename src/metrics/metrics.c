/*-------------------------------------------------------------------------
 *
 * metrics.c
 *		The query metrics' settings and initialisation.
 *
 * Every steward.* metrics setting is defined here.  The sizes of shared
 * memory (max_tables, trace_size, max_query_length) exist only when the
 * library is preloaded; so do the shared memory (shmem.c) and the executor,
 * utility, parse-analysis and log hooks (hooks.c), which record what
 * statements did (record.c) with their text normalized (normalize.c).
 * The views (views.c) and the Prometheus text (prometheus.c) read it.
 * ARCHITECTURE.md describes the layout and the locking rules.
 *
 *-------------------------------------------------------------------------
 */
#include "metrics_int.h"

#include <limits.h>

#include "utils/guc.h"

bool		steward_metrics_enabled = true;
bool		steward_track_utility = true;
bool		steward_track_nested = false;
bool		steward_normalize_text = true;
int			steward_max_tables = 1000;
int			steward_slow_query_ms = 1000;
int			steward_trace_size = 200;
int			steward_max_query_length = 1024;
bool		steward_metrics_save = true;

/*
 * Register the metrics settings; when preloaded, the shared memory and
 * the hooks.
 */
void
steward_metrics_init(void)
{
	DefineCustomBoolVariable("steward.metrics", "Collect query metrics.", NULL,
							 &steward_metrics_enabled, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.track_utility", "Count utility statements (DDL, SET, ...).",
							 NULL, &steward_track_utility, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.track_nested",
							 "Count statements run inside functions and DO blocks.", NULL,
							 &steward_track_nested, false, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.normalize_text",
							 "Keep query text with its constants replaced by $n, as pg_stat_statements shows it.",
							 NULL, &steward_normalize_text, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.slow_query_ms",
							"Statements at least this slow are kept in steward.slow_queries; -1 disables.",
							NULL, &steward_slow_query_ms, 1000, -1, INT_MAX, PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.save", "Keep query metrics across a clean restart.", NULL,
							 &steward_metrics_save, true, PGC_SIGHUP, 0, NULL, NULL, NULL);
	/* the sizes of shared memory exist only when preloaded */
	if (!steward_preloaded)
		return;
	DefineCustomIntVariable("steward.max_tables",
							"Tables tracked per backend and in the totals; more are counted as dropped.",
							NULL, &steward_max_tables, 1000, 16, 100000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.trace_size", "Statements kept in steward.recent_queries.",
							NULL, &steward_trace_size, 200, 0, 100000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.max_query_length",
							"Bytes of query text kept per recent or slow statement.", NULL,
							&steward_max_query_length, 1024, 64, 65536, PGC_POSTMASTER, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	steward_metrics_shmem_init();
	steward_metrics_hooks_init();
}
