-- Query metrics, statement tracking: each cursor (portal, QueryDesc) is
-- followed to its own end however many are open or nested: FETCHes
-- between other statements, 100 cursors open at once, WITH HOLD, closed by
-- COMMIT or ROLLBACK, opened in functions; nothing is dropped.
CREATE TABLE mc_t AS SELECT g AS id FROM generate_series(1, 1000) g;
SELECT steward.reset_metrics();

-- A cursor fetched between other statements counts as its query, once,
-- with the rows of every FETCH; DECLARE, FETCH and CLOSE are not counted
-- separately.
BEGIN;
DECLARE mc_a CURSOR FOR SELECT id FROM mc_t WHERE id > 10 ORDER BY id;
FETCH 2 FROM mc_a;
SELECT count(*) FROM mc_t WHERE id < 5;
FETCH 3 FROM mc_a;
DECLARE mc_b CURSOR FOR SELECT id FROM mc_t WHERE id <= 20;
MOVE FORWARD ALL IN mc_b;
FETCH 1 FROM mc_a;
CLOSE mc_a;
COMMIT;
SELECT command, rows, query FROM steward.recent_queries ORDER BY at;

-- 100 cursors open at once, each moved to its end between the others'
-- DECLAREs and closed by COMMIT.
SELECT steward.reset_metrics();
BEGIN;
\set ECHO none
SELECT format('DECLARE mc_%s CURSOR FOR SELECT id FROM mc_t WHERE id <= %s', g, g)
  FROM generate_series(1, 100) g \gexec
SELECT format('MOVE FORWARD ALL IN mc_%s', g) FROM generate_series(1, 100) g \gexec
\set ECHO all
SELECT 'between' AS x;
COMMIT;
SELECT count(*) AS cursors, sum(rows) AS rows, count(DISTINCT query) AS texts
  FROM steward.recent_queries WHERE query LIKE 'DECLARE mc\_% CURSOR FOR %';
SELECT calls, rows FROM steward.query_metrics WHERE datname = current_database() AND command = 'SELECT';
SELECT statements_dropped, statements_untraced FROM steward.metrics_info;

-- ROLLBACK closes an open cursor: it counts with the rows it produced.
-- A WITH HOLD cursor counts at COMMIT, when its rows are kept.
SELECT steward.reset_metrics();
BEGIN;
DECLARE mc_r CURSOR FOR SELECT id FROM mc_t;
FETCH 4 FROM mc_r;
ROLLBACK;
BEGIN;
DECLARE mc_h CURSOR WITH HOLD FOR SELECT id FROM mc_t WHERE id <= 10;
FETCH 2 FROM mc_h;
COMMIT;
FETCH 2 FROM mc_h;
CLOSE mc_h;
-- A cursor open when its transaction fails counts once, as ended; the
-- failing statement counts as failed.
BEGIN;
DECLARE mc_f CURSOR FOR SELECT id FROM mc_t;
FETCH 1 FROM mc_f;
SELECT 1 / (id - id) FROM mc_t WHERE id = 1;
ROLLBACK;
SELECT command, rows, sqlstate, query FROM steward.recent_queries
 WHERE query LIKE 'DECLARE%' OR sqlstate IS NOT NULL ORDER BY at;

-- Cursors of a function (nested statements, with steward.track_nested):
-- each open cursor is followed while the function runs other statements,
-- and a statement whose error the function catches counts as failed.
SELECT steward.reset_metrics();
CREATE FUNCTION mc_walk() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  c1 CURSOR FOR SELECT id FROM mc_t WHERE id <= 3;
  c2 CURSOR FOR SELECT id FROM mc_t WHERE id > 997;
  v int;
  total int := 0;
BEGIN
  OPEN c1;
  OPEN c2;
  LOOP
    FETCH c1 INTO v;
    EXIT WHEN NOT FOUND;
    PERFORM count(*) FROM mc_t WHERE id = v;
    FETCH c2 INTO v;
    total := total + v;
  END LOOP;
  CLOSE c1;
  CLOSE c2;
  BEGIN
    PERFORM 1 / (id - id) FROM mc_t WHERE id = 1;
  EXCEPTION WHEN division_by_zero THEN
    total := total + 1;
  END;
  RETURN total;
END $$;
SET steward.track_nested = on;
SELECT mc_walk();
RESET steward.track_nested;
SELECT command, rows, sqlstate, query FROM steward.recent_queries ORDER BY at;

DROP FUNCTION mc_walk();
DROP TABLE mc_t;
