-- Query metrics, truth: failed and cancelled statements keep their real
-- duration in every view (rings, per-command latency, histogram, slow
-- log); queryid joins pg_stat_statements (NULL when query ids are off);
-- recent_queries has the error's message; metrics_info is a view too;
-- prometheus() writes every histogram series with the same complete set of
-- buckets, cumulative, up to +Inf = _count.
SELECT steward.reset_metrics();
SET steward.slow_query_ms = 300;

-- A statement cancelled by statement_timeout after 400 ms.
SET statement_timeout = '400ms';
SELECT pg_sleep(5);
RESET statement_timeout;
SELECT command, sqlstate, duration_ms BETWEEN 390 AND 4000 AS took_400ms, message
  FROM steward.recent_queries WHERE query = 'SELECT pg_sleep($1)';
SELECT command, sqlstate, duration_ms BETWEEN 390 AND 4000 AS took_400ms, message
  FROM steward.slow_queries WHERE query = 'SELECT pg_sleep($1)';
SELECT command, calls, errors, max_ms BETWEEN 390 AND 4000 AS max_400ms, total_ms >= 390 AS total_400ms
  FROM steward.query_metrics WHERE datname = current_database() AND command = 'SELECT';
SELECT sum(count) >= 1 AS in_the_400ms_bucket FROM steward.latency_histogram
 WHERE datname = current_database() AND command = 'SELECT' AND le_ms > 256 AND le_ms < 1000;

-- A statement that fails after 300 ms of work, and a utility statement.
CREATE FUNCTION mt_fail_late() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_sleep(0.3);
  RAISE EXCEPTION 'failed late' USING ERRCODE = 'data_exception';
END $$;
SELECT mt_fail_late();
DO $$ BEGIN PERFORM pg_sleep(0.3); RAISE division_by_zero; END $$;
SELECT command, sqlstate, duration_ms >= 290 AS took_300ms, message FROM steward.recent_queries
 WHERE sqlstate IN ('22000', '22012') ORDER BY at;
SELECT command, sqlstate, duration_ms >= 290 AS took_300ms FROM steward.slow_queries
 WHERE sqlstate IN ('22000', '22012') ORDER BY at;
SELECT command, calls, errors, max_ms >= 290 AS max_300ms FROM steward.query_metrics
 WHERE datname = current_database() ORDER BY command;
-- Every statement that ended is in the histogram, failed ones included.
SELECT command, (SELECT sum(count) FROM steward.latency_histogram h
                  WHERE h.datname = q.datname AND h.command = q.command) = calls AS histogram_adds_up
  FROM steward.query_metrics q WHERE datname = current_database() ORDER BY command;
RESET steward.slow_query_ms;

-- queryid: NULL while query ids are off, set when they are computed.
SELECT 'no id' AS x;
SET compute_query_id = on;
SELECT 'with id' AS x;
SELECT 1 / (g - 1) AS with_id_failed FROM generate_series(1, 1) g;
RESET compute_query_id;
SELECT query, sqlstate, queryid IS NOT NULL AS has_queryid FROM steward.recent_queries
 WHERE query LIKE 'SELECT $1 AS x' OR query LIKE '%with_id_failed%' ORDER BY at;

-- metrics_info: a view, and the function behind it.
SELECT (SELECT max_tables FROM steward.metrics_info) = (SELECT max_tables FROM steward.metrics_info())
       AS same, statements_dropped, statements_untraced FROM steward.metrics_info;

-- prometheus(): every series of the histogram has the same 32 buckets, in
-- increasing le, cumulative, ending in +Inf equal to _count; _sum matches
-- the series' total time.
CREATE TEMP TABLE mt_lines AS
SELECT n, m[1] AS kind, m[2] AS series, m[3] AS le, m[4]::numeric AS value
  FROM regexp_split_to_table(steward.prometheus(), E'\n') WITH ORDINALITY AS l(line, n),
       regexp_match(line, '^steward_statement_duration_seconds_(bucket|sum|count)\{(datname="[^"]*",command="[^"]*")(?:,le="([^"]*)")?\} (\S+)$') AS m;
SELECT count(DISTINCT series) >= 2 AS several_series,
       count(DISTINCT le_set) AS distinct_bucket_sets, min(buckets) AS min_buckets, max(buckets) AS max_buckets
  FROM (SELECT series, string_agg(le, ',' ORDER BY n) AS le_set, count(*) AS buckets
          FROM mt_lines WHERE kind = 'bucket' GROUP BY series) s;
SELECT (SELECT string_agg(le, ',' ORDER BY n) FROM mt_lines
         WHERE kind = 'bucket' AND series = (SELECT min(series) FROM mt_lines)) AS le_set;
SELECT count(*) AS not_cumulative FROM (
  SELECT value < lag(value) OVER (PARTITION BY series ORDER BY n) AS down,
         CASE WHEN le = '+Inf' THEN 'Infinity' ELSE le END::float8
           <= lag(CASE WHEN le = '+Inf' THEN 'Infinity' ELSE le END::float8) OVER (PARTITION BY series ORDER BY n) AS le_not_increasing
    FROM mt_lines WHERE kind = 'bucket') b WHERE down OR le_not_increasing;
SELECT count(*) AS inf_not_count FROM mt_lines i JOIN mt_lines c USING (series)
 WHERE i.kind = 'bucket' AND i.le = '+Inf' AND c.kind = 'count' AND i.value <> c.value;
SELECT count(*) AS last_not_inf FROM (
  SELECT DISTINCT ON (series) le FROM mt_lines WHERE kind = 'bucket' ORDER BY series, n DESC) l
 WHERE le <> '+Inf';
SELECT count(*) AS count_not_calls FROM mt_lines c
  JOIN (SELECT format('datname="%s",command="%s"', datname, command) AS series, sum(calls) AS calls
          FROM steward.query_metrics GROUP BY 1) q USING (series)
 WHERE c.kind = 'count' AND c.value > q.calls;

DROP FUNCTION mt_fail_late();
