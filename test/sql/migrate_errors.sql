-- Bad input: every case gives a clear error (or works), nothing half-written.
SELECT steward.define_module('m', 'public');

-- NULLs and empty strings.
SELECT steward.define_module(NULL);
SELECT steward.define_module('');
SELECT steward.define_module('x', NULL);
SELECT steward.define_module('x', '');
SELECT steward.register(NULL, '1', 'SELECT 1');
SELECT steward.register('m', NULL, 'SELECT 1');
SELECT steward.register('m', '1', NULL);
SELECT steward.register('m', '1', '   ');
SELECT steward.register('m', '', 'SELECT 1');
SELECT * FROM steward.upgrade(NULL);
SELECT * FROM steward.upgrade('m', NULL);
SELECT * FROM steward.downgrade('m', '');
SELECT steward.migrate('m', '1', NULL);
SELECT steward.repair('m', '1', NULL);
SELECT steward.stamp('m', NULL);
SELECT steward.stamp('m', '');
SELECT steward.stamp(NULL, '1');

-- Unknown module, unknown targets, garbage targets.
SELECT steward.register('nope', '1', 'SELECT 1');
SELECT * FROM steward.upgrade('nope');
SELECT steward.current('nope') IS NULL AS current_of_unknown_is_null;
SELECT * FROM steward.status('nope');
SELECT steward.register('m', '1', 'CREATE TABLE m_t1 (id int)', 'DROP TABLE m_t1');
SELECT * FROM steward.upgrade('m', '7');
SELECT * FROM steward.upgrade('m', '+x');
SELECT * FROM steward.upgrade('m', '+0');
SELECT * FROM steward.upgrade('m', '+');
SELECT * FROM steward.upgrade('m', '+99999999999');
SELECT * FROM steward.downgrade('m', '-0');
SELECT * FROM steward.downgrade('m', '-1x');
SELECT * FROM steward.upgrade('m', 'base');
SELECT * FROM steward.upgrade('m', '-1');
SELECT * FROM steward.downgrade('m', 'head');
SELECT * FROM steward.downgrade('m', '+1');
SELECT * FROM steward.downgrade('m', '-1');
SELECT * FROM steward.upgrade('m', '1; DROP TABLE x');
SELECT steward.stamp('m', '+1');
SELECT steward.stamp('m', 'head');
SELECT steward.stamp('m', '9 9');
SELECT steward.stamp('nope', '9');
SELECT steward.repair('m', '1', 'not applied yet');
SELECT * FROM steward.plan('m', 'nonsense!');

-- Invalid versions: reserved words, quotes, semicolons, blanks, too long.
SELECT steward.register('m', 'head', 'SELECT 1');
SELECT steward.register('m', 'base', 'SELECT 1');
SELECT steward.register('m', '-1', 'SELECT 1');
SELECT steward.register('m', '1''; DROP TABLE x; --', 'SELECT 1');
SELECT steward.register('m', '1 2', 'SELECT 1');
SELECT steward.register('m', repeat('9', 101), 'SELECT 1');
SELECT steward.register('m', repeat('9', 100), 'SELECT 1');  -- 100 characters are fine
DELETE FROM steward.migration_scripts WHERE version = repeat('9', 100);

-- requires must be module:version.
SELECT steward.register('m', '2', 'SELECT 1', requires => ARRAY['nocolon']);
SELECT steward.register('m', '2', 'SELECT 1', requires => ARRAY[':1']);
SELECT steward.register('m', '2', 'SELECT 1', requires => ARRAY['m:bad version']);
SELECT steward.register('m', '2', 'SELECT 1', requires => ARRAY[NULL]);
SELECT steward.register('m', '2', 'SELECT 1', requires => ARRAY[['a:1'], ['b:1']]);

-- Syntax errors are caught at register, naming module and version.
SELECT steward.register('m', '2', 'CREATE TABLE (');
SELECT steward.register('m', '2', 'SELECT 1', 'DROP TABLE (');

-- Statements that cannot run inside a transaction are refused before anything runs.
SELECT steward.register('m', '2', 'CREATE TABLE m_t2 (id int); CREATE INDEX CONCURRENTLY ON m_t2 (id)');
SELECT steward.register('m', '2', 'VACUUM m_t1');
SELECT steward.register('m', '2', 'ANALYZE m_t1');  -- ANALYZE is fine
SELECT steward.register('m', '2', 'CREATE DATABASE other');
SELECT steward.register('m', '2', 'DROP DATABASE other');
SELECT steward.register('m', '2', 'REINDEX TABLE CONCURRENTLY m_t1');
SELECT steward.register('m', '2', 'DROP INDEX CONCURRENTLY some_index');
SELECT steward.register('m', '2', 'ALTER SYSTEM SET work_mem = ''8MB''');
SELECT steward.register('m', '2', 'COMMIT');
SELECT steward.register('m', '2', 'BEGIN; SELECT 1; END');
SELECT steward.register('m', '2', 'SAVEPOINT a');
SELECT steward.register('m', '2', 'COPY m_t1 FROM STDIN');
SELECT steward.register('m', '2', 'CREATE TABLESPACE t LOCATION ''/tmp''');
SELECT steward.register('m', '2', 'CLUSTER');
SELECT steward.register('m', '2', 'SELECT 1', 'VACUUM');
SELECT version FROM steward.migration_scripts WHERE module = 'm' ORDER BY version;

-- Names with quotes and semicolons are data, not SQL.
SELECT steward.define_module('it''s; DROP TABLE m_t1; --', 'we"ird; schema');
SELECT steward.migrate('it''s; DROP TABLE m_t1; --', '1',
                       'CREATE SCHEMA {{schema}}; CREATE TABLE {{tables.x;y}} (id int)');
SELECT version FROM steward.upgrade('it''s; DROP TABLE m_t1; --');
SELECT module, version, state FROM steward.status('it''s; DROP TABLE m_t1; --');
SELECT sql FROM steward.plan('it''s; DROP TABLE m_t1; --', 'head');
SELECT count(*) AS weird_table FROM pg_tables WHERE schemaname = 'we"ird; schema';
SELECT to_regclass('m_t1') IS NULL AS m_t1_not_created_yet;

-- A module with applied migrations cannot move to another schema.
SELECT steward.define_module('it''s; DROP TABLE m_t1; --', 'elsewhere');
SELECT steward.define_module('it''s; DROP TABLE m_t1; --', 'we"ird; schema', 'same schema is fine');

-- 1 MB scripts work (up to the server's limits), checksummed over the raw text.
CREATE TABLE big (v text);
-- (versions 1 and 2 are pending below 3: migrate refuses to skip them unless told)
SELECT steward.migrate('m', '3', 'INSERT INTO big VALUES (''' || repeat('x', 1024 * 1024) || ''')');
SELECT steward.migrate('m', '3', 'INSERT INTO big VALUES (''' || repeat('x', 1024 * 1024) || ''')',
                       allow_out_of_order => true);
SELECT length(v) FROM big;
SELECT length(up_sql), checksum = steward.checksum(up_sql) AS checksum_ok
  FROM steward.migrations WHERE module = 'm' AND version = '3';
-- A failing 1 MB script: the error context is cut, not 1 MB long.
SELECT steward.register('m', '4', 'SELECT 1/0, ''' || repeat('y', 1024 * 1024) || '''');
\set VERBOSITY default
SELECT * FROM steward.upgrade('m', '4', allow_out_of_order => true);
SELECT version, state FROM steward.status('m');
