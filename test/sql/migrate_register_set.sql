-- register_set, unregister, repeatable scripts, no-transaction steps and
-- record_step.  Each error is shown with its SQLSTATE and hint.
CREATE FUNCTION pg_temp.err(sql text) RETURNS TABLE (code text, message text, hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN QUERY SELECT 'ok'::text, NULL::text, NULL::text;
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RETURN NEXT;
END $$;
SELECT steward.define_module('rs', 'public');
CREATE TYPE rs_mood AS ENUM ('ok');

-- A whole directory at once: one row per script.
SELECT * FROM steward.register_set('rs', '[
  {"version": "1", "up_sql": "CREATE TABLE rs_a (id int, k int)", "down_sql": "DROP TABLE rs_a"},
  {"version": "2", "up_sql": "CREATE TABLE rs_b (id int)", "description": "b"},
  {"version": "10", "up_sql": "CREATE TABLE rs_c (id int)", "requires": ["rs:2"]},
  {"version": null, "kind": "repeatable", "description": "views", "up_sql": "CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x"}
]');
SELECT version, description, kind, transactional, requires FROM steward.migration_scripts
 WHERE module = 'rs' ORDER BY registered_at, version;
SELECT version, state FROM steward.status('rs');
-- The same set again: unchanged; one script changed: replaced.
SELECT * FROM steward.register_set('rs', '[
  {"version": "1", "up_sql": "CREATE TABLE rs_a (id int, k int)", "down_sql": "DROP TABLE rs_a"},
  {"version": "2", "up_sql": "CREATE TABLE rs_b (id int)", "description": "b"},
  {"version": "10", "up_sql": "CREATE TABLE rs_c (id int, x int)", "requires": ["rs:2"]},
  {"kind": "repeatable", "description": "views", "up_sql": "CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x"}
]');
-- Each field counts (register_set compares in memory and writes only what
-- changed): requires, description, down_sql, transactional, and back.
CREATE TEMP TABLE rs_seen AS SELECT version, registered_at FROM steward.migration_scripts WHERE module = 'rs';
SELECT * FROM steward.register_set('rs', '[
  {"version": "1", "up_sql": "CREATE TABLE rs_a (id int, k int)", "down_sql": "DROP TABLE rs_a", "requires": []},
  {"version": "2", "up_sql": "CREATE TABLE rs_b (id int)", "description": "bb"},
  {"version": "10", "up_sql": "CREATE TABLE rs_c (id int, x int)", "requires": ["rs:1", "rs:2"], "down_sql": "DROP TABLE rs_c"},
  {"kind": "repeatable", "description": "views", "transactional": false, "up_sql": "CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x"}
]', remove_missing => false) ORDER BY 1;
SELECT version, requires, description, down_sql, transactional FROM steward.migration_scripts
 WHERE module = 'rs' ORDER BY 1;
SELECT * FROM steward.register_set('rs', '[
  {"version": "1", "up_sql": "CREATE TABLE rs_a (id int, k int)", "down_sql": "DROP TABLE rs_a"},
  {"version": "2", "up_sql": "CREATE TABLE rs_b (id int)", "description": "b"},
  {"version": "10", "up_sql": "CREATE TABLE rs_c (id int, x int)", "requires": ["rs:2"]},
  {"kind": "repeatable", "description": "views", "up_sql": "CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x"}
]') ORDER BY 1;
SELECT version, requires, description, down_sql, transactional FROM steward.migration_scripts
 WHERE module = 'rs' ORDER BY 1;
-- the same content again: unchanged, nothing written (registered_at of an
-- unchanged checksum is kept in any case)
SELECT s.version, s.action, c.registered_at = r.registered_at AS registered_at_kept
  FROM steward.register_set('rs', '[
  {"version": "1", "up_sql": "CREATE TABLE rs_a (id int, k int)", "down_sql": "DROP TABLE rs_a"},
  {"version": "2", "up_sql": "CREATE TABLE rs_b (id int)", "description": "b"},
  {"version": "10", "up_sql": "CREATE TABLE rs_c (id int, x int)", "requires": ["rs:2"]},
  {"kind": "repeatable", "description": "views", "up_sql": "CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x"}
]') s
  JOIN steward.migration_scripts c ON c.module = 'rs' AND c.version = s.version
  JOIN rs_seen r ON r.version = s.version ORDER BY 1;
SELECT version, description FROM steward.upgrade('rs', '2');
-- A pending script missing from the set is removed, an applied one stays;
-- remove_missing => false keeps it.
SELECT * FROM steward.register_set('rs', '[
  {"version": "1", "up_sql": "CREATE TABLE rs_a (id int, k int)", "down_sql": "DROP TABLE rs_a"},
  {"kind": "repeatable", "description": "views", "up_sql": "CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x"}
]', remove_missing => false);
SELECT * FROM steward.register_set('rs', '[
  {"version": "1", "up_sql": "CREATE TABLE rs_a (id int, k int)", "down_sql": "DROP TABLE rs_a"},
  {"kind": "repeatable", "description": "views", "up_sql": "CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x"}
]');
SELECT version, state FROM steward.status('rs');
SELECT * FROM steward.register_set('rs', '[]', remove_missing => false);

-- Atomic: a changed applied script is refused with the checksum error and
-- nothing of the set is registered.
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[
  {"version": "3", "up_sql": "CREATE TABLE rs_d (id int)"},
  {"version": "1", "up_sql": "CREATE TABLE rs_a (id bigint)"}]')$$);
SELECT count(*) AS version_3_registered FROM steward.migration_scripts WHERE module = 'rs' AND version = '3';

-- Bad sets.
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', NULL)$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '{"version": "1"}')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '"x"')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[1]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"version": "3", "up": "SELECT 1"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"version": "3"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"version": "3", "up_sql": "SELECT 1"}, {"version": "3", "up_sql": "SELECT 2"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"kind": "repeatable", "description": "v", "up_sql": "SELECT 1"}, {"kind": "repeatable", "description": "v", "up_sql": "SELECT 2"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"version": "3", "up_sql": "SELECT 1", "kind": "weekly"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"version": "3", "up_sql": "SELECT 1", "requires": ["nocolon"]}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"version": "3", "up_sql": "SELECT 1", "transactional": "maybe"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"version": "x y", "up_sql": "SELECT 1"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"version": "R__v", "up_sql": "SELECT 1"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"kind": "repeatable", "up_sql": "SELECT 1"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('rs', '[{"kind": "repeatable", "version": "4", "description": "v", "up_sql": "SELECT 1"}]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set('nope', '[]')$$);
SELECT * FROM pg_temp.err($$SELECT * FROM steward.register_set(NULL, '[]')$$);
SELECT count(*) AS scripts_of_rs FROM steward.migration_scripts WHERE module = 'rs';

-- unregister: a pending script goes; applied and unknown ones cannot.
SELECT steward.register('rs', '5', 'CREATE TABLE rs_e (id int)');
SELECT steward.unregister('rs', '5');
SELECT * FROM pg_temp.err($$SELECT steward.unregister('rs', '5')$$);
SELECT * FROM pg_temp.err($$SELECT steward.unregister('rs', '1')$$);
SELECT * FROM pg_temp.err($$SELECT steward.unregister('rs', NULL)$$);
SELECT * FROM pg_temp.err($$SELECT steward.unregister('nope', '1')$$);

-- Repeatable scripts: after every versioned one, in description order;
-- re-applied when their checksum changes, which is no error.
SELECT steward.register('rs', NULL, 'CREATE OR REPLACE VIEW rs_w AS SELECT 2 AS y', kind => 'repeatable', description => 'a_first');
SELECT steward.register('rs', '3', 'CREATE TABLE rs_d (id int)', 'DROP TABLE rs_d');
SELECT version, description FROM steward.upgrade('rs');
SELECT version, state FROM steward.status('rs');
SELECT * FROM steward.upgrade('rs');
SELECT steward.register('rs', NULL, 'CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x, 2 AS z', kind => 'repeatable', description => 'views');
SELECT version, state FROM steward.status('rs') WHERE version LIKE 'R%';
SELECT * FROM steward.validate('rs');
SELECT step, version, direction FROM steward.plan('rs');
-- unregistering the change restores the script last applied
SELECT steward.unregister('rs', 'R__views');
SELECT version, state FROM steward.status('rs') WHERE version LIKE 'R%';
SELECT * FROM pg_temp.err($$SELECT steward.unregister('rs', 'R__views')$$);
SELECT steward.register('rs', NULL, 'CREATE OR REPLACE VIEW rs_v AS SELECT 1 AS x, 2 AS z', kind => 'repeatable', description => 'views');
SELECT version, description FROM steward.upgrade('rs', '+1');
SELECT * FROM rs_v;
SELECT version, event FROM steward.history WHERE module = 'rs' ORDER BY id;
SELECT steward.current('rs');
-- repeatable scripts are never reverted, stamped or repaired
SELECT version FROM steward.downgrade('rs', '2');
SELECT version, state FROM steward.status('rs');
SELECT * FROM pg_temp.err($$SELECT * FROM steward.downgrade('rs', 'R__views')$$);
SELECT * FROM pg_temp.err($$SELECT steward.stamp('rs', 'R__views')$$);
SELECT * FROM pg_temp.err($$SELECT steward.repair('rs', 'R__views', 'why')$$);
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', 'R__x', 'SELECT 1')$$);
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', NULL, 'SELECT 1', kind => 'repeatable')$$);
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', '9', 'SELECT 1', kind => 'other')$$);

-- No-transaction steps: register accepts what it refuses otherwise, but
-- never transaction control or COPY to the client.
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', '4', 'CREATE INDEX CONCURRENTLY rs_a_k ON rs_a (k)')$$);
SELECT steward.register('rs', '4', 'CREATE INDEX CONCURRENTLY rs_a_k ON rs_a (k)', 'DROP INDEX CONCURRENTLY rs_a_k', transactional => false);
SELECT steward.register('rs', '4.1', E'-- steward:no-transaction  \nVACUUM rs_a;\nREINDEX TABLE CONCURRENTLY rs_a;\nALTER TYPE rs_mood ADD VALUE ''meh''');
SELECT steward.register('rs', '4.2', E'-- steward:no-transaction\r\nSELECT 1');
SELECT version, transactional FROM steward.migration_scripts WHERE module = 'rs' AND version LIKE '4%' ORDER BY 1;
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', '4.3', 'SELECT 1; COMMIT', transactional => false)$$);
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', '4.3', E'-- steward:no-transaction\nCOPY rs_a FROM STDIN')$$);
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', '4.3', E'-- steward:no-transaction-ish\nVACUUM')$$);
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', '4.3', 'SAVEPOINT a')$$);
SELECT * FROM pg_temp.err($$SELECT steward.register('rs', '4.3', 'VACUUM (', transactional => false)$$);
-- upgrade and migrate stop before such a step, naming it and how to run it;
-- nothing before it runs.
SELECT * FROM pg_temp.err($$SELECT * FROM steward.upgrade('rs')$$);
SELECT * FROM pg_temp.err($$SELECT steward.migrate('rs', '4.5', E'-- steward:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS x', allow_out_of_order => true)$$);
SELECT step, version, outcome, error FROM steward.dry_run('rs');
SELECT step, version, direction, sql FROM steward.plan('rs');
SELECT version, state FROM steward.status('rs') WHERE version LIKE '4%';
-- what runs up to the step runs
SELECT version FROM steward.upgrade('rs', '3');

-- record_step: a client ran the step itself and records it.
SELECT * FROM pg_temp.err($$SELECT steward.record_step('rs', '4', 'sideways', 1)$$);
SELECT * FROM pg_temp.err($$SELECT steward.record_step('rs', '3', 'up', 1)$$);
SELECT * FROM pg_temp.err($$SELECT steward.record_step('rs', '77', 'up', 1)$$);
SELECT * FROM pg_temp.err($$SELECT steward.record_step('rs', NULL, 'up', 1)$$);
CREATE INDEX CONCURRENTLY rs_a_k ON rs_a (k);
SELECT steward.record_step('rs', '4', 'up', 12.5);
SELECT steward.record_step('rs', '4', 'up', 12.5) AS again;
SELECT version, state FROM steward.status('rs') WHERE version = '4';
SELECT version, duration_ms, applied_by FROM steward.migrations WHERE module = 'rs' AND version = '4';
SELECT event, detail FROM steward.history WHERE module = 'rs' AND version = '4' ORDER BY id;
SELECT steward.record_step('rs', '4', 'down', NULL);
SELECT steward.record_step('rs', '4', 'down', NULL) AS again;
SELECT event, detail FROM steward.history WHERE module = 'rs' AND version = '4' ORDER BY id;
-- SECURITY DEFINER with a pinned search_path, not executable by PUBLIC
SELECT p.prosecdef, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
  FROM pg_proc p WHERE p.oid = 'steward.record_step'::regproc;
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
  FROM pg_proc p WHERE p.pronamespace = 'steward'::regnamespace
   AND p.proname IN ('register_set', 'unregister', 'deploy') ORDER BY 1;
-- the positional call of the pg_steward program (six arguments) still works
SELECT steward.register('rs', '11', 'SELECT 11', NULL, 'eleven', '{rs:1}'::text[]);
SELECT steward.unregister('rs', '11');
