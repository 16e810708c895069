-- A migration's SQL calling steward's functions on its own module.  The run
-- around it records the step after the SQL returns, so a nested call that
-- changes the module would leave the catalog and the run's report
-- contradicting each other (e.g. upgrade() reporting version 2 applied
-- while status() says pending).  Every such call is refused; the error is
-- the migration's failure, with the original SQLSTATE (55006).
\set VERBOSITY terse
SELECT steward.define_module('re', 'public');
SELECT steward.register('re', '1', 'CREATE TABLE re_t (v text)', 'DROP TABLE re_t');
SELECT version FROM steward.upgrade('re');
SELECT steward.register('re', '2', $$SELECT * FROM steward.downgrade('re')$$, 'SELECT 1');
\set VERBOSITY default
SELECT version FROM steward.upgrade('re');
\set VERBOSITY terse
SELECT version, state FROM steward.status('re');

-- Each function that changes a module, called from version 2's SQL.
-- (re_try shows the start of the nested error, which the migration's
-- error carries in its detail.)
CREATE FUNCTION re_try(call text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	detail text;
BEGIN
	PERFORM steward.register('re', '2', call, 'SELECT 1');
	PERFORM steward.upgrade('re');
	RETURN 'applied';
EXCEPTION WHEN object_in_use THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN split_part(detail, ': ', 1);
END
$f$;
SELECT call, re_try(call) AS outcome FROM (VALUES
	($$SELECT * FROM steward.upgrade('re')$$),
	($$SELECT * FROM steward.downgrade('re', 'base')$$),
	($$SELECT steward.migrate('re', '3', 'SELECT 1')$$),
	($$SELECT steward.stamp('re', 'base')$$),
	($$SELECT steward.repair('re', '1', 'why')$$),
	($$SELECT steward.register('re', '3', 'SELECT 1')$$),
	($$SELECT steward.define_module('re', 'public')$$),
	($$SELECT * FROM steward.dry_run('re')$$)) AS c(call);
SELECT version, state FROM steward.status('re');
-- Reading is fine: plan, status, current.
SELECT re_try($$SELECT count(*) FROM steward.plan('re'), steward.status('re'), steward.current('re')$$);
SELECT version, state FROM steward.status('re');

-- A nested call reaches the module at any depth: 3 runs a migration of
-- module re_inner, whose SQL calls back into re.
SELECT steward.define_module('re_inner', 'public');
SELECT steward.register('re_inner', '1', $$SELECT * FROM steward.upgrade('re')$$);
SELECT steward.register('re', '3', $$SELECT * FROM steward.upgrade('re_inner')$$);
\set VERBOSITY default
SELECT version FROM steward.upgrade('re');
\set VERBOSITY terse
SELECT module, version, state FROM steward.status() WHERE module LIKE 're%' ORDER BY 1, 2;

-- Another module is fine, and after its run the outer migration is still
-- the one recorded for what its SQL does next (DDL capture here).
SELECT steward.register('re_inner', '1', 'CREATE TABLE re_inner_t (v text)');
SELECT steward.register('re', '3',
	$$SELECT * FROM steward.upgrade('re_inner'); CREATE TABLE re_after (v text)$$);
SELECT version FROM steward.upgrade('re');
SELECT module, version, state FROM steward.status() WHERE module LIKE 're%' ORDER BY 1, 2;
SELECT object_identity, module, version FROM steward.ddl_log
 WHERE command_tag = 'CREATE TABLE' AND object_identity IN ('public.re_inner_t', 'public.re_after')
 ORDER BY id;

-- The history rows of a run are written after its last step.  A nested run
-- that is rolled back while the outer one goes on (its error caught in a
-- PL/pgSQL block; a dry run) leaves no rows; the outer run's are written.
SELECT steward.define_module('re_b', 'public');
SELECT steward.register('re_b', '1', 'CREATE TABLE re_b1 (v text)');
SELECT steward.register('re_b', '2', 'SELECT 1/0');
CREATE FUNCTION re_catch() RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM steward.upgrade('re_b');
	RETURN 'applied';
EXCEPTION WHEN division_by_zero THEN
	RETURN 'rolled back';
END
$f$;
SELECT steward.register('re', '4', $$SELECT re_catch(); SELECT count(*) FROM steward.dry_run('re_b');
	SELECT * FROM steward.upgrade('re_inner'); CREATE TABLE re_after4 (v text)$$);
SELECT steward.register('re_inner', '2', 'CREATE TABLE re_inner2 (v text)');
SELECT version FROM steward.upgrade('re');
SELECT module, version, state FROM steward.status() WHERE module IN ('re', 're_b', 're_inner') ORDER BY 1, 2;
SELECT module, version, event FROM steward.migration_events
 WHERE module = 're_b' OR (module = 're' AND version = '4') OR (module = 're_inner' AND version = '2')
 ORDER BY id;
SELECT to_regclass('re_b1') AS re_b1, to_regclass('re_inner2') AS re_inner2;

-- Steward's own calls inside the run read the rows held so far: a second
-- run of another module sees its first run's version applied (and ranks
-- after it), register refuses to change that applied script, and a
-- requirement on it is met.  A nested call that read them (which wrote
-- them) in a block rolled back loses nothing.
SELECT steward.define_module('re_c', 'public');
SELECT steward.register('re_c', '1', 'CREATE TABLE re_c1 (v text)');
SELECT steward.register('re_c', '2', 'CREATE TABLE re_c2 (v text)');
SELECT steward.define_module('re_d', 'public');
SELECT steward.register('re_d', '1', 'SELECT 1', requires => ARRAY['re_c:1']);
CREATE FUNCTION re_catch_c() RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM steward.upgrade('re_c', '2');
	PERFORM 1/0;
	RETURN 'applied';
EXCEPTION WHEN division_by_zero THEN
	RETURN 'rolled back';
END
$f$;
CREATE FUNCTION re_change_c() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM steward.register('re_c', '1', 'CREATE TABLE re_c1 (v text, w text)');
	RAISE NOTICE 're_c 1 changed';
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE 're_c 1: %', SQLERRM;
END
$f$;
SELECT steward.register('re', '5', $$SELECT * FROM steward.upgrade('re_c', '1');
	SELECT re_catch_c(); SELECT re_change_c(); SELECT * FROM steward.upgrade('re_d');
	SELECT * FROM steward.upgrade('re_c', '2')$$);
SELECT version FROM steward.upgrade('re');
SELECT module, version, state FROM steward.status() WHERE module IN ('re', 're_c', 're_d') ORDER BY 1, 2;
SELECT module, version, rank FROM steward.migrations WHERE module IN ('re_c', 're_d') ORDER BY 1, 2;
SELECT module, version, event FROM steward.migration_events
 WHERE module IN ('re_c', 're_d') OR (module = 're' AND version = '5')
 ORDER BY id;

-- Held events keep the application_name of their step, as a row written at
-- the step's end would: the second step changes it.
SET application_name = 'before_step_2';
SELECT steward.define_module('re_app', 'public');
SELECT steward.register('re_app', '1', 'SELECT 1');
SELECT steward.register('re_app', '2', $$SELECT pg_catalog.set_config('application_name', 'set_by_step_2', false)$$);
SELECT version FROM steward.upgrade('re_app');
SELECT version, event, application_name FROM steward.migration_events WHERE module = 're_app' ORDER BY id;
RESET application_name;

DROP FUNCTION re_try(text);
DROP FUNCTION re_catch();
DROP FUNCTION re_catch_c();
DROP FUNCTION re_change_c();
DROP TABLE re_t, re_inner_t, re_after, re_after4, re_inner2, re_c1, re_c2;
DELETE FROM steward.migration_events WHERE module LIKE 're%';
DELETE FROM steward.migrations WHERE module LIKE 're%';
DELETE FROM steward.migration_scripts WHERE module LIKE 're%';
DELETE FROM steward.modules WHERE module LIKE 're%';
