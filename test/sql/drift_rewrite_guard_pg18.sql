-- The rewrite guard and PostgreSQL 18's NOT VALID not-null constraints:
-- ADD CONSTRAINT ... NOT NULL ... NOT VALID reads nothing, VALIDATE reads
-- the rows while reads and writes go on, and SET NOT NULL on a column whose
-- not-null constraint is NOT VALID validates it under ACCESS EXCLUSIVE, even
-- when a validated CHECK proves it.  The syntax is 18's: on older servers
-- the test ends at once (expected/drift_rewrite_guard_pg18_1.out).  Uses
-- rg_run from drift_rewrite_guard.
SELECT current_setting('server_version_num')::int < 180000 AS before_18 \gset
\if :before_18
DROP FUNCTION public.rg_migrate(text, text);
DROP FUNCTION public.rg_run(text);
\quit
\endif
\set VERBOSITY default
CREATE SCHEMA rg18;
SELECT steward.define_module('rg18', 'rg18');
CREATE TABLE rg18.big_rows (id int, a int, b int, c int) WITH (autovacuum_enabled = off);
INSERT INTO rg18.big_rows SELECT g, g, g, g FROM generate_series(1, 20000) g;
CREATE TABLE rg18.small_rows (LIKE rg18.big_rows) WITH (autovacuum_enabled = off);
INSERT INTO rg18.small_rows VALUES (1, 1, 1, 1);
CREATE FUNCTION public.rg18_migrate(version text, up_sql text) RETURNS text
  LANGUAGE sql AS $$ SELECT public.rg_run(format('SELECT steward.migrate(%L, %L, %L)', 'rg18', version, up_sql)) $$;
SET steward.rewrite_guard_mb = '64kB';

-- ADD CONSTRAINT ... NOT NULL reads every row, like SET NOT NULL ...
SELECT rg18_migrate('1', 'ALTER TABLE rg18.small_rows ADD CONSTRAINT nn_small_rows_a NOT NULL a');
SELECT rg18_migrate('2', 'ALTER TABLE rg18.big_rows ADD CONSTRAINT nn_big_rows_a NOT NULL a');
-- ... NOT VALID reads nothing.
SELECT rg18_migrate('2', 'ALTER TABLE rg18.big_rows ADD CONSTRAINT nn_big_rows_a NOT NULL a NOT VALID');

-- SET NOT NULL validates it, reading every row; a validated CHECK does not
-- spare that.
SELECT rg18_migrate('3', 'ALTER TABLE rg18.big_rows ALTER COLUMN a SET NOT NULL');
SELECT rg18_migrate('3', 'SET LOCAL steward.rewrite_guard_mb = 0; '
                         'ALTER TABLE rg18.big_rows ADD CONSTRAINT ck_big_rows_a CHECK (a IS NOT NULL)');
SET search_path = nowhere, rg18;
SELECT public.rg18_migrate('4', 'ALTER TABLE big_rows ALTER COLUMN a SET NOT NULL');
-- VALIDATE reads the rows under SHARE UPDATE EXCLUSIVE (not judged); the
-- column is NOT NULL then, and SET NOT NULL has nothing left to do.
SELECT public.rg18_migrate('4', 'ALTER TABLE big_rows VALIDATE CONSTRAINT nn_big_rows_a; '
                                'ALTER TABLE big_rows ALTER COLUMN a SET NOT NULL');
RESET search_path;
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'rg18.big_rows'::regclass ORDER BY 1;

-- Without a NOT VALID not-null constraint, a validated CHECK proves the
-- column as before 18 ...
SELECT rg18_migrate('5', 'ALTER TABLE rg18.big_rows ADD CONSTRAINT ck_big_rows_b CHECK (b IS NOT NULL) NOT VALID; '
                         'ALTER TABLE rg18.big_rows VALIDATE CONSTRAINT ck_big_rows_b; '
                         'ALTER TABLE rg18.big_rows ADD CONSTRAINT nn_big_rows_b NOT NULL b');
-- ... and a NOT NULL constraint on a column whose not-null constraint is
-- NOT VALID is PostgreSQL's own error, not the guard's.
ALTER TABLE rg18.big_rows ADD CONSTRAINT nn_big_rows_c NOT NULL c NOT VALID;
SELECT rg18_migrate('6', 'ALTER TABLE rg18.big_rows ADD CONSTRAINT nn_big_rows_c2 NOT NULL c');

RESET steward.rewrite_guard_mb;
DROP SCHEMA rg18 CASCADE;
DROP FUNCTION public.rg18_migrate(text, text);
DROP FUNCTION public.rg_migrate(text, text);
DROP FUNCTION public.rg_run(text);
