-- Query metrics in shared memory: counts after a known workload.
SELECT steward.reset_metrics();
CREATE TABLE m_items (id int PRIMARY KEY, v int);
CREATE TABLE m_tags (item int, tag text);
CREATE VIEW m_view AS SELECT i.id, t.tag FROM m_items i JOIN m_tags t ON t.item = i.id;
INSERT INTO m_items VALUES (1, 10), (2, 20), (3, 30);
INSERT INTO m_items VALUES (4, 40);
INSERT INTO m_tags VALUES (1, 'a'), (2, 'b');
UPDATE m_items SET v = v + 1 WHERE id <= 2;
UPDATE m_items SET v = 0 WHERE id = 99;
DELETE FROM m_tags WHERE item = 2;
SELECT count(*) FROM m_view;
SELECT * FROM m_items WHERE id IN (SELECT item FROM m_tags);
-- failures: at run time, a constraint, and in parse analysis
SELECT 1 / (v - v) FROM m_items;
INSERT INTO m_items VALUES (1, 0);
SELECT no_such_column FROM m_items;

-- Per command: calls (failed ones included), errors, rows (SELECTs also
-- count the queries below).
SELECT command, calls, errors, rows, total_ms > 0 AS timed, min_ms <= max_ms AS min_le_max,
       p50_ms <= p95_ms AND p95_ms <= p99_ms AS percentiles_ordered, mean_ms * calls - total_ms < 0.001 AS mean_ok
  FROM steward.query_metrics
 WHERE datname = current_database() AND command IN ('INSERT', 'UPDATE', 'DELETE', 'UTILITY')
 ORDER BY command;
-- Which statements touched which tables: joins, subqueries, DML targets, views resolved.
SELECT table_name, command, calls, rows FROM steward.table_metrics
 WHERE datname = current_database() AND table_name LIKE 'm\_%' ORDER BY table_name, command;
-- Errors by SQLSTATE, parse errors included.
SELECT sqlstate, count, last_message FROM steward.error_metrics
 WHERE datname = current_database() ORDER BY sqlstate;
-- The ring of recent statements, constants as $n, with sqlstate and
-- message for the failures.
SELECT command, rows, sqlstate, query, message FROM steward.recent_queries
 WHERE datname = current_database() AND query LIKE '%m\_items%' ORDER BY at;
-- The histogram adds up to the calls.
SELECT sum(count) AS inserts_in_histogram FROM steward.latency_histogram
 WHERE datname = current_database() AND command = 'INSERT';
SELECT tables_tracked >= 2 AS tables_tracked, tables_dropped, memory_bytes > 0 AS has_memory,
       max_tables, trace_size, max_query_length FROM steward.metrics_info;

-- Slow statements above steward.slow_query_ms.
SET steward.slow_query_ms = 40;
SELECT pg_sleep(0.05);
SELECT command, duration_ms >= 40 AS slow, query FROM steward.slow_queries WHERE query LIKE '%pg_sleep%';
RESET steward.slow_query_ms;

-- Utility statements only with track_utility; nested ones only with track_nested.
SELECT steward.reset_metrics();
SET steward.track_utility = off;
CREATE TABLE m_quiet (x int);
SET steward.track_utility = on;
CREATE FUNCTION m_fill() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO m_quiet VALUES (1);
  INSERT INTO m_quiet VALUES (2);
END $$;
SELECT m_fill();
SET steward.track_nested = on;
SELECT m_fill();
RESET steward.track_nested;
SELECT command, calls FROM steward.query_metrics
 WHERE datname = current_database() AND command IN ('INSERT', 'UTILITY') ORDER BY command;
SELECT count(*) AS quiet_create_seen FROM steward.recent_queries WHERE query LIKE 'CREATE TABLE m_quiet%';

-- Query text is cut at max_query_length (1024 bytes here).
SELECT 1 AS long_query_padding /* xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx */;
SELECT length(query) AS kept_bytes FROM steward.recent_queries WHERE query LIKE '%long_query_padding%';

-- Privacy: other users' query text and address are hidden from a plain role;
-- members of pg_read_all_stats and the statement's own (session) user see
-- them.  (metrics_privacy covers every view and the attribution rules.)
CREATE ROLE m_plain;
CREATE ROLE m_stats IN ROLE pg_read_all_stats;
GRANT SELECT ON m_items TO m_plain, m_stats;
SET SESSION AUTHORIZATION m_plain;
SELECT count(*) FROM m_items WHERE v > 1;
SELECT query FROM steward.recent_queries WHERE username = 'm_plain' ORDER BY at;
SELECT username = session_user AS own, bool_and(query = '<insufficient privilege>') AS all_hidden,
       bool_or(query = '<insufficient privilege>') AS any_hidden
  FROM steward.recent_queries GROUP BY 1 ORDER BY 1;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION m_stats;
SELECT username = 'm_plain' AS m_plain, bool_or(query = '<insufficient privilege>') AS any_hidden
  FROM steward.recent_queries GROUP BY 1 ORDER BY 1;
-- reset_metrics is not executable by PUBLIC
SELECT steward.reset_metrics();
RESET SESSION AUTHORIZATION;

-- Prometheus text exposition.
SELECT line FROM regexp_split_to_table(steward.prometheus(), E'\n') AS line
 WHERE line LIKE '# TYPE%' OR line LIKE 'steward_statements_total{datname="' || current_database() || '",%command="INSERT"}%'
 ORDER BY line;
SELECT count(*) > 0 AS has_buckets FROM regexp_split_to_table(steward.prometheus(), E'\n') AS line
 WHERE line LIKE 'steward_statement_duration_seconds_bucket{%le="+Inf"}%';

-- A parallel query counts once: its workers are not counted.
CREATE TABLE m_big AS SELECT g AS id FROM generate_series(1, 50000) g;
SELECT steward.reset_metrics();
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*) FROM m_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT command, calls, rows FROM steward.query_metrics WHERE datname = current_database() AND command = 'SELECT';
DROP TABLE m_big;

DROP VIEW m_view;
DROP TABLE m_items, m_tags, m_quiet;
DROP FUNCTION m_fill();
REVOKE ALL ON SCHEMA public FROM m_plain, m_stats;
DROP ROLE m_plain;
DROP ROLE m_stats;
