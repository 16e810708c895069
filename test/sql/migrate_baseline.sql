-- stamp at a version that has no registered script: a database adopted
-- from another tool (here an Alembic revision id) gets a baseline row
-- without SQL, and everything else works around it.
CREATE SCHEMA app_alembic;
CREATE TABLE app_alembic.users (id int PRIMARY KEY, name text NOT NULL DEFAULT '');
SELECT steward.define_module('app_alembic', 'app_alembic');
SELECT steward.stamp('app_alembic', '007b77ece35d');

-- status shows it as baseline, current names it, validate and check are clean.
SELECT version, description, state, applied_at IS NOT NULL AS applied FROM steward.status('app_alembic');
SELECT steward.current('app_alembic');
SELECT * FROM steward.validate('app_alembic');
SELECT * FROM steward.check('app_alembic');
SELECT version, checksum, up_sql, down_sql, baseline, duration_ms FROM steward.migrations
 WHERE module = 'app_alembic';
SELECT version, event, detail - 'ddl_log_id' AS detail FROM steward.history
 WHERE module = 'app_alembic' ORDER BY id;

-- Stamping at it again changes nothing (no second baseline row, no notice).
SELECT steward.stamp('app_alembic', '007b77ece35d');
SELECT count(*) AS rows FROM steward.migrations WHERE module = 'app_alembic';

-- check compares with the schema as it was stamped.
ALTER TABLE app_alembic.users ADD COLUMN nick text;
SELECT object_identity, change, replace(detail, ' by ' || current_user, ' by <user>') AS detail
  FROM steward.check('app_alembic');
ALTER TABLE app_alembic.users DROP COLUMN nick;
SELECT * FROM steward.check('app_alembic');

-- Later versions take their place in natural version order (digit runs
-- compare as numbers: 007b77ece35d sorts as 7, then b77ece35d).  A version
-- below it is a gap, refused like any pending version below an applied
-- one; a version above it applies, and requires on it are met.
SELECT steward.register('app_alembic', '1', 'SELECT 1');
SELECT * FROM steward.upgrade('app_alembic');
SELECT * FROM steward.validate('app_alembic');
DELETE FROM steward.migration_scripts WHERE module = 'app_alembic' AND version = '1';
SELECT steward.register('app_alembic', '20250101000000', 'ALTER TABLE {{tables.users}} ADD email text',
                        'ALTER TABLE {{tables.users}} DROP email',
                        requires => ARRAY['app_alembic:007b77ece35d']);
SELECT version FROM steward.upgrade('app_alembic');
SELECT version, state FROM steward.status('app_alembic');
SELECT * FROM steward.check('app_alembic');

-- Downgrading below the baseline needs a down_sql for it: refused before
-- anything runs (email is still there).
SELECT version FROM steward.downgrade('app_alembic', 'base');
SELECT * FROM steward.plan('app_alembic', 'base');
SELECT column_name FROM information_schema.columns WHERE table_schema = 'app_alembic'
 ORDER BY ordinal_position;
SELECT version FROM steward.downgrade('app_alembic', '007b77ece35d');

-- A script registered later for the baseline version is accepted as it is
-- (the baseline row has no checksum to differ from); it stays a baseline,
-- and its down_sql is what a downgrade below it runs.
SELECT steward.register('app_alembic', '007b77ece35d',
                        'CREATE TABLE {{tables.users}} (id int PRIMARY KEY, name text NOT NULL DEFAULT '''')',
                        'DROP TABLE {{tables.users}}');
SELECT version, state FROM steward.status('app_alembic');
SELECT * FROM steward.validate('app_alembic');
SELECT steward.migrate('app_alembic', '007b77ece35d',
                       'CREATE TABLE {{tables.users}} (id int PRIMARY KEY, name text NOT NULL DEFAULT '''')',
                       'DROP TABLE {{tables.users}}');
SELECT * FROM steward.plan('app_alembic', 'base');
SELECT version FROM steward.downgrade('app_alembic', 'base');
SELECT to_regclass('app_alembic.users') IS NULL AS users_dropped, steward.current('app_alembic');
SELECT * FROM steward.check('app_alembic');

-- From base, the registered scripts run as ordinary migrations.
SELECT version FROM steward.upgrade('app_alembic');
SELECT version, state FROM steward.status('app_alembic');
SELECT * FROM steward.check('app_alembic');

-- Stamping at another unregistered version below the applied ones forgets
-- them; base forgets the baseline too.
SELECT steward.stamp('app_alembic', '0001');
SELECT version, state FROM steward.status('app_alembic');
SELECT steward.stamp('app_alembic', 'base');
SELECT version, state FROM steward.status('app_alembic');
SELECT version, event, detail->>'action' AS action, detail->'registered' AS registered
  FROM steward.history WHERE module = 'app_alembic' AND event = 'baseline' ORDER BY id;
