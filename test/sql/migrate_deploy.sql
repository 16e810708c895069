-- CALL steward.deploy: each migration in its own transaction, no-transaction
-- steps as top-level statements (in a background worker), repeatable
-- scripts last; a NOTICE per step (its duration in the DETAIL, hidden here).
\set VERBOSITY terse
CREATE FUNCTION pg_temp.err(sql text) RETURNS TABLE (code text, message text, hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN QUERY SELECT 'ok'::text, NULL::text, NULL::text;
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RETURN NEXT;
END $$;
SELECT steward.define_module('dep', 'dep');
SELECT * FROM steward.register_set('dep', '[
  {"version": "1", "up_sql": "CREATE SCHEMA {{schema}}; CREATE TABLE {{tables.items}} (id int, k int); INSERT INTO {{tables.items}} SELECT g, g % 7 FROM generate_series(1, 1000) g;"},
  {"version": "2", "up_sql": "-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_items_k ON {{tables.items}} (k);\nVACUUM (ANALYZE) {{tables.items}};", "down_sql": "-- steward:no-transaction\nDROP INDEX CONCURRENTLY {{schema}}.ix_items_k;"},
  {"version": "3", "up_sql": "CREATE TYPE {{schema}}.mood AS ENUM (''ok''); ALTER TABLE {{tables.items}} ADD note text;"},
  {"version": "4", "transactional": false, "up_sql": "ALTER TYPE {{schema}}.mood ADD VALUE ''meh''; REINDEX INDEX CONCURRENTLY {{schema}}.ix_items_k;"},
  {"kind": "repeatable", "description": "views", "up_sql": "CREATE OR REPLACE VIEW {{schema}}.moods AS SELECT unnest(enum_range(NULL::{{schema}}.mood)) AS m"}
]');

-- Inside a transaction block, a function or a DO block's loop it refuses.
BEGIN;
CALL steward.deploy('dep');
ROLLBACK;
CREATE FUNCTION pg_temp.deploy_in_function() RETURNS void LANGUAGE plpgsql AS $$
BEGIN CALL steward.deploy('dep'); END $$;
SELECT * FROM pg_temp.err('SELECT pg_temp.deploy_in_function()');
SELECT * FROM pg_temp.err($$CALL steward.deploy(NULL)$$);
SELECT * FROM pg_temp.err($$CALL steward.deploy('dep', NULL)$$);
\set VERBOSITY default
CALL steward.deploy('nope');
CALL steward.deploy('dep', 'base');
CALL steward.deploy('dep', '-1');
CALL steward.deploy('dep', '99');
\set VERBOSITY terse
SELECT count(*) AS applied FROM steward.migrations WHERE module = 'dep';

-- Up to a version, then the rest: a NOTICE per step, repeatables last.
CALL steward.deploy('dep', '1');
CALL steward.deploy('dep');
SELECT version, state FROM steward.status('dep');
SELECT indisvalid FROM pg_index WHERE indexrelid = 'dep.ix_items_k'::regclass;
SELECT * FROM dep.moods;
SELECT version, event, detail ? 'duration_ms' AS timed, (detail->>'no_transaction')::bool AS no_transaction,
       detail->>'target' AS target
  FROM steward.history WHERE module = 'dep' ORDER BY id;
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';
CALL steward.deploy('dep');
-- a DO block in autocommit mode is not atomic: deploy runs there too
DO $$ BEGIN CALL steward.deploy('dep'); END $$;

-- A changed repeatable script is applied again, alone.
SELECT steward.register('dep', NULL, 'CREATE OR REPLACE VIEW {{schema}}.moods AS SELECT unnest(enum_range(NULL::{{schema}}.mood)) AS m, 1 AS n', kind => 'repeatable', description => 'views');
CALL steward.deploy('dep');
SELECT * FROM dep.moods ORDER BY m;

-- A failed CONCURRENTLY build (unique violation): the invalid index it left
-- is dropped before the error, the step stays pending; after the data is
-- fixed the same step succeeds.
SELECT steward.register('dep', '5', E'-- steward:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY ux_items_k ON {{tables.items}} (k);');
\set VERBOSITY default
CALL steward.deploy('dep');
\set VERBOSITY terse
SELECT count(*) AS invalid_indexes FROM pg_index WHERE NOT indisvalid;
SELECT count(*) AS ux_items_k FROM pg_class WHERE relname = 'ux_items_k';
SELECT state FROM steward.status('dep') WHERE version = '5';
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';
DELETE FROM dep.items WHERE id > 7;
CALL steward.deploy('dep');
SELECT indisvalid, indisunique FROM pg_index WHERE indexrelid = 'dep.ux_items_k'::regclass;

-- A step failing at its second statement: the first stays applied, the
-- error says so; the next transactional step does not run.
SELECT steward.register('dep', '6', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_items_id ON {{tables.items}} (id);\nCREATE INDEX CONCURRENTLY ix_nope ON {{schema}}.nope (id);');
SELECT steward.register('dep', '7', 'CREATE TABLE {{tables.seven}} (id int)');
\set VERBOSITY default
CALL steward.deploy('dep');
\set VERBOSITY terse
SELECT count(*) AS ix_items_id FROM pg_class WHERE relname = 'ix_items_id';
SELECT version, state FROM steward.status('dep') WHERE version IN ('6', '7');
-- upgrade stops before the step, naming it and how to run it
SELECT * FROM pg_temp.err($$SELECT * FROM steward.upgrade('dep')$$);
SELECT steward.register('dep', '6', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS ix_items_id ON {{tables.items}} (id);');
CALL steward.deploy('dep');
SELECT version, state FROM steward.status('dep') WHERE version IN ('6', '7');

-- A transactional step that fails: the ones before it are committed.
SELECT steward.register('dep', '8', 'CREATE TABLE {{tables.eight}} (id int)');
SELECT steward.register('dep', '9', 'SELECT 1/0');
CALL steward.deploy('dep');
SELECT version, state FROM steward.status('dep') WHERE version IN ('8', '9');
SELECT steward.unregister('dep', '9');

-- The statements resolve names as the caller's do (its search_path), and
-- run with the caller's rights (SET ROLE), not steward's.
CREATE SCHEMA dep_a;
CREATE SCHEMA dep_b;
CREATE TABLE dep_a.t (id int);
CREATE TABLE dep_b.t (id int);
SELECT steward.register('dep', '10', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_t_unqualified ON t (id);');
SET search_path = dep_b, public;
CALL steward.deploy('dep');
RESET search_path;
SELECT indrelid::regclass AS indexed FROM pg_index WHERE indexrelid = 'dep_b.ix_t_unqualified'::regclass;
CREATE ROLE dep_runner NOLOGIN;
GRANT USAGE ON SCHEMA steward TO dep_runner;
GRANT EXECUTE ON PROCEDURE steward.deploy(text, text) TO dep_runner;
GRANT USAGE, CREATE ON SCHEMA dep_a TO dep_runner;
SELECT steward.register('dep', '11', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_t_by_runner ON dep_a.t (id);');
SET ROLE dep_runner;
\set VERBOSITY default
CALL steward.deploy('dep');
\set VERBOSITY terse
RESET ROLE;
SELECT count(*) AS ix_t_by_runner FROM pg_class WHERE relname = 'ix_t_by_runner';
ALTER TABLE dep_a.t OWNER TO dep_runner;
SET ROLE dep_runner;
CALL steward.deploy('dep');
RESET ROLE;
SELECT version, applied_by FROM steward.migrations WHERE module = 'dep' AND version = '11';
SELECT pg_get_userbyid(relowner) AS index_owner FROM pg_class WHERE relname = 'ix_t_by_runner';
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';

-- Drift: what the no-transaction steps built is the migrations' work:
-- check is clean and capture finds nothing; the fingerprint names the step.
SELECT * FROM steward.check('dep');
SELECT * FROM pg_temp.err($$SELECT steward.capture('dep', '99')$$);
SELECT module, version FROM steward.fingerprints WHERE object_identity = 'dep.ux_items_k';

-- A client that runs a step itself (as the pg_steward program does): under
-- the module's session lock, begin_step, the statements at top level, then
-- record_step.  The DDL is logged as the migration's, check stays clean.
SELECT steward.register('dep', '12', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_items_note ON dep.items (note);');
SELECT * FROM pg_temp.err($$SELECT * FROM steward.begin_step('dep', '12')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.begin_step('dep', '77')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.begin_step('dep', '12', 'sideways')$$);
SELECT pg_advisory_lock(1937012580, hashtext('dep'));
SELECT * FROM pg_temp.err($$SELECT * FROM steward.begin_step('dep', '11')$$);
SELECT * FROM steward.begin_step('dep', '12');
CREATE INDEX CONCURRENTLY ix_items_note ON dep.items (note);
SELECT steward.record_step('dep', '12', 'up', 1);
SELECT pg_advisory_unlock(1937012580, hashtext('dep'));
SELECT module, version, command FROM steward.ddl_log WHERE object_identity = 'dep.ix_items_note';
SELECT * FROM steward.check('dep');
-- once recorded, the session runs no migration any more
CREATE INDEX ix_after ON dep.items (id);
SELECT object_identity, change FROM steward.check('dep');
DROP INDEX dep.ix_after;

-- The rewrite guard judges a no-transaction step's statements, run by
-- deploy's worker (with the caller's setting) or by a client: VACUUM FULL
-- of a table above the limit is refused, a CONCURRENTLY build is not.
SET steward.rewrite_guard_mb = '8kB';
SELECT steward.register('dep', '13', E'-- steward:no-transaction\nVACUUM FULL dep.items;');
\set VERBOSITY default
CALL steward.deploy('dep');
\set VERBOSITY terse
SELECT state FROM steward.status('dep') WHERE version = '13';
SELECT pg_advisory_lock(1937012580, hashtext('dep'));
SELECT * FROM steward.begin_step('dep', '13');
VACUUM FULL dep.items;
-- the failed statement ended the step: this session is in no migration,
-- so it may change the module (a migration's SQL may not)
SELECT steward.register('dep', '13', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_items_k_id ON dep.items (k, id);');
SELECT pg_advisory_unlock(1937012580, hashtext('dep'));
CALL steward.deploy('dep');
RESET steward.rewrite_guard_mb;

-- An interrupted run: a client applied the step's first statement, then
-- its unique CONCURRENTLY build failed on duplicates (or the client was
-- killed) and left an invalid index.  begin_step says what it left; the
-- next run (here deploy) drops the invalid index first, skips the
-- statement that committed, and records the step once; check is clean.
INSERT INTO dep.items (id, k) VALUES (100, 101), (100, 102);
SELECT steward.register('dep', '14', E'-- steward:no-transaction\nCREATE INDEX CONCURRENTLY ix_items_k_note ON dep.items (k, note);\nCREATE UNIQUE INDEX CONCURRENTLY ux_items_id ON dep.items (id);');
SELECT pg_advisory_lock(1937012580, hashtext('dep'));
SELECT * FROM steward.begin_step('dep', '14');
CREATE INDEX CONCURRENTLY ix_items_k_note ON dep.items (k, note);
CREATE UNIQUE INDEX CONCURRENTLY ux_items_id ON dep.items (id);
SELECT pg_advisory_unlock(1937012580, hashtext('dep'));
SELECT indisvalid FROM pg_index WHERE indexrelid = 'dep.ux_items_id'::regclass;
DELETE FROM dep.items WHERE id = 100 AND k = 102;
SELECT pg_advisory_lock(1937012580, hashtext('dep'));
BEGIN;
SELECT * FROM steward.begin_step('dep', '14');
ROLLBACK;
SELECT pg_advisory_unlock(1937012580, hashtext('dep'));
CALL steward.deploy('dep');
SELECT count(*) AS invalid_indexes FROM pg_index WHERE NOT indisvalid;
SELECT count(*) AS applies FROM steward.migration_events WHERE module = 'dep' AND version = '14' AND event = 'apply';
SELECT * FROM steward.check('dep');
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';
-- begin_step of a revert needs a down script
SELECT pg_advisory_lock(1937012580, hashtext('dep'));
SELECT * FROM pg_temp.err($$SELECT * FROM steward.begin_step('dep', '14', 'down')$$);
SELECT pg_advisory_unlock(1937012580, hashtext('dep'));
